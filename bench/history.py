"""Benchmark: a province's year of history (issue 24 item 4), with the event log and the read
audit partitioned by month (hotline.history).

Run by hand: `.venv/bin/python bench/history.py [--scale 0.05] [--rounds 30] [--rollups]`.
Fills a database of its own (BENCH_HISTORY_DATABASE_URL, default hotline_bench_history) with
`--scale` x 11 million tickets over the last 12 months and their timelines (about 4.5 events a
ticket: 50 million at scale 1), clocks and scope rows, by the database itself (INSERT ...
SELECT over generate_series, 100,000 tickets a statement; not the ORM). `--plain` does the
same on the schema before the partitions (plain tables, database hotline_bench_history_plain),
the baseline to compare with. Ids follow creation
time. Tickets older than a month are nearly all closed: 40 % answered at once (create,
answer), the rest through the full path (create, submit, dispatch, acknowledge, reply,
approve_reply, record_callback); the last month's are spread over every state. The year's
monthly partitions are made first, as a year of minute sweeps would have
(`history.ensure_partition`).

Then, in interleaved rounds, the p95 of: the ticket list's first page with the default
queries (API as the centre, a county's and a department's handler and a seat; console as
supervisor1 and as a county handler), the ticket page of random
tickets (console, and the API's ticket and events), and, once per round, the KPIs of the last
whole month as the dashboard computes them (`kpis.compute`, with the per-unit table): from the
reference SQL, and with `--rollups` also from the rollups after a rebuild (timed too).
A filled database is reused when it holds the tickets asked for.

At scale 1 the reference month takes minutes and a whole rebuild over an hour: `--no-reference`
leaves the reference out of the rounds, and `--rollups-since-month` rebuilds only the month read
and after (`hotline kpis rebuild --since`). `--live-per-day N` reads the rollups as a busy
centre would: the rounds stand for the last minutes before now, each the minute sweep's fold,
then a minute of events of N tickets a day (4.5 events a ticket, on the month's open tickets),
then the read at the minute's end (so each read also finds the `kpi_rollups.LAG` minutes of
events before the fold, which earlier folds counted).
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

from flask_migrate import downgrade  # noqa: E402

from bench.common import BENCH_PASSWORD, bench_app  # noqa: E402
from bench.console_pages import login  # noqa: E402
from bench.kpis import empty  # noqa: E402

DATABASE = os.environ.get("BENCH_HISTORY_DATABASE_URL",
                          "postgresql://postgres@127.0.0.1:5432/hotline_bench_history")
REDIS = os.environ.get("BENCH_HISTORY_REDIS_URL", "redis://127.0.0.1:6379/7")
PLAIN_DATABASE = os.environ.get("BENCH_HISTORY_PLAIN_DATABASE_URL",
                                "postgresql://postgres@127.0.0.1:5432/hotline_bench_history_plain")
PLAIN_REVISION = "5c0cf76e8d59"      # the schema before the partitions
PROVINCE_TICKETS = 11_000_000
# Every kind of viewer of the list: the centre, a county's and a department's handler, a seat.
LIST_VIEWERS = ("supervisor1", "handler-gulou", "handler-edu", "seat1")
CHUNK = 100_000

# The two paths a ticket takes: (seq, action, from_state, to_state).
PATHS = {
    "answer": [(1, "create", None, "intake"), (2, "answer", "intake", "closed")],
    "full": [(1, "create", None, "intake"), (2, "submit", "intake", "pending_dispatch"),
             (3, "dispatch", "pending_dispatch", "dispatched"),
             (4, "acknowledge", "dispatched", "in_progress"),
             (5, "reply", "in_progress", "replied"), (6, "approve_reply", "replied", "callback_pending"),
             (7, "record_callback", "callback_pending", "closed")],
}

# One chunk (:low..:high): the plan of each ticket, then its row, events, clocks and scopes.
FILL = [
    """
    INSERT INTO bench_plan
    SELECT id, created, lead, (SELECT code FROM units WHERE units.id = lead) AS lead_code,
           CASE WHEN answered THEN 'answer' ELSE 'full' END AS path,
           CASE WHEN answered THEN 2 WHEN created < now() - interval '30 days'
                THEN (CASE WHEN random() < 0.03 THEN 4 ELSE 7 END)
                ELSE 1 + floor(random() * 7)::int END AS n,
           make_interval(mins => 10 + floor(random() * 1200)::int) AS step
    FROM (SELECT id, random() < 0.4 AS answered,
                 now() - make_interval(secs => (CAST(:last AS bigint) - id) * :seconds_apart) AS created,
                 (CAST(:leads AS int[]))[1 + floor(random() * cardinality(CAST(:leads AS int[])))::int]
                   AS lead
          FROM generate_series(CAST(:low AS int), CAST(:high AS int)) AS id) g
    """,
    """
    INSERT INTO tickets (id, number, desk, channel, category, priority, state, subject, content,
                         caller_phone, lead_unit_id, created_at, updated_at, closed_at, event_seq, version,
                         caller_is_minor, callback_attempts, rework_count, return_count, extended_days,
                         supervise_count)
    SELECT p.id, 'H-' || lpad(p.id::text, 9, '0'),
           (ARRAY['general','general','general','general','general','general','children',
                  'hard_case'])[1 + floor(random() * 8)::int],
           'voice', (ARRAY['help','complaint','consultation','report'])[1 + floor(random() * 4)::int],
           'normal', s.to_state, '路灯不亮', '小区路灯坏了一个星期没人修',
           '+86139' || lpad(floor(random() * 100000000)::bigint::text, 8, '0'),
           CASE WHEN p.path = 'full' AND p.n >= 3 THEN p.lead END,
           p.created, least(p.created + (p.n - 1) * p.step, now()),
           CASE WHEN s.to_state = 'closed' THEN least(p.created + (p.n - 1) * p.step, now()) END,
           p.n, 1, false, 0, 0, 0, 0, 0
    FROM bench_plan p JOIN bench_paths s ON s.path = p.path AND s.seq = p.n
    """,
    """
    INSERT INTO ticket_events (ticket_id, seq, at, action, from_state, to_state, data)
    SELECT p.id, s.seq, least(p.created + (s.seq - 1) * p.step, now()), s.action, s.from_state, s.to_state,
           CASE s.action
             WHEN 'dispatch' THEN json_build_object('unit', p.lead_code, 'co_units', json_build_array())
             WHEN 'reply' THEN json_build_object('result', '已修复', 'resolved', true)
             WHEN 'record_callback' THEN json_build_object('reached', true, 'resolved', random() < 0.85,
                                                           'satisfied', random() < 0.9, 'rating', 5)
             WHEN 'answer' THEN json_build_object('note', '已当场解答')
             ELSE json_build_object() END
    FROM bench_plan p JOIN bench_paths s ON s.path = p.path AND s.seq <= p.n
    """,
    # Dispatch: submit (2) to dispatch (3); acknowledge: 3 to 4; handle: 3 to reply (5).
    """
    INSERT INTO timers (ticket_id, kind, state, started_at, warn_at, due_at, original_due_at, stopped_at,
                        provisional)
    SELECT p.id, c.kind, CASE WHEN p.n >= c.stop THEN 'met' ELSE 'running' END,
           p.created + (c.start - 1) * p.step, p.created + (c.start - 1) * p.step + c.due * 0.8,
           p.created + (c.start - 1) * p.step + c.due, p.created + (c.start - 1) * p.step + c.due,
           CASE WHEN p.n >= c.stop THEN least(p.created + (c.stop - 1) * p.step, now()) END, false
    FROM bench_plan p
    JOIN (VALUES ('dispatch', 2, 3, interval '4 hours'), ('acknowledge', 3, 4, interval '1 day'),
                 ('handle', 3, 5, interval '15 days')) AS c(kind, start, stop, due)
      ON p.path = 'full' AND p.n >= c.start
    """,
    """
    INSERT INTO ticket_scopes (ticket_id, unit_id)
    SELECT DISTINCT p.id, a.ancestor_id
    FROM bench_plan p JOIN bench_ancestors a ON a.unit_id = p.lead
    WHERE p.path = 'full' AND p.n >= 3
    """,
    "TRUNCATE bench_plan",
]


def fill(app, tickets: int) -> float:
    """Tickets 1..`tickets` over the last year; seconds taken (0 when already there)."""
    from sqlalchemy import select, text

    from hotline import history
    from hotline.extensions import db
    from hotline.types import utcnow
    from hotline.units import Unit, UnitKind

    with app.app_context():
        have = db.session.scalar(text("SELECT count(*) FROM tickets"))
        if have == tickets:
            return 0.0
        if have:
            db.session.rollback()     # or the TRUNCATE of `empty` waits for this session
            empty(app)
        started = time.perf_counter()
        # The year's months, as a year of minute sweeps would have made them.
        first = history.month_of(utcnow() - timedelta(days=366))
        plain = not db.session.scalar(text("SELECT to_regclass('ticket_events_default')"))
        for table in () if plain else history.TABLES:
            for step in range(13):
                history.ensure_partition(table, history.add_months(first, step))
        units = db.session.execute(select(Unit.id, Unit.kind, Unit.path, Unit.code)).all()
        by_code = {u.code: u.id for u in units}
        leads = [u.id for u in units if u.kind in (UnitKind.COUNTY, UnitKind.DEPARTMENT, UnitKind.TOWN)]
        db.session.execute(text(
            "CREATE TEMP TABLE bench_plan (id int, created timestamptz, lead int, lead_code text, path text, "
            "n int, step interval)"))
        db.session.execute(text("CREATE TEMP TABLE bench_ancestors (unit_id int, ancestor_id int)"))
        db.session.execute(text("INSERT INTO bench_ancestors VALUES (:u, :a)"),
                           [{"u": u.id, "a": by_code[c]} for u in units for c in u.path.split("/") if c])
        db.session.execute(text("CREATE TEMP TABLE bench_paths (path text, seq int, action text, "
                                "from_state text, to_state text)"))
        db.session.execute(text("INSERT INTO bench_paths VALUES (:p, :s, :a, :f, :t)"),
                           [{"p": path, "s": s, "a": a, "f": f, "t": t}
                            for path, steps in PATHS.items() for s, a, f, t in steps])
        db.session.execute(text("SELECT setseed(0.24)"))
        params = {"leads": leads, "last": tickets, "seconds_apart": 365 * 86400 / tickets}
        for low in range(1, tickets + 1, CHUNK):
            params |= {"low": low, "high": min(low + CHUNK - 1, tickets)}
            for statement in FILL:
                db.session.execute(text(statement), params)
            db.session.commit()
            print(f"  tickets {params['high']:,} of {tickets:,} ({time.perf_counter() - started:.0f} s)",
                  flush=True)
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('tickets', 'id'), :n)"), {"n": tickets})
        db.session.commit()
        db.session.commit()
        # VACUUM too, as autovacuum would have over a year: index-only scans need the visibility map.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE tickets, ticket_events, timers, ticket_scopes"))
        return time.perf_counter() - started


# One action on each of :ids at :ats, as the API writes it (the ticket's next event number).
STREAM = """
WITH picked AS (SELECT * FROM unnest(CAST(:ids AS int[]), CAST(:ats AS timestamptz[])) AS p(id, at)),
bumped AS (UPDATE tickets t SET event_seq = t.event_seq + 1, updated_at = p.at FROM picked p
           WHERE t.id = p.id RETURNING t.id, t.event_seq, t.state, p.at)
