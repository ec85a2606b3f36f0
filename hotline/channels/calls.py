"""Inbound calls: logged when they arrive, routed to a desk, shown to the seats, linked to tickets.

A call only moves forward: ringing (in the menu) → queued (desk chosen) → in-progress
(a seat has it) → completed. Twilio's own CallStatus is kept beside it, forward only too,
so replayed or late callbacks never undo anything.

Depends on: ticket visibility and models, the read audit, the channels' models and settings.
"""

from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from hotline import audit, permissions, phones
from hotline.channels.models import (
    CALL_STATE_ORDER,
    LIVE_CALL_STATES,
    Call,
    CallState,
    insert_or_ignore,
)
from hotline.channels.settings import is_anonymous
from hotline.errors import Forbidden, Invalid, NotFound
from hotline.extensions import db
from hotline.tickets.models import TERMINAL_STATES, Desk, Ticket
from hotline.types import utcnow
from hotline.users import Role, User

# Twilio's CallStatus values in the order a call goes through them.
TWILIO_ORDER = {"queued": 0, "initiated": 0, "ringing": 1, "in-progress": 2,
                "completed": 3, "busy": 3, "failed": 3, "no-answer": 3, "canceled": 3}
TWILIO_ENDED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})

# Who may look at the calls: seats (their desks), and the centre's supervisors and admins;
# dispatchers see the queues' load with masked numbers (they never answer calls).
VIEWERS = permissions.CALL_VIEWERS
FULL_NUMBER = permissions.SEES_FULL_NUMBER


def record_arrival(call_sid: str, from_number: str, to_number: str, twilio_status: str | None) -> bool:
    """Log a call as it arrives; False when it was logged already (a retried webhook)."""
    now = utcnow()
    return insert_or_ignore(Call, {
        "call_sid": call_sid, "from_number": phones.normalize(from_number) or "",
        "to_number": phones.normalize(to_number) or "", "state": CallState.RINGING,
        "twilio_status": twilio_status if twilio_status in TWILIO_ORDER else None,
        "created_at": now, "updated_at": now,
    }, "call_sid") is not None


def choose_desk(call_sid: str, desk: Desk, from_number: str = "", to_number: str = "") -> Call:
    """The caller pressed a key: the desk is recorded and the call waits for it."""
    call = _locked(call_sid)
    if call is None:  # the first webhook never reached us; log the call now
        record_arrival(call_sid, from_number, to_number, None)
        call = _locked(call_sid)
    if CALL_STATE_ORDER[call.state] <= CALL_STATE_ORDER[CallState.QUEUED]:
        call.desk = desk
        if _advance(call, CallState.QUEUED):
            call.queued_at = utcnow()
    return call


def desk_of(call_sid: str) -> Desk | None:
    return db.session.scalar(select(Call.desk).where(Call.call_sid == call_sid))


def mark_connected(call_sid: str) -> Call | None:
    """A seat took the call (dequeued it, or answered the dialled number)."""
    call = _locked(call_sid)
    if call is not None and _advance(call, CallState.IN_PROGRESS):
        call.answered_at = utcnow()
    return call


def mark_ended(call_sid: str) -> Call | None:
    call = _locked(call_sid)
    if call is not None and _advance(call, CallState.COMPLETED):
        call.ended_at = utcnow()
    return call


def apply_status(call_sid: str, twilio_status: str) -> Call | None:
    """A call status callback: Twilio's status moves forward; an ended call is completed."""
    if twilio_status not in TWILIO_ORDER:
        return None
    call = _locked(call_sid)
    if call is None:
        return None
    current = TWILIO_ORDER.get(call.twilio_status or "", -1)
    if TWILIO_ORDER[twilio_status] > current:
        call.twilio_status = twilio_status
    if twilio_status in TWILIO_ENDED and _advance(call, CallState.COMPLETED):
        call.ended_at = utcnow()
    return call


def link_call(ticket: Ticket, call_sid: str | None) -> None:
    """A seat opened `ticket` during call `call_sid`: the call points at its (first) ticket.

    The caller's number comes from the call when the seat left it empty (unless it was
    withheld). An unknown Sid is a 422 naming `call_sid`.
    """
    if not call_sid:
        return
    call = _locked(call_sid)
    if call is None:
        raise Invalid(errors={"call_sid": ["unknown call"]}, error="call.unknown", params={"call": call_sid})
    if call.ticket_id is None:
        call.ticket_id = ticket.id
    if not ticket.caller_phone and not is_anonymous(call.from_number):
        ticket.caller_phone = call.from_number


@dataclass
class CallView:
    """A call as one viewer sees it, with the caller's open tickets that viewer may see."""

    call: Call
    full_number: bool
    open_tickets: list[Ticket] = field(default_factory=list)


def list_calls(user: User, states: list[CallState] | None = None, desk: Desk | None = None,
               limit: int = 100) -> list[CallView]:
    """Calls in `states` (default: ringing, queued, in-progress), newest first."""
    _check_viewer(user)
    stmt = select(Call).where(Call.state.in_(states or LIVE_CALL_STATES))
    if desk is not None:
        stmt = stmt.where(Call.desk == desk)
    stmt = _within_desks(user, stmt)
    stmt = stmt.options(selectinload(Call.ticket)).order_by(Call.id.desc()).limit(limit)
    calls = list(db.session.scalars(stmt))
    return _views(user, calls)


def get_call(user: User, call_sid: str) -> CallView:
    _check_viewer(user)
    call = db.session.scalar(_within_desks(user, select(Call).where(Call.call_sid == call_sid)))
    if call is None:
        raise NotFound(error="call.not_found", params={"call": call_sid})
    return _views(user, [call])[0]


def calls_of_ticket(user: User, ticket_id: int) -> list[Call]:
    """The calls linked to ticket `ticket_id` that `user` may look at (none for other roles)."""
    if user.role not in VIEWERS:
        return []
    stmt = _within_desks(user, select(Call).where(Call.ticket_id == ticket_id))
    return list(db.session.scalars(stmt.order_by(Call.id)))


def _views(user: User, calls: list[Call]) -> list[CallView]:
    phones = {call.from_number for call in calls if not is_anonymous(call.from_number)}
    by_phone: dict[str, list[Ticket]] = {}
    if phones:
        stmt = permissions.visible_tickets(user).where(
            Ticket.caller_phone.in_(phones), Ticket.state.not_in(TERMINAL_STATES))
        for ticket in db.session.scalars(stmt.order_by(Ticket.id.desc())):
            by_phone.setdefault(ticket.caller_phone, []).append(ticket)
    full = user.role in FULL_NUMBER
    audit.audit_children(user, [t for tickets in by_phone.values() for t in tickets], "calls")
    return [CallView(call, full, by_phone.get(call.from_number, []) if call.from_number in phones else [])
            for call in calls]


def _check_viewer(user: User) -> None:
    if user.role not in VIEWERS:
        raise Forbidden(error="call.forbidden")


def _within_desks(user: User, stmt):
    """A seat sees calls still in the menu and those of its own desks."""
    if user.role == Role.SEAT:
        return stmt.where(or_(Call.desk.is_(None), Call.desk.in_(user.desks or [])))
    return stmt


def _locked(call_sid: str) -> Call | None:
    return db.session.scalar(select(Call).where(Call.call_sid == call_sid).with_for_update())


def _advance(call: Call, state: CallState) -> bool:
    if CALL_STATE_ORDER[state] <= CALL_STATE_ORDER[call.state]:
        return False
    call.state = state
    call.updated_at = utcnow()
    return True
