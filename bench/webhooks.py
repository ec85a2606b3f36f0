"""Benchmark: signed `POST /twilio/sms` under gunicorn on PostgreSQL and Redis.

Run by hand: `.venv/bin/python bench/webhooks.py [--seconds 20] [--clients 10] [--workers 4]`.

Starts `hotline web --workers N` (gunicorn) on its own PostgreSQL database
(BENCH_WEBHOOK_DATABASE_URL, default hotline_bench6, created if missing) and Redis db
(BENCH_WEBHOOK_REDIS_URL, default db 8, flushed), then `--clients` processes post texts
signed exactly as Twilio signs them, back to back, for `--seconds`. A share of them
(`--duplicates`) re-deliver a text already sent, as Twilio's retries do. Reports
p50/p90/p99/max latency as the client sees it, errors, and checks that every distinct
MessageSid was stored exactly once. Target (issue 6): p99 < 50 ms at 10 concurrent clients.

The webhook's work is what runs in production: signature check, the per-number rate limit
(Redis), one INSERT … ON CONFLICT DO NOTHING, commit, the RQ enqueue, empty TwiML. No worker
runs, so the jobs simply wait in the bench's Redis db.
"""

import argparse
import http.client
import multiprocessing
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from bench.common import bench_app  # noqa: E402

DATABASE = os.environ.get("BENCH_WEBHOOK_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/hotline_bench6")
REDIS = os.environ.get("BENCH_WEBHOOK_REDIS_URL", "redis://127.0.0.1:6379/8")
TOKEN = "bench-auth-token-0123456789abcdef"
TARGET_P99_MS = 50.0
HOTLINE_NUMBER = "+8651612345"


def prepare() -> None:
    """Migrated, seeded database and an empty Redis db; no old inbound texts."""
    from sqlalchemy import text

    from hotline.extensions import db
    from hotline.redis import connection

    app = bench_app(DATABASE, REDIS)
    with app.app_context():
        db.session.execute(text("DELETE FROM inbound_sms"))
        db.session.commit()
        connection().flushdb()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": DATABASE, "REDIS_URL": REDIS, "TWILIO_AUTH_TOKEN": TOKEN,
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "HOTLINE_ENV": "production",
           "SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
           "HOTLINE_INSTANCE_PATH": tempfile.mkdtemp(prefix="bench-webhooks-"),
           "TWILIO_RATE_LIMIT_PER_MINUTE": "1000"}
    command = [str(ROOT / ".venv" / "bin" / "hotline"), "web", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               process_group=0, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"gunicorn did not come up: {process.stderr.read().decode()[-2000:]}")


