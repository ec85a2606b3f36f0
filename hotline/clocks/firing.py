"""Firing clocks: a warning at `warn_at`, overdue at `due_at`, exactly once each.

RQ jobs are scheduled for both instants when a timer starts, one job per whole second
however many clocks fall due in it; a sweep every minute (and at worker start) fires
whatever a lost job missed. Exactly-once comes from the database, not from luck: a unique
row per (timer, level, due) in `timer_firings`, inserted under the ticket's row lock.

Storms: working-day clocks started over a holiday all fall due at the same instant, so they
share one job, and the job and the sweep fire in batches (`fire_due`): a few hundred due
levels taken with `FOR UPDATE SKIP LOCKED` (two workers take different ones: a job whose
batch comes back full queues a follow-up for the same second, so idle workers join), claimed with
one INSERT ... ON CONFLICT, moved with one UPDATE per level, prepared by each domain in one
query and their writes gathered into a few statements (`around_batch`), in one flush.

What a firing does depends on whose clock it is: each domain registers a handler for its
timer kinds (`on_fire`, in `hotline.receivers`): the ticket's own clocks
(`hotline.tickets.clock_events`), a referral's (`referrals.service`). So this module depends
on nothing above the clocks: the session, the clock models and the job helper.
"""

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from hotline import bulk, tasks
from hotline.clocks.models import Timer, TimerFiring, TimerKind, TimerState
from hotline.extensions import db
from hotline.types import utcnow

log = logging.getLogger(__name__)

WARNING, OVERDUE = "warning", "overdue"
EARLY_WAKE = timedelta(seconds=2)
BATCH = 300          # due levels fired per transaction: short locks, few round trips
LEVEL_STATE = {WARNING: TimerState.WARNED, OVERDUE: TimerState.OVERDUE}

# What a fired level does, by timer kind: handler(timer, level, now), called once per firing
# under the ticket's row lock with the timer claimed and its state set.
Handler = Callable[[Timer, str, datetime], None]
_HANDLERS: dict[TimerKind, Handler] = {}


# Wraps a batch's handlers, called with its claimed timers: a domain reads what its handlers
# need for the whole batch in one query before (the tickets, their event chains) and writes
# what they changed in one statement after, where the ORM would send one a row.
Around = Callable[[list[Timer]], AbstractContextManager[object]]
_AROUND: list[Around] = []


def on_fire(kinds, handler: Handler) -> None:
    """`handler` does what a firing of a clock of one of `kinds` means (its domain's effects)."""
    for kind in kinds:
        _HANDLERS[TimerKind(kind)] = handler


def around_batch(around: Around) -> None:
    """`around(timers)` wraps a batch's handlers (registered once)."""
    if around not in _AROUND:
        _AROUND.append(around)


def schedule(timer: Timer) -> None:
    """After commit, the job of the warning's second and of the due time's second (the id names
    the second: clocks due in the same second share one job)."""
    for at in (timer.warn_at, timer.due_at):
        second = _whole_second_before(at)
        tasks.after_commit(tasks.fire_clocks, second.isoformat(), at=second,
                           job_id=second_job_id(second))


def second_job_id(second: datetime) -> str:
    return f"clocks-{second:%Y%m%d%H%M%S}"


def fire_second_of(second: str, generation: int = 0) -> dict[str, int]:
    """The `fire_clocks` job: `second` as the ISO text the job carries."""
    return fire_second(datetime.fromisoformat(second), generation)


def fire_second(second: datetime, generation: int = 0) -> dict[str, int]:
    """Fire every level due up to the end of `second`, each at its instant, in batches.

    A storm is shared: the first time a batch comes back full, the job queues a follow-up for
    the same second (generation + 1, its id naming both, so a duplicate delivery queues the
    same one), which another worker runs alongside; `SKIP LOCKED` keeps their batches apart.
    Each batch commits on its own: a crash loses one batch, fired again by a job or the sweep.

    RQ may wake the job up to a second early: it waits for each instant still ahead (at most
    EARLY_WAKE); if the clock does not move on (a frozen test clock) it comes back instead."""
    end = second + timedelta(seconds=1)
    fired = {WARNING: 0, OVERDUE: 0}
    skipped: set[int] = set()
    shared = False
    while True:
        now = utcnow()
        batch = fire_due(now, BATCH, skip=skipped)
        if batch.taken == BATCH and not shared:
            tasks.after_commit(tasks.fire_clocks, second.isoformat(), generation + 1,
                               job_id=f"{second_job_id(second)}-{generation + 1}")
            shared = True
        db.session.commit()
        for level, count in batch.fired.items():
            fired[level] += count
        if batch.taken:
            skipped |= batch.unfired
            continue
        ahead = _next_instant(now, end)
        if ahead is None:
            return fired
        if ahead - now > EARLY_WAKE:
            break
        time.sleep((ahead - now).total_seconds())
        if utcnow() < ahead:
            break
    tasks.after_commit(tasks.fire_clocks, second.isoformat(), at=_whole_second_after(ahead),
                       job_id=f"{second_job_id(second)}-again")
    db.session.commit()
    return fired


def _next_instant(now: datetime, end: datetime) -> datetime | None:
    """The earliest warning or due time of an open clock after `now` and before `end`."""
    warn = db.session.scalar(select(func.min(Timer.warn_at)).where(
        Timer.state == TimerState.RUNNING, Timer.warn_at > now, Timer.warn_at < end))
    due = db.session.scalar(select(func.min(Timer.due_at)).where(
        Timer.state.in_([TimerState.RUNNING, TimerState.WARNED]), Timer.due_at > now,
        Timer.due_at < end))
    return min((at for at in (warn, due) if at is not None), default=None)


