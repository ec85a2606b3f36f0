"""The attachments table: one row per stored file of a ticket."""

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.extensions import db
from hotline.tickets.models import Ticket
from hotline.types import UTCDateTime, enum_column, utcnow
from hotline.users import User


class Kind(enum.StrEnum):
    IMAGE = "image"
    PDF = "pdf"
    DOCUMENT = "document"     # office documents: Word, Excel, PowerPoint, OpenDocument
    AUDIO = "audio"


class Source(enum.StrEnum):
    INTAKE = "intake"         # given with the intake form (the caller's material)
    UPLOAD = "upload"         # added later, by anyone who sees the ticket
    MMS = "mms"               # fetched from a citizen's MMS


class Attachment(db.Model):
    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_ticket_id", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    kind: Mapped[Kind] = mapped_column(enum_column(Kind, 16))
    size: Mapped[int] = mapped_column()
    # Of the stored bytes (after a photo's location was taken out), checked on every read.
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    thumbnail_key: Mapped[str | None] = mapped_column(String(200))
    location_kept: Mapped[bool] = mapped_column(default=False)
    # The caller's own material (intake, MMS, what a seat took from the caller): shown only to
    # those who see the caller unmasked (permissions.may_read_attachment).
    from_caller: Mapped[bool] = mapped_column(default=False)
    source: Mapped[Source] = mapped_column(enum_column(Source, 16))
    # What the file came from outside as (an MMS's "<MessageSid>/<index>"): fetched once.
    source_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    note: Mapped[str | None] = mapped_column(Text)
    # The ticket event that recorded it (its seq on the ticket's log).
    event_seq: Mapped[int | None] = mapped_column()
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship()
    uploaded_by: Mapped[User | None] = relationship(lazy="joined")
