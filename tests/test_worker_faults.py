"""Clocks survive failures: real `hotline worker` processes on the real database and Redis.

Timers due in the past are written straight into the database (as if the service
had been down); then workers are started, flushed, killed and run side by side.
Whatever happens, every due timer ends with exactly one `timer_overdue` event.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, text

from hotline.extensions import db

WORKER_TIMEOUT = 120


def due_timers(app, count: int) -> list[int]:
    """`count` dispatched tickets of 鼓楼区 whose acknowledge clock ran out a day ago."""
    from hotline.clocks.models import Timer
    from hotline.tickets.models import Ticket
    from hotline.units import get_by_code

    now = datetime.now(UTC)
    with app.app_context():
        unit = get_by_code("gulou")
        start = (db.session.scalar(select(func.max(Ticket.id))) or 0) + 1
        db.session.execute(insert(Ticket), [{
            "id": start + i, "number": f"F-{start + i:08d}", "desk": "general", "channel": "voice",
            "category": "help", "priority": "normal", "state": "dispatched", "content": "fault test",
            "subject": "", "lead_unit_id": unit.id, "created_at": now - timedelta(days=2),
            "updated_at": now - timedelta(days=2), "event_seq": 0, "version": 1,
            "caller_is_minor": False, "callback_attempts": 0, "rework_count": 0,
            "return_count": 0, "extended_days": 0, "supervise_count": 0,
        } for i in range(count)])
        db.session.execute(insert(Timer), [{
            "ticket_id": start + i, "kind": "acknowledge", "state": "running",
            "started_at": now - timedelta(days=2), "warn_at": now - timedelta(days=1, hours=1),
            "due_at": now - timedelta(days=1), "original_due_at": now - timedelta(days=1),
        } for i in range(count)])
        db.session.commit()
        return list(range(start, start + count))


def overdue_events_per_ticket(app, ticket_ids: list[int]) -> dict[int, int]:
    from hotline.tickets.models import Event

    with app.app_context():
        rows = db.session.execute(
            select(Event.ticket_id, func.count()).where(
                Event.action == "timer_overdue", Event.ticket_id.in_(ticket_ids)
            ).group_by(Event.ticket_id)
        ).all()
        db.session.rollback()
    counts = dict.fromkeys(ticket_ids, 0)
    counts.update({ticket_id: n for ticket_id, n in rows})
    return counts


def firings(app) -> int:
    with app.app_context():
        n = db.session.scalar(text("SELECT count(*) FROM timer_firings"))
        db.session.rollback()
        return n


def worker(app, *args: str) -> subprocess.Popen:
    env = {**os.environ, "REDIS_URL": app.config["REDIS_URL"]}
    return subprocess.Popen([sys.executable, "-m", "hotline.cli", "worker", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen) -> str:
    out, _ = process.communicate(timeout=WORKER_TIMEOUT)
    assert process.returncode == 0, out[-3000:]
    return out


def test_redis_flushed_the_sweep_still_fires_every_due_clock_once(app):
    from hotline.redis import connection
    from hotline.tasks import fire_timer, queue

    ids = due_timers(app, 30)
    with app.app_context():
        q = queue()
        for timer_id in range(1, 5):
            q.enqueue(fire_timer, timer_id, "overdue")
        connection().flushdb()          # every queued and scheduled job is lost
        assert q.count == 0
    finish(worker(app, "--burst"))
    assert set(overdue_events_per_ticket(app, ids).values()) == {1}
    # A second worker finds nothing more to do.
    finish(worker(app, "--burst"))
    assert set(overdue_events_per_ticket(app, ids).values()) == {1}


def test_a_worker_killed_mid_sweep_fires_each_clock_exactly_once(app):
    ids = due_timers(app, 1500)
    victim = worker(app)
    deadline = time.monotonic() + WORKER_TIMEOUT
    while firings(app) == 0:
        assert victim.poll() is None, victim.stdout.read()[-3000:]
        assert time.monotonic() < deadline, "the worker never fired anything"
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    fired_before_the_kill = firings(app)
    assert 0 < fired_before_the_kill < len(ids), "the kill came too late to test anything"
    finish(worker(app, "--burst"))
    counts = overdue_events_per_ticket(app, ids)
    assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v != 1}
    assert firings(app) == len(ids)


def test_three_workers_side_by_side_never_duplicate(app):
    ids = due_timers(app, 600)
    workers = [worker(app, "--burst") for _ in range(3)]
    for process in workers:
        finish(process)
    counts = overdue_events_per_ticket(app, ids)
    assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v != 1}
    assert firings(app) == len(ids)


@pytest.mark.parametrize("jobs", [40])
def test_scheduled_jobs_run_by_a_worker_fire_each_clock_once(app, jobs):
    """The normal path: the jobs scheduled at dispatch are run by RQ's scheduler and worker."""
    from hotline.clocks.models import Timer
    from hotline.tasks import fire_timer, queue

    ids = due_timers(app, jobs)
    with app.app_context():
        timer_ids = db.session.scalars(select(Timer.id).where(Timer.ticket_id.in_(ids))).all()
        q = queue()
        for timer_id in timer_ids:         # two deliveries of each: RQ may deliver twice
            q.enqueue(fire_timer, timer_id, "overdue")
            q.enqueue(fire_timer, timer_id, "overdue")
    out = finish(worker(app, "--burst"))
    assert "start-up sweep" in out
    assert set(overdue_events_per_ticket(app, ids).values()) == {1}
