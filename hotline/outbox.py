"""The outbox: every SMS and voice call we send, one row each, sent at most once.

A message is queued by a service (keyed, so the same logical message is never
queued twice) and delivered by an RQ job after commit. Delivery claims the row
(`sending`) and commits before calling Twilio, so a retried or duplicated job
never sends twice. Without Twilio credentials messages stay `not_sent` with the
reason, and the console and API show them.
"""

import enum
import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from hotline.extensions import db
from hotline.types import UTCDateTime, enum_column, utcnow

log = logging.getLogger(__name__)

NO_CREDENTIALS = "no credentials"
STUCK_AFTER = timedelta(minutes=2)
UNKNOWN_AFTER = timedelta(minutes=10)


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    NOT_SENT = "not_sent"


# Provider callbacks may only move a message forward along this order.
STATUS_ORDER = {
    MessageStatus.QUEUED: 0, MessageStatus.SENDING: 1, MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3, MessageStatus.UNDELIVERED: 3, MessageStatus.FAILED: 3,
    MessageStatus.NOT_SENT: 3,
}


class Channel(enum.StrEnum):
    SMS = "sms"
    VOICE = "voice"


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, 8))
    to_number: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)   # SMS text, or TwiML for a voice call
    purpose: Mapped[str] = mapped_column(String(40), default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    status: Mapped[MessageStatus] = mapped_column(enum_column(MessageStatus, 16),
                                                  default=MessageStatus.QUEUED)
    status_detail: Mapped[str | None] = mapped_column(String(500))
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def queue_message(key: str, channel: Channel, to_number: str, body: str, *, purpose: str = "",
                  ticket=None) -> OutboxMessage:
    """Queue a message once per `key`; delivery is enqueued after commit."""
    from hotline import tasks

    existing = db.session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
    if existing is not None:
        return existing
    message = OutboxMessage(key=key, channel=channel, to_number=to_number, body=body,
                            purpose=purpose, ticket_id=ticket.id if ticket else None,
                            status=MessageStatus.QUEUED, created_at=utcnow())
    db.session.add(message)
    db.session.flush()
    tasks.after_commit(tasks.deliver_message, message.id, job_id=f"deliver-{message.id}",
                       retry=tasks.SEND_RETRY)
    return message


def claim(message_id: int) -> OutboxMessage | None:
    """Take a queued message for sending (row-locked); None when it is not ours to send."""
    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()
    )
    if message is None or message.status != MessageStatus.QUEUED:
        return None
    if not credentials_configured():
        message.status, message.status_detail = MessageStatus.NOT_SENT, NO_CREDENTIALS
        return None
    message.status, message.attempts = MessageStatus.SENDING, message.attempts + 1
    return message


def send(message: OutboxMessage) -> None:
    """Hand a claimed message to Twilio; a transport error puts it back for RQ's retry."""
    from hotline.channels.sending import PermanentFailure, send_via_twilio

    try:
        sid = send_via_twilio(message)
    except PermanentFailure as exc:
        message.status, message.status_detail = MessageStatus.FAILED, str(exc)[:500]
        return
    except Exception as exc:
        message.status, message.status_detail = MessageStatus.QUEUED, f"retrying: {exc}"[:500]
        db.session.commit()  # before the job's rollback, or the retry would find it `sending`
        raise
    message.provider_sid, message.status, message.sent_at = sid, MessageStatus.SENT, utcnow()


def deliver(message_id: int) -> str:
    """Claim, commit the claim, send: a crash after Twilio accepted never sends again."""
    message = claim(message_id)
    if message is None:
        row = db.session.get(OutboxMessage, message_id)
        return row.status.value if row else "missing"
    db.session.commit()
    send(message)
    return message.status.value


def record_status(provider_sid: str, status: str, detail: str | None = None) -> OutboxMessage | None:
    """A delivery report: only ever moves a message forward; replays change nothing."""
    try:
        new = MessageStatus(status)
    except ValueError:
        new = {"accepted": MessageStatus.QUEUED, "scheduled": MessageStatus.QUEUED,
               "read": MessageStatus.DELIVERED, "canceled": MessageStatus.FAILED,
               "completed": MessageStatus.DELIVERED, "busy": MessageStatus.UNDELIVERED,
               "no-answer": MessageStatus.UNDELIVERED, "in-progress": MessageStatus.SENT,
               "ringing": MessageStatus.SENT, "initiated": MessageStatus.SENT}.get(status)
    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.provider_sid == provider_sid).with_for_update()
    )
    if message is None or new is None:
        return message
    if STATUS_ORDER[new] > STATUS_ORDER[message.status]:
        message.status = new
        message.status_detail = detail
    return message


def requeue_stuck(now: datetime | None = None) -> int:
    """Re-enqueue queued messages whose job was lost; give up on unknown outcomes (never resend)."""
    from hotline import tasks

    now = now or utcnow()
    queued = list(db.session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.status == MessageStatus.QUEUED, OutboxMessage.created_at <= now - STUCK_AFTER)))
    for message_id in queued:
        try:
            tasks.enqueue(tasks.deliver_message, message_id, job_id=f"deliver-{message_id}",
                          retry=tasks.SEND_RETRY)
        except Exception as exc:
            log.warning("could not requeue message %s: %s", message_id, exc)
            break
    for message in db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.status == MessageStatus.SENDING,
            OutboxMessage.updated_at <= now - UNKNOWN_AFTER)):
        message.status = MessageStatus.FAILED
        message.status_detail = "outcome unknown (worker stopped while sending); not resent"
    return len(queued)


def credentials_configured() -> bool:
    config = current_app.config
    return bool(config.get("TWILIO_ACCOUNT_SID") and config.get("TWILIO_AUTH_TOKEN")
                and config.get("TWILIO_FROM_NUMBER"))


def messages_for_ticket(ticket_id: int) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id)
    return list(db.session.scalars(stmt.order_by(OutboxMessage.id)))
