"""The outbox: every SMS and voice call we send, one row each, sent at most once.

A message is queued by a service (keyed, so the same logical message is never
queued twice) and delivered by an RQ job after commit. Delivery claims the row
(`sending`) and commits before calling Twilio, so a retried or duplicated job
never sends twice. Without Twilio credentials messages stay `not_sent` with the
reason, and the console and API show them.

Depends on: contact safety, ticket visibility, models and event log, the Twilio sender and
the job helper. What a refusal for good means to the message's purpose (a survey's callback
closing as unreachable) is said with `signals.message_refused`; this module does not import
the callbacks that queue their surveys through it.
"""

import enum
import logging
import re
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ForeignKey, Index, String, Text, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from hotline import contact_safety, permissions, signals, tasks
from hotline.admin import changes
from hotline.channels.sending import PermanentFailure, send_via_twilio
from hotline.errors import Conflict, Forbidden, NotFound
from hotline.extensions import db
from hotline.tickets.events import record_event
from hotline.tickets.models import Ticket
from hotline.types import UTCDateTime, enum_column, utcnow

log = logging.getLogger(__name__)

NO_CREDENTIALS = "no credentials"
STUCK_AFTER = timedelta(minutes=2)
# Twilio error codes that no retry will change: 21610 the number unsubscribed (STOP),
# 21211 not a valid number, 21614 not a mobile number.
UNSUBSCRIBED = 21610
PERMANENT_REFUSALS = frozenset({UNSUBSCRIBED, 21211, 21614})
CANCELLED_EVENT = "message_cancelled"
UNKNOWN_AFTER = timedelta(minutes=10)


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    NOT_SENT = "not_sent"
    CANCELLED = "cancelled"      # by a seat, or withheld at delivery (contact safety)


# Provider callbacks may only move a message forward along this order.
STATUS_ORDER = {
    MessageStatus.QUEUED: 0, MessageStatus.SENDING: 1, MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3, MessageStatus.UNDELIVERED: 3, MessageStatus.FAILED: 3,
    MessageStatus.NOT_SENT: 3, MessageStatus.CANCELLED: 3,
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
    # Not before this instant (a survey in quiet hours waits for the morning).
    send_after: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def cancellable(self) -> bool:
        return self.status == MessageStatus.QUEUED


def queue_message(key: str, channel: Channel, to_number: str, body: str, *, purpose: str = "",
                  ticket=None) -> OutboxMessage | None:
    """Queue a message once per `key`; delivery is enqueued after commit (at `send_after`).

    Contact safety decides first: None (and a `text_withheld` event on the ticket) when the
    number may not be texted automatically.
    """
    existing = db.session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
    if existing is not None:
        return existing
    verdict = contact_safety.check(ticket, to_number, purpose)
    if not verdict.allowed:
        contact_safety.withheld(ticket, purpose, verdict)
        return None
    message = OutboxMessage(key=key, channel=channel, to_number=to_number, body=body,
                            purpose=purpose, ticket_id=ticket.id if ticket else None,
                            status=MessageStatus.QUEUED, created_at=utcnow(),
                            send_after=verdict.send_after)
    db.session.add(message)
    db.session.flush()
    tasks.after_commit(tasks.deliver_message, message.id, job_id=f"deliver-{message.id}",
                       retry=tasks.SEND_RETRY, at=verdict.send_after)
    return message


def claim(message_id: int) -> OutboxMessage | None:
    """Take a queued message for sending (row-locked); None when it is not ours to send."""
    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()
    )
    if message is None or message.status != MessageStatus.QUEUED:
        return None
    if not _still_allowed(message):
        return None
    if not credentials_configured():
        message.status, message.status_detail = MessageStatus.NOT_SENT, NO_CREDENTIALS
        return None
    message.status, message.attempts = MessageStatus.SENDING, message.attempts + 1
    return message


def _still_allowed(message: OutboxMessage) -> bool:
    """Contact safety again at delivery: a seat may have marked the number unsafe, the ticket
    become crisis or the number opted out since the message was queued; and a survey waits
    for the end of quiet hours."""
    now = utcnow()
    if message.send_after is not None and message.send_after > now:
        return False                    # its job runs at send_after
    ticket = db.session.get(Ticket, message.ticket_id) if message.ticket_id else None
    verdict = contact_safety.check(ticket, message.to_number, message.purpose, now)
    if not verdict.allowed:
        message.status = MessageStatus.CANCELLED
        message.status_detail = f"withheld: {verdict.message}"[:500]
        contact_safety.withheld(ticket, message.purpose, verdict)
        return False
    if verdict.send_after is not None:
        message.send_after = verdict.send_after
        tasks.after_commit(tasks.deliver_message, message.id, job_id=f"deliver-{message.id}",
                           retry=tasks.SEND_RETRY, at=verdict.send_after)
        return False
    return True


def send(message: OutboxMessage) -> None:
    """Hand a claimed message to Twilio; a transport error puts it back for RQ's retry."""
    try:
        sid = send_via_twilio(message)
    except PermanentFailure as exc:
        message.status, message.status_detail = MessageStatus.FAILED, str(exc)[:500]
        refused_for_good(message, exc.code)
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
        if new in (MessageStatus.FAILED, MessageStatus.UNDELIVERED):
            refused_for_good(message, _error_code(detail))
    return message


def _error_code(detail: str | None) -> int | None:
    """Twilio's ErrorCode at the start of a status report's detail ("21610 Unsubscribed...")."""
    match = re.match(r"\s*(\d{5})\b", detail or "")
    return int(match.group(1)) if match else None


