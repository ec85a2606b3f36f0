"""Benchmark: the KPIs of a busy month (docs/design.md §8), as the dashboard and the API compute them.

Run by hand: `.venv/bin/python bench/kpis.py [--per-day 3000] [--days 30] [--rounds 5]
[--source rollups|reference]`: the KPIs from the rollups (rebuilt, then folded once, both
timed) or from the reference SQL on every request (as before issue 24).

The bulk filler of common.py makes tickets without timelines, which is not what KPIs read.
This script fills a database of its own (BENCH_KPIS_DATABASE_URL, default hotline_bench_kpis,
emptied of tickets first) with `--per-day` tickets a day over the last `--days` days, each a
copy of one of a few tickets taken through the API the way a centre takes them: answered at
once; closed after a satisfied callback, half of them after contacting the caller and an
extension; sent back after a dissatisfied callback; returned and dispatched again; in
progress; waiting for dispatch. Each copy has its clocks, timeline and scope rows, every time
shifted to its day, and its unit moved to one of the counties. Then, in interleaved rounds,
it times `kpis.compute` for the whole period with the per-county table (what /console/kpis
shows), the same for one county, and the console pages as supervisor1 (Flask test client): the
KPIs, the daily and weekly reports and the 30 days' volumes and rankings.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import BENCH_PASSWORD, bench_app  # noqa: E402

DATABASE = os.environ.get("BENCH_KPIS_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/hotline_bench_kpis")
REDIS = os.environ.get("BENCH_KPIS_REDIS_URL", "redis://127.0.0.1:6379/7")


def empty(app) -> None:
    """No tickets: CASCADE empties every table that refers to them (clocks, events, ...)."""
    from sqlalchemy import text

    from hotline import audit
    from hotline.extensions import db

    # The event log is append-only (hotline/audit.py): emptying it is maintenance, said so.
    with app.app_context(), db.engine.begin() as conn, audit.maintenance(conn, "bench: empty the tickets"):
        conn.execute(text("TRUNCATE tickets, ticket_counters RESTART IDENTITY CASCADE"))


def templates(app) -> list[tuple[int, int]]:
    """A few tickets through the API, each with how many of every 20 copies follow it."""
    from tests.helpers import Api

    class BenchApi(Api):
        """The tests' API client, signing in with the bench's password (bench/common.py)."""

        def headers(self, username: str) -> dict[str, str]:
            if username not in self._tokens:
                answer = self.client.post("/api/v1/auth/token",
                                          json={"username": username, "password": BENCH_PASSWORD})
                self._tokens[username] = answer.json["token"]
            return {"Authorization": f"Bearer {self._tokens[username]}"}

    api = BenchApi(app, app.test_client())
    made = []
    answered = api.create()
    api.act(answered["id"], "answer", "seat1", {"answer": "已告知办理流程"})
    made.append((answered["id"], 6))
    for contacted_and_extended, weight in ((False, 3), (True, 3)):
        satisfied = api.in_progress()
        if contacted_and_extended:
            api.act(satisfied["id"], "contact_caller", "handler-gulou", {"note": "已联系来电人"})
            api.act(satisfied["id"], "request_extension", "handler-gulou", {"days": 3, "reason": "需协调"})
            api.act(satisfied["id"], "approve_extension", "dispatcher1", {})
        api.act(satisfied["id"], "reply", "handler-gulou", {"result": "已修复", "resolved": True})
        api.act(satisfied["id"], "approve_reply", "dispatcher1", {"note": "同意"})
        api.act(satisfied["id"], "record_callback", "seat1",
                {"reached": True, "resolved": True, "satisfied": True, "rating": 1})
        made.append((satisfied["id"], weight))
    reworked = api.callback_pending()
    api.act(reworked["id"], "record_callback", "seat1",
            {"reached": True, "resolved": False, "satisfied": False, "rating": 3})
    made.append((reworked["id"], 2))
    returned = api.dispatched()
    api.act(returned["id"], "return", "handler-gulou", {"reason": "不属于本单位职责"})
    api.act(returned["id"], "approve_return", "dispatcher1", {"note": "同意"})
    api.act(returned["id"], "dispatch", "dispatcher1", {"unit": "gulou", "note": "改派"})
    made.append((returned["id"], 1))
    made.append((api.in_progress()["id"], 3))
    waiting = api.create()
    api.act(waiting["id"], "submit", "seat1")
    made.append((waiting["id"], 2))
    return made


def fill(app, per_day: int, days: int, seed: int = 7) -> int:
    """Copies of the templates, `per_day` a day over the last `days` days, over the counties."""
    from sqlalchemy import func, insert, select, text

    from hotline.clocks.models import Timer
    from hotline.extensions import db
    from hotline.tickets.models import Event, Ticket, TicketScope
    from hotline.units import Unit, UnitKind

    rng = random.Random(seed)
    made = templates(app)
    weights = [weight for _, weight in made]
    tables = (Timer.__table__, Event.__table__, TicketScope.__table__)
    with app.app_context():
        conn = db.session.connection()
        counties = conn.execute(select(Unit.id, Unit.code).where(Unit.kind == UnitKind.COUNTY)).all()
        gulou = conn.scalar(select(Unit.id).where(Unit.code == "gulou"))
        city = conn.scalar(select(Unit.id).where(Unit.kind == UnitKind.CITY))
        rows = {}
        for template, _ in made:
            ticket = dict(conn.execute(
                select(Ticket.__table__).where(Ticket.id == template)).mappings().one())
            children = {table: [dict(row) for row in conn.execute(
                select(table).where(table.c.ticket_id == template)).mappings()] for table in tables}
            rows[template] = (ticket, children)
        next_id = conn.scalar(select(func.max(Ticket.id))) + 1
        total = per_day * days
        batch: dict = {Ticket.__table__: [], **{table: [] for table in tables}}

        def flush() -> None:
            for table, values in batch.items():
                if values:
                    conn.execute(insert(table), values)
                    values.clear()

        for n in range(total):
            template = rng.choices([t for t, _ in made], weights)[0]
            ticket, children = rows[template]
            shift = -timedelta(days=days) * (1 - n / total) - timedelta(minutes=30)
            county_id, county_code = rng.choice(counties)
            tid = next_id + n

            def moved(row: dict, shift=shift, county_id=county_id) -> dict:
                out = {key: value + shift if isinstance(value, datetime) else value
                       for key, value in row.items() if key != "id"}
                for key in ("lead_unit_id", "unit_id", "location_unit_id"):
                    if out.get(key) == gulou:
                        out[key] = county_id
                return out

            batch[Ticket.__table__].append({**moved(ticket), "id": tid, "number": f"K-{tid:09d}"})
            for table, copies in children.items():
                for row in copies:
                    copy = moved(row) | {"ticket_id": tid}
                    if table is Event.__table__ and isinstance(copy.get("data"), dict) \
                            and copy["data"].get("unit") == "gulou":
                        copy["data"] = {**copy["data"], "unit": county_code}
                    if table is TicketScope.__table__ and copy["unit_id"] not in (county_id, city):
                        continue
                    batch[table].append(copy)
            if len(batch[Ticket.__table__]) >= 2000:
                flush()
        flush()
        conn.execute(text("SELECT setval(pg_get_serial_sequence('tickets', 'id'), "
                          "(SELECT max(id) FROM tickets))"))
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-day", type=int, default=3000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep the tickets of the last run")
    parser.add_argument("--source", choices=("rollups", "reference"), default="rollups",
                        help="rollups (rebuilt first, timed) or the reference SQL on every request")
    args = parser.parse_args()

    app = bench_app(DATABASE, REDIS)
    from sqlalchemy import func, select

    from bench.console_pages import login
    from hotline import kpi_rollups, kpis
    from hotline.clocks.models import Timer
    from hotline.extensions import db
    from hotline.tickets.models import Event, Ticket
    from hotline.types import utcnow

    if not args.reuse:
        empty(app)
        started = time.perf_counter()
        made = fill(app, args.per_day, args.days)
        print(f"filled {made} tickets in {time.perf_counter() - started:.0f} s")
    with app.app_context():
        counts = {name: db.session.scalar(select(func.count()).select_from(model))
                  for name, model in (("tickets", Ticket), ("clocks", Timer), ("events", Event))}
        db.session.rollback()
    print(f"database: {counts}")
    if args.source == "reference":
        kpis.tallies_from(kpis.collect_tallies)
    else:
        for name, step in (("rebuild", kpi_rollups.rebuild), ("fold", kpi_rollups.fold)):
            with app.app_context():
                began = time.perf_counter()
                days = step()
                db.session.commit()
            print(f"kpi rollups {name}: {days} day(s) in {(time.perf_counter() - began) * 1000:.0f} ms")
    start, end = kpis.check_period(None, None)
    client = login(app, "supervisor1")

    def centre():
        with app.app_context():
            kpis.compute(start, end, with_units=True, now=utcnow())
            db.session.rollback()

    def county():
        with app.app_context():
            kpis.compute(start, end, unit="gulou", now=utcnow())
            db.session.rollback()

    def console():
        response = client.get("/console/kpis")
        assert response.status_code == 200, response.status_code
        assert "派单及时率" in response.get_data(as_text=True)

    def page(path: str, text: str):
        def get():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            assert text in response.get_data(as_text=True), path
        return get

    yesterday = end - timedelta(days=1)
    measured = {"compute, centre + per county": centre, "compute, one county (gulou)": county,
                "GET /console/kpis (supervisor1)": console,
                # the reports a centre hands in (hotline/reports.py)
                "GET /console/reports/daily": page(f"/console/reports/daily?day={yesterday}", "受理概况"),
                "GET /console/reports/weekly": page(f"/console/reports/weekly?week={yesterday}", "受理概况"),
                "GET /console/reports (30 days)": page("/console/reports", "单位排名")}
    times: dict[str, list[float]] = {name: [] for name in measured}
    for call in measured.values():
        call()   # warm-up
    for round_number in range(args.rounds):
        order = list(measured.items())
        order = order[round_number % len(order):] + order[:round_number % len(order)]
        for name, call in order:
            began = time.perf_counter()
            call()
            times[name].append((time.perf_counter() - began) * 1000)
    print(f"period {start} .. {end}; {args.rounds} rounds")
    print(f"{'':36} {'median ms':>10} {'min':>8} {'max':>8}")
    for name, values in times.items():
        print(f"{name:36} {statistics.median(values):10.0f} {min(values):8.0f} {max(values):8.0f}")
    per_ticket = statistics.median(times["compute, centre + per county"]) * 1000 / max(counts["tickets"], 1)
    print(f"compute per ticket of the period: {per_ticket:.0f} µs")


if __name__ == "__main__":
    main()
