"""Request and response bodies of attachments (docs/integration.md "Attachments")."""

import marshmallow as ma
from flask import g
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from hotline import permissions
from hotline.attachments.models import Attachment

MASKED_NAME = "来电人提供的材料（已脱敏）"


class AttachmentForm(ma.Schema):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    keep_location = fields.Boolean(load_default=False, metadata={
        "description": "keep a photo's EXIF location (by default it is removed on upload)"})


class AttachmentFile(ma.Schema):
    file = Upload(required=True, metadata={
        "description": "a photo, PDF, office document or audio file (type judged by its content), "
                       "at most ATTACHMENT_MAX_BYTES (20 MB by default)"})


class AttachmentOut(ma.Schema):
    """A file of a ticket; the caller's own material is listed masked (no name, no checksum,
    no note) for a viewer who sees the caller masked. Pass `viewer` in (default: the API's
    signed-in user)."""

    id = fields.Integer()
    filename = fields.Method("dump_filename")
    content_type = fields.String()
    kind = fields.Function(lambda a: a.kind.value)
    size = fields.Integer()
    sha256 = fields.Method("dump_sha256")
    created_at = fields.DateTime()
    uploaded_by = fields.Function(lambda a: a.uploaded_by.username if a.uploaded_by else None)
    note = fields.Method("dump_note")
    source = fields.Function(lambda a: a.source.value)
    thumbnail = fields.Function(lambda a: a.thumbnail_key is not None)
    location_kept = fields.Boolean()
    masked = fields.Method("dump_masked")

    def __init__(self, *args, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.viewer = viewer

    def readable(self, attachment: Attachment) -> bool:
        viewer = self.viewer or g.get("user")
        return viewer is not None and permissions.may_read_attachment(viewer, attachment.ticket,
                                                                 attachment.from_caller)

    def dump_masked(self, attachment: Attachment) -> bool:
        return not self.readable(attachment)

    def dump_filename(self, attachment: Attachment) -> str:
        return attachment.filename if self.readable(attachment) else MASKED_NAME

    def dump_sha256(self, attachment: Attachment) -> str | None:
        return attachment.sha256 if self.readable(attachment) else None

    def dump_note(self, attachment: Attachment) -> str | None:
        return attachment.note if self.readable(attachment) else None
