"""Starting, meeting and cancelling the timers of a ticket.

`due_for` is the one place a ticket's deadline is computed; everything else
reads `Timer.due_at`.

Depends on: the calendar, durations, limits, the clock models and `firing` (scheduling the
jobs) only; tickets and referrals are passed in (anything with `timers`, `desk`, `category`,
`priority`; a referral's `urgency`), never imported.
"""

from dataclasses import dataclass
from datetime import datetime

from flask import g
from sqlalchemy import select

from hotline.clocks import firing
from hotline.clocks.calendar import (
    WorkCalendar,
    add_duration,
    add_working_time,
    subtract_duration,
    uses_calendar,
)
from hotline.clocks.durations import Duration
from hotline.clocks.limits import TimeLimits, build_time_limits
from hotline.clocks.models import (
    OPEN_TIMER_STATES,
    CalendarDay,
    CalendarYear,
    Timer,
    TimerKind,
    TimerState,
)
from hotline.extensions import db
from hotline.rulebook import RuleSet
from hotline.types import utcnow

# The time limits in force: the file, or what an admin saved (hotline.rulebook).
TIME_LIMITS = RuleSet("time_limits", "HOTLINE_TIME_LIMITS", "hotline.time_limits", build_time_limits)


def time_limits() -> TimeLimits:
    return TIME_LIMITS.current()


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
    """`duration` after `start` on this centre's working-day calendar and working hours."""
    return add_duration(start, duration, work_calendar(), around_the_clock=around_the_clock,
                        hours=time_limits().working_hours)


@dataclass(frozen=True)
class Deadline:
    """Where a clock started at some instant warns and ends, and whether that is provisional."""

    warn_at: datetime
    due_at: datetime
    provisional: bool


def limit_of(limits: TimeLimits, ticket, kind: TimerKind, referral=None) -> tuple[Duration, bool]:
    """The (duration, runs 7x24) of clock `kind` of `ticket` (or of its `referral`) today."""
    if referral is not None:
        crisis = referral.urgency.value == "crisis"
        return limits.referral["crisis" if crisis else "normal"][kind.value], crisis
    rule = limits.rule_for(str(ticket.desk), str(ticket.category), str(ticket.priority))
    if kind == TimerKind.REVIEW:
        return limits.review, rule.around_the_clock
    if kind == TimerKind.CALLBACK:
        return limits.callback, rule.around_the_clock
    return rule.limits[str(kind)], rule.around_the_clock


def compute(start: datetime, duration: Duration, around_the_clock: bool) -> Deadline:
    """The one computation of a clock's warning and due from its start."""
    limits, calendar = time_limits(), work_calendar()
    due = add_duration(start, duration, calendar, around_the_clock=around_the_clock,
                       hours=limits.working_hours)
    provisional = uses_calendar(duration, around_the_clock) and calendar.provisional_between(start, due)
    return Deadline(warn_time(limits, start, due, around_the_clock, duration), due, provisional)


def due_for(limits: TimeLimits, ticket, kind: TimerKind, start: datetime) -> tuple[datetime, datetime]:
    """Return (warn_at, due_at) of clock `kind` of `ticket` started at `start`."""
    computed = compute(start, *limit_of(limits, ticket, kind))
    return computed.warn_at, computed.due_at


def warn_time(limits: TimeLimits, start: datetime, due: datetime, around_the_clock: bool,
              duration: Duration | None = None) -> datetime:
    """80% of the span or `warning.before` ahead of due, whichever is later.

    A working-hours clock warns at 80% of its working time (not at 80% of a span that
    holds a night).
    """
    if duration is not None and duration.working_hours and not around_the_clock:
        by_ratio = add_working_time(start, duration.working_length() * limits.warning_ratio,
                                    work_calendar(), limits.working_hours)
    else:
        by_ratio = start + (due - start) * limits.warning_ratio
    ahead = subtract_duration(due, limits.warning_before, work_calendar(),
                              around_the_clock=around_the_clock, hours=limits.working_hours)
    return max(by_ratio, ahead)


def start_timer(ticket, kind: TimerKind, start: datetime | None = None) -> Timer:
    """Start clock `kind`, replacing an open one of the same kind (a new cycle)."""
    start = start or utcnow()
    for old in open_timers(ticket, kind):
        old.state, old.stopped_at = TimerState.CANCELLED, start
    computed = compute(start, *limit_of(time_limits(), ticket, kind))
    timer = Timer(
        kind=kind, started_at=start, warn_at=computed.warn_at, due_at=computed.due_at,
        original_due_at=computed.due_at, state=TimerState.RUNNING, provisional=computed.provisional,
    )
    ticket.timers.append(timer)
    schedule(timer)
    return timer


def start_referral_timer(ticket, referral, kind: TimerKind, start: datetime | None = None) -> Timer:
    """A referral's clock (accept, first contact, outcome): on its ticket, fired the same way."""
    start = start or utcnow()
    computed = compute(start, *limit_of(time_limits(), ticket, kind, referral))
    timer = Timer(kind=kind, referral_id=referral.id, started_at=start, due_at=computed.due_at,
                  original_due_at=computed.due_at, warn_at=computed.warn_at,
                  state=TimerState.RUNNING, provisional=computed.provisional)
    ticket.timers.append(timer)
    schedule(timer)
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
    timer.provisional = timer.provisional or work_calendar().provisional_between(timer.started_at, due_at)
    if timer.state in (TimerState.WARNED, TimerState.OVERDUE) and timer.warn_at > utcnow():
        timer.state = TimerState.RUNNING
    schedule(timer)


def schedule(timer: Timer) -> None:
    """Firing jobs at the timer's warning and due times (after commit)."""
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
