"""Benchmark: the product's hot endpoints under gunicorn, as ratios of a bare-Flask ceiling.

Run by hand (several minutes of load; PostgreSQL and Redis on 127.0.0.1):

    .venv/bin/python bench/endpoints.py [--rounds 5] [--seconds 10] [--clients 10] [--workers 2]
    .venv/bin/python bench/endpoints.py --requests 100000        # also: worker RSS after a long run
    .venv/bin/python bench/endpoints.py --profile E2             # pyinstrument, in-process

Servers (same gunicorn settings: sync workers, `--workers N`, access log on):
  product  `hotline web --workers N`, HOTLINE_ENV=production, on BENCH_DATABASE_URL
           (default hotline_bench, created, migrated and seeded if needed) and
           BENCH_ENDPOINTS_REDIS_URL (default redis://127.0.0.1:6379/10, flushed before and
           after), TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL set so webhook signatures validate.
           No `hotline worker` runs: the jobs the requests enqueue wait in Redis, so what is
           measured is the web path alone (a worker would compete for the same cores).
  ceiling  bench/ceiling_app.py on the same database (E1).
  floor    bench/stack_floor_app.py on the same database (E1s).

Endpoints:
  E0  GET  /healthz
  E1  POST /insert on the ceiling app: one row into a table of its own
  E1s POST /api/rows on the stack-floor app: flask-smorest, marshmallow, a bearer token and
      the ORM writing a row and its audit row; no target, it shows what the stack alone costs
  E2  POST /api/v1/tickets as seat1 (intake)
  E3  POST /twilio/sms, signed as Twilio signs it, a new MessageSid and sender each time
  E4  POST /api/v1/tickets/{id}/actions/acknowledge as handler-gulou, each on its own
      dispatched ticket (cloned in bulk from one dispatched through the API)

Interleaved rounds: each round runs every endpoint for --seconds with --clients threads
(http.client, keep-alive where the server allows it; gunicorn's sync workers close after
each response), in a rotating order. Reported per endpoint: requests/s median and range
over the rounds, p50/p99 latency over all rounds, errors; the ratios to E1 against the
targets; the web workers' RSS (psutil) before and after. Everything the run adds to the
database (tickets, texts, the ceiling's rows) is deleted at the end.
"""

import argparse
import contextlib
import http.client
import itertools
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import BENCH_DATABASE, BENCH_PASSWORD, bench_app  # noqa: E402

REDIS = os.environ.get("BENCH_ENDPOINTS_REDIS_URL", "redis://127.0.0.1:6379/10")
TWILIO_TOKEN = "bench-auth-token-0123456789abcdef"
HOTLINE_NUMBER = "+8651612345"
TARGETS = {"E2": 0.35, "E3": 0.4, "E4": 0.35}    # throughput / E1 (issue 24 item 3: 0.35 for writes)
P99_TARGET_MS = {"E2": 50.0, "E3": 50.0}
RSS_TARGET_MB = 150
TICKET = {
    "desk": "general", "channel": "voice", "category": "help", "priority": "normal",
    "subject": "小区路灯不亮", "content": "鼓楼区黄楼街道河畔社区路灯坏了一个月，晚上出行很不方便。",
    "caller": {"phone": "+8613800000001", "name": "张三", "is_minor": False},
    "location": {"unit": "gulou", "address": "河畔社区3号楼"},
}
SMS_TEXT = "小区门口的路灯坏了一个月了，晚上出行很不方便，请尽快修理。"


# --- the database: before and after ----------------------------------------------------------

def product_app():
    """The app in this process, on the benchmark database (migrated and seeded)."""
    from hotline.extensions import db

    app = bench_app(BENCH_DATABASE, REDIS, {"TWILIO_AUTH_TOKEN": TWILIO_TOKEN})
    with app.app_context():
        sync_sequences(db)
    return app


