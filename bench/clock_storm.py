"""Benchmark: a clock storm — N clocks due at one instant (a holiday's end), fired by real workers.

Run by hand: `.venv/bin/python bench/clock_storm.py [--clocks 10000] [--workers 2]`, or with
`--profile` to fire the storm in this process under cProfile (batch after batch, as a job does)
and print where the time goes and the CPU seconds per 1,000 clocks.
Uses its own PostgreSQL database (BENCH_DATABASE_URL, default hotline_bench) and Redis db
(BENCH_REDIS_URL, default db 9), and real `hotline worker` processes.

The clocks' jobs are scheduled exactly as the app schedules them (`firing.schedule`), all due
LEAD seconds from now; the workers start at once. Reported: how long after the instant the last
clock fired (issue 24's target: 10,000 within 10 s with two workers, 100,000 within 60 s), and
that each fired exactly once.
"""

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rq import Queue  # noqa: E402
from sqlalchemy import func, insert, select, text, update  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from bench.common import bench_app, fill_tickets, start_workers  # noqa: E402
from hotline import kpi_rollups  # noqa: E402
from hotline.clocks import firing  # noqa: E402
from hotline.clocks.models import Timer, TimerFiring  # noqa: E402
from hotline.extensions import db  # noqa: E402
from hotline.redis import connection  # noqa: E402
from hotline.tickets.models import Ticket  # noqa: E402

