"""Outgoing webhooks: subscriptions of county or centre systems, and their deliveries.

A subscription (one unit's subtree, or the whole centre) names a URL, the event types it
wants and a Standard Webhooks secret. Every ticket event is captured as `record_event`
announces it (`capture` receives `signals.event_recorded`), and when its transaction commits,
`before_commit` writes one delivery per matching subscription in that same transaction: the
body is the ticket as a handler of the subscription's unit may see it (the API's schema and
masking). Nothing that did not commit is pushed; nothing that committed is missed.

RQ jobs (`tasks.deliver_webhook`) send them, signed with the `standardwebhooks` package.
Per subscription and ticket, deliveries go out in event order: a later one waits while an
earlier one is pending or retrying. Timeouts, connection errors and non-2xx answers are
retried on RETRY_SCHEDULE (more than 24 h), then the delivery is `failed` and an admin
may retry it; a 410 ends the subscription. The minute sweep re-enqueues due retries, so a
lost job or a Redis restart loses nothing.

Depends on: the ticket models, visibility and schemas (a delivery's body is the ticket as
the API shows it), units, users and the job helper. It hears of ticket events as a receiver
of `signals.event_recorded` (connected by `hotline.receivers`).
"""

import base64
import contextlib
import enum
import http.client
import json
import logging
import secrets
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from flask import current_app
from sqlalchemy import JSON, ForeignKey, Index, String, Text, event, exists, select
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship
from standardwebhooks.webhooks import Webhook

from hotline import permissions, shared_cache, tasks
from hotline.errors import Conflict, Invalid, NotFound
from hotline.extensions import db
from hotline.tickets.events import HeldEvent
from hotline.tickets.models import Event, Ticket
from hotline.tickets.schemas import TicketOut
from hotline.types import UTCDateTime, enum_column, utcnow
from hotline.units import Unit, get_by_code
from hotline.users import Role, User

log = logging.getLogger(__name__)

# Ticket event action -> webhook event type. Actions not listed (the child-safety and
# referral internals, survey bookkeeping, anonymisation) are never pushed.
EVENT_TYPES = {
    "create": "ticket.created",
    "submit": "ticket.submitted",
    "answer": "ticket.answered",
    "transfer_out": "ticket.transferred",
    "reject": "ticket.rejected",
    "merge": "ticket.merged",
    "merged_in": "ticket.merged_in",
    "dispatch": "ticket.dispatched",
    "recall": "ticket.recalled",
    "acknowledge": "ticket.acknowledged",
    "return": "ticket.return_requested",
    "approve_return": "ticket.returned",
    "deny_return": "ticket.return_denied",
    "forward": "ticket.forwarded",
    "contact_caller": "ticket.caller_contacted",
    "submit_opinion": "ticket.opinion_submitted",
    "request_extension": "ticket.extension_requested",
    "approve_extension": "ticket.extension_approved",
    "deny_extension": "ticket.extension_denied",
    "reply": "ticket.replied",
    "approve_reply": "ticket.reply_approved",
    "send_back": "ticket.sent_back",
    "record_callback": "ticket.callback_recorded",
    "reopen": "ticket.reopened",
    "supervise": "ticket.supervised",
    "consult": "ticket.consulted",
    "add_note": "ticket.note_added",
    "append": "ticket.appended",
    "crisis_flagged": "ticket.crisis_flagged",
    "timer_warning": "timer.warning",
    "timer_overdue": "timer.overdue",
    "timer_recomputed": "timer.recomputed",
}
ALL_EVENTS = "*"
TEST_EVENT = "webhook.test"
# Keys of an event's data that name a unit the ticket just left (it no longer shows in the
# ticket's units, yet that unit's system must hear of it: a return approved, a recall).
LEFT_UNIT_KEYS = ("previous_unit", "from_unit", "unit")

# Seconds to wait before each retry: exponential, then every 10 h; the last retry is more
# than 24 h after the first attempt (the Standard Webhooks / Svix schedule).
RETRY_SCHEDULE = (5, 60, 300, 1800, 7200, 18000, 36000, 36000)
RESPONSE_KEPT = 2000
_CAPTURED = "hotline.webhook_events"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"        # not tried yet, or waiting for an earlier one of its ticket
    RETRYING = "retrying"      # tried, failed, tried again at `next_attempt_at`
    DELIVERED = "delivered"
    FAILED = "failed"          # retries exhausted (or 410): an admin may retry it
    CANCELLED = "cancelled"    # the subscription ended before it went out


