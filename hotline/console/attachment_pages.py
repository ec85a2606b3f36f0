"""Attachments in the console (issue 22): the ticket page's 附件 card (thumbnails of photos,
the other files as links, the caller's own material masked where the caller is), its upload
form, the file inputs of the reply / note / opinion forms, and the downloads.

A phone's camera is one tap away: the forms offer a 拍照 input (`capture="environment"`)
besides the ordinary file choice; both send `file` parts, judged by the same service.
"""

from flask import flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from hotline import permissions
from hotline.attachments import content, downloads, service, uploads
from hotline.attachments.models import Attachment
from hotline.attachments.schemas import MASKED_NAME
from hotline.console import bp
from hotline.console.helpers import safe_next, save_form, user
from hotline.errors import Invalid, Problem

# The ticket page's forms that take files along (a reply with its site photos...).
ATTACHING_ACTIONS = ("reply", "add_note", "submit_opinion", "contact_caller")


def ticket_files(ticket_id: int) -> list[dict]:
    """The dumped ticket's files as the page shows them (the page's own read was audited)."""
    viewer = current_user._get_current_object()
    ticket = permissions.get_visible_ticket(viewer, ticket_id)
    return [_row(viewer, ticket, attachment) for attachment in service.of_ticket(ticket)]


def _row(viewer, ticket, attachment: Attachment) -> dict:
    readable = service.readable(viewer, ticket, attachment)
    return {
        "id": attachment.id, "readable": readable, "kind": attachment.kind.value,
        "filename": attachment.filename if readable else MASKED_NAME,
        "size": attachment.size, "note": attachment.note if readable else None,
        "thumbnail": readable and attachment.thumbnail_key is not None,
        "created_at": attachment.created_at, "source": attachment.source.value,
        "location_kept": attachment.location_kept,
        "by": (attachment.uploaded_by.display_name or attachment.uploaded_by.username)
        if attachment.uploaded_by else None,
    }


def upload_limits() -> dict:
    """What the file inputs say and check in the browser (the server checks again)."""
    return {"max_bytes": service.max_bytes(), "max_files": service.max_files(),
            "limit": service.limit_text(), "accept": content.ACCEPT_ATTRIBUTE}


def attaching_actions() -> tuple[str, ...]:
    return ATTACHING_ACTIONS


bp.add_app_template_global(ticket_files)
bp.add_app_template_global(upload_limits)
bp.add_app_template_global(attaching_actions)


bp.add_app_template_filter(service.size_text, "filesize")


@bp.post("/tickets/<int:ticket_id>/attachments")
@login_required
def upload_attachments(ticket_id: int):
    """The 附件 card's form: files (and a note) added to the ticket."""
    back = safe_next(request.form.get("next"), url_for("console.ticket_page", ticket_id=ticket_id))

    def refused(state, status):
        flash(state.message or gettext("上传失败。"), "error")
        return redirect(back + "#attachments")

    def save():
        files = uploads.from_form(request.files)
        if not files:
            raise Invalid(errors={"file": [Problem("field.required")]}, error="attachment.no_file")
        service.attach(user(), ticket_id, files, note=(request.form.get("note") or "").strip() or None,
                       keep_location=uploads.keep_location(request.form))

    failed = save_form(save, refused)
    if failed is not None:
        return failed
    flash(gettext("附件已上传。"), "success")
    return redirect(back + "#attachments")


@bp.get("/attachments/<int:attachment_id>")
@login_required
def attachment_file(attachment_id: int):
    """A file of a ticket the user sees; photos and PDFs open in the browser."""
    attachment, data = _read(attachment_id, thumbnail=False)
    return downloads.send(attachment, data, inline=request.args.get("download") is None)


@bp.get("/attachments/<int:attachment_id>/thumbnail")
@login_required
def attachment_thumbnail(attachment_id: int):
    attachment, data = _read(attachment_id, thumbnail=True)
    return downloads.send_thumbnail(attachment, data)


def _read(attachment_id: int, *, thumbnail: bool):
    """Read and keep the read audit's row (the console's GET hook commits audited reads)."""
    return service.read(user(), attachment_id, thumbnail=thumbnail)
