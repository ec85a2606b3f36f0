"""Attachments (docs/integration.md "Attachments"): upload to a ticket, list, download.

`POST /api/v1/tickets/{id}/attachments` (multipart `file`, optional `note`, `keep_location`)
→ 201; `GET /api/v1/tickets/{id}/attachments`; `GET /api/v1/attachments/{id}/content` and
`/thumbnail` (each read audited).
"""

from flask_smorest import Blueprint

from hotline.api import committed
from hotline.attachments import downloads, service
from hotline.attachments.schemas import AttachmentFile, AttachmentForm, AttachmentOut
from hotline.auth import current_user

blp = Blueprint("attachments", __name__, url_prefix="/api/v1", description="Attachments (附件)")
SECURITY = [{"bearer": []}]
BINARY = {"schema": {"type": "string", "format": "binary"}}
FILE_RESPONSE = {"200": {"description": "The file, in the type its content was judged to be "
                                        "(audited in the read audit)", "content": {"*/*": BINARY}}}
THUMBNAIL_RESPONSE = {"200": {"description": "The photo's thumbnail (audited in the read audit)",
                              "content": {"image/jpeg": BINARY}}}


@blp.route("/tickets/<int(max=2147483647):ticket_id>/attachments", methods=["POST"])
@blp.arguments(AttachmentForm, location="form")
@blp.arguments(AttachmentFile, location="files")
@blp.response(201, AttachmentOut)
@blp.alt_response(413, description="Larger than ATTACHMENT_MAX_BYTES (20 MB by default)")
@blp.alt_response(422, description="Not a photo, PDF, office document or audio file")
@blp.doc(security=SECURITY)
@committed
def upload(form, files, ticket_id):
    """Add a file to a ticket the caller sees (a photo's EXIF location is removed unless
    `keep_location`)."""
    upload_file = files["file"]
    received = service.read_upload(upload_file.stream, upload_file.filename)
    (stored,) = service.attach(current_user(), ticket_id, [received], note=form["note"],
                               keep_location=form["keep_location"])
    return stored


@blp.route("/tickets/<int(max=2147483647):ticket_id>/attachments", methods=["GET"])
@blp.response(200, AttachmentOut(many=True))
@blp.doc(security=SECURITY)
@committed
def list_attachments(ticket_id):
    """A ticket's files, oldest first (the caller's own material masked for whoever sees the
    caller masked)."""
    _ticket, rows = service.ticket_attachments(current_user(), ticket_id)
    return rows


@blp.route("/attachments/<int(max=2147483647):attachment_id>/content", methods=["GET"])
@blp.doc(security=SECURITY, responses=FILE_RESPONSE)
@blp.alt_response(403, description="The caller's own material, and this role sees the caller masked")
@blp.alt_response(404, description="No such file, or its ticket is hidden from the caller")
@committed
def content(attachment_id):
    """The file itself (as a download)."""
    return downloads.send(*service.read(current_user(), attachment_id), inline=False)


@blp.route("/attachments/<int(max=2147483647):attachment_id>/thumbnail", methods=["GET"])
@blp.doc(security=SECURITY, responses=THUMBNAIL_RESPONSE)
@blp.alt_response(403, description="The caller's own material, and this role sees the caller masked")
@blp.alt_response(404, description="No such file or no thumbnail, or its ticket is hidden from the caller")
@committed
def thumbnail(attachment_id):
    """A photo's thumbnail (JPEG, at most 320 px)."""
    attachment, data = service.read(current_user(), attachment_id, thumbnail=True)
    return downloads.send_thumbnail(attachment, data)
