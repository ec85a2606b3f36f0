"""Starting, meeting and cancelling the timers of a ticket.

`due_for` is the one place a ticket's deadline is computed; everything else
reads `Timer.due_at`.
"""

from datetime import datetime

from flask import current_app, g
from sqlalchemy import select

from hotline.clocks.calendar import WorkCalendar, add_duration, subtract_duration
from hotline.clocks.durations import Duration
from hotline.clocks.limits import TimeLimits
from hotline.clocks.models import (
    OPEN_TIMER_STATES,
    CalendarDay,
    CalendarYear,
    Timer,
    TimerKind,
    TimerState,
)
from hotline.extensions import db
from hotline.types import utcnow


def time_limits() -> TimeLimits:
    return current_app.extensions["hotline.time_limits"]


def work_calendar() -> WorkCalendar:
    """The statutory calendar with this database's overrides (read once per request or job)."""
    if "work_calendar" not in g:
        overrides = {row.day: row.is_workday for row in db.session.scalars(select(CalendarDay))}
        years = frozenset(db.session.scalars(select(CalendarYear.year)))
        g.work_calendar = WorkCalendar(overrides, years)
    return g.work_calendar


def forget_calendar() -> None:
    """Drop the cached calendar after an override changed."""
    g.pop("work_calendar", None)


def deadline(start: datetime, duration: Duration, *, around_the_clock: bool = False) -> datetime:
    """`duration` after `start` on this centre's working-day calendar."""
    return add_duration(start, duration, work_calendar(), around_the_clock=around_the_clock)


def due_for(limits: TimeLimits, ticket, kind: TimerKind, start: datetime) -> tuple[datetime, datetime]:
    """Return (warn_at, due_at) of clock `kind` of `ticket` started at `start`."""
    rule = limits.rule_for(str(ticket.desk), str(ticket.category), str(ticket.priority))
    duration: Duration
    if kind == TimerKind.REVIEW:
        duration = limits.review
    elif kind == TimerKind.CALLBACK:
        duration = limits.callback
    else:
        duration = rule.limits[str(kind)]
    due = add_duration(start, duration, work_calendar(), around_the_clock=rule.around_the_clock)
    return warn_time(limits, start, due, rule.around_the_clock), due


def warn_time(limits: TimeLimits, start: datetime, due: datetime, around_the_clock: bool) -> datetime:
    """80% of the span or `warning.before` ahead of due, whichever is later."""
    by_ratio = start + (due - start) * limits.warning_ratio
    ahead = subtract_duration(due, limits.warning_before, work_calendar(),
                              around_the_clock=around_the_clock)
    return max(by_ratio, ahead)


def start_timer(ticket, kind: TimerKind, start: datetime | None = None) -> Timer:
    """Start clock `kind`, replacing an open one of the same kind (a new cycle)."""
    start = start or utcnow()
    for old in open_timers(ticket, kind):
        old.state, old.stopped_at = TimerState.CANCELLED, start
    warn_at, due_at = due_for(time_limits(), ticket, kind, start)
    timer = Timer(
        kind=kind, started_at=start, warn_at=warn_at, due_at=due_at,
        original_due_at=due_at, state=TimerState.RUNNING,
    )
    ticket.timers.append(timer)
    _schedule(timer)
    return timer


def start_referral_timer(ticket, referral, kind: TimerKind, start: datetime | None = None) -> Timer:
    """A referral's clock (accept, first contact, outcome): on its ticket, fired the same way."""
    start = start or utcnow()
    limits = time_limits()
    crisis = referral.urgency.value == "crisis"
    duration = limits.referral["crisis" if crisis else "normal"][kind.value]
    due_at = add_duration(start, duration, work_calendar(), around_the_clock=crisis)
    timer = Timer(kind=kind, referral_id=referral.id, started_at=start, due_at=due_at,
                  original_due_at=due_at, warn_at=warn_time(limits, start, due_at, crisis),
                  state=TimerState.RUNNING)
    ticket.timers.append(timer)
    _schedule(timer)
    return timer


def stop_referral_timers(ticket, referral, kind: TimerKind | None = None, *,
                         state: TimerState = TimerState.MET) -> None:
    """Meet (or cancel) a referral's open clocks, all of them or one kind."""
    now = utcnow()
    for timer in ticket.timers:
        if (timer.referral_id == referral.id and timer.state in OPEN_TIMER_STATES
                and (kind is None or timer.kind == kind)):
            timer.state, timer.stopped_at = state, now


def move_due(timer: Timer, due_at: datetime) -> None:
    """A new due time (extension): warn again before it, and schedule its jobs."""
    limits = time_limits()
    timer.due_at = due_at
    timer.warn_at = warn_time(limits, timer.started_at, due_at, around_the_clock=False)
    if timer.state in (TimerState.WARNED, TimerState.OVERDUE) and timer.warn_at > utcnow():
        timer.state = TimerState.RUNNING
    _schedule(timer)


def _schedule(timer: Timer) -> None:
    from hotline.clocks import firing

    firing.schedule(timer)


def meet_timer(ticket, kind: TimerKind) -> None:
    """The step happened: the open clock of `kind` stops and never fires."""
    now = utcnow()
    for timer in open_timers(ticket, kind):
        timer.state, timer.stopped_at = TimerState.MET, now


def cancel_timers(ticket, *kinds: TimerKind) -> None:
    """Stop open clocks (all of them when no kind is given) that no longer apply."""
    now = utcnow()
    for timer in open_timers(ticket):
        if not kinds or timer.kind in kinds:
            timer.state, timer.stopped_at = TimerState.CANCELLED, now


def open_timers(ticket, kind: TimerKind | None = None) -> list[Timer]:
    return [
        timer for timer in ticket.timers
        if timer.referral_id is None and timer.state in OPEN_TIMER_STATES
        and (kind is None or timer.kind == kind)
    ]
