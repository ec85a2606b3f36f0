"""Firing clocks: a warning at `warn_at`, overdue at `due_at`, exactly once each.

RQ jobs are scheduled for both instants when a timer starts; a sweep every
minute (and at worker start) fires whatever a lost job missed. Exactly-once
comes from the database, not from luck: a unique row per (timer, level, due)
in `timer_firings`, inserted under the ticket's row lock.

What a firing does depends on whose clock it is: each domain registers a handler for its
timer kinds (`on_fire`, in `hotline.receivers`): the ticket's own clocks
(`hotline.tickets.clock_events`), a referral's (`referrals.service`). So this module depends
on nothing above the clocks: the session, the clock models and the job helper.
"""

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite

from hotline import tasks
from hotline.clocks.models import Timer, TimerFiring, TimerKind, TimerState
from hotline.extensions import db
from hotline.types import utcnow

log = logging.getLogger(__name__)

WARNING, OVERDUE = "warning", "overdue"
EARLY_WAKE = timedelta(seconds=2)
LEVEL_STATE = {WARNING: TimerState.WARNED, OVERDUE: TimerState.OVERDUE}

# What a fired level does, by timer kind: handler(timer, level, now), called once per firing
# under the ticket's row lock with the timer claimed and its state set.
Handler = Callable[[Timer, str, datetime], None]
_HANDLERS: dict[TimerKind, Handler] = {}


def on_fire(kinds, handler: Handler) -> None:
    """`handler` does what a firing of a clock of one of `kinds` means (its domain's effects)."""
    for kind in kinds:
        _HANDLERS[TimerKind(kind)] = handler


def schedule(timer: Timer) -> None:
    """After commit, one job at the warning and one at the due time (ids name them: no duplicates)."""
    for level, at in ((WARNING, timer.warn_at), (OVERDUE, timer.due_at)):
        tasks.after_commit(
            tasks.fire_timer, lambda t=timer: t.id, level, at=_whole_second_before(at),
            job_id=lambda t=timer, lv=level, due=timer.due_at: f"timer-{t.id}-{lv}-{due:%Y%m%d%H%M%S}",
        )


def fire(timer_id: int, level: str, now: datetime | None = None, *, wait: bool = True) -> bool:
    """Fire one level of one timer if it is due and has not fired; True when it fired now.

    Locks the ticket first (as every action does), then the timer, so a step done at
    the same moment either meets the clock first (nothing fires) or comes after it.
    """
    now = now or utcnow()
    ticket_id, threshold = db.session.execute(
        select(Timer.ticket_id, Timer.warn_at if level == WARNING else Timer.due_at)
        .where(Timer.id == timer_id)).one_or_none() or (None, None)
    if ticket_id is None:
        return False
    if wait and timedelta(0) < threshold - now <= EARLY_WAKE:
        # RQ wakes jobs on whole seconds, up to a second early: wait out the rest.
        time.sleep((threshold - now).total_seconds())
        now = utcnow()
    if not _lock_ticket(ticket_id, wait):    # busy: a user action holds it; the next sweep retries
        return False
    timer = db.session.scalar(
        select(Timer).where(Timer.id == timer_id).execution_options(populate_existing=True)
    )
    if timer is not None and timer.is_open and now < _threshold(timer, level):
        _come_back(timer, level)     # woken early (clock skew, whole-second scheduling)
        return False
    if not _fires(timer, level, now):
        return False
    if not _claim(timer, level):
        return False
    timer.state = LEVEL_STATE[level]
    _HANDLERS[timer.kind](timer, level, now)
    return True


def sweep(now: datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Fire every due level no job fired; returns how many of each fired."""
    now = now or utcnow()
    fired = {WARNING: 0, OVERDUE: 0}
    stmt = (
        select(Timer.id, Timer.state, Timer.warn_at, Timer.due_at)
        .where(or_(
            (Timer.state == TimerState.RUNNING) & (Timer.warn_at <= now),
            Timer.state.in_([TimerState.RUNNING, TimerState.WARNED]) & (Timer.due_at <= now),
        ))
        .order_by(Timer.due_at)
        .limit(batch)
    )
    last_seen: set[int] = set()
    while True:
        rows = [row for row in db.session.execute(stmt) if row.id not in last_seen]
        if not rows:
            break
        for row in rows:
            level = OVERDUE if row.due_at <= now else WARNING
            if fire(row.id, level, now, wait=False):
                fired[level] += 1
        db.session.commit()
        last_seen = {row.id for row in rows}
    return fired


def _threshold(timer: Timer, level: str) -> datetime:
    return timer.warn_at if level == WARNING else timer.due_at


def _whole_second_before(at: datetime) -> datetime:
    """RQ schedules in whole seconds: the job wakes at most a second early and waits."""
    return at.replace(microsecond=0)


def _whole_second_after(at: datetime) -> datetime:
    return at if at.microsecond == 0 else at.replace(microsecond=0) + timedelta(seconds=1)


def _lock_ticket(ticket_id: int, wait: bool) -> bool:
    """Lock the row the timer lives on (its ticket, named by the timer's foreign key), as every
    action does; False when another transaction holds it and `wait` is off."""
    tickets = db.metadata.tables["tickets"]
    lock = select(tickets.c.id).where(tickets.c.id == ticket_id).with_for_update(skip_locked=not wait)
    return db.session.execute(lock).scalar() is not None


def _come_back(timer: Timer, level: str) -> None:
    at = _whole_second_after(_threshold(timer, level))
    tasks.after_commit(tasks.fire_timer, timer.id, level, at=at,
                       job_id=f"timer-{timer.id}-{level}-{timer.due_at:%Y%m%d%H%M%S}-again")


def _fires(timer: Timer | None, level: str, now: datetime) -> bool:
    if timer is None or not timer.is_open:
        return False            # met or cancelled: the step happened, stay quiet
    if level == WARNING:
        return timer.state == TimerState.RUNNING and now >= timer.warn_at
    return timer.state != TimerState.OVERDUE and now >= timer.due_at


def _claim(timer: Timer, level: str) -> bool:
    """Insert the firing row; False when it exists already (another worker, a retry, a sweep)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(TimerFiring)
        .values(timer_id=timer.id, level=level, due_at=timer.due_at, fired_at=utcnow())
        .on_conflict_do_nothing(index_elements=["timer_id", "level", "due_at"])
        .returning(TimerFiring.id)
    )
    return db.session.execute(stmt).scalar() is not None