def client(port: int, seconds: float, duplicates: float, seed: int, results, interval: float = 0) -> None:
    """Post signed texts, back to back (or one every `interval` s); put (latencies ms, errors,
    distinct sids, CPU s) on `results`. With an interval, latency counts from the planned send
    time, so a slow answer also delays (and is charged to) the requests behind it."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    url = f"http://127.0.0.1:{port}/twilio/sms"
    rng = random.Random(seed)
    latencies, errors, sent = [], [], []
    started = time.monotonic()
    deadline = started + seconds
    planned = started + rng.random() * interval
    while time.monotonic() < deadline:
        if interval:
            time.sleep(max(0.0, planned - time.monotonic()))
        if sent and rng.random() < duplicates:
            params = rng.choice(sent)                      # Twilio re-delivers a text
        else:
            message_sid = "SM" + uuid.uuid4().hex
            params = {"MessageSid": message_sid, "SmsSid": message_sid, "AccountSid": "AC" + "0" * 32,
                      "From": f"+86139{rng.randrange(10**8):08d}", "To": HOTLINE_NUMBER,
                      "Body": "小区门口的路灯坏了一个月了，晚上出行很不方便，请尽快修理。",
                      "NumMedia": "0", "NumSegments": "1", "ApiVersion": "2010-04-01"}
            sent.append(params)
        body = urlencode(params)
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": validator.compute_signature(url, params)}
        start = time.perf_counter()
        if interval:
            start -= max(0.0, time.monotonic() - planned)   # late start counts as waiting
            planned += interval
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            connection.request("POST", "/twilio/sms", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            connection.close()
            elapsed = (time.perf_counter() - start) * 1000
            if response.status != 200:
                errors.append(f"HTTP {response.status}")
        except OSError as exc:
            elapsed = (time.perf_counter() - start) * 1000
            errors.append(type(exc).__name__)
        latencies.append(elapsed)
    usage = os.times()
    results.put((latencies, errors, [p["MessageSid"] for p in sent], usage.user + usage.system))


def stored_sids() -> tuple[int, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(DATABASE.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT count(*), count(DISTINCT message_sid) FROM inbound_sms")).one()
    engine.dispose()
    return rows[0], rows[1]


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(len(values) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of re-deliveries")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load before measuring")
    parser.add_argument("--rate", type=float, default=0,
                        help="requests/s over all clients (open loop); default: back to back")
    args = parser.parse_args()
    interval = args.clients / args.rate if args.rate else 0

    prepare()
    port = free_port()
    server = start_server(port, args.workers)
    gunicorn = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
    try:
        context = multiprocessing.get_context("fork")
        warm = context.Queue()
        warmers = [context.Process(target=client, args=(port, args.warmup, 0, 1000 + i, warm))
                   for i in range(args.clients)]
        for process in warmers:
            process.start()
        warm_sids = [sid for _ in warmers for sid in warm.get()[2]]
        for process in warmers:
            process.join()

        load = os.getloadavg()[0]
        server_cpu = sum(sum(p.cpu_times()[:2]) for p in gunicorn)
        results = context.Queue()
        clients = [context.Process(target=client,
                                   args=(port, args.seconds, args.duplicates, i, results, interval))
                   for i in range(args.clients)]
        for process in clients:
            process.start()
        gathered = [results.get() for _ in clients]
        for process in clients:
            process.join()
        server_cpu = sum(sum(p.cpu_times()[:2]) for p in gunicorn) - server_cpu
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)

    latencies = sorted(value for result in gathered for value in result[0])
    errors = [error for result in gathered for error in result[1]]
    distinct = {sid for result in gathered for sid in result[2]} | set(warm_sids)
    rows, distinct_rows = stored_sids()
    p99 = percentile(latencies, 0.99)
    print(f"POST /twilio/sms, signed; gunicorn --workers {args.workers}; "
          f"PostgreSQL {DATABASE.rsplit('/', 1)[1]}, Redis {REDIS.rsplit('/', 1)[1]}; "
          f"{args.clients} concurrent clients for {args.seconds:.0f} s; "
          f"{args.duplicates:.0%} re-deliveries")
    mode = f"open loop at {args.rate:.0f}/s" if args.rate else "closed loop (back to back)"
    print(f"{mode}; {os.cpu_count()} CPUs, load average {load:.1f} at start")
    print(f"requests: {len(latencies)}  ({len(latencies) / args.seconds:.0f}/s)  errors: {len(errors)}"
          + (f" {sorted(set(errors))}" if errors else ""))
    client_cpu = sum(result[3] for result in gathered)
    print(f"CPU per request: gunicorn {server_cpu / len(latencies) * 1000:.1f} ms, "
          f"bench clients {client_cpu / len(latencies) * 1000:.1f} ms")
    print(f"latency ms: p50 {statistics.median(latencies):.1f}  p90 {percentile(latencies, 0.90):.1f}  "
          f"p99 {p99:.1f}  max {latencies[-1]:.1f}")
    print(f"distinct MessageSids sent: {len(distinct)}; rows stored: {rows} ({distinct_rows} distinct)")
    ok = p99 < TARGET_P99_MS and not errors and rows == distinct_rows == len(distinct)
    print(("PASS" if ok else "FAIL") + f": p99 < {TARGET_P99_MS:.0f} ms, no errors, one row per MessageSid")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