def sync_sequences(db) -> None:
    """Rows inserted with explicit ids (bench/common.py fills tickets so) leave a sequence
    behind its table; the next INSERT would collide. Move each to its table's max id."""
    from sqlalchemy import text

    for table in db.metadata.sorted_tables:
        if "id" in table.c and table.c.id.autoincrement is not False and table.c.id.primary_key:
            db.session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false) "
                f"WHERE pg_get_serial_sequence('{table.name}', 'id') IS NOT NULL"))
    db.session.commit()


def high_water(app) -> dict[str, int]:
    from sqlalchemy import text

    from hotline.extensions import db

    with app.app_context():
        marks = {name: db.session.scalar(text(f"SELECT coalesce(max(id), 0) FROM {name}"))
                 for name in ("tickets", "inbound_sms", "api_tokens")}
        db.session.rollback()
    return marks


def clean_up(app, marks: dict[str, int]) -> dict[str, int]:
    """Delete what the run added: tickets above the high-water mark with all that hangs off them.

    Every row that references those tickets is deleted first, so the tickets go with the
    foreign-key triggers off (`session_replication_role = replica`): checked one deleted row
    at a time, the self-reference `merged_into_id` (no index: nothing looks tickets up by it)
    would scan the whole table for each ticket.
    """
    from sqlalchemy import text

    from hotline import audit
    from hotline.extensions import db

    base = marks["tickets"]
    with app.app_context():
        deleted = {}
        run = db.session.execute
        # The event log is append-only (hotline.audit): deleting from it is maintenance.
        with audit.maintenance(db.session, "bench/endpoints.py: delete the run's tickets"):
            run(text("DELETE FROM timer_firings WHERE timer_id IN "
                     "(SELECT id FROM timers WHERE ticket_id > :base)"), {"base": base})
            run(text("DELETE FROM referral_events WHERE referral_id IN "
                     "(SELECT id FROM referrals WHERE ticket_id > :base)"), {"base": base})
            for table in ("ticket_co_units", "ticket_events", "timers", "ticket_scopes", "ticket_search",
                          "contact_safety", "calls", "notices", "outbox_messages", "mandatory_reports",
                          "referrals"):
                run(text(f"DELETE FROM {table} WHERE ticket_id > :base"), {"base": base})
            deleted["inbound_sms"] = run(
                text("DELETE FROM inbound_sms WHERE id > :mark OR ticket_id > :base"),
                {"mark": marks["inbound_sms"], "base": base}).rowcount
            run(text("UPDATE tickets SET merged_into_id = NULL WHERE merged_into_id > :base"), {"base": base})
            run(text("SET LOCAL session_replication_role = replica"))
            deleted["tickets"] = run(text("DELETE FROM tickets WHERE id > :base"), {"base": base}).rowcount
            run(text("SET LOCAL session_replication_role = DEFAULT"))
            run(text("DELETE FROM api_tokens WHERE id > :mark"), {"mark": marks["api_tokens"]})
            run(text("DROP TABLE IF EXISTS bench_ceiling, bench_floor_events, bench_floor_rows, "
                     "bench_floor_tokens"))
        db.session.commit()
        from hotline.redis import connection

        connection().flushdb()
    return deleted


