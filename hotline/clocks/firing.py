"""Firing clocks: a warning at `warn_at`, overdue at `due_at`, exactly once each.

RQ jobs are scheduled for both instants when a timer starts; a sweep every
minute (and at worker start) fires whatever a lost job missed. Exactly-once
comes from the database, not from luck: a unique row per (timer, level, due)
in `timer_firings`, inserted under the ticket's row lock.
"""

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite

from hotline import notices
from hotline.clocks import service as clocks
from hotline.clocks.models import Timer, TimerFiring, TimerKind, TimerState
from hotline.extensions import db
from hotline.types import utcnow
from hotline.users import Role

log = logging.getLogger(__name__)

WARNING, OVERDUE = "warning", "overdue"
EARLY_WAKE = timedelta(seconds=2)
LEVEL_STATE = {WARNING: TimerState.WARNED, OVERDUE: TimerState.OVERDUE}
KIND_NAMES = {
    TimerKind.DISPATCH: "派单", TimerKind.ACKNOWLEDGE: "签收", TimerKind.RESPOND: "联系市民",
    TimerKind.HANDLE: "办理", TimerKind.REVIEW: "审核", TimerKind.CALLBACK: "回访",
}


def schedule(timer: Timer) -> None:
    """After commit, one job at the warning and one at the due time (ids name them: no duplicates)."""
    from hotline import tasks

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
    from hotline.tickets.models import Ticket

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
