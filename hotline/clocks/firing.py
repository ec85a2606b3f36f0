"""Firing clocks: a warning at `warn_at`, overdue at `due_at`, exactly once each.

RQ jobs are scheduled for both instants when a timer starts, one job per whole second
however many clocks fall due in it; a sweep every minute (and at worker start) fires
whatever a lost job missed. Exactly-once
comes from the database, not from luck: a unique row per (timer, level, due)
in `timer_firings`, inserted under the ticket's row lock.

Storms: working-day clocks started over a holiday all fall due at the same instant, so
they share one job, and the job and the sweep fire in batches (`fire_due`): a few hundred due levels taken
with `FOR UPDATE SKIP LOCKED` (so two workers take different ones), claimed with one
INSERT ... ON CONFLICT, moved with one UPDATE, and their timeline events written in one
flush. A job whose clock a batch already fired returns after one query.
"""

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from hotline import notices
from hotline.clocks import service as clocks
from hotline.clocks.models import Timer, TimerFiring, TimerKind, TimerState
from hotline.extensions import db
from hotline.types import utcnow
from hotline.users import Role

log = logging.getLogger(__name__)

WARNING, OVERDUE = "warning", "overdue"
EARLY_WAKE = timedelta(seconds=2)
BATCH = 300          # due levels fired per transaction: short locks, few round trips
LEVEL_STATE = {WARNING: TimerState.WARNED, OVERDUE: TimerState.OVERDUE}
KIND_NAMES = {
    TimerKind.DISPATCH: "派单", TimerKind.ACKNOWLEDGE: "签收", TimerKind.RESPOND: "联系市民",
    TimerKind.HANDLE: "办理", TimerKind.REVIEW: "审核", TimerKind.CALLBACK: "回访",
}


def schedule(timer: Timer) -> None:
    """After commit, the job of the warning's second and of the due time's second (the id names
    the second: clocks due in the same second share one job)."""
    from hotline import tasks

    for at in (timer.warn_at, timer.due_at):
        second = _whole_second_before(at)
        tasks.after_commit(tasks.fire_clocks, second.isoformat(), at=second,
                           job_id=second_job_id(second))


def second_job_id(second: datetime) -> str:
    return f"clocks-{second:%Y%m%d%H%M%S}"


def fire_second(second: datetime) -> dict[str, int]:
    """Fire every level due up to the end of `second`, each at its instant, in batches.

    RQ may wake the job up to a second early: it waits for each instant still ahead (at most
    EARLY_WAKE); if the clock does not move on (a frozen test clock) it comes back instead."""
    end = second + timedelta(seconds=1)
    fired = {WARNING: 0, OVERDUE: 0}
    skipped: set[int] = set()
    while True:
        now = utcnow()
        counts, taken = fire_due(now, skip=skipped)
        db.session.commit()
        for level, count in counts.items():
            fired[level] += count
        if taken:
            skipped |= taken
            continue
        ahead = _next_instant(now, end)
        if ahead is None:
            return fired
        if ahead - now > EARLY_WAKE:
            break
        time.sleep((ahead - now).total_seconds())
        if utcnow() < ahead:
            break
    from hotline import tasks

    again = _whole_second_after(ahead)
    tasks.after_commit(tasks.fire_clocks, second.isoformat(), at=again,
                       job_id=f"{second_job_id(second)}-again")
    db.session.commit()
    return fired


def _next_instant(now: datetime, end: datetime) -> datetime | None:
    """The earliest warning or due time of an open clock after `now` and before `end`."""
    warn = db.session.scalar(select(func.min(Timer.warn_at)).where(
        Timer.state == TimerState.RUNNING, Timer.warn_at > now, Timer.warn_at < end))
    due = db.session.scalar(select(func.min(Timer.due_at)).where(
        Timer.state.in_([TimerState.RUNNING, TimerState.WARNED]), Timer.due_at > now, Timer.due_at < end))
    return min((at for at in (warn, due) if at is not None), default=None)


def fire(timer_id: int, level: str, now: datetime | None = None, *, wait: bool = True) -> bool:
    """Fire one level of one timer if it is due and has not fired; True when it fired now.

    Locks the ticket first (as every action does), then the timer, so a step done at
    the same moment either meets the clock first (nothing fires) or comes after it.
    """
    from hotline.tickets.models import Ticket

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
    lock = select(Ticket).where(Ticket.id == ticket_id).with_for_update(skip_locked=not wait)
    ticket = db.session.scalar(lock.execution_options(populate_existing=True))
    if ticket is None:           # busy: a user action holds it; the next sweep retries
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
    _consequences(ticket, timer, level, now)
    if wait:
        # A storm: the clocks due with this one are fired in batches by whichever jobs come
        # first, instead of one job each. Committed apart, so this clock's firing stands alone.
        db.session.commit()
        fire_due(now)
    return True


def sweep(now: datetime | None = None, batch: int = BATCH) -> dict[str, int]:
    """Fire every due level no job fired, batch after batch; returns how many of each fired."""
    now = now or utcnow()
    fired = {WARNING: 0, OVERDUE: 0}
    skipped: set[int] = set()
    while True:
        counts, taken = fire_due(now, batch, skip=skipped)
        db.session.commit()
        for level, count in counts.items():
            fired[level] += count
        if not taken:
            return fired
        skipped |= taken