INSERT INTO ticket_events (ticket_id, seq, at, action, from_state, to_state, data)
SELECT id, event_seq, at, 'contact_caller', state, state, json_build_object('note', '已联系') FROM bumped
"""
EVENTS_A_TICKET = 4.5


def stream(app, pool: list[int], per_day: int, rng: random.Random, start: datetime,
           minutes: float = 1) -> int:
    """Events of `per_day` tickets a day (`EVENTS_A_TICKET` each, on tickets of `pool`) at
    random moments of the `minutes` from `start`; how many."""
    from sqlalchemy import text

    from hotline.extensions import db

    with app.app_context():
        ids = rng.sample(pool, int(per_day * EVENTS_A_TICKET / 1440 * minutes))
        ats = [start + timedelta(minutes=minutes) * rng.random() for _ in ids]
        db.session.execute(text(STREAM), {"ids": ids, "ats": ats})
        db.session.commit()
    return len(ids)


def sizes(app) -> dict:
    from sqlalchemy import text

    from hotline.extensions import db

    with app.app_context():
        return {
            "tickets": db.session.scalar(text("SELECT count(*) FROM tickets")),
            "events": db.session.scalar(text("SELECT count(*) FROM ticket_events")),
            "partitions": db.session.scalar(text(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = 'ticket_events'::regclass::oid")),
            "database": db.session.scalar(text(
                "SELECT pg_size_pretty(pg_database_size(current_database()))")),
        }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(share * len(ordered))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.05, help="share of a province's 11 million tickets")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--rollups", action="store_true", help="also rebuild the KPI rollups and read them")
    parser.add_argument("--no-reference", action="store_true", help="leave the reference KPI SQL out")
    parser.add_argument("--rollups-since-month", action="store_true",
                        help="rebuild the rollups of the month read and after only")
    parser.add_argument("--live-per-day", type=int, default=0,
                        help="before each rollup read, events of this many tickets a day (see above)")
    parser.add_argument("--plain", action="store_true",
                        help=f"the baseline: plain tables as before, in {PLAIN_DATABASE.rsplit('/', 1)[1]}")
    args = parser.parse_args()
    tickets = int(PROVINCE_TICKETS * args.scale)

    app = bench_app(PLAIN_DATABASE if args.plain else DATABASE, REDIS)
    if args.plain:
        with app.app_context():
            downgrade(revision=PLAIN_REVISION)
    seconds = fill(app, tickets)
    print(f"filled in {seconds:.0f} s: {sizes(app)}; load average {os.getloadavg()}")

    from sqlalchemy import select

    from hotline import history, kpi_rollups, kpis
    from hotline.extensions import db
    from hotline.tickets.models import Ticket, TicketState
    from hotline.types import utcnow

    if not args.plain:
        with app.app_context():
            history.ensure_ahead()
            db.session.commit()
    this_month = history.month_of(utcnow())
    month = history.add_months(this_month, -1)
    month_end = this_month - timedelta(days=1)

    api = app.test_client()
    tokens = {}
    for user in LIST_VIEWERS:
        answer = api.post("/api/v1/auth/token", json={"username": user, "password": BENCH_PASSWORD})
        tokens[user] = {"Authorization": f"Bearer {answer.json['token']}"}
    console = {user: login(app, user) for user in ("supervisor1", "handler-gulou")}
    rng = random.Random(7)

    def kpi_month(source=None, now=None):
        with app.app_context():
            try:
                return kpis.compute(month, month_end, with_units=True, source=source, now=now)
            finally:
                db.session.rollback()

    def api_ticket(tid: int):
        response = api.get(f"/api/v1/tickets/{tid}", headers=tokens["supervisor1"])
        assert response.status_code == 200, response
        return api.get(f"/api/v1/tickets/{tid}/events", headers=tokens["supervisor1"])

    cases = {
        **{f"API list, first page ({user})":
           (lambda user=user: api.get("/api/v1/tickets?per_page=20", headers=tokens[user]))
           for user in LIST_VIEWERS},
        "console list, first page (supervisor1)": lambda: console["supervisor1"].get("/console/tickets"),
        "console list, first page (handler-gulou)": lambda: console["handler-gulou"].get("/console/tickets"),
        "console ticket page, random ticket (supervisor1)":
            lambda: console["supervisor1"].get(f"/console/tickets/{rng.randint(1, tickets)}"),
        "API ticket + its events, random ticket (supervisor1)": lambda: api_ticket(rng.randint(1, tickets)),
        f"KPIs of {month:%Y-%m}, reference SQL (kpis.compute, per unit)":
            lambda: kpi_month(kpis.collect_tallies),
    }
    if args.no_reference:
        cases.pop(next(label for label in cases if label.startswith("KPIs")))
    rounds = {label: args.rounds for label in cases}
    for label in cases:
        if label.startswith("KPIs"):
            rounds[label] = max(3, args.rounds // 10)
    for call in cases.values():        # warm caches, templates and the pool
        response = call()
        assert getattr(response, "status_code", 200) == 200, response
    timings: dict[str, list[float]] = {label: [] for label in cases}
    loads = []
    for n in range(args.rounds):
        for label, call in cases.items():
            if n >= rounds[label]:
                continue
            started = time.perf_counter()
            response = call()
            timings[label].append((time.perf_counter() - started) * 1000)
            assert getattr(response, "status_code", 200) == 200, (label, response)
        loads.append(os.getloadavg()[0])
    if args.rollups:
        with app.app_context():
            started = time.perf_counter()
            if args.rollups_since_month:
                if kpi_rollups._mark() is None:     # no whole rebuild first: the month's days only
                    db.session.add(kpi_rollups.KpiRollupMark(id=kpi_rollups.MARK_ID, folded_at=utcnow()))
                    db.session.flush()
                days = kpi_rollups.rebuild(since=month)
            else:
                days = kpi_rollups.rebuild()
            db.session.commit()
            print(f"rollups rebuilt: {days} days in {time.perf_counter() - started:.0f} s", flush=True)
            pool = list(db.session.scalars(select(Ticket.id).where(
                Ticket.created_at >= utcnow() - timedelta(days=30), Ticket.state != TicketState.CLOSED)))
        label = f"KPIs of {month:%Y-%m}, from the rollups (kpis.compute, per unit)"
        if args.live_per_day:
            label += f", {args.live_per_day:,} tickets a day streaming"
        timings[label] = []
        streamed = []
        first_fold = utcnow() - timedelta(minutes=args.rounds)
        if args.live_per_day:     # the minutes before the first round's fold, as steady state has them
            with app.app_context():
                kpi_rollups._mark().folded_at = first_fold - kpi_rollups.LAG - timedelta(minutes=1)
                db.session.commit()
            stream(app, pool, args.live_per_day, rng, first_fold - kpi_rollups.LAG,
                   kpi_rollups.LAG.total_seconds() / 60)
        for n in range(args.rounds):
            read_at = None
            if args.live_per_day:
                folded_at = first_fold + timedelta(minutes=n)
                with app.app_context():
                    kpi_rollups.fold(folded_at)
                    db.session.commit()
                streamed.append(stream(app, pool, args.live_per_day, rng, folded_at))
                read_at = folded_at + timedelta(minutes=1)
            started = time.perf_counter()
            kpi_month(now=read_at)
            timings[label].append((time.perf_counter() - started) * 1000)
        # The pages and reports that read the rollups, as supervisors open them.
        yesterday = utcnow().date() - timedelta(days=1)
        pages = {"GET /console/kpis (supervisor1)": ("/console/kpis", False),
                 "GET /api/v1/reports/kpis": ("/api/v1/reports/kpis", True),
                 "GET /api/v1/reports/rankings": ("/api/v1/reports/rankings", True),
                 "GET /console/reports/daily (yesterday)": (f"/console/reports/daily?day={yesterday}", False),
                 "GET /console/reports/weekly": (f"/console/reports/weekly?week={yesterday}", False),
                 "GET /console/reports (30 days)": ("/console/reports", False)}
        for label, (path, by_api) in pages.items():
            timings[label] = []
            for _ in range(max(3, args.rounds // 3)):
                started = time.perf_counter()
                response = (api.get(path, headers=tokens["supervisor1"]) if by_api
                            else console["supervisor1"].get(path))
                timings[label].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (label, response.status_code)

    if args.rollups and args.live_per_day:
        print(f"streamed: {streamed[0]} events a minute, a read after each minute's fold")
    facts = sizes(app)
    print(f"\n{facts['tickets']:,} tickets, {facts['events']:,} events in {facts['partitions']} partitions "
          f"(the default included), database {facts['database']}; {datetime.now():%Y-%m-%d %H:%M}; "
          f"load average during rounds {min(loads):.1f}-{max(loads):.1f}")
    print("| what | rounds | p50 ms | p95 ms |")
    print("|---|---|---|---|")
    for label, values in timings.items():
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        print(f"| {label} | {len(values)} | {p50:.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