LEAD = 30      # seconds between scheduling and the instant: the workers are up by then


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clocks", type=int, default=10_000, help="e.g. 10000 or 100000")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tickets", type=int, default=0, help="tickets in the database (default: --clocks)")
    parser.add_argument("--in-process", action="store_true", help="fire in this process, timed")
    parser.add_argument("--profile", action="store_true", help="fire in this process under cProfile")
    parser.add_argument("--batch", type=int, default=0, help="in process: batch size (default BATCH)")
    args = parser.parse_args()

    app = bench_app()
    fill_tickets(app, max(args.tickets, args.clocks))
    in_process = args.in_process or args.profile
    if args.batch:
        firing.BATCH = args.batch
    reset(app)
    if in_process:
        instant, created, _ = storm(app, args.clocks, 0)
        workers = []
    else:
        workers = start_workers(app, args.workers)
        # Inserting and scheduling 100,000 clocks takes ~40 s here: the instant comes after.
        instant, created, scheduling_s = storm(app, args.clocks, LEAD + args.clocks // 1500)
    try:
        if in_process:
            fire_in_process(app, created, cProfile.Profile() if args.profile else None)
        else:
            measure(app, workers, instant, created, scheduling_s)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
        with app.app_context():
            db.session.execute(update(Timer).where(Timer.due_at == instant, Timer.kind == "respond")
                               .values(state="met"))
            db.session.commit()


def reset(app) -> None:
    """No jobs, no firings, every open clock a month away."""
    with app.app_context():
        connection().flushdb()
        db.session.execute(text("DELETE FROM timer_firings"))
        later = datetime.now(UTC) + timedelta(days=30)
        db.session.execute(update(Timer).where(Timer.state.in_(["running", "warned", "overdue"]))
                           .values(state="running", due_at=later, warn_at=later))
        db.session.commit()
        # The workers' start sweep folds the KPI rollups: the last run's clock events (up to
        # 100,000 tickets changed) are folded here, or that fold would run during the storm.
        try:
            kpi_rollups.fold()
            db.session.commit()
        except OperationalError as error:    # see bench/README: over 65,535 tickets changed
            db.session.rollback()
            print(f"KPI fold failed, the workers' start sweep will fail on it too: {str(error)[:120]}")
        # Without autovacuum (this bench server runs without it), the rows each run rewrites
        # would stay as dead rows for the next runs' queries to wade through.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE timers, timer_firings, tickets, notices"))


def storm(app, clocks: int, lead: int) -> tuple[datetime, list[int], float]:
    """`clocks` clocks due at one instant `lead` seconds from now, their jobs scheduled as the
    app schedules them; the instant, the timers and how long scheduling took."""
    with app.app_context():
        ids = db.session.scalars(select(Ticket.id).order_by(Ticket.id).limit(clocks)).all()
        assert len(ids) == clocks, f"only {len(ids)} tickets"
        instant = (datetime.now(UTC) + timedelta(seconds=lead)).replace(microsecond=0)
        now = datetime.now(UTC)
        created = []
        for start in range(0, len(ids), 10_000):     # under PostgreSQL's 65,535 parameters
            created += db.session.execute(insert(Timer).returning(Timer.id), [
                {"ticket_id": tid, "kind": "respond", "state": "running", "started_at": now,
                 "warn_at": instant - timedelta(hours=1),
                 "due_at": instant, "original_due_at": instant}
                for tid in ids[start:start + 10_000]]).scalars().all()
        # The warning level is past already: mark it fired so only the instant's level is measured.
        db.session.execute(update(Timer).where(Timer.due_at == instant, Timer.kind == "respond",
                                               Timer.state == "running").values(state="warned"))
        db.session.commit()
        started = time.perf_counter()
        for timer in db.session.scalars(select(Timer).where(Timer.due_at == instant)):
            firing.schedule(timer)
        db.session.commit()
        return instant, created, time.perf_counter() - started


def fire_in_process(app, created: list[int], profiler: cProfile.Profile | None) -> None:
    """Fire the storm in this process batch after batch, as the instant's job does."""
    with app.app_context():
        backend = db.session.scalar(text("SELECT pg_backend_pid()"))
        db_cpu = cpu_seconds(backend)
        wall, cpu = time.perf_counter(), time.process_time()
        fired = 0
        if profiler:
            profiler.enable()
        while True:
            counts, taken = firing.fire_due()[:2]     # (as the code before fan-out returned too)
            db.session.commit()
            if not taken:
                break
            fired += sum(counts.values())
        if profiler:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        db_cpu = cpu_seconds(backend) - db_cpu
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        dump = Path(tempfile.gettempdir()) / f"clock_storm-{os.getpid()}.prof"
        stats.dump_stats(dump)
        print(f"profile written to {dump} (pstats: callers, callees)")
    load = os.getloadavg()
    print(f"fired {fired} of {len(created)} in process{' (profiled)' if profiler else ''}: "
          f"{wall:.1f} s wall, {wall / fired * 1000:.2f} s a 1,000; CPU s per 1,000 clocks: "
          f"{cpu / fired * 1000:.2f} Python + {db_cpu / fired * 1000:.2f} PostgreSQL; batches "
          f"of {firing.BATCH}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


def cpu_seconds(*pids: int) -> float:
    """User + system CPU seconds of processes on this machine so far (the database's backends
    included: PostgreSQL runs here)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def measure(app, workers: list[subprocess.Popen], instant: datetime, created: list[int],
            scheduling_s: float) -> None:
    """Wait until every clock fired; how late the last one, and the workers' CPU."""
    count = len(workers)
    workers_at = datetime.now(UTC)
    deadline = time.monotonic() + LEAD + 600
    with app.app_context():
        while datetime.now(UTC) < instant - timedelta(seconds=1):
            time.sleep(0.2)
        pids = [worker.pid for worker in workers]
        before = cpu_seconds(*pids)
        while time.monotonic() < deadline:
            fired = db.session.scalar(select(func.count()).select_from(TimerFiring)
                                      .where(TimerFiring.due_at == instant))
            db.session.rollback()
            if fired >= len(created):
                break
            time.sleep(0.5)
        first, last, total, distinct = db.session.execute(
            select(func.min(TimerFiring.fired_at), func.max(TimerFiring.fired_at), func.count(),
                   func.count(func.distinct(TimerFiring.timer_id)))
            .where(TimerFiring.due_at == instant)).one()
        started = Queue("default", connection=connection()).started_job_registry
        while started.get_job_ids() and time.monotonic() < deadline:
            time.sleep(0.2)             # the last batches' jobs are returning
        shares = jobs_fired(instant)
        used = cpu_seconds(*pids) - before
    load = os.getloadavg()
    print(f"scheduled {len(created)} clocks' jobs in {scheduling_s:.1f} s, "
          f"{(instant - workers_at).total_seconds():.1f} s before the instant")
    print(f"fired {total} ({distinct} distinct clocks) of {len(created)}; "
          f"the first {(first - instant).total_seconds():.1f} s and the last "
          f"{(last - instant).total_seconds():.1f} s after the instant, "
          f"{count} workers; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"CPU s per 1,000 clocks in the workers from the instant on: {used / total * 1000:.2f} "
          f"(the database's share: --in-process)")
    print("jobs: " + ", ".join(f"{job_id} fired {fired}" for job_id, fired in shares))


def jobs_fired(instant: datetime) -> list[tuple[str, int]]:
    """The clock jobs of the storm's seconds (the instant's, the past warning's) and how many
    levels each fired: fan-out's shares."""
    queue = Queue("default", connection=connection())
    shares = []
    for second in (instant - timedelta(hours=1), instant):
        base = firing.second_job_id(second)
        for job_id in [base] + [f"{base}-{generation}" for generation in range(1, 10)]:
            job = queue.fetch_job(job_id)
            if job is not None:
                shares.append((job_id, sum((job.return_value() or {}).values())))
    return shares


if __name__ == "__main__":
    main()