def fire_due(now: datetime | None = None, batch: int = BATCH,
             skip: set[int] | None = None) -> tuple[dict[str, int], set[int]]:
    """Fire one batch of due levels, set-based; the counts fired and the timers taken.

    Tickets a user's action holds, and timers another worker is firing, are skipped (the
    next batch or sweep takes them). The caller commits."""
    from hotline import audit  # the timeline's hash chain (tickets sit above clocks)
    from hotline.tickets.models import Ticket

    now = now or utcnow()
    due = (
        select(Timer.id, Timer.ticket_id, Timer.due_at)
        .join(Ticket, Ticket.id == Timer.ticket_id)
        .where(or_(
            (Timer.state == TimerState.RUNNING) & (Timer.warn_at <= now),
            Timer.state.in_([TimerState.RUNNING, TimerState.WARNED]) & (Timer.due_at <= now),
        ))
        .order_by(Timer.due_at)
        .limit(batch)
        .with_for_update(of=(Ticket, Timer), skip_locked=True)
    )
    if skip:
        due = due.where(Timer.id.not_in(skip))
    rows = db.session.execute(due).all()
    if not rows:
        return {WARNING: 0, OVERDUE: 0}, set()
    levels = {row.id: OVERDUE if row.due_at <= now else WARNING for row in rows}
    claimed = _claim_all(rows, levels)
    for level in (WARNING, OVERDUE):
        ids = [timer_id for timer_id in claimed if levels[timer_id] == level]
        if ids:
            db.session.execute(update(Timer).where(Timer.id.in_(ids)).values(state=LEVEL_STATE[level]))
    timers = db.session.scalars(select(Timer).where(Timer.id.in_(claimed))
                                .execution_options(populate_existing=True)).all()
    tickets = {ticket.id: ticket for ticket in db.session.scalars(
        select(Ticket).where(Ticket.id.in_({t.ticket_id for t in timers}))
        .options(selectinload(Ticket.lead_unit))
        .execution_options(populate_existing=True))}
    audit.prime_event_chains(tickets.values())
    with db.session.no_autoflush:      # one flush for the batch, not one per lazy load
        for timer in sorted(timers, key=lambda t: (t.due_at, t.id)):
            _consequences(tickets[timer.ticket_id], timer, levels[timer.id], now)
    db.session.flush()
    counts = {WARNING: 0, OVERDUE: 0}
    for timer_id in claimed:
        counts[levels[timer_id]] += 1
    return counts, {row.id for row in rows}


def _may_fire(state: TimerState, level: str) -> bool:
    return state == TimerState.RUNNING or (level == OVERDUE and state == TimerState.WARNED)


def _threshold(timer: Timer, level: str) -> datetime:
    return timer.warn_at if level == WARNING else timer.due_at


def _whole_second_before(at: datetime) -> datetime:
    """RQ schedules in whole seconds: the job wakes at most a second early and waits."""
    return at.replace(microsecond=0)


def _whole_second_after(at: datetime) -> datetime:
    return at if at.microsecond == 0 else at.replace(microsecond=0) + timedelta(seconds=1)


def _come_back(timer: Timer, level: str) -> None:
    from hotline import tasks

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
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    fired_at = utcnow()
    stmt = (
        insert(TimerFiring)
        .values([{"timer_id": row.id, "level": levels[row.id], "due_at": row.due_at,
                  "fired_at": fired_at} for row in rows])
        .on_conflict_do_nothing(index_elements=["timer_id", "level", "due_at"])
        .returning(TimerFiring.timer_id)
    )
    return set(db.session.execute(stmt).scalars())


def _consequences(ticket, timer: Timer, level: str, now: datetime) -> None:
    """The timeline event, the unit's highlighted queue, 督办 notices and the supervisor's board."""
    from hotline.tickets.models import Priority
    from hotline.tickets.service import record_event

    lateness = (now - (timer.warn_at if level == WARNING else timer.due_at)).total_seconds()
    record_event(ticket, None, f"timer_{level}", ticket.state, ticket.state, {
        "timer": timer.kind.value, "due_at": timer.due_at.isoformat(),
        "late_seconds": round(max(lateness, 0), 1),
        **({"referral": timer.referral_id} if timer.referral_id else {}),
    }, at=now)
    if timer.referral_id is not None:
        from referrals.service import clock_fired

        clock_fired(ticket, timer, level)
        return
    step = KIND_NAMES.get(timer.kind, timer.kind.value)
    rule = clocks.time_limits().rule_for(str(ticket.desk), str(ticket.category), str(ticket.priority))
    escalation = rule.escalations.get(timer.kind.value)
    if level == OVERDUE:
        if ticket.lead_unit is not None and timer.kind != TimerKind.DISPATCH:
            notices.notify_unit(ticket.lead_unit, ticket, "overdue",
                                f"督办：工单 {ticket.number} {step}已超期，请立即处理")
        notices.notify_role(Role.SUPERVISOR, ticket, "overdue",
                            f"工单 {ticket.number} {step}超期" + (f"（{escalation}）" if escalation else ""))
        if timer.kind == TimerKind.DISPATCH:
            notices.notify_role(Role.DISPATCHER, ticket, "overdue", f"工单 {ticket.number} 派单超期")
    elif ticket.priority == Priority.CRISIS:
        notices.notify_role(Role.SUPERVISOR, ticket, "crisis_warning",
                            f"危机工单 {ticket.number} {step}即将超期")
    log.info("timer %s of %s fired %s (%.1fs late)", timer.kind, ticket.number, level, lateness)
