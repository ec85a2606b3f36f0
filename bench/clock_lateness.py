"""Benchmark: how late clocks fire with 100,000 open tickets, and what a sweep costs.

Run by hand: `.venv/bin/python bench/clock_lateness.py [--tickets 100000] [--timers 600]`.
Uses its own PostgreSQL database (BENCH_DATABASE_URL, default hotline_bench) and
Redis db (BENCH_REDIS_URL, default db 9), and real `hotline worker` processes.

1. Lateness: two workers with the scheduler are started and idle; then `--timers` clocks
   fall due over the next 60 s, their jobs scheduled as the app schedules them; we report
   p50/p99/max of fired_at - due_at (target <= 2 s).
2. Sweep with nothing due (target < 50 ms) and with 10,000 due (one batch run).
"""

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text, update  # noqa: E402

from bench.common import bench_app, fill_tickets, start_workers  # noqa: E402


def open_ticket_ids(db, count):
    from hotline.tickets.models import Ticket

    return db.session.scalars(select(Ticket.id).where(Ticket.state == "in_progress").limit(count)).all()


def add_timers(db, ticket_ids, due_times):
    from hotline.clocks.models import Timer

    now = datetime.now(UTC)
    rows = [{"ticket_id": tid, "kind": "respond", "state": "running", "started_at": now,
             "warn_at": due + timedelta(days=1), "due_at": due, "original_due_at": due}
            for tid, due in zip(ticket_ids, due_times, strict=True)]
    result = db.session.execute(insert(Timer).returning(Timer.id, Timer.due_at), rows)
    return result.all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=150_000,
                        help="tickets in the database; about two thirds are open")
    parser.add_argument("--timers", type=int, default=600)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    app = bench_app()
    fill_tickets(app, args.tickets)
    from hotline import audit
    from hotline.clocks import firing
    from hotline.clocks.models import Timer, TimerFiring, TimerState
    from hotline.extensions import db
    from hotline.redis import connection

    with app.app_context():
        connection().flushdb()
        # Start from a quiet state: every open clock due a month from now, no old firings.
        db.session.execute(text("DELETE FROM timer_firings"))
        db.session.commit()
        with db.engine.begin() as conn, audit.maintenance(conn, "bench: the last run's clock events"):
            conn.execute(text("DELETE FROM ticket_events WHERE action LIKE 'timer_%'"))
        later = datetime.now(UTC) + timedelta(days=30)
        db.session.execute(update(Timer).where(Timer.state.in_(["running", "warned", "overdue"]))
                           .values(state="running", due_at=later, warn_at=later))
        db.session.commit()
        open_timers = db.session.scalar(
            select(func.count()).select_from(Timer).where(Timer.state == "running"))
        open_tickets = db.session.scalar(text("SELECT count(*) FROM tickets WHERE state <> 'closed'"))

        # --- sweep with nothing due
        samples = []
        for _ in range(20):
            start = time.perf_counter()
            firing.sweep()
            db.session.commit()
            samples.append((time.perf_counter() - start) * 1000)
        idle_ms = statistics.median(samples)

    # --- lateness: the workers up and idle first (a worker's start takes tens of seconds on a
    # loaded machine: started after the clocks, the first clocks waited for it, not for a job),
    # then timers due over the next 60 s, scheduled the way the app does it
    workers = start_workers(app, args.workers)
    try:
        with app.app_context():
            ids = open_ticket_ids(db, args.timers)
            base = datetime.now(UTC) + timedelta(seconds=15)
            dues = [base + timedelta(seconds=60 * i / len(ids)) for i in range(len(ids))]
            created = add_timers(db, ids, dues)
            db.session.commit()
            timers = db.session.scalars(select(Timer).where(Timer.id.in_([t for t, _ in created]))).all()
            for timer in timers:
                firing.schedule(timer)         # exactly as the app schedules a new clock
            db.session.commit()

        deadline = time.monotonic() + 15 + 60 + 60
        with app.app_context():
            timer_ids = [timer_id for timer_id, _ in created]
            while time.monotonic() < deadline:
                fired = db.session.scalar(select(func.count()).select_from(TimerFiring)
                                          .where(TimerFiring.timer_id.in_(timer_ids)))
                db.session.rollback()
                if fired >= len(timer_ids):
                    break
                time.sleep(1)
            rows = db.session.execute(select(TimerFiring.fired_at, TimerFiring.due_at)
                                      .where(TimerFiring.timer_id.in_(timer_ids))).all()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
    late = sorted((fired - due).total_seconds() for fired, due in rows)

    with app.app_context():
        # --- sweep with 10,000 due at once
        ids = open_ticket_ids(db, 10_000)
        past = datetime.now(UTC) - timedelta(minutes=5)
        add_timers(db, ids, [past] * len(ids))
        db.session.commit()
        start = time.perf_counter()
        result = firing.sweep(batch=500)
        db.session.commit()
        burst_s = time.perf_counter() - start
        db.session.execute(update(Timer).where(Timer.state == TimerState.OVERDUE).values(state="met"))
        db.session.commit()

    print(f"open tickets: {open_tickets}, open timers: {open_timers}")
    print(f"sweep, nothing due: median {idle_ms:.1f} ms over 20 runs")
    if late:
        p99 = late[min(len(late) - 1, int(len(late) * 0.99))]
        print(f"lateness of {len(late)}/{args.timers} timers fired by {args.workers} workers: "
              f"p50 {statistics.median(late):.2f} s, p99 {p99:.2f} s, max {late[-1]:.2f} s")
    else:
        print("no timer fired")
    print(f"sweep with 10,000 due: {result['overdue']} fired in {burst_s:.1f} s "
          f"({burst_s / max(result['overdue'], 1) * 1000:.2f} ms each)")


if __name__ == "__main__":
    main()
