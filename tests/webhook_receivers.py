"""Receivers of the outgoing webhooks as the tests see them.

`Receiver`: docs/examples/webhook_receiver.py as a real process on loopback, its clock set
to the test's (time-machine, ticking on) so that Standard Webhooks' 5-minute timestamp
tolerance holds at any instant a test travels to. `ScriptedReceiver`: a threaded server in
the test process that verifies with `standardwebhooks` too and answers as scripted (a
status, or hang until the test ends).
"""

import json
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rq.job import Job
from standardwebhooks.webhooks import Webhook

from hotline import subscriptions, tasks
from hotline.extensions import db
from tests.helpers import POLL

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "webhook_receiver.py"
LAUNCH = """
import runpy, sys
from datetime import datetime
import time_machine
time_machine.travel(datetime.fromisoformat(sys.argv[1]), tick=True).start()
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
PATH = "/webhooks/12345"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """The example receiver, started and stopped by the test (same port each time)."""

    def __init__(self, tmp_path: Path, secret: str, hotline_url: str | None = None,
                 token: str | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{PATH}"
        self.log = tmp_path / f"received-{self.port}.jsonl"
        self.env = {"WEBHOOK_SECRET": secret, "RECEIVED_LOG": str(self.log), "PATH": "/usr/bin:/bin"}
        if hotline_url and token:
            self.env.update(HOTLINE_URL=hotline_url, HOTLINE_TOKEN=token)
        self.process: subprocess.Popen | None = None

    def start(self) -> "Receiver":
        """Up at the test's current instant; returns once it listens."""
        self.process = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, datetime.now().astimezone().isoformat(), str(EXAMPLE),
             str(self.port)], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        lines = []
        for line in self.process.stderr:
            lines.append(line)
            if "Running on" in line:
                break
        else:
            raise RuntimeError("the receiver did not start:\n" + "".join(lines))
        threading.Thread(target=self.process.stderr.read, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def received(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]


@dataclass
class Seen:
    headers: dict
    body: bytes
    message: dict | None


@dataclass
class ScriptedReceiver:
    """Answers the next scripted status ("hang": no answer until the test ends), else 204."""

    secret: str
    url: str = ""
    script: list = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict, body: bytes) -> int | None:
        try:
            message = Webhook(self.secret).verify(body, headers)
        except Exception:
            message = None
        with self.lock:
            self.seen.append(Seen(headers, body, message))
            scripted = self.script.pop(0) if self.script else 204
        if scripted == "hang":
            self.release.wait()
            return None
        return scripted if message is not None else 400


def serve(receiver: ScriptedReceiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = receiver.answer(dict(self.headers), body)
            if status is None:
                return
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(POLL,), daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_port}{PATH}"
    return server, thread


@pytest.fixture
def scripted(app):
    """A `ScriptedReceiver` on a free loopback port, with a secret of its own."""
    receiver = ScriptedReceiver(secret=subscriptions.new_secret())
    server, thread = serve(receiver)
    yield receiver
    receiver.release.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def pump(app) -> int:
    """What the worker and the minute sweep do: enqueue the due deliveries, then run every
    queued job in this process, in queue order, as a burst worker would (RQ's own worker
    waits a minute for its pub/sub thread when the clock is frozen)."""
    with app.app_context():
        due = subscriptions.requeue_due()
        db.session.commit()
        queue = tasks.queue()
        while (job_id := queue.connection.lpop(queue.key)) is not None:
            job = Job.fetch(job_id.decode(), connection=queue.connection)
            job.func(*job.args, **job.kwargs)
    return due


def run_job(app, delivery_id: int) -> str:
    with app.app_context():
        return tasks.deliver_webhook(delivery_id)
