"""Benchmark: a clock storm — N clocks due at one instant (a holiday's end), fired by real workers.

Run by hand: `.venv/bin/python bench/clock_storm.py [--clocks 10000] [--workers 2]`.
Uses its own PostgreSQL database (BENCH_DATABASE_URL, default hotline_bench) and Redis db
(BENCH_REDIS_URL, default db 9), and real `hotline worker` processes.

The clocks' jobs are scheduled exactly as the app schedules them (`firing.schedule`), all due
LEAD seconds from now; the workers start at once. Reported: how long after the instant the last
clock fired (issue 24's target: 10,000 within 10 s with two workers, 100,000 within 60 s), and
that each fired exactly once.
"""

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text, update  # noqa: E402

from bench.common import BENCH_DATABASE, BENCH_REDIS, bench_app, fill_tickets  # noqa: E402

LEAD = 30      # seconds between scheduling and the instant: the workers are up by then


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clocks", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tickets", type=int, default=0, help="tickets in the database (default: --clocks)")
    args = parser.parse_args()

    app = bench_app()
    fill_tickets(app, max(args.tickets, args.clocks))
    from hotline.clocks import firing
    from hotline.clocks.models import Timer, TimerFiring
    from hotline.extensions import db
    from hotline.redis import connection
    from hotline.tickets.models import Ticket

    with app.app_context():
        connection().flushdb()
        db.session.execute(text("DELETE FROM timer_firings"))
        later = datetime.now(UTC) + timedelta(days=30)
        db.session.execute(update(Timer).where(Timer.state.in_(["running", "warned", "overdue"]))
                           .values(state="running", due_at=later, warn_at=later))
        ids = db.session.scalars(select(Ticket.id).order_by(Ticket.id)
                                 .limit(args.clocks)).all()
        assert len(ids) == args.clocks, f"only {len(ids)} tickets"
        instant = (datetime.now(UTC) + timedelta(seconds=LEAD)).replace(microsecond=0)
        now = datetime.now(UTC)
        created = db.session.execute(insert(Timer).returning(Timer.id), [
            {"ticket_id": tid, "kind": "respond", "state": "running", "started_at": now,
             "warn_at": instant - timedelta(hours=1),
             "due_at": instant, "original_due_at": instant} for tid in ids]).scalars().all()
        # The warning level is past already: mark it fired so only the instant's level is measured.
        db.session.execute(update(Timer).where(Timer.id.in_(created)).values(state="warned"))
        db.session.commit()
        started = time.perf_counter()
        for timer in db.session.scalars(select(Timer).where(Timer.id.in_(created))):
            firing.schedule(timer)
        db.session.commit()
        scheduling_s = time.perf_counter() - started

    env = {**os.environ, "DATABASE_URL": BENCH_DATABASE, "REDIS_URL": BENCH_REDIS}
    workers = [subprocess.Popen([sys.executable, "-m", "hotline.cli", "worker"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(args.workers)]
    workers_at = datetime.now(UTC)
    try:
        deadline = time.monotonic() + LEAD + 600
        with app.app_context():
            while time.monotonic() < deadline:
                fired = db.session.scalar(select(func.count()).select_from(TimerFiring)
                                          .where(TimerFiring.timer_id.in_(created)))
                db.session.rollback()
                if fired >= len(created):
                    break
                time.sleep(0.5)
            last, count, distinct = db.session.execute(
                select(func.max(TimerFiring.fired_at), func.count(),
                       func.count(func.distinct(TimerFiring.timer_id)))
                .where(TimerFiring.timer_id.in_(created))).one()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
    with app.app_context():
        db.session.execute(update(Timer).where(Timer.id.in_(created)).values(state="met"))
        db.session.commit()
    print(f"scheduled {len(created)} clocks' jobs in {scheduling_s:.1f} s; workers started "
          f"{(instant - workers_at).total_seconds():.1f} s before the instant")
    print(f"fired {count} ({distinct} distinct clocks) of {len(created)}; "
          f"the last {(last - instant).total_seconds():.1f} s after the instant, "
          f"{args.workers} workers")


if __name__ == "__main__":
    main()