class DispatchedTickets:
    """Tickets dispatched to 鼓楼区 for E4, one per acknowledge: one made through the API
    (create, submit, dispatch), the rest bulk copies of its rows (ticket, clocks, scopes,
    timeline) with new ids and numbers."""

    def __init__(self, app):
        self.app = app
        self.ids: list[int] = []
        self._next = iter(())
        self._lock = threading.Lock()
        client = app.test_client()
        tokens = {user: login(client, user) for user in ("seat1", "dispatcher1")}
        created = client.post("/api/v1/tickets", json=TICKET, headers=tokens["seat1"]).json
        client.post(f"/api/v1/tickets/{created['id']}/actions/submit", json={}, headers=tokens["seat1"])
        dispatched = client.post(f"/api/v1/tickets/{created['id']}/actions/dispatch",
                                 json={"unit": "gulou", "note": "请核实处理"}, headers=tokens["dispatcher1"])
        assert dispatched.status_code == 200 and dispatched.json["state"] == "dispatched", dispatched.json
        self.template = created["id"]

    def top_up(self, wanted: int) -> None:
        """Make sure at least `wanted` unused tickets are ready."""
        with self._lock:
            left = list(self._next)
        missing = wanted - len(left)
        if missing > 0:
            left += self._clone(missing)
        with self._lock:
            self._next = iter(left)

    def take(self) -> int | None:
        with self._lock:
            return next(self._next, None)

    def _clone(self, count: int) -> list[int]:
        from sqlalchemy import func, insert, select, text

        from hotline.clocks.models import Timer
        from hotline.extensions import db
        from hotline.tickets.models import Event, Ticket, TicketScope

        tickets, timers, scopes, events = (Ticket.__table__, Timer.__table__, TicketScope.__table__,
                                           Event.__table__)
        with self.app.app_context():
            conn = db.session.connection()
            ticket = dict(conn.execute(select(tickets).where(tickets.c.id == self.template)).mappings().one())
            children = {
                table: [dict(row) for row in conn.execute(
                    select(table).where(table.c.ticket_id == self.template)).mappings()]
                for table in (timers, scopes, events)}
            start = conn.scalar(select(func.max(tickets.c.id))) + 1
            ids = list(range(start, start + count))
            for first in range(0, len(ids), 2000):
                chunk = ids[first:first + 2000]
                conn.execute(insert(tickets), [{**ticket, "id": tid, "number": f"E4-{tid:010d}"}
                                               for tid in chunk])
                for table, rows in children.items():
                    copies = [{key: value for key, value in row.items() if key != "id"} | {"ticket_id": tid}
                              for tid in chunk for row in rows]
                    if copies:
                        conn.execute(insert(table), copies)
            conn.execute(text("SELECT setval(pg_get_serial_sequence('tickets', 'id'), :top)"),
                         {"top": ids[-1]})
            db.session.commit()
        return ids


def login(client, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": BENCH_PASSWORD})
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


# --- servers ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], env: dict, port: int, probe: str) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               process_group=0)
    # A loaded machine (other suites on the same 2 cores) took over 60 s to start `hotline web`.
    deadline = time.monotonic() + float(os.environ.get("BENCH_START_SECONDS", "180"))
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{command[:4]} exited: {process.stderr.read().decode()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", probe)
            connection.getresponse().read()
            connection.close()
            return process
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise SystemExit(f"{command[:4]} did not answer on port {port}")


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def start_product(port: int, workers: int, instance: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": BENCH_DATABASE, "REDIS_URL": REDIS, "HOTLINE_ENV": "production",
           "SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex, "HOTLINE_INSTANCE_PATH": instance,
           "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_FROM_NUMBER", "GUNICORN_CMD_ARGS"):
        env.pop(name, None)
    command = [str(ROOT / ".venv" / "bin" / "hotline"), "web", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers)]
    return start(command, env, port, "/healthz")


def start_reference(module: str, port: int, workers: int, instance: str) -> subprocess.Popen:
    """The same gunicorn command line as `hotline web` builds (hotline/cli.py), on one of the
    reference apps in bench/ (`ceiling_app`, `stack_floor_app`)."""
    import importlib

    import gunicorn

    importlib.import_module(f"bench.{module}").prepare(BENCH_DATABASE)
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--chdir", str(ROOT), "--access-logfile", "-"]
    if gunicorn.version_info >= (25, 1):
        command += ["--control-socket", str(Path(instance) / f"{module}.ctl")]
    env = {**os.environ, "DATABASE_URL": BENCH_DATABASE}
    env.pop("GUNICORN_CMD_ARGS", None)
    return start([*command, f"bench.{module}:app"], env, port, "/")


def worker_rss_mb(server: subprocess.Popen) -> list[float]:
    """Resident memory of each gunicorn worker (the master's children), in MB."""
    import psutil

    master = psutil.Process(server.pid)
    return sorted(child.memory_info().rss / 2**20 for child in master.children(recursive=True))


# --- load -------------------------------------------------------------------------------------

@dataclass
class Endpoint:
    name: str
    label: str
    port: int
    expect: int
    make: object                     # () -> (method, path, body bytes, headers), or None when out

    latencies: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)


