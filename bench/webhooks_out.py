"""Benchmark: outgoing webhooks (issue 23) to a loopback receiver, with real `hotline worker`s.

Run by hand: `.venv/bin/python bench/webhooks_out.py [--dispatches 1000] [--workers 1]`.
Own PostgreSQL database (BENCH_WEBHOOKS_OUT_DATABASE_URL, default hotline_bench_webhooks)
and Redis db (BENCH_WEBHOOKS_OUT_REDIS_URL, default db 12, flushed). One subscription of
鼓楼区 (every event type) points at a receiver process on loopback that verifies every
signature with `standardwebhooks` and notes when each message arrived.

1. Throughput: `--dispatches` tickets are dispatched to 鼓楼区 through the service (one
   commit each, as the API does it) with no worker running; then `--workers` workers start
   and send them all: deliveries per second per worker.
2. Delay: with the workers running, a burst of `--dispatches` more; for each, the time from
   the commit that wrote its delivery to its receipt: p50 / p99 / max.
"""

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from bench.common import bench_app  # noqa: E402

DATABASE = os.environ.get("BENCH_WEBHOOKS_OUT_DATABASE_URL",
                          "postgresql://postgres@127.0.0.1:5432/hotline_bench_webhooks")
REDIS = os.environ.get("BENCH_WEBHOOKS_OUT_REDIS_URL", "redis://127.0.0.1:6379/12")


def receiver(secret: str, port_out, log_path: str) -> None:
    """A receiver process: verify, note (webhook-id, arrival time), answer 204."""
    from standardwebhooks.webhooks import Webhook

    webhook = Webhook(secret)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            webhook.verify(body, dict(self.headers), json_parse=False)
            with open(log_path, "a") as log:
                log.write(f"{self.headers['webhook-id']} {time.time():.6f}\n")
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_out.send(server.server_port)
    server.serve_forever()


def received(log_path: Path) -> dict[str, float]:
    if not log_path.exists():
        return {}
    return {line.split()[0]: float(line.split()[1]) for line in log_path.read_text().splitlines()}


def dispatch_many(app, count: int) -> list[int]:
    """`count` tickets opened, submitted and dispatched to 鼓楼区, one commit per step."""
    from hotline.extensions import db
    from hotline.tickets import service
    from hotline.tickets.models import Category, Channel, Desk, Priority
    from hotline.users import get_by_username

    ids = []
    with app.app_context():
        seat, dispatcher = get_by_username("seat1"), get_by_username("dispatcher1")
        for i in range(count):
            ticket = service.create_ticket(seat, {
                "desk": Desk.GENERAL, "channel": Channel.VOICE, "category": Category.HELP,
                "priority": Priority.NORMAL, "subject": f"路灯不亮 {i}", "content": "河畔社区路灯坏了",
                "caller": {"phone": "+8613800000001", "name": "张三"}, "location": {"unit": "gulou"}})
            db.session.commit()
            service.perform(seat, ticket.id, "submit", {})
            db.session.commit()
            service.perform(dispatcher, ticket.id, "dispatch", {"unit": "gulou", "co_units": []})
            db.session.commit()
            ids.append(ticket.id)
    return ids


def wait_for(log_path: Path, wanted: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(received(log_path)) >= wanted:
            return time.monotonic()
        time.sleep(0.05)
    raise SystemExit(f"only {len(received(log_path))} of {wanted} arrived in {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dispatches", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    app = bench_app(DATABASE, REDIS)
    from hotline import subscriptions
    from hotline.extensions import db
    from hotline.redis import connection
    from hotline.subscriptions import Delivery, Subscription
    from hotline.units import get_by_code

    log_path = Path(f"/tmp/hotline-bench-webhooks-{os.getpid()}.log")
    secret = subscriptions.new_secret()
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=receiver, args=(secret, child, str(log_path)), daemon=True)
    process.start()
    port = parent.recv()
    with app.app_context():
        connection().flushdb()
        for table in ("webhook_deliveries", "webhook_subscriptions"):
            db.session.execute(text(f"DELETE FROM {table}"))
        db.session.add(Subscription(url=f"http://127.0.0.1:{port}/hook", unit=get_by_code("gulou"),
                                    events=["ticket.dispatched"], secret=secret, active=True))
        db.session.commit()

    env = {**os.environ, "DATABASE_URL": DATABASE, "REDIS_URL": REDIS}
    workers: list[subprocess.Popen] = []
    try:
        # 1. throughput: a backlog, then the workers.
        started = time.perf_counter()
        dispatch_many(app, args.dispatches)
        write_s = time.perf_counter() - started
        begin = time.monotonic()
        workers = [subprocess.Popen([sys.executable, "-m", "hotline.cli", "worker"], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for _ in range(args.workers)]
        end = wait_for(log_path, args.dispatches, timeout=600)
        rate = args.dispatches / (end - begin) / args.workers
        # 2. delay from commit to receipt, workers running, a burst of dispatches.
        done = len(received(log_path))
        dispatch_many(app, args.dispatches)
        wait_for(log_path, done + args.dispatches, timeout=600)
        arrivals = received(log_path)
        with app.app_context():
            rows = db.session.execute(select(Delivery.msg_id, Delivery.created_at)
                                      .order_by(Delivery.id.desc()).limit(args.dispatches)).all()
            delivered = db.session.scalar(select(func.count()).select_from(Delivery)
                                          .where(Delivery.status == "delivered"))
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=60)       # a warm shutdown finishes the job in hand
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        process.terminate()
    delays = sorted(arrivals[msg_id] - created.timestamp() for msg_id, created in rows)
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
    print(json.dumps({"dispatches": args.dispatches, "workers": args.workers,
                      "dispatch_writes_per_s": round(3 * args.dispatches / write_s, 1),
                      "deliveries_per_s_per_worker": round(rate, 1),
                      "delay_p50_s": round(statistics.median(delays), 3), "delay_p99_s": round(p99, 3),
                      "delay_max_s": round(delays[-1], 3), "delivered": delivered,
                      "received": len(arrivals)}, indent=1))
    log_path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
