"""Benchmark: the KPIs of a busy month (docs/design.md §8), as the dashboard and the API compute them.

Run by hand: `.venv/bin/python bench/kpis.py [--per-day 3000] [--days 30] [--rounds 5]
[--units-scope city|province] [--reuse [--rebuild]] [--only NAME] [--source rollups|reference]`:
the KPIs from the rollups (rebuilt, then folded once, both timed) or from the reference SQL
on every request (as before issue 24). The copies are made by the database (INSERT ... SELECT
from generate_series), so 900,000 tickets take minutes; `province` adds 12 cities of 8
counties and spreads the copies over all of them.

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
import statistics
import sys
import time
from datetime import timedelta
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


PROVINCE_CITIES = 12   # the bench's other cities of the province (`--units-scope province`)
COUNTIES_PER_CITY = 8


def province(app) -> None:
    """The seed's city plus PROVINCE_CITIES cities of COUNTIES_PER_CITY counties each, one unit
    tree (docs/operations.md §8); idempotent."""
    from sqlalchemy import select

    from hotline.extensions import db
    from hotline.units import Unit, UnitKind, path_for

    with app.app_context():
        if db.session.scalar(select(Unit.id).where(Unit.code == "bench-city-1")) is None:
            for c in range(1, PROVINCE_CITIES + 1):
                city = Unit(code=f"bench-city-{c}", name=f"第{c}市", kind=UnitKind.CITY, parent=None,
                            path=path_for(f"bench-city-{c}", None))
                db.session.add(city)
                db.session.flush()
                for k in range(1, COUNTIES_PER_CITY + 1):
                    code = f"bench-city-{c}-county-{k}"
                    db.session.add(Unit(code=code, name=f"第{c}市第{k}区", kind=UnitKind.COUNTY,
                                        parent=city, path=path_for(code, city)))
            db.session.commit()


def fill(app, per_day: int, days: int, scope: str = "city") -> int:
    """Copies of the templates, `per_day` a day over the last `days` days, over the counties of
    the seed's city (`scope` city) or of every city (province), made by the database itself:
    one INSERT ... SELECT per table from generate_series, every time shifted to the copy's
    moment, gulou replaced by the copy's county (and the seed's city by the county's city)."""
    from sqlalchemy import DateTime, select, text

    from hotline.clocks.models import Timer
    from hotline.extensions import db
    from hotline.tickets.models import Event, Ticket, TicketScope
    from hotline.units import Unit, UnitKind

    made = templates(app)
    if scope == "province":
        province(app)
    total = per_day * days
    with app.app_context():
        conn = db.session.connection()
        counties = conn.execute(select(Unit.id, Unit.code, Unit.parent_id)
                                .where(Unit.kind == UnitKind.COUNTY).order_by(Unit.id)).all()
        home = conn.scalar(select(Unit.id).where(Unit.code == "gulou"))
        city = conn.scalar(select(Unit.id).where(Unit.code == "gulou").with_only_columns(Unit.parent_id))
        if scope == "city":
            counties = [row for row in counties if row.parent_id == city]
        conn.execute(text("DROP TABLE IF EXISTS bench_counties, bench_templates, bench_plan"))
        conn.execute(text("CREATE TEMP TABLE bench_counties (k int, id int, code text, city int)"))
        conn.execute(text("INSERT INTO bench_counties VALUES (:k, :id, :code, :city)"),
                     [{"k": k, "id": row.id, "code": row.code, "city": row.parent_id}
                      for k, row in enumerate(counties)])
        # 20 slots, each template taking as many as its weight of every 20 copies
        slots = [template for template, weight in made for _ in range(weight)]
        conn.execute(text("CREATE TEMP TABLE bench_templates (slot int, template int)"))
        conn.execute(text("INSERT INTO bench_templates VALUES (:slot, :template)"),
                     [{"slot": n, "template": t} for n, t in enumerate(slots)])
        next_id = conn.scalar(text("SELECT max(id) FROM tickets")) + 1
        # copy n: template by a scrambled slot, county by another scramble, its moment spread
        # evenly over the days up to half an hour ago
        conn.execute(text(f"""
            CREATE TEMP TABLE bench_plan AS
            SELECT {next_id} + n AS tid, t.template, c.id AS county, c.code AS county_code,
                   c.city AS county_city,
                   -(interval '1 day' * {days} * (1 - n::float8 / {total})) - interval '30 minutes' AS shift
            FROM generate_series(0::bigint, {total - 1}) AS n
            JOIN bench_templates t ON t.slot = (n * 7919 + n / 20) % {len(slots)}
            JOIN bench_counties c ON c.k = (n * 104729 / 7) % {len(counties)}"""))
        conn.execute(text("CREATE INDEX ON bench_plan (template)"))
        conn.execute(text("ANALYZE bench_plan"))

        def copied(table, overrides: dict[str, str]) -> str:
            columns, values = [], []
            for column in table.c:
                if column.name == "id" and column.name not in overrides:
                    continue
                columns.append(column.name)
                if column.name in overrides:
                    values.append(overrides[column.name])
                elif isinstance(column.type, DateTime) or "DateTime" in type(column.type).__name__:
                    values.append(f"s.{column.name} + p.shift")
                elif column.name in ("lead_unit_id", "unit_id", "location_unit_id"):
                    values.append(f"CASE WHEN s.{column.name} = {home} THEN p.county "
                                  f"WHEN s.{column.name} = {city} THEN p.county_city "
                                  f"ELSE s.{column.name} END")
                else:
                    values.append(f"s.{column.name}")
            key = "id" if table is Ticket.__table__ else "ticket_id"
            return (f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(values)} "
                    f"FROM bench_plan p JOIN {table.name} s ON s.{key} = p.template")

        began = time.perf_counter()
        conn.execute(text(copied(Ticket.__table__, {
            "id": "p.tid", "number": "'K-' || lpad(p.tid::text, 9, '0')"})))
        data_type = conn.scalar(text("SELECT data_type FROM information_schema.columns "
                                     "WHERE table_name = 'ticket_events' AND column_name = 'data'"))
        cast = "jsonb" if data_type == "jsonb" else "json"
        conn.execute(text(copied(Timer.__table__, {"ticket_id": "p.tid"})))
        conn.execute(text(copied(Event.__table__, {
            "ticket_id": "p.tid",
            "data": f"CASE WHEN s.data::jsonb ->> 'unit' = 'gulou' THEN (s.data::jsonb || "
                    f"jsonb_build_object('unit', p.county_code))::{cast} ELSE s.data END"})))
        conn.execute(text(copied(TicketScope.__table__, {"ticket_id": "p.tid"})
                          + f" WHERE s.unit_id IN ({home}, {city})"))
        print(f"copied in {time.perf_counter() - began:.0f} s")
        conn.execute(text("SELECT setval(pg_get_serial_sequence('tickets', 'id'), "
                          "(SELECT max(id) FROM tickets))"))
        db.session.commit()
    with app.app_context(), db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-day", type=int, default=3000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--units-scope", choices=("city", "province"), default="city",
                        help="the copies over the seed city's counties, or over every city's")
    parser.add_argument("--reuse", action="store_true", help="keep the tickets of the last run")
    parser.add_argument("--rebuild", action="store_true", help="with --reuse: rebuild the rollups")
    parser.add_argument("--only", default="", help="time only the measurements whose name has this")
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
    from hotline.units import Unit

    if not args.reuse:
        empty(app)
        started = time.perf_counter()
        made = fill(app, args.per_day, args.days, args.units_scope)
        print(f"filled {made} tickets in {time.perf_counter() - started:.0f} s")
    with app.app_context():
        counts = {name: db.session.scalar(select(func.count()).select_from(model))
                  for name, model in (("tickets", Ticket), ("clocks", Timer), ("events", Event))}
        city = db.session.scalar(select(Unit.parent_id).where(Unit.code == "gulou"))
        city = db.session.scalar(select(Unit.code).where(Unit.id == city))
        db.session.rollback()
    print(f"database: {counts}")
    if args.source == "reference":
        kpis.sums_from(kpis.reference_sums)
    else:   # rebuilt unless reused; folded, as the minute sweep would have since
        steps = (("rebuild", kpi_rollups.rebuild),) if not args.reuse or args.rebuild else ()
        for name, step in (*steps, ("fold", kpi_rollups.fold)):
            with app.app_context():
                began = time.perf_counter()
                days = step()
                db.session.commit()
            took = (time.perf_counter() - began) * 1000
            print(f"kpi rollups {name}: {days} (days rebuilt, tickets folded) in {took:.0f} ms")
    start, end = kpis.check_period(None, None)
    client = login(app, "supervisor1")
    token = client.post("/api/v1/auth/token", json={"username": "supervisor1",
                                                    "password": BENCH_PASSWORD}).json["token"]

    def computed(unit: str | None):
        def call():
            with app.app_context():
                kpis.compute(start, end, unit=unit, with_units=True, now=utcnow())
                db.session.rollback()
        return call

    def page(path: str, text: str, api: bool = False):
        headers = {"Authorization": f"Bearer {token}"} if api else {}

        def get():
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.status_code)
            assert text in response.get_data(as_text=True), path
        return get

    yesterday = end - timedelta(days=1)
    measured = {"compute, all units + per branch": computed(None),
                f"compute, one city ({city})": computed(city),
                "compute, one county (gulou)": computed("gulou"),
                "GET /console/kpis (supervisor1)": page("/console/kpis", "派单及时率"),
                "GET /api/v1/reports/kpis": page("/api/v1/reports/kpis", "dispatch_on_time", api=True),
                "GET /api/v1/reports/rankings": page("/api/v1/reports/rankings", "items", api=True),
                # the reports a centre hands in (hotline/reports.py)
                "GET /console/reports/daily": page(f"/console/reports/daily?day={yesterday}", "受理概况"),
                "GET /console/reports/weekly": page(f"/console/reports/weekly?week={yesterday}", "受理概况"),
                "GET /console/reports (30 days)": page("/console/reports", "单位排名")}
    measured = {name: call for name, call in measured.items() if args.only in name}
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
    print(f"period {start} .. {end}; {args.rounds} rounds; load average {os.getloadavg()}")
    print(f"{'':36} {'median ms':>10} {'p95':>8} {'min':>8} {'max':>8}")
    for name, values in times.items():
        p95 = sorted(values)[max(0, round(0.95 * len(values)) - 1)]
        print(f"{name:36} {statistics.median(values):10.0f} {p95:8.0f} {min(values):8.0f} {max(values):8.0f}")


if __name__ == "__main__":
    main()
