"""Attachments (docs/integration.md "Attachments"): upload to a ticket, list, download.

`POST /api/v1/tickets/{id}/attachments` (multipart `file`, optional `note`, `keep_location`)
→ 201; `GET /api/v1/tickets/{id}/attachments`; `GET /api/v1/attachments/{id}/content` and
`/thumbnail` (each read audited).
"""

from flask_smorest import Blueprint

from hotline.api import route
from hotline.attachments import downloads, service
from hotline.attachments.schemas import AttachmentFile, AttachmentForm, AttachmentOut
from hotline.auth import current_user

blp = Blueprint("attachments", __name__, url_prefix="/api/v1", description="Attachments (附件)")
TICKET_FILES = "/tickets/<int(max=2147483647):ticket_id>/attachments"
FILE = "/attachments/<int(max=2147483647):attachment_id>"
MASKED = "The caller's own material, and this role sees the caller masked"
BINARY = {"schema": {"type": "string", "format": "binary"}}
FILE_RESPONSE = {"200": {"description": "The file, in the type its content was judged to be "
                                        "(audited in the read audit)", "content": {"*/*": BINARY}}}
THUMBNAIL_RESPONSE = {"200": {"description": "The photo's thumbnail (audited in the read audit)",
                              "content": {"image/jpeg": BINARY}}}


@route(blp, TICKET_FILES, "POST", form=AttachmentForm, files=AttachmentFile, out=AttachmentOut, status=201,
       commit=True, refusals={413: "Larger than ATTACHMENT_MAX_BYTES (20 MB by default)",
                              422: "Not a photo, PDF, office document or audio file"})
def upload(form, files, ticket_id):
    """Add a file to a ticket the caller sees (a photo's EXIF location is removed unless
    `keep_location`)."""
    upload_file = files["file"]
    received = service.read_upload(upload_file.stream, upload_file.filename)
    (stored,) = service.attach(current_user(), ticket_id, [received], note=form["note"],
                               keep_location=form["keep_location"])
    return stored


@route(blp, TICKET_FILES, out=AttachmentOut(many=True), commit=True)
def list_attachments(ticket_id):
    """A ticket's files, oldest first (the caller's own material masked for whoever sees the
    caller masked)."""
    _ticket, rows = service.ticket_attachments(current_user(), ticket_id)
    return rows


@route(blp, f"{FILE}/content", status=None, responses=FILE_RESPONSE, commit=True,
       refusals={403: MASKED, 404: "No such file, or its ticket is hidden from the caller"})
def content(attachment_id):
    """The file itself (as a download)."""
    return downloads.send(*service.read(current_user(), attachment_id), inline=False)


@route(blp, f"{FILE}/thumbnail", status=None, responses=THUMBNAIL_RESPONSE, commit=True,
       refusals={403: MASKED, 404: "No such file or no thumbnail, or its ticket is hidden from the caller"})
def thumbnail(attachment_id):
    """A photo's thumbnail (JPEG, at most 320 px)."""
    attachment, data = service.read(current_user(), attachment_id, thumbnail=True)
    return downloads.send_thumbnail(attachment, data)