def fire(timer_id: int, level: str, now: datetime | None = None, *, wait: bool = True) -> bool:
    """Fire one level of one timer if it is due and has not fired; True when it fired now.

    Locks the ticket first (as every action does), then the timer, so a step done at
    the same moment either meets the clock first (nothing fires) or comes after it.
    """
    now = now or utcnow()
    ticket_id, threshold, state = db.session.execute(
        select(Timer.ticket_id, Timer.warn_at if level == WARNING else Timer.due_at, Timer.state)
        .where(Timer.id == timer_id)).one_or_none() or (None, None, None)
    if ticket_id is None or not _may_fire(state, level):
        return False             # met, cancelled, or a batch fired it already: one query
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


def sweep(now: datetime | None = None, batch: int | None = None) -> dict[str, int]:
    """Fire every due level no job fired, batch after batch; returns how many of each fired."""
    now = now or utcnow()
    fired = {WARNING: 0, OVERDUE: 0}
    skipped: set[int] = set()
    while True:
        taken = fire_due(now, batch, skip=skipped)
        db.session.commit()
        for level, count in taken.fired.items():
            fired[level] += count
        if not taken.taken:
            return fired
        skipped |= taken.unfired


class Batch(NamedTuple):
    fired: dict[str, int]      # levels fired, by level
    taken: int                 # due levels taken (locked) for the batch
    unfired: set[int]          # timers taken but fired already (a retry): the next batch skips them


def fire_due(now: datetime | None = None, batch: int | None = None,
             skip: set[int] | None = None) -> Batch:
    """Fire one batch of due levels, set-based: how many fired, how many were taken.

    Tickets a user's action holds, and timers another worker is firing, are skipped (the
    next batch or sweep takes them). The caller commits."""
    now = now or utcnow()
    rows = _take_due(now, batch or BATCH, skip or set())
    if not rows:
        return Batch({WARNING: 0, OVERDUE: 0}, 0, set())
    levels = {row.id: OVERDUE if row.due_at <= now else WARNING for row in rows}
    claimed = _claim_all(rows, levels)
    for level in (WARNING, OVERDUE):
        ids = [timer_id for timer_id in claimed if levels[timer_id] == level]
        if ids:
            db.session.execute(update(Timer).where(bulk.any_of(Timer.id, ids))
                               .values(state=LEVEL_STATE[level])
                               .execution_options(synchronize_session=False))   # read next
    timers = sorted(db.session.scalars(select(Timer).where(bulk.any_of(Timer.id, claimed))
                                       .execution_options(populate_existing=True)),
                    key=lambda t: (t.due_at, t.id))
    with db.session.no_autoflush, ExitStack() as around:    # one flush, not one per lazy load
        for wrap in _AROUND:
            around.enter_context(wrap(timers))
        for timer in timers:
            _HANDLERS[timer.kind](timer, levels[timer.id], now)
    db.session.flush()
    counts = {WARNING: 0, OVERDUE: 0}
    for timer_id in claimed:
        counts[levels[timer_id]] += 1
    return Batch(counts, len(rows), {row.id for row in rows} - claimed)


def _take_due(now: datetime, batch: int, skip: set[int]) -> list:
    """Lock up to `batch` due levels and their tickets, overdue ones first, each the oldest first.

    Three queries, each an ordered scan of one index (state, due_at or warn_at) that stops at
    the batch: a single query over both levels had to sort all due clocks, for every batch of
    a storm (100,000 clocks, 300 at a time) and, with stale statistics, scanned the table."""
    tickets = db.metadata.tables["tickets"]       # the row each timer lives on, locked as actions do
    wanted = (
        (Timer.state == TimerState.WARNED, Timer.due_at <= now, Timer.due_at),
        (Timer.state == TimerState.RUNNING, Timer.due_at <= now, Timer.due_at),
        (Timer.state == TimerState.RUNNING, (Timer.warn_at <= now) & (Timer.due_at > now), Timer.warn_at),
    )
    rows: list = []
    for state, when, oldest in wanted:
        due = (select(Timer.id, Timer.ticket_id, Timer.due_at)
               .join(tickets, tickets.c.id == Timer.ticket_id)
               .where(state, when)
               .order_by(oldest)
               .limit(batch - len(rows))
               .with_for_update(of=(tickets, Timer.__table__), skip_locked=True))
        if skip:
            due = due.where(~bulk.any_of(Timer.id, skip))
        rows += db.session.execute(due).all()
        if len(rows) >= batch:
            break
    return rows


def _may_fire(state: TimerState | None, level: str) -> bool:
    return state == TimerState.RUNNING or (level == OVERDUE and state == TimerState.WARNED)


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


def _claim_all(rows, levels: dict[int, str]) -> set[int]:
    """Insert the firing rows of a batch in one statement; the timers whose row is new."""
    fired_at = utcnow()
    result = bulk.insert_rows(
        TimerFiring.__table__,
        [{"timer_id": row.id, "level": levels[row.id], "due_at": row.due_at, "fired_at": fired_at}
         for row in rows],
        returning=[TimerFiring.__table__.c.timer_id], skip_conflicts_on=["timer_id", "level", "due_at"])
    return set(result.scalars()) if result is not None else set()