OPEN = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


class Subscription(db.Model):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)  # None: centre-wide
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    ended_reason: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit | None] = relationship(lazy="joined")

    def wants(self, event_type: str) -> bool:
        return ALL_EVENTS in self.events or event_type in self.events

    def covers(self, units: list[Unit]) -> bool:
        return self.unit is None or any(unit.is_within(self.unit) for unit in units)


class Delivery(db.Model):
    """One event for one subscription: the exact body signed, and every attempt's outcome."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_chain", "subscription_id", "ticket_id", "id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    # No foreign key: the event log is partitioned (hotline.history), its key is (id, at).
    event_id: Mapped[int | None] = mapped_column(index=True)
    msg_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus, 16),
                                                   default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)       # since the last manual retry
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sending_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_code: Mapped[int | None] = mapped_column()
    response_body: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    subscription: Mapped[Subscription] = relationship()


# --- secrets --------------------------------------------------------------------------

def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_secret(secret: str) -> None:
    try:
        raw = Webhook(secret)._whsecret
    except Exception:
        raw = b""
    if not secret.startswith("whsec_") or not 24 <= len(raw) <= 64:
        raise Invalid(errors={"secret": ["not a whsec_ secret"]}, error="subscription.bad_secret")


# --- managing subscriptions -----------------------------------------------------------

def _unit_or_centre(actor: User, code: str | None) -> Unit | None:
    unit = None
    if code:
        unit = get_by_code(code)
        if unit is None:
            raise Invalid(errors={"unit": ["unknown unit"]}, error="unit.unknown", params={"unit": code})
    permissions.check_manages_subscriptions(actor, unit)
    return unit


def _check_events(events: list[str]) -> None:
    known = set(EVENT_TYPES.values()) | {ALL_EVENTS}
    unknown = [name for name in events if name not in known]
    if unknown or not events:
        raise Invalid(errors={"events": [f"unknown: {', '.join(unknown)}" if unknown else "empty"]},
                      error="subscription.unknown_event", params={"events": unknown})


def create(actor: User, data: dict) -> Subscription:
    """A new subscription; the secret is generated unless given and shown only in this answer."""
    unit = _unit_or_centre(actor, data.get("unit"))
    _check_events(data["events"])
    secret = data.get("secret") or new_secret()
    check_secret(secret)
    sub = Subscription(unit=unit, url=data["url"], events=list(data["events"]), secret=secret,
                       description=data.get("description") or "", active=True, created_by_id=actor.id,
                       created_at=utcnow())
    db.session.add(sub)
    db.session.flush()
    return sub


def visible(actor: User) -> list[Subscription]:
    """The subscriptions `actor` manages (403 for whoever manages none)."""
    permissions.check_manages_subscriptions(actor, actor.unit)
    subs = select(Subscription).order_by(Subscription.id)
    return [sub for sub in db.session.scalars(subs) if permissions.may_manage_subscriptions(actor, sub.unit)]


def get(actor: User, sub_id: int, *, for_update: bool = False) -> Subscription:
    """403 for whoever manages no subscription, 404 for one outside what `actor` manages."""
    permissions.check_manages_subscriptions(actor, actor.unit)
    stmt = select(Subscription).where(Subscription.id == sub_id)
    sub = db.session.scalar(stmt.with_for_update(of=Subscription) if for_update else stmt)
    if sub is None or not permissions.may_manage_subscriptions(actor, sub.unit):
        raise NotFound(error="subscription.not_found", params={"subscription": sub_id})
    return sub


def update(actor: User, sub_id: int, data: dict) -> Subscription:
    """Change the URL, events, description, secret, or (re)activate it after a 410."""
    sub = get(actor, sub_id, for_update=True)
    if "unit" in data:
        sub.unit = _unit_or_centre(actor, data["unit"])
    if "events" in data:
        _check_events(data["events"])
        sub.events = list(data["events"])
    if data.get("secret"):
        check_secret(data["secret"])
        sub.secret = data["secret"]
    for field in ("url", "description"):
        if field in data:
            setattr(sub, field, data[field])
    if "active" in data:
        sub.active = data["active"]
        sub.ended_reason = None if data["active"] else "停用 (deactivated by an admin)"
    if not sub.active:
        _cancel_open(sub)
    return sub


def delete(actor: User, sub_id: int) -> None:
    sub = get(actor, sub_id, for_update=True)
    db.session.execute(Delivery.__table__.delete().where(Delivery.subscription_id == sub.id))
    db.session.delete(sub)


def deliveries(actor: User, sub_id: int, status: DeliveryStatus | None, limit: int) -> list[Delivery]:
    sub = get(actor, sub_id)
    stmt = select(Delivery).where(Delivery.subscription_id == sub.id)
    if status is not None:
        stmt = stmt.where(Delivery.status == status)
    return list(db.session.scalars(stmt.order_by(Delivery.id.desc()).limit(limit)))


def retry(actor: User, sub_id: int, delivery_id: int | None = None) -> list[Delivery]:
    """Send failed (or cancelled) deliveries again, now, with a fresh retry schedule."""
    sub = get(actor, sub_id, for_update=True)
    if not sub.active:
        raise Conflict(error="subscription.inactive")
    stmt = select(Delivery).where(Delivery.subscription_id == sub.id)
    if delivery_id is not None:
        stmt = stmt.where(Delivery.id == delivery_id)
    else:
        stmt = stmt.where(Delivery.status == DeliveryStatus.FAILED)
    rows = list(db.session.scalars(stmt.order_by(Delivery.id)))
    if delivery_id is not None:
        if not rows:
            raise NotFound(error="delivery.not_found", params={"delivery": delivery_id})
        if rows[0].status not in (DeliveryStatus.FAILED, DeliveryStatus.CANCELLED):
            raise Conflict(error="delivery.not_failed", params={"delivery_status": rows[0].status})
    now = utcnow()
    for row in rows:
        row.status, row.failures, row.next_attempt_at = DeliveryStatus.PENDING, 0, now
        row.sending_until = None
        tasks.after_commit(tasks.deliver_webhook, row.id, job_id=f"webhook-{row.id}-r{row.attempts}")
    return rows


def send_test(actor: User, sub_id: int) -> Delivery:
    """A `webhook.test` delivery (no ticket) through the same path as the real ones."""
    sub = get(actor, sub_id)
    msg_id = f"msg_test_{uuid.uuid4().hex}"
    body = {"id": msg_id, "type": TEST_EVENT, "timestamp": _iso(utcnow()),
            "data": {"subscription": sub.id}}
    row = Delivery(subscription=sub, msg_id=msg_id, event_type=TEST_EVENT, payload=_dumps(body),
                   status=DeliveryStatus.PENDING, next_attempt_at=utcnow(), created_at=utcnow())
    db.session.add(row)
    db.session.flush()
    tasks.after_commit(tasks.deliver_webhook, row.id, job_id=f"webhook-{row.id}")
    return row


def _cancel_open(sub: Subscription) -> None:
    for row in db.session.scalars(select(Delivery).where(Delivery.subscription_id == sub.id,
                                                         Delivery.status.in_(OPEN))):
        row.status = DeliveryStatus.CANCELLED


# --- the outbox: deliveries written in the event's transaction --------------------------

def capture(_action: str, *, event: Event | HeldEvent) -> None:
    """Receives `signals.event_recorded`: remember the event until its transaction commits."""
    db.session.info.setdefault(_CAPTURED, []).append(event)


def init_app(app) -> None:
    """Write the deliveries of captured events just before each commit (registered once)."""
    if not event.contains(db.session, "before_commit", _write_deliveries):
        event.listen(db.session, "before_commit", _write_deliveries)
        event.listen(db.session, "after_rollback", _forget)


def _forget(session) -> None:
    session.info.pop(_CAPTURED, None)


def _write_deliveries(session) -> None:
    captured = [e for e in session.info.pop(_CAPTURED, []) if e.action in EVENT_TYPES]
    if not captured:
        return
    if not shared_cache.cached("subscriptions", "active", _any_active):
        return      # most centres have none: no statement at all
    session.flush()
    subs = list(session.scalars(select(Subscription).where(Subscription.active.is_(True))))
    if not subs:
        return
    written = []
    for ticket_event in captured:
        event_type = EVENT_TYPES[ticket_event.action]
        ticket = ticket_event.ticket
        units = _units_of(ticket, ticket_event)
        for sub in subs:
            if sub.wants(event_type) and sub.covers(units):
                written.append(_delivery(sub, ticket, ticket_event, event_type))
    session.add_all(written)
    session.flush()
    for row in written:
        tasks.after_commit(tasks.deliver_webhook, row.id, job_id=f"webhook-{row.id}")


def _any_active() -> bool:
    """Whether any subscription is active (kept per process: hotline.shared_cache)."""
    first = select(Subscription.id).where(Subscription.active.is_(True)).limit(1)
    return db.session.scalar(first) is not None


def _units_of(ticket: Ticket, ticket_event: Event | HeldEvent) -> list[Unit]:
    """The lead and co-units now, and a unit the event says the ticket just left."""
    units = [unit for unit in [ticket.lead_unit, *ticket.co_units] if unit is not None]
    for key in LEFT_UNIT_KEYS:
        code = (ticket_event.data or {}).get(key)
        if isinstance(code, str) and (unit := get_by_code(code)) is not None:
            units.append(unit)
    return units


def viewer_for(sub: Subscription) -> User:
    """Who the subscription reads as: a handler of its unit, or (centre-wide) a dispatcher.
    Transient, never added to the session."""
    if sub.unit is None:
        return User(username="webhook", role=Role.DISPATCHER)
    return User(username="webhook", role=Role.HANDLER, unit=sub.unit, unit_id=sub.unit.id)


def _delivery(sub: Subscription, ticket: Ticket, ticket_event: Event | HeldEvent,
              event_type: str) -> Delivery:
    msg_id = f"msg_{ticket_event.id}_{sub.id}"
    body = {
        "id": msg_id, "type": event_type, "timestamp": _iso(ticket_event.at),
        "data": {
            "ticket": TicketOut(viewer=viewer_for(sub)).dump(ticket),
            "event": {"seq": ticket_event.seq, "action": ticket_event.action,
                      "from_state": ticket_event.from_state, "to_state": ticket_event.to_state,
                      "unit": ticket_event.unit.code if ticket_event.unit else None,
                      "data": ticket_event.data or {}},
        },
    }
    return Delivery(subscription=sub, ticket_id=ticket.id, event_id=ticket_event.id, msg_id=msg_id,
                    event_type=event_type, payload=_dumps(body), status=DeliveryStatus.PENDING,
                    next_attempt_at=utcnow(), created_at=utcnow())


def _dumps(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)


def _iso(value: datetime) -> str:
    return value.isoformat()


# --- sending ----------------------------------------------------------------------------

def _earlier_open(row: Delivery):
    earlier = aliased(Delivery)
    return exists().where(earlier.subscription_id == row.subscription_id,
                          earlier.ticket_id == row.ticket_id, earlier.id < row.id,
                          earlier.status.in_(OPEN))


def deliver(delivery_id: int) -> str:
    """Send one delivery if it is due and first in its ticket's line; record the outcome.

    The attempt is claimed and committed before the request (`sending_until`), so a
    duplicate job waits; a worker that dies mid-request leaves it to the sweep after that.
    """
    now = utcnow()
    row = db.session.scalar(select(Delivery).where(Delivery.id == delivery_id).with_for_update())
    if row is None:
        return "missing"
    if row.status not in OPEN:
        return row.status.value
    if row.next_attempt_at > now or (row.sending_until is not None and row.sending_until > now):
        return "not_due"
    if row.ticket_id is not None and db.session.scalar(select(_earlier_open(row))):
        return "waiting"
    sub = row.subscription
    if not sub.active:
        row.status = DeliveryStatus.CANCELLED
        return row.status.value
    timeout = float(current_app.config["WEBHOOK_TIMEOUT"])
    row.attempts += 1
    row.last_attempt_at = now
    row.sending_until = now + timedelta(seconds=timeout + 30)
    url, secret, msg_id, payload = sub.url, sub.secret, row.msg_id, row.payload
    db.session.commit()
    outcome = post(url, secret, msg_id, payload, timeout)
    row = db.session.scalar(select(Delivery).where(Delivery.id == delivery_id).with_for_update())
    _record(row, outcome)
    return row.status.value


class Outcome:
    def __init__(self, code: int | None, body: str | None, error: str | None, duration_ms: int):
        self.code, self.body, self.error, self.duration_ms = code, body, error, duration_ms

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


def post(url: str, secret: str, msg_id: str, payload: str, timeout: float) -> Outcome:
    """POST the signed body; never longer than `timeout` seconds in all (connect, wait, read).

    Socket timeouts bound each read, not the whole answer: a receiver that trickles a byte at
    a time would hold the worker for ever. A watchdog shuts the socket down at the deadline,
    which ends whatever read is waiting.
    """
    started = time.monotonic()
    sent_at = utcnow()
    headers = {"Content-Type": "application/json", "User-Agent": "hotline-webhooks/1",
               "webhook-id": msg_id, "webhook-timestamp": str(int(sent_at.timestamp())),
               "webhook-signature": Webhook(secret).sign(msg_id, sent_at, payload)}
    connect = min(float(current_app.config["WEBHOOK_CONNECT_TIMEOUT"]), timeout)
    target = urlsplit(url)
    kind = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    conn = kind(target.hostname, target.port, timeout=connect)
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        if conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(timeout, cut_off)
    watchdog.daemon = True
    code, kept, error = None, None, None
    watchdog.start()
    try:
        conn.request("POST", urlunsplit(("", "", target.path or "/", target.query, "")),
                     body=payload.encode(), headers=headers)
        conn.sock.settimeout(max(timeout - (time.monotonic() - started), 0.001))
        response = conn.getresponse()
        kept = response.read(RESPONSE_KEPT).decode("utf-8", "replace")
        code = response.status
    except (OSError, http.client.HTTPException) as exc:
        timed_out = expired.is_set() or isinstance(exc, TimeoutError)
        error = f"timeout after {timeout:g} s: {exc!r}" if timed_out else f"connection error: {exc!r}"
    finally:
        watchdog.cancel()
        conn.close()
    duration = int((time.monotonic() - started) * 1000)
    if error is None and (expired.is_set() or duration > timeout * 1000):
        error, code = f"answered after the {timeout:g} s limit", None
    return Outcome(code, kept, error and error[:500], duration)


def _record(row: Delivery, outcome: Outcome) -> None:
    now = utcnow()
    row.sending_until = None
    row.response_code, row.response_body = outcome.code, outcome.body
    row.error, row.duration_ms = outcome.error, outcome.duration_ms
    if outcome.ok:
        row.status, row.delivered_at = DeliveryStatus.DELIVERED, now
        _next_in_line(row)
        return
    if outcome.code == 410:
        row.status = DeliveryStatus.FAILED
        sub = row.subscription
        sub.active, sub.ended_reason = False, f"接收方答复 410 Gone ({_iso(now)})"
        _cancel_open(sub)
        return
    row.failures += 1
    if row.failures > len(RETRY_SCHEDULE):
        row.status = DeliveryStatus.FAILED
        _next_in_line(row)
        return
    row.status = DeliveryStatus.RETRYING
    row.next_attempt_at = now + timedelta(seconds=RETRY_SCHEDULE[row.failures - 1])
    tasks.after_commit(tasks.deliver_webhook, row.id, at=row.next_attempt_at,
                       job_id=f"webhook-{row.id}-{row.attempts}")


def _next_in_line(row: Delivery) -> None:
    if row.ticket_id is None:
        return
    following = db.session.scalar(
        select(Delivery.id).where(Delivery.subscription_id == row.subscription_id,
                                  Delivery.ticket_id == row.ticket_id, Delivery.id > row.id,
                                  Delivery.status.in_(OPEN)).order_by(Delivery.id).limit(1))
    if following is not None:
        tasks.after_commit(tasks.deliver_webhook, following, job_id=f"webhook-{following}-next{row.id}")


def requeue_due(now: datetime | None = None, batch: int = 500) -> int:
    """The sweep: enqueue every due delivery that is first in its line (lost or Redis-less jobs),
    and forget finished ones older than WEBHOOK_LOG_DAYS (their bodies hold callers' data)."""
    now = now or utcnow()
    kept = timedelta(days=current_app.config["WEBHOOK_LOG_DAYS"])
    db.session.execute(Delivery.__table__.delete().where(
        Delivery.status.not_in(OPEN), Delivery.created_at < now - kept))
    row = Delivery
    earlier = aliased(Delivery)
    first = ~exists().where(earlier.subscription_id == row.subscription_id,
                            earlier.ticket_id == row.ticket_id, earlier.id < row.id,
                            earlier.status.in_(OPEN))
    due = list(db.session.scalars(
        select(row.id).where(row.status.in_(OPEN), row.next_attempt_at <= now,
                             (row.sending_until.is_(None)) | (row.sending_until <= now), first)
        .order_by(row.id).limit(batch)))
    for delivery_id in due:
        try:
            tasks.enqueue(tasks.deliver_webhook, delivery_id, job_id=f"webhook-{delivery_id}-sweep")
        except Exception as exc:
            log.warning("could not requeue webhook delivery %s: %s", delivery_id, exc)
            break
    return len(due)