def endpoints(product: int, ceiling: int, floor: int, tokens: dict, dispatched: DispatchedTickets,
              with_sms: bool) -> list[Endpoint]:
    from twilio.request_validator import RequestValidator

    from bench import stack_floor_app

    validator = RequestValidator(TWILIO_TOKEN)
    sms_url = f"http://127.0.0.1:{product}/twilio/sms"
    json_headers = {"Content-Type": "application/json"}
    ticket_body = json.dumps(TICKET).encode()

    def healthz():
        return "GET", "/healthz", None, {}

    def ceiling_insert():
        return "POST", "/insert", json.dumps({"subject": TICKET["subject"],
                                              "content": TICKET["content"]}).encode(), json_headers

    def floor_insert():
        caller = {"phone": TICKET["caller"]["phone"], "name": TICKET["caller"]["name"]}
        body = {"subject": TICKET["subject"], "content": TICKET["content"], "caller": caller}
        return "POST", "/api/rows", json.dumps(body).encode(), {
            **json_headers, "Authorization": f"Bearer {stack_floor_app.TOKEN}"}

    def intake():
        return "POST", "/api/v1/tickets", ticket_body, {**json_headers, **tokens["seat1"]}

    def sms():
        message_sid = "SM" + uuid.uuid4().hex
        params = {"MessageSid": message_sid, "SmsSid": message_sid, "AccountSid": "AC" + "0" * 32,
                  "From": f"+86139{random.randrange(10**8):08d}", "To": HOTLINE_NUMBER, "Body": SMS_TEXT,
                  "NumMedia": "0", "NumSegments": "1", "ApiVersion": "2010-04-01"}
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": validator.compute_signature(sms_url, params)}
        return "POST", "/twilio/sms", urlencode(params).encode(), headers

    def acknowledge():
        ticket_id = dispatched.take()
        if ticket_id is None:
            return None
        return ("POST", f"/api/v1/tickets/{ticket_id}/actions/acknowledge", b"{}",
                {**json_headers, **tokens["handler-gulou"]})

    found = [Endpoint("E0", "GET /healthz", product, 200, healthz),
             Endpoint("E1", "POST /insert (ceiling)", ceiling, 201, ceiling_insert),
             Endpoint("E1s", "POST /api/rows (stack floor)", floor, 201, floor_insert),
             Endpoint("E2", "POST /api/v1/tickets", product, 201, intake)]
    if with_sms:
        found.append(Endpoint("E3", "POST /twilio/sms (signed)", product, 200, sms))
    found.append(Endpoint("E4", "POST …/actions/acknowledge", product, 200, acknowledge))
    return found


def client(targets: list[Endpoint], stop_at: float, budget, out: list) -> None:
    """Requests back to back until `stop_at` or the shared budget is spent; round-robin over
    `targets` (one target in the rounds, several in the long run). Appends (name, ms, error)."""
    connections: dict[int, http.client.HTTPConnection] = {}
    records = []
    for turn in itertools.count():
        if time.monotonic() >= stop_at or (budget is not None and next(budget, None) is None):
            break
        target = targets[turn % len(targets)]
        request = target.make()
        if request is None:
            records.append((target.name, None, "no ticket left"))
            break
        method, path, body, headers = request
        connection = connections.get(target.port)
        if connection is None:
            connection = connections[target.port] = http.client.HTTPConnection("127.0.0.1", target.port,
                                                                              timeout=15)
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            error = None if response.status == target.expect else f"HTTP {response.status}"
            if response.will_close:
                connection.close()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            error = type(exc).__name__
        records.append((target.name, (time.perf_counter() - started) * 1000, error))
    for connection in connections.values():
        connection.close()
    out.extend(records)


