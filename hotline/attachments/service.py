"""Attach files to a ticket, list them, read one: scoped, masked and audited like the ticket.

Who sees the ticket sees its files (`permissions.get_visible_ticket`: a hidden ticket's file is a
404); the caller's own material (intake, MMS, what a seat took from the caller) only for those
who see the caller unmasked (`permissions.may_read_attachment`). Every read of a file's bytes (the
file or its thumbnail) is a row in the read audit (hotline.audit).

Adding files appends one `attach` event to the ticket's log (the files, their checksums and
the note), so the timeline and the hash chain say who added what, when. The bytes go to the
storage before the rows are committed; a transaction that rolls back takes its files away too.
"""

import hashlib
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select

from hotline import audit, permissions
from hotline.attachments import content, storage
from hotline.attachments.models import Attachment, Kind, Source
from hotline.errors import HotlineError, Invalid, NotFound
from hotline.extensions import db
from hotline.tickets import service as tickets
from hotline.tickets.models import Ticket
from hotline.users import Role, User

ATTACH = "attach"
_WRITTEN = "hotline.attachments.written"       # files stored in this transaction
_DOOMED = "hotline.attachments.doomed"         # files to delete once it commits
FILENAME_LENGTH = 200


class TooLarge(HotlineError):
    code = 413
    error_code = "attachment.too_large"


@dataclass
class Upload:
    """A file as it arrived: the name the uploader gave it and its bytes."""

    filename: str
    data: bytes


def max_bytes() -> int:
    return int(current_app.config.get("ATTACHMENT_MAX_BYTES") or 20 * 1024 * 1024)


def max_files() -> int:
    return int(current_app.config.get("ATTACHMENT_MAX_FILES") or 5)


def limit_text() -> str:
    """The limit as people say it: "20 MB", "4 KB"."""
    limit = max_bytes()
    if limit >= 1024 * 1024:
        return f"{round(limit / (1024 * 1024), 1):g} MB"
    return f"{round(limit / 1024, 1):g} KB"


def too_large(filename: str | None = None) -> TooLarge:
    name = f"“{filename}”" if filename else _l("上传的文件")
    return TooLarge(errors={"file": [f"超过 {limit_text()} 上限 (larger than {limit_text()})"]},
                    params={"file": name, "limit": limit_text()})


def size_text(size: int) -> str:
    """A file's size as the pages show it: "2.4 MB", "36 KB"."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def read_upload(stream, filename: str | None) -> Upload:
    """Read an uploaded file, refusing it (413) past the size limit without reading it all."""
    limit = max_bytes()
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise too_large(filename)
    if not data:
        raise Invalid(errors={"file": ["文件为空 (empty file)"]}, error="attachment.empty")
    return Upload(_clean_name(filename), data)


def _clean_name(filename: str | None) -> str:
    """Only the last part of what the browser sent, without control characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:FILENAME_LENGTH] or "附件"


# --- adding files -------------------------------------------------------------------------

def attach(actor: User, ticket_id: int, uploads: list[Upload], *, note: str | None = None,
           keep_location: bool = False) -> list[Attachment]:
    """`POST /tickets/{id}/attachments`, or the ticket page's upload: files added to a ticket
    the actor sees, with an optional note."""
    examined = examine_all(uploads, keep_location)
    ticket = permissions.get_visible_ticket(actor, ticket_id, for_update=True)
    permissions.check_attaches(actor, ticket)
    return _store(ticket, actor, examined, Source.UPLOAD, note=note)


def perform_with_files(actor: User, ticket_id: int, action: str, body: dict, uploads: list[Upload],
                       keep_location: bool = False) -> Ticket:
    """An action of the ticket page (a reply, a note, a co-unit's opinion) with its files:
    the action, then the files, in one transaction. The files are checked first, so a refused
    file leaves the action undone and the form can be sent again."""
    examined = examine_all(uploads, keep_location)
    ticket = tickets.perform(actor, ticket_id, action, body)
    if examined:
        _store(ticket, actor, examined, Source.UPLOAD, with_action=action)
    return ticket


def attach_at_intake(actor: User, ticket: Ticket, uploads: list[Upload],
                     keep_location: bool = False) -> list[Attachment]:
    """The caller's material given with the intake form (the seat just opened `ticket`)."""
    examined = examine_all(uploads, keep_location)
    return _store(ticket, actor, examined, Source.INTAKE) if examined else []


def attach_from_mms(ticket: Ticket, source_ref: str, filename: str, data: bytes) -> Attachment | None:
    """One MMS media file, fetched by a job; None when it was fetched before (a retry)."""
    if db.session.scalar(select(Attachment.id).where(Attachment.source_ref == source_ref)):
        return None
    examined = examine_all([Upload(filename, data)], keep_location=False)
    (stored,) = _store(ticket, None, examined, Source.MMS, source_ref=source_ref)
    return stored


def examine_all(uploads: list[Upload], keep_location: bool) -> list[tuple[Upload, content.Examined]]:
    if len(uploads) > max_files():
        raise Invalid(errors={"file": [f"最多 {max_files()} 个 (at most {max_files()})"]},
                      error="attachment.too_many", params={"max": max_files()})
    examined = []
    for upload in uploads:
        if len(upload.data) > max_bytes():
            raise too_large(upload.filename)
        try:
            examined.append((upload, content.examine(upload.data, keep_location=keep_location)))
        except Invalid as error:
            error.params = {**error.params, "file": upload.filename}   # the message names the file
            raise
    return examined


