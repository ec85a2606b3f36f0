"""Status callbacks: delivery of our SMS and calls, and the progress of inbound calls.

Each report is stored once per (Sid, status), then applied forward only: to the outbox
message with that provider Sid (`outbox.record_status`) and to the inbound call with that
CallSid. Twilio may report a message before the sending job has committed its Sid; such
reports are kept and applied again by a job a little later (`tasks.reapply_status`).

Depends on: the outbox (messages) and `channels.calls` (calls), the stored reports.
"""

from sqlalchemy import select

from hotline import outbox
from hotline.channels import calls
from hotline.channels.models import StatusEvent, insert_or_ignore
from hotline.extensions import db
from hotline.types import utcnow

CALL, MESSAGE = "call", "message"


def record(sid: str, status: str, kind: str, detail: str | None = None) -> bool:
    """Store one report; False for a replay (already stored)."""
    return insert_or_ignore(StatusEvent, {
        "sid": sid, "status": status[:20], "kind": kind, "detail": (detail or None) and detail[:200],
        "received_at": utcnow(),
    }, "sid", "status") is not None


def apply(sid: str, status: str, kind: str, detail: str | None = None) -> bool:
    """Apply one report to what it is about; False when nothing with that Sid is known yet."""
    found = outbox.record_status(sid, status, detail) is not None
    if kind == CALL:
        found = calls.apply_status(sid, status) is not None or found
    return found


def reapply(sid: str) -> bool:
    """Apply every stored report of `sid` again, oldest first (forward-only makes it safe)."""
    events = db.session.scalars(select(StatusEvent).where(StatusEvent.sid == sid).order_by(StatusEvent.id))
    found = False
    for event in events:
        found = apply(sid, event.status, event.kind, event.detail) or found
    return found
