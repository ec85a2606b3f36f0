"""Recomputing running clocks from their start: after a year is declared, or a ticket turns crisis.

One function for both. A clock keeps its start; its limit is read again (the ticket's
rule today, e.g. crisis) on the calendar as it stands (e.g. the year just declared).
Approved extensions stay on top of the new original due, which KPIs keep comparing with.
Warning and overdue states follow the new times, and the firing jobs move with them.

Depends on: the clocks (limits, calendar, scheduling), the ticket models and event log. A
referral's clock reads its referral through `ticket.referrals`, so nothing of `referrals` is
imported. A declared year reaches here as `signals.year_declared` (`year_declared`), so the
clocks' calendar module does not import the tickets.
"""

from sqlalchemy import select

from hotline.clocks import service as clocks
from hotline.clocks.durations import Duration
from hotline.clocks.models import OPEN_TIMER_STATES, Timer, TimerKind, TimerState
from hotline.extensions import db
from hotline.tickets.events import record_event
from hotline.tickets.models import Event, Ticket
from hotline.types import utcnow

DECLARED, CRISIS = "calendar_declared", "crisis"


def recompute(ticket, timers: list[Timer], *, reason: str, actor=None) -> list[Timer]:
    """Recompute open `timers` of `ticket`; one `timer_recomputed` event per clock whose due moved.

    Returns the clocks whose due moved.
    """
    now, moved = utcnow(), []
    limits = clocks.time_limits()
    for timer in timers:
        if not timer.is_open:
            continue
        referral = _referral(ticket, timer)
        duration, around_the_clock = clocks.limit_of(limits, ticket, timer.kind, referral)
        computed = clocks.compute(timer.started_at, duration, around_the_clock)
        due, warn = computed.due_at, computed.warn_at
        days = _extension_days(ticket, timer)
        if days:
            due = clocks.deadline(computed.due_at, Duration(days, "wd"))
            warn = clocks.warn_time(limits, timer.started_at, due, around_the_clock=False)
        old_due = timer.due_at
        timer.original_due_at, timer.provisional = computed.due_at, computed.provisional
        if (due, warn) == (timer.due_at, timer.warn_at):
            continue
        timer.due_at, timer.warn_at = due, warn
        timer.state = _state_now(timer, now)
        record_event(ticket, actor, "timer_recomputed", ticket.state, ticket.state, {
            "timer": timer.kind.value, "old_due": old_due.isoformat(), "new_due": due.isoformat(),
            "cause": reason, "provisional": timer.provisional,
            **({"referral": timer.referral_id} if timer.referral_id else {}),
        }, at=now)
        clocks.schedule(timer)
        moved.append(timer)
    return moved


def year_declared(_year: int) -> int:
    """Receives `signals.year_declared`: the provisional clocks on today's calendar."""
    return recompute_provisional()


def recompute_provisional() -> int:
    """Every open clock computed on a provisional year, recomputed on today's calendar (after
    a declaration); returns how many moved. Tickets are locked in id order, as actions do."""
    ticket_ids = db.session.scalars(
        select(Timer.ticket_id).where(Timer.provisional.is_(True), Timer.state.in_(OPEN_TIMER_STATES))
        .distinct().order_by(Timer.ticket_id)).all()
    moved = 0
    for ticket_id in ticket_ids:
        ticket = db.session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
        timers = [timer for timer in ticket.timers if timer.provisional and timer.is_open]
        moved += len(recompute(ticket, timers, reason=DECLARED))
    return moved


def _state_now(timer: Timer, now) -> TimerState:
    """Running again unless the new times say otherwise; a level not yet reached un-fires.

    A clock past its new due that had not been overdue stays as it is: the firing (job or
    sweep) makes it overdue with its notices.
    """
    if now < timer.warn_at:
        return TimerState.RUNNING
    if now < timer.due_at:
        return TimerState.WARNED if timer.state == TimerState.OVERDUE else timer.state
    return timer.state


def _referral(ticket, timer: Timer):
    if timer.referral_id is None:
        return None
    return next((r for r in ticket.referrals if r.id == timer.referral_id), None)


def _extension_days(ticket, timer: Timer) -> int:
    """Working days of extensions approved on this clock (a handle clock) since it started."""
    if timer.kind != TimerKind.HANDLE or timer.due_at == timer.original_due_at:
        return 0
    events = db.session.scalars(select(Event.data).where(
        Event.ticket_id == ticket.id, Event.action == "approve_extension", Event.at >= timer.started_at))
    return sum(int(data.get("days") or 0) for data in events)
