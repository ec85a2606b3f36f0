"""Shared helpers of the benchmarks: a separate PostgreSQL database and bulk test data."""

import os
import random
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, text

BENCH_DATABASE = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/hotline_bench")
BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")


def ensure_database(url: str = BENCH_DATABASE) -> None:
    """Create the benchmark database if missing (never the test database)."""
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    exists = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc",
         f"SELECT 1 FROM pg_database WHERE datname='{name}'"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    if exists != "1":
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    schema = re.search(r"search_path(?:%3D|=)(\w+)", url)
    if schema:      # a schema of its own inside a shared database (one the tests empty otherwise)
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", name, "-qc",
                        f"CREATE SCHEMA IF NOT EXISTS {schema.group(1)}"], check=True)


# The demo users' password on a benchmark database: the product runs there as in production,
# which refuses the public password `demo` (hotline.security.check_demo_passwords).
BENCH_PASSWORD = "bench-only-password-9f3c"


def bench_app(database: str = BENCH_DATABASE, redis: str = BENCH_REDIS, config: dict | None = None):
    """The app on a benchmark database (created, migrated and seeded if needed) and Redis db."""
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = database, redis
    from flask_migrate import upgrade
    from sqlalchemy import update

    from hotline import create_app
    from hotline.extensions import db
    from hotline.passwords import hash_password
    from hotline.seed import seed_demo
    from hotline.users import User

    ensure_database(database)
    app = create_app(config)
    with app.app_context():
        upgrade()
        seed_demo()
        db.session.execute(update(User).values(password_hash=hash_password(BENCH_PASSWORD)))
        db.session.commit()
    return app


def fill_tickets(app, count: int, seed: int = 42) -> int:
    """Bulk-insert tickets spread over units, desks and states (with timers) until `count` exist."""
    from hotline.clocks.models import Timer
    from hotline.extensions import db
    from hotline.tickets.models import Ticket, TicketCoUnit, TicketScope
    from hotline.units import Unit, UnitKind

    rng = random.Random(seed)
    with app.app_context():
        have = db.session.scalar(text("SELECT count(*) FROM tickets"))
        if have >= count:
            _past_bulk_ids()
            db.session.commit()
            return have
        units = db.session.execute(select(Unit.id, Unit.kind, Unit.path, Unit.code)).all()
        by_code = {u.code: u.id for u in units}
        ancestors = {u.id: {by_code[c] for c in u.path.split("/") if c} for u in units}
        leads = [u.id for u in units if u.kind in (UnitKind.COUNTY, UnitKind.DEPARTMENT, UnitKind.TOWN)]
        states = ["intake", "pending_dispatch", "dispatched", "in_progress", "replied",
                  "callback_pending", "closed", "closed", "closed"]
        now = datetime.now(UTC)
        batch = 5000
        next_id = (db.session.scalar(text("SELECT coalesce(max(id), 0) FROM tickets")) or 0) + 1
        while have < count:
            n = min(batch, count - have)
            rows, timers, co_units = [], [], []
            for i in range(n):
                tid = next_id + i
                # Ids follow creation time, as they do at intake.
                created = now - timedelta(minutes=(count - have - i) * 5)
                state = rng.choice(states)
                dispatched = state not in ("intake", "pending_dispatch")
                rows.append({
                    "id": tid, "number": f"B-{tid:09d}",
                    "desk": rng.choice(["general"] * 6 + ["children", "hard_case"]),
                    "channel": "voice",
                    "category": rng.choice(["help", "complaint", "consultation", "report"]),
                    "priority": "normal", "state": state, "subject": "bench", "content": "bench ticket",
                    "lead_unit_id": rng.choice(leads) if dispatched else None,
                    "created_at": created, "updated_at": created, "event_seq": 0, "version": 1,
                    "caller_is_minor": False, "callback_attempts": 0, "rework_count": 0,
                    "return_count": 0, "extended_days": 0,
                })
                if dispatched and rng.random() < 0.1:
                    co_units.append({"ticket_id": tid, "unit_id": rng.choice(leads)})
                if dispatched and state != "closed":
                    due = created + timedelta(days=rng.randint(1, 20))
                    timers.append({"ticket_id": tid, "kind": "handle", "state": "running",
                                   "started_at": created, "warn_at": due - timedelta(days=1),
                                   "due_at": due, "original_due_at": due})
            db.session.execute(insert(Ticket), rows)
            if timers:
                db.session.execute(insert(Timer), timers)
            scopes = set()
            for row in rows:
                if row["lead_unit_id"]:
                    scopes |= {(row["id"], uid) for uid in ancestors[row["lead_unit_id"]]}
            for link in co_units:
                scopes |= {(link["ticket_id"], uid) for uid in ancestors[link["unit_id"]]}
            if scopes:
                db.session.execute(insert(TicketScope),
                                   [{"ticket_id": t, "unit_id": u} for t, u in scopes])
            seen = set()
            unique = [c for c in co_units if (c["ticket_id"], c["unit_id"]) not in seen
                      and not seen.add((c["ticket_id"], c["unit_id"]))]
            if unique:
                db.session.execute(insert(TicketCoUnit), unique)
            db.session.commit()
            have += n
            next_id += n
        _past_bulk_ids()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        return have


def _past_bulk_ids() -> None:
    """The bulk rows were given their ids: move the sequence past them, or the next ticket
    opened through the API collides with one of them (a 409)."""
    from hotline.extensions import db

    db.session.execute(text("SELECT setval(pg_get_serial_sequence('tickets', 'id'), "
                            "(SELECT max(id) FROM tickets))"))


def start_workers(app, count: int) -> list[subprocess.Popen]:
    """`count` real `hotline worker` processes, returned once each is registered and idle (a
    worker's start, its sweep included, takes tens of seconds on a loaded machine)."""
    from rq import Worker

    from hotline.redis import connection

    env = {**os.environ, "DATABASE_URL": BENCH_DATABASE, "REDIS_URL": BENCH_REDIS}
    started = time.monotonic()
    workers = [subprocess.Popen([sys.executable, "-m", "hotline.cli", "worker"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(count)]
    with app.app_context():
        while time.monotonic() - started < 300:
            ready = [w for w in Worker.all(connection=connection()) if w.get_state() == "idle"]
            if len(ready) >= count:
                break
            time.sleep(0.5)
    print(f"{count} workers ready in {time.monotonic() - started:.1f} s")
    return workers