def run_load(targets: list[Endpoint], clients: int, seconds: float, requests: int | None = None) -> float:
    """`clients` threads for `seconds` (or until `requests` are sent); returns elapsed seconds."""
    out: list = []
    budget = iter(range(requests)) if requests else None
    stop_at = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(targets, stop_at, budget, out)) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - started
    by_name = {target.name: target for target in targets}
    counts = Counter()
    for name, ms, error in out:
        target = by_name[name]
        if ms is not None:
            target.latencies.append(ms)
            counts[name] += 1
        if error:
            target.errors[error] += 1
    for target in targets:
        target.rates.append(counts[target.name] / elapsed)
    return elapsed


# --- report -----------------------------------------------------------------------------------

def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


def machine() -> str:
    import psutil

    memory = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} CPUs, {memory:.1f} GiB RAM; {' '.join(platform.uname())}"


def report(found: list[Endpoint], args, rss_before, rss_after) -> None:
    print(f"\n{machine()}")
    print(f"gunicorn --workers {args.workers} (sync) for all three apps; {args.clients} clients; "
          f"{args.rounds} interleaved rounds x {args.seconds:.0f} s per endpoint; PostgreSQL "
          f"{BENCH_DATABASE.rsplit('/', 1)[1]}, Redis {REDIS}")
    print(f"\n{'':3} {'endpoint':28} {'req/s median':>12} {'range':>13} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'requests':>9}  errors")
    for target in found:
        rates = target.rates
        print(f"{target.name:3} {target.label:28} {statistics.median(rates):12.0f} "
              f"{min(rates):6.0f}-{max(rates):<6.0f} {percentile(target.latencies, 0.5):7.1f} "
              f"{percentile(target.latencies, 0.99):7.1f} {len(target.latencies):9d}  "
              f"{sum(target.errors.values())}{' ' + str(dict(target.errors)) if target.errors else ''}")
    ceiling = {target.name: target for target in found}["E1"]
    print("\nratios to E1 (median req/s; range = worst and best pairing of rounds):")
    for target in found:
        if target.name in ("E0", "E1"):
            continue
        pairs = [rate / base for rate, base in zip(target.rates, ceiling.rates, strict=True)]
        ratio = statistics.median(target.rates) / statistics.median(ceiling.rates)
        wanted = TARGETS.get(target.name)
        verdict = (f"target >= {wanted})  {'ok' if ratio >= wanted else 'BELOW TARGET'}" if wanted
                   else "no target: the stack's own floor)")
        print(f"  {target.name}/E1 = {ratio:.2f}  (per round {min(pairs):.2f}-{max(pairs):.2f}; {verdict}")
    for name, limit in P99_TARGET_MS.items():
        target = {t.name: t for t in found}.get(name)
        if target is not None:
            p99 = percentile(target.latencies, 0.99)
            verdict = "ok" if p99 < limit else "ABOVE TARGET"
            print(f"  p99 {name} = {p99:.1f} ms (target < {limit:.0f})  {verdict}")
    print(f"\nproduct web workers RSS MB: before {fmt(rss_before)}, "
          f"after the rounds {fmt(rss_after['rounds'])}")
    if "long" in rss_after:
        growth = [after - before
                  for before, after in zip(rss_after["rounds"], rss_after["long"], strict=False)]
        worst = max(rss_after["long"])
        print(f"after {args.requests} more requests (long run): {fmt(rss_after['long'])}; "
              f"growth over the long run {fmt(growth)} "
              f"(target < {RSS_TARGET_MB} MB: {'ok' if worst < RSS_TARGET_MB else 'ABOVE'})")


def fmt(values: list[float]) -> str:
    return "[" + ", ".join(f"{value:.1f}" for value in values) + "]"


# --- profile ----------------------------------------------------------------------------------

