"""What a ticket's clock firing means: the timeline event, the unit's 督办, the boards.

Depends on: the clocks (firing levels, limits), the ticket models and event log, notices.
Registered with `hotline.clocks.firing.on_fire` for the ticket's own timer kinds (dispatch,
acknowledge, respond, handle, review, callback) in `hotline.receivers`; a referral's clocks
have their handler in `referrals.service` and share `ticket_of` and `record_firing`.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload, with_expression

from hotline import audit, bulk, notices
from hotline.clocks import service as clocks
from hotline.clocks.firing import OVERDUE, WARNING
from hotline.clocks.models import Timer, TimerKind
from hotline.extensions import db
from hotline.tickets import events
from hotline.tickets.models import LAST_EVENT_HASH, Priority, Ticket
from hotline.users import Role

log = logging.getLogger(__name__)

TICKET_KINDS = (TimerKind.DISPATCH, TimerKind.ACKNOWLEDGE, TimerKind.RESPOND, TimerKind.HANDLE,
                TimerKind.REVIEW, TimerKind.CALLBACK)
KIND_NAMES = {
    TimerKind.DISPATCH: "派单", TimerKind.ACKNOWLEDGE: "签收", TimerKind.RESPOND: "联系市民",
    TimerKind.HANDLE: "办理", TimerKind.REVIEW: "审核", TimerKind.CALLBACK: "回访",
}


# The tickets a batch read afresh under its lock (`prepare`): their handlers need not read again.
_FRESH = "clock_events.fresh_tickets"


@contextmanager
def batch(timers: list[Timer]) -> Iterator[None]:
    """Around a batch of firings: its tickets (with their lead units and the last hash of each
    one's event chain) read in two queries, instead of a few per firing; its events, notices
    and tickets' event counters written in one statement each as it ends."""
    ids = {timer.ticket_id for timer in timers}
    tickets = db.session.scalars(select(Ticket).where(bulk.any_of(Ticket.id, ids))
                                 .options(selectinload(Ticket.lead_unit),
                                          with_expression(Ticket.last_event_hash, LAST_EVENT_HASH))
                                 .execution_options(populate_existing=True)).all()
    audit.prime_event_chains(tickets)
    # Held (the identity map is weak), and only for this transaction: the session keeps its
    # objects across commits, so a later firing must read its ticket again under its own lock.
    db.session.info[_FRESH] = (db.session().get_transaction(), {ticket.id: ticket for ticket in tickets})
    with events.held(), notices.held():
        yield
    events.write_counters(tickets)


def ticket_of(timer: Timer) -> Ticket:
    """The timer's ticket, read afresh (the firing holds its row lock), unless its batch has."""
    transaction, fresh = db.session.info.get(_FRESH, (None, {}))
    if transaction is not None and transaction is db.session().get_transaction() \
            and timer.ticket_id in fresh:
        return fresh[timer.ticket_id]
    return db.session.get(Ticket, timer.ticket_id, populate_existing=True)


def record_firing(ticket: Ticket, timer: Timer, level: str, now: datetime) -> float:
    """The `timer_warning` / `timer_overdue` event; returns how late it fired, in seconds."""
    lateness = (now - (timer.warn_at if level == WARNING else timer.due_at)).total_seconds()
    events.record_held(ticket, f"timer_{level}", ticket.state, ticket.state, {
        "timer": timer.kind.value, "due_at": timer.due_at.isoformat(),
        "late_seconds": round(max(lateness, 0), 1),
        **({"referral": timer.referral_id} if timer.referral_id else {}),
    }, now)
    return lateness


def fired(timer: Timer, level: str, now: datetime) -> None:
    """The timeline event, the unit's highlighted queue, 督办 notices and the supervisor's board."""
    ticket = ticket_of(timer)
    lateness = record_firing(ticket, timer, level, now)
    step = KIND_NAMES.get(timer.kind, timer.kind.value)
    rule = clocks.time_limits().rule_for(str(ticket.desk), str(ticket.category), str(ticket.priority))
    escalation = rule.escalations.get(timer.kind.value)
    if level == OVERDUE:
        if ticket.lead_unit is not None and timer.kind != TimerKind.DISPATCH:
            notices.tell_unit(ticket.lead_unit, ticket, "overdue",
                              f"督办：工单 {ticket.number} {step}已超期，请立即处理")
        notices.tell_role(Role.SUPERVISOR, ticket, "overdue",
                          f"工单 {ticket.number} {step}超期" + (f"（{escalation}）" if escalation else ""))
        if timer.kind == TimerKind.DISPATCH:
            notices.tell_role(Role.DISPATCHER, ticket, "overdue", f"工单 {ticket.number} 派单超期")
    elif ticket.priority == Priority.CRISIS:
        notices.tell_role(Role.SUPERVISOR, ticket, "crisis_warning",
                          f"危机工单 {ticket.number} {step}即将超期")
    log.info("timer %s of %s fired %s (%.1fs late)", timer.kind, ticket.number, level, lateness)