def refused_for_good(message: OutboxMessage, code: int | None) -> None:
    """Twilio will never deliver to this number (unsubscribed, invalid, not a mobile): a survey
    counts as unreachable at once; an unsubscribed number is recorded as opted out."""
    if code not in PERMANENT_REFUSALS:
        return
    if code == UNSUBSCRIBED:
        contact_safety.record_opt(message.to_number, True, f"twilio {code}")
    signals.message_refused.send(message.purpose, message=message, code=code)


def requeue_stuck(now: datetime | None = None) -> int:
    """Re-enqueue queued messages whose job was lost; give up on unknown outcomes (never resend)."""
    now = now or utcnow()
    queued = list(db.session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.status == MessageStatus.QUEUED, OutboxMessage.created_at <= now - STUCK_AFTER,
        or_(OutboxMessage.send_after.is_(None), OutboxMessage.send_after <= now - STUCK_AFTER))))
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


def cancel(actor, ticket_id: int, message_id: int, reason: str | None = None) -> OutboxMessage:
    """A seat stops an automatic text (or call) of a ticket before it goes (409 once it went)."""
    ticket = permissions.get_visible_ticket(actor, ticket_id, for_update=True)   # 404 first
    if actor.role not in permissions.CANCELS_TEXTS:
        raise Forbidden(error="outbox.cancel_forbidden", params={"role": actor.role})
    message = db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.id == message_id, OutboxMessage.ticket_id == ticket.id).with_for_update())
    if message is None:
        raise NotFound(error="outbox.message_not_found", params={"message": message_id})
    if message.status != MessageStatus.QUEUED:
        raise Conflict(error="outbox.not_cancellable", params={"status": message.status})
    message.status = MessageStatus.CANCELLED
    message.status_detail = f"cancelled by {actor.username}" + (f": {reason}" if reason else "")
    record_event(ticket, actor, CANCELLED_EVENT, ticket.state, ticket.state,
                 {"message": message.id, "purpose": message.purpose, "note": reason})
    db.session.flush()
    return message


# --- the centre-wide outbox (admins and supervisors, /console/admin/outbox) ----------------

# What has not gone and may be sent again: never reached Twilio (no credentials), refused by
# it, or reported undelivered. A cancelled message stays cancelled (a person decided so).
RESENDABLE = frozenset({MessageStatus.NOT_SENT, MessageStatus.FAILED, MessageStatus.UNDELIVERED})


def search(actor, q: str = "", status: MessageStatus | None = None, limit: int = 100) -> list[OutboxMessage]:
    """Messages newest first, by number (4+ digits anywhere in it), ticket number or id, and status."""
    permissions.check_reads_outbox(actor)
    stmt = select(OutboxMessage).outerjoin(Ticket, Ticket.id == OutboxMessage.ticket_id)
    q = (q or "").strip()
    if q:
        digits = re.sub(r"\D", "", q)
        matches = [Ticket.number == q, Ticket.number.startswith(q, autoescape=True)]
        if q.isdigit() and len(q) <= 9:
            matches.append(OutboxMessage.ticket_id == int(q))
        if len(digits) >= 4:
            matches.append(OutboxMessage.to_number.contains(digits, autoescape=True))
        stmt = stmt.where(or_(*matches))
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == status)
    return list(db.session.scalars(stmt.order_by(OutboxMessage.id.desc()).limit(limit)))


def _locked(message_id: int) -> OutboxMessage:
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update())
    if message is None:
        raise NotFound(error="outbox.message_not_found", params={"message": message_id})
    return message


def resend(actor, message_id: int) -> OutboxMessage:
    """Queue again a message that has not gone (contact safety and quiet hours decide again at
    delivery); 409 `outbox.not_resendable` for one that is queued, sent, delivered or cancelled."""

    permissions.check_edits_outbox(actor)
    message = _locked(message_id)
    if message.status not in RESENDABLE:
        raise Conflict(error="outbox.not_resendable", params={"status": message.status})
    before = message.status.value
    message.status, message.status_detail = MessageStatus.QUEUED, f"resent by {actor.username}"
    message.send_after = None
    db.session.flush()
    tasks.after_commit(tasks.deliver_message, message.id, retry=tasks.SEND_RETRY,
                       job_id=f"deliver-{message.id}-resend-{message.attempts}")
    changes.record(actor, changes.Subject.OUTBOX, str(message.id), "resend",
                   {"status": [before, MessageStatus.QUEUED.value], "ticket": message.ticket_id})
    return message


def cancel_queued(actor, message_id: int, reason: str | None = None) -> OutboxMessage:
    """An admin stops any queued message from the centre-wide outbox (a ticket's is recorded on
    the ticket too, as a seat's cancel is); 409 `outbox.not_cancellable` once it went."""
    permissions.check_edits_outbox(actor)
    message = _locked(message_id)
    if message.ticket_id is not None:
        message = cancel(actor, message.ticket_id, message.id, reason)
    elif message.status != MessageStatus.QUEUED:
        raise Conflict(error="outbox.not_cancellable", params={"status": message.status})
    else:
        message.status, message.status_detail = MessageStatus.CANCELLED, f"cancelled by {actor.username}"
    changes.record(actor, changes.Subject.OUTBOX, str(message.id), "cancel",
                   {"status": [MessageStatus.QUEUED.value, MessageStatus.CANCELLED.value],
                    "ticket": message.ticket_id, "note": reason})
    return message