def profile(app, name: str, count: int, profiled: bool = True) -> None:
    """`count` requests of one endpoint through the Flask test client, under pyinstrument
    (unless `profiled` is False: then only the time, CPU time and statements per request)."""
    from pyinstrument import Profiler

    client = app.test_client()
    app.config["PUBLIC_BASE_URL"] = "http://localhost"
    tokens = {user: login(client, user) for user in ("seat1", "handler-gulou")}
    dispatched = DispatchedTickets(app) if name == "E4" else None
    if dispatched:
        dispatched.top_up(count + 30)   # the warm-up takes 20
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TWILIO_TOKEN)

    def one():
        if name == "E2":
            response = client.post("/api/v1/tickets", json=TICKET, headers=tokens["seat1"])
        elif name == "E4":
            response = client.post(f"/api/v1/tickets/{dispatched.take()}/actions/acknowledge", json={},
                                   headers=tokens["handler-gulou"])
        elif name == "E3":
            sid = "SM" + uuid.uuid4().hex
            params = {"MessageSid": sid, "From": f"+86139{random.randrange(10**8):08d}",
                      "To": HOTLINE_NUMBER, "Body": SMS_TEXT}
            response = client.post("/twilio/sms", data=params, headers={
                "X-Twilio-Signature": validator.compute_signature("http://localhost/twilio/sms", params)})
        else:
            response = client.get("/healthz")
        assert response.status_code < 300, response.get_data(as_text=True)[:300]

    for _ in range(20):   # warm caches and the pool
        one()
    from sqlalchemy import event

    from hotline.extensions import db

    with app.app_context():
        engine = db.engine
    sent: list[str] = []

    def count_statement(_conn, _cursor, statement, *_args):
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", count_statement)
    profiler = Profiler(interval=0.0005) if profiled else contextlib.nullcontext()
    started, cpu = time.perf_counter(), time.process_time()
    with profiler:
        for _ in range(count):
            one()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    event.remove(engine, "before_cursor_execute", count_statement)
    # CPU time of this process (the app's side; PostgreSQL's and Redis's own are not in it)
    # holds up on a loaded machine better than the elapsed time.
    print(f"{name}: {count} requests in-process in {elapsed:.2f} s ({elapsed / count * 1000:.2f} ms each, "
          f"{cpu / count * 1000:.2f} ms CPU each, {len(sent) / count:.1f} statements each, "
          f"profiler {'on' if profiled else 'off'})")
    if profiled:
        print(profiler.output_text(unicode=True, color=False, show_all=False, short_mode=False))


# --- main -------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=3, help="seconds of each endpoint before round 1")
    parser.add_argument("--requests", type=int, default=0,
                        help="then this many more mixed product requests, for the RSS check")
    parser.add_argument("--long-mix", type=int, default=10,
                        help="in the long run, one request in this many is a write (E2, E3, E4 in turn)")
    parser.add_argument("--profile", choices=["E0", "E2", "E3", "E4"],
                        help="only profile this endpoint in-process with pyinstrument")
    parser.add_argument("--profile-requests", type=int, default=500)
    parser.add_argument("--no-profiler", action="store_true",
                        help="with --profile: no pyinstrument, only ms, CPU ms and statements per request")
    args = parser.parse_args()

    app = product_app()
    marks = high_water(app)
    from hotline.redis import connection

    with app.app_context():
        connection().flushdb()
    try:
        if args.profile:
            profile(app, args.profile, args.profile_requests, not args.no_profiler)
            return
        with_sms = _has_sms_webhook(app)
        if not with_sms:
            print("E3 skipped: no /twilio/sms in this build (hotline/channels/webhooks.py is missing)")
        dispatched = DispatchedTickets(app)
        instance = tempfile.mkdtemp(prefix="bench-endpoints-")
        product_port, ceiling_port, floor_port = free_port(), free_port(), free_port()
        servers = [start_product(product_port, args.workers, instance)]
        try:
            servers.append(start_reference("ceiling_app", ceiling_port, args.workers, instance))
            servers.append(start_reference("stack_floor_app", floor_port, args.workers, instance))
            run(args, app, servers, (product_port, ceiling_port, floor_port), dispatched, with_sms)
        finally:
            for server in servers:
                stop(server)
    finally:
        deleted = clean_up(app, marks)
        print(f"\ncleaned up: {deleted['tickets']} tickets and {deleted['inbound_sms']} texts the run added; "
              "bench_ceiling dropped; Redis db flushed")