def _store(ticket: Ticket, actor: User | None, examined: list[tuple[Upload, content.Examined]],
           source: Source, *, note: str | None = None, with_action: str | None = None,
           source_ref: str | None = None) -> list[Attachment]:
    files = storage.storage()
    from_caller = source in (Source.INTAKE, Source.MMS) or (actor is not None and actor.role == Role.SEAT)
    rows = []
    for upload, found in examined:
        key = storage.new_key(ticket.id, found.extension)
        _put(files, key, found.data)
        thumb = None
        if found.thumbnail is not None:
            thumb = storage.thumbnail_key(key)
            _put(files, thumb, found.thumbnail)
        rows.append(Attachment(
            ticket_id=ticket.id, filename=_named(upload.filename, found.extension),
            content_type=found.content_type, kind=found.kind, size=len(found.data),
            sha256=hashlib.sha256(found.data).hexdigest(), storage_key=key, thumbnail_key=thumb,
            location_kept=found.location_kept,
            from_caller=from_caller, source=source, source_ref=source_ref, note=note,
            uploaded_by_id=actor.id if actor else None))
    db.session.add_all(rows)
    db.session.flush()
    # No file names in the append-only log: they can name the caller ("张三身份证.jpg"), and
    # retention must be able to forget them (hotline.retention).
    data: dict = {"attachments": [{"id": row.id, "kind": row.kind.value, "sha256": row.sha256,
                                   "size": row.size} for row in rows], "source": source.value}
    if note:
        data["note"] = note
    if with_action:
        data["with"] = with_action
    logged = tickets.record_event(ticket, actor, ATTACH, ticket.state, ticket.state, data)
    for row in rows:
        row.event_seq = logged.seq
    db.session.flush()
    return rows


def _named(filename: str, extension: str) -> str:
    """The uploader's name, with the extension of what the file really is."""
    stem, dot, given = filename.rpartition(".")
    if dot and given.lower() in (extension, "jpeg" if extension == "jpg" else extension):
        return filename
    return f"{filename}.{extension}"


def _put(files: storage.Storage, key: str, data: bytes) -> None:
    """Store, and remember the key: a rollback of this transaction deletes the file again."""
    files.put(key, data)
    db.session.info.setdefault(_WRITTEN, []).append((files, key))


def forget(ticket: Ticket) -> int:
    """Retention: the ticket's files deleted (their rows now, the bytes once this commits);
    the log keeps that they existed (id, kind, checksum, size)."""
    files = storage.storage()
    rows = of_ticket(ticket)
    for row in rows:
        for key in filter(None, (row.storage_key, row.thumbnail_key)):
            db.session.info.setdefault(_DOOMED, []).append((files, key))
        db.session.delete(row)
    return len(rows)


@event.listens_for(db.session, "after_commit")
def _keep_written(session) -> None:
    session.info.pop(_WRITTEN, None)
    for files, key in session.info.pop(_DOOMED, []):
        files.delete(key)


@event.listens_for(db.session, "after_rollback")
def _remove_written(session) -> None:
    session.info.pop(_DOOMED, None)
    for files, key in session.info.pop(_WRITTEN, []):
        files.delete(key)


# --- reading --------------------------------------------------------------------------------

def ticket_attachments(viewer: User, ticket_id: int) -> tuple[Ticket, list[Attachment]]:
    """The files of a ticket the viewer sees (404 otherwise), oldest first."""
    ticket = permissions.get_visible_ticket(viewer, ticket_id)
    audit.audit_children(viewer, [ticket], "attachments")
    return ticket, of_ticket(ticket)


def of_ticket(ticket: Ticket) -> list[Attachment]:
    return list(db.session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id)
                                   .order_by(Attachment.id)))


def readable(viewer: User, ticket: Ticket, attachment: Attachment) -> bool:
    return permissions.may_read_attachment(viewer, ticket, attachment.from_caller)


def read(viewer: User, attachment_id: int, *, thumbnail: bool = False) -> tuple[Attachment, bytes]:
    """The bytes of a file (or its thumbnail) for `viewer`: 404 when the ticket is hidden, 403
    when the file is the caller's and the viewer sees the caller masked; audited."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(error="attachment.not_found", params={"attachment": attachment_id})
    ticket = permissions.get_visible_ticket(viewer, attachment.ticket_id)
    permissions.check_reads_attachment(viewer, ticket, attachment.from_caller)
    files = storage.storage()
    if thumbnail:
        if attachment.thumbnail_key is None:
            raise NotFound(error="attachment.no_thumbnail")
        data = files.get(attachment.thumbnail_key)
    else:
        data = files.get(attachment.storage_key)
        if hashlib.sha256(data).hexdigest() != attachment.sha256:
            raise storage.StorageMissing(error="attachment.checksum_mismatch")
    audit.log_read(viewer, "ticket", ticket.id, "attachment_thumbnail" if thumbnail else "attachment",
                   detail={"attachment": attachment.id, "filename": attachment.filename})
    return attachment, data


def is_image(attachment: Attachment) -> bool:
    return attachment.kind == Kind.IMAGE