def long_run(args, found: list[Endpoint], dispatched: DispatchedTickets) -> None:
    """`--requests` more to the product, for the memory check: E0, with one in `--long-mix` a
    write (E2, E3, E4 in turn), so 100,000 requests fit in minutes on a small machine."""
    by_name = {target.name: target for target in found}
    writes = [by_name[name] for name in ("E2", "E3", "E4") if name in by_name]
    sequence = [target for write in writes for target in [by_name["E0"]] * (args.long_mix - 1) + [write]]
    dispatched.top_up(args.requests // len(sequence) + 2000)
    kept = {target.name: (target.latencies, target.rates, target.errors) for target in found}
    for target in found:
        target.latencies, target.rates, target.errors = [], [], Counter()
    print(f"long run: {args.requests} requests, E0 with one in {args.long_mix} a write "
          f"({', '.join(write.name for write in writes)} in turn) ...")
    elapsed = run_load(sequence, args.clients, seconds=3600, requests=args.requests)
    sent = {target.name: len(target.latencies) for target in found if target.latencies}
    errors = sum((target.errors for target in found), Counter())
    print(f"long run: {sum(sent.values())} requests {sent} in {elapsed:.0f} s "
          f"({sum(sent.values()) / elapsed:.0f}/s), errors: {sum(errors.values())}"
          f"{' ' + str(dict(errors)) if errors else ''}")
    for target in found:
        target.latencies, target.rates, target.errors = kept[target.name]


def _has_sms_webhook(app) -> bool:
    return any(rule.rule == "/twilio/sms" for rule in app.url_map.iter_rules())


def run(args, app, servers, ports, dispatched, with_sms) -> None:
    product_port = ports[0]
    connection = http.client.HTTPConnection("127.0.0.1", product_port, timeout=10)
    tokens = {}
    for user in ("seat1", "handler-gulou"):
        body = json.dumps({"username": user, "password": BENCH_PASSWORD})
        connection.request("POST", "/api/v1/auth/token", body=body,
                           headers={"Content-Type": "application/json"})
        tokens[user] = {"Authorization": f"Bearer {json.loads(connection.getresponse().read())['token']}"}
    connection.close()
    found = endpoints(*ports, tokens, dispatched, with_sms)
    acknowledge = found[-1]

    print(f"warm-up: {args.warmup:.0f} s per endpoint")
    dispatched.top_up(int(args.warmup * 3000))
    for target in found:
        run_load([target], args.clients, args.warmup)
    ack_rate = max(acknowledge.rates)
    for target in found:
        target.latencies.clear()
        target.rates.clear()
        target.errors.clear()
    rss_before = worker_rss_mb(servers[0])

    for round_number in range(args.rounds):
        dispatched.top_up(int(max(ack_rate * 2, 200) * args.seconds) + 1000)
        shift = round_number % len(found)
        order = found[shift:] + found[:shift]
        for target in order:
            run_load([target], args.clients, args.seconds)
        print(f"round {round_number + 1}/{args.rounds}: " + ", ".join(
            f"{target.name} {target.rates[-1]:.0f}/s" for target in found))
    rss_after = {"rounds": worker_rss_mb(servers[0])}

    if args.requests:
        long_run(args, found, dispatched)
        rss_after["long"] = worker_rss_mb(servers[0])
    report(found, args, rss_before, rss_after)


if __name__ == "__main__":
    main()
