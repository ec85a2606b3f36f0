"""PostgreSQL restarted under load: requests fail fast with 503 (they do not hang), no ticket
is left half-written or lost, and the service recovers within seconds of the database.

The test never touches the suite's database: it runs a PostgreSQL cluster of its own
(`initdb` in a temporary folder, trust authentication, a free loopback port), migrates and
seeds it as the suite's conftest does, and serves it with `hotline web` (gunicorn) and a
redis-server of its own. So it runs the same in both CI passes, whatever DATABASE_URL says.

Seat clients in closed loops open tickets, submit them (`submit` starts the dispatch clock:
a second transaction writing an event and a timer) and read them, while PostgreSQL is stopped
with `pg_ctl stop -m immediate` (every backend killed, as in a crash) and started again.

Two narrower tests pin down, in this process, the instants the load only hits now and then:
PostgreSQL dying after a request's last query but before its end (the rollback of the
request's session on the dead connection used to raise, which turned the answer into a 500).
"""

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CLIENTS = 4
WORKERS = 2
REQUEST_BOUND = 3.0       # no request may take longer, before, during or after the outage
RECOVERY_BOUND = 5.0      # after PostgreSQL accepts connections again, 201s within this
CLIENT_TIMEOUT = 10.0     # a request still unanswered after this counts as hung
WARM_UP = 1.5             # seconds of load before the stop
OUTAGE = 2.5              # seconds PostgreSQL stays down
AFTER = RECOVERY_BOUND + 1.5
STARTUP_TIMEOUT = 30
COMMAND_TIMEOUT = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _hotline() -> list[str]:
    script = Path(sys.executable).with_name("hotline")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hotline.cli"]


def _postgres_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with initdb and pg_ctl, else the PATH's."""
    def version(path: str) -> int:
        part = Path(path).parent.parent.name
        return int(part) if part.isdigit() else 0

    for initdb in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True):
        bindir = Path(initdb).parent
        if (bindir / "pg_ctl").exists():
            return bindir
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl and Path(initdb).resolve().parent == Path(pg_ctl).resolve().parent:
        return Path(initdb).resolve().parent
    return None


def _as_postgres_user() -> tuple[list[str], int | None]:
    """The prefix that runs a command as a user PostgreSQL accepts, and that user's uid.

    PostgreSQL refuses to run as root (CI containers run as root): then run it as the
    `postgres` OS user through runuser. Otherwise as whoever runs the tests.
    """
    if os.geteuid() != 0:
        return [], None
    runuser = shutil.which("runuser")
    try:
        uid = pwd.getpwnam("postgres").pw_uid
    except KeyError:
        uid = None
    if runuser is None or uid is None:
        pytest.skip("running as root, and no `postgres` OS user with runuser to run PostgreSQL as")
    return [runuser, "-u", "postgres", "--"], uid


class PrivatePostgres:
    """A PostgreSQL cluster of this test's own, in a temporary folder, on a free loopback port."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.prefix, uid = _as_postgres_user()
        self.dir = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        if uid is not None:
            os.chown(self.dir, uid, -1)
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> str:
        done = subprocess.run([*self.prefix, *args], capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, (args, done.stdout, done.stderr, self.log_tail())
        return done.stdout

    def init(self) -> None:
        if self.prefix:
            reach = subprocess.run([*self.prefix, "test", "-w", str(self.dir)], capture_output=True,
                                   text=True, timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
            if reach.returncode != 0:
                pytest.skip(f"running as root, and the `postgres` OS user cannot write {self.dir} "
                            f"through runuser: {reach.stderr.strip()}")
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--locale=C", "--no-sync")

    def start(self) -> None:
        """Returns once the server accepts connections (pg_ctl -w polls ten times a second)."""
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} "
                   "-c fsync=off -c max_connections=100")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "-t", "30", "start")

    def stop(self, mode: str = "immediate") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-2000:]
        return ""

    def close(self) -> None:
        """Stop the server if it still runs (even after a failed test) and remove the cluster."""
        pid_file = self.data / "postmaster.pid"
        if self.running():
            with contextlib.suppress(Exception):
                self.stop("immediate")
            if pid_file.exists():  # pg_ctl could not stop it: kill the postmaster we started
                with contextlib.suppress(Exception):
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
                    time.sleep(0.5)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def private_redis_url(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server on PATH")
    port = _free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--daemonize", "no", "--dir", str(tmp_path_factory.mktemp("redis"))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            assert process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not come up"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _app(database_url: str, redis_url: str, **config):
    """The app as `hotline web` builds it (not in testing mode), on the private cluster."""
    from hotline import create_app

    return create_app({"TESTING": False, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url,
                       **config})


def _migrate_and_seed(database_url: str, redis_url: str) -> None:
    """What `hotline db upgrade` and `hotline seed --demo` do, in this process as the suite's
    conftest does it: two more processes would each spend seconds importing the app."""
    from flask_migrate import upgrade

    from hotline.extensions import db
    from hotline.seed import seed_demo

    app = _app(database_url, redis_url)
    with app.app_context():
        try:
            upgrade()
            seed_demo()
            db.session.commit()
        finally:
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def cluster(private_redis_url):
    """The private cluster, migrated and seeded once for this module's tests."""
    bindir = _postgres_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin "
                    "or on PATH")
    server = PrivatePostgres(bindir)
    try:
        server.init()
        server.start()
        _migrate_and_seed(server.url, private_redis_url)
        yield server
    finally:
        server.close()


@pytest.fixture
def private_postgres(cluster):
    """The cluster, running at the start of each test (whatever the one before left)."""
    if not cluster.running():
        cluster.start()
    return cluster


@pytest.fixture
def web(private_postgres, private_redis_url, tmp_path):
    """`hotline web` (gunicorn) on the private cluster and Redis."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATABASE_URL=private_postgres.url, REDIS_URL=private_redis_url,
               HOTLINE_INSTANCE_PATH=str(tmp_path / "instance"), HOTLINE_ENV="development",
               PYTHONUNBUFFERED="1")
    port = _free_port()
    log = tmp_path / "web.log"
    with log.open("w") as out:
        # With REDIS_URL set `hotline web` becomes gunicorn; its own process group lets the
        # cleanup kill the master and its workers together.
        process = subprocess.Popen([*_hotline(), "web", "--host", "127.0.0.1", "--port", str(port),
                                    "--workers", str(WORKERS)], env=env, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, process_group=0)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while _request(f"{base}/healthz", timeout=1)[0] != 200:
            assert process.poll() is None, f"hotline web exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"hotline web did not come up:\n{log.read_text()[-3000:]}"
            time.sleep(0.1)
        yield base, log
    finally:
        if process.poll() is None:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)   # whatever is left of the group
        process.wait()


def _request(url: str, body: dict | None = None, token: str | None = None,
             timeout: float = CLIENT_TIMEOUT) -> tuple[int | None, object]:
    """(status, JSON body); (None, the error) when there is no HTTP answer at all."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw, status = response.read(), response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    except OSError as error:      # refused, reset, timed out: no answer
        return None, repr(error)
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw[:300].decode(errors="replace")


TICKET = {
    "desk": "general", "channel": "voice", "category": "help", "priority": "normal",
    "subject": "小区路灯不亮", "content": "鼓楼区黄楼街道河畔社区路灯坏了一个月",
    "caller": {"phone": "+8613800000001", "name": "张三", "is_minor": False},
    "location": {"unit": "gulou", "address": "河畔社区3号楼"},
}


@dataclass
class Call:
    kind: str            # "create", "submit" or "read"
    start: float         # time.monotonic()
    end: float
    status: int | None
    body: object
    ticket_id: int | None = None

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class Load:
    """Seat clients in closed loops: open a ticket, submit it, read it, again, until told to stop."""

    base: str
    token: str
    calls: list[Call] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _call(self, kind: str, path: str, body: dict, ticket_id: int | None = None) -> Call:
        start = time.monotonic()
        status, answer = _request(f"{self.base}{path}", body, self.token)
        call = Call(kind, start, time.monotonic(), status, answer, ticket_id)
        with self.lock:
            self.calls.append(call)
        return call

    def _client(self) -> None:
        while not self.stop.is_set():
            created = self._call("create", "/api/v1/tickets", TICKET)
            if created.status == 201:
                created.ticket_id = created.body["id"]
                self._call("submit", f"/api/v1/tickets/{created.ticket_id}/actions/submit", {},
                           created.ticket_id)
                # A read keeps its transaction open until the end of the request.
                self._call("read", f"/api/v1/tickets/{created.ticket_id}", None, created.ticket_id)
            elif created.status is None:
                time.sleep(0.05)  # no server at all: do not spin (the assertions catch it)

    def run(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._client, daemon=True) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        return threads


def _database_contents(url: str) -> dict:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        tickets = {row[0]: row[1:] for row in conn.execute(
            "SELECT id, number, state, event_seq FROM tickets")}
        events: dict[int, list] = {}
        for ticket_id, seq, action in conn.execute(
                "SELECT ticket_id, seq, action FROM ticket_events ORDER BY ticket_id, seq"):
            events.setdefault(ticket_id, []).append((seq, action))
        timers: dict[int, list] = {}
        for ticket_id, kind, state in conn.execute(
                "SELECT ticket_id, kind, state FROM timers ORDER BY id"):
            timers.setdefault(ticket_id, []).append((kind, state))
    return {"tickets": tickets, "events": events, "timers": timers}


def test_postgres_restarted_under_load_fails_fast_loses_nothing_and_recovers(private_postgres, web):
    """503 with the JSON error body while it is down, each fast; 201 again within seconds of
    the restart; every ticket whole, and every ticket a client was given still there."""
    base, log = web
    status, body = _request(f"{base}/api/v1/auth/token", {"username": "seat1", "password": "demo"})
    assert status == 200, (status, body)
    load = Load(base, body["token"])
    threads = load.run()
    try:
        time.sleep(WARM_UP)
        stopping = time.monotonic()
        private_postgres.stop("immediate")      # every backend killed mid-transaction
        down = time.monotonic()
        time.sleep(OUTAGE)
        starting = time.monotonic()
        private_postgres.start()
        up = time.monotonic()                    # accepting connections (within pg_ctl's 0.1 s poll)
        time.sleep(AFTER)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=CLIENT_TIMEOUT + 2)
    assert not any(thread.is_alive() for thread in threads), "a client is stuck"
    calls = sorted(load.calls, key=lambda call: call.start)
    web_log = log.read_text(errors="replace")
    first_trace = web_log.find("Traceback")
    context = (f"\n--- web log, first traceback ---\n{web_log[max(0, first_trace - 300):][:6000]}"
               f"\n--- postgres log ---\n{private_postgres.log_tail()}")

    # Only 201/200 or a 503 with the JSON error body; nothing hangs, nothing 500s.
    unexpected = [(c.kind, c.status, c.body) for c in calls if c.status not in (200, 201, 503)]
    assert not unexpected, f"{unexpected[:5]}{context}"
    failures = [c for c in calls if c.status == 503]
    for call in failures:
        assert isinstance(call.body, dict) and call.body.get("code") == 503 and call.body.get("message"), \
            call.body
    slowest = max(calls, key=lambda c: c.seconds)
    assert slowest.seconds < REQUEST_BOUND, (slowest, context)

    # Every request made while PostgreSQL was down got its 503.
    during = [c for c in calls if c.start >= down and c.end <= starting]
    assert len(during) >= CLIENTS, during
    assert {c.status for c in during} == {503}, [(c.kind, c.status) for c in during if c.status != 503]

    # Back within RECOVERY_BOUND of PostgreSQL accepting connections, and no 503 after that.
    created_after = [c for c in calls if c.kind == "create" and c.status == 201 and c.end >= up]
    assert created_after, f"no ticket was opened after the restart{context}"
    recovery = created_after[0].end - up
    assert recovery < RECOVERY_BOUND, (recovery, context)
    late = [(c.kind, c.status, round(c.start - up, 2)) for c in calls
            if c.start >= up + RECOVERY_BOUND and c.status not in (200, 201)]
    assert not late, late
    assert len([c for c in calls if c.start >= up + RECOVERY_BOUND]) >= CLIENTS

    # No partial ticket: each holds the events its state needs, gapless, and its clock.
    found = _database_contents(private_postgres.url)
    problems = []
    for ticket_id, (_number, state, event_seq) in found["tickets"].items():
        events = found["events"].get(ticket_id, [])
        actions = [action for _, action in events]
        timers = found["timers"].get(ticket_id, [])
        if [seq for seq, _ in events] != list(range(1, event_seq + 1)):
            problems.append((ticket_id, "events not 1..event_seq", event_seq, events))
        if state == "intake" and (actions != ["create"] or timers):
            problems.append((ticket_id, state, actions, timers))
        if state == "pending_dispatch" and (actions != ["create", "submit"]
                                            or timers != [("dispatch", "running")]):
            problems.append((ticket_id, state, actions, timers))
        if state not in ("intake", "pending_dispatch"):
            problems.append((ticket_id, state))
    assert not problems, problems[:5]
    orphans = set(found["events"]) - set(found["tickets"]) | set(found["timers"]) - set(found["tickets"])
    assert not orphans, orphans

    # Nothing a client was told is lost: every 201 is a ticket, every submitted 200 is submitted.
    created = {c.ticket_id: c.body["number"] for c in calls if c.kind == "create" and c.status == 201}
    lost = {tid for tid in created if tid not in found["tickets"]}
    assert not lost, lost
    assert all(found["tickets"][tid][0] == number for tid, number in created.items())
    submitted = {c.ticket_id for c in calls if c.kind == "submit" and c.status == 200}
    assert all(found["tickets"][tid][1] == "pending_dispatch" for tid in submitted)
    # A commit that reached the server before the kill but whose answer did not: a ticket
    # the client got a 503 for. At most one per client in flight at the kill.
    unanswered = set(found["tickets"]) - set(created)
    assert len(unanswered) <= CLIENTS, unanswered

    outage_503 = [c.seconds for c in failures]
    print(f"\nPostgreSQL restart under load: {len(calls)} requests, {len(created)} tickets opened; "
          f"stop took {down - stopping:.2f}s, down {starting - down:.2f}s, start took {up - starting:.2f}s; "
          f"{len(failures)} x 503 (median {sorted(outage_503)[len(outage_503) // 2] * 1000:.0f} ms, "
          f"slowest {max(outage_503) * 1000:.0f} ms); first 201 {recovery:.2f}s after PostgreSQL was up; "
          f"slowest request {slowest.seconds * 1000:.0f} ms; {len(unanswered)} committed but unanswered")


@pytest.fixture
def in_process(private_postgres, private_redis_url):
    """The app in this process on the private cluster, with a hook to stop PostgreSQL after a
    request's view has run (and before its end), and a seat's token."""
    from hotline.extensions import db

    app = _app(private_postgres.url, private_redis_url)
    armed: list[bool] = []

    @app.after_request
    def _stop_postgres(response):
        if armed:
            armed.clear()
            private_postgres.stop("immediate")
        return response

    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "seat1", "password": "demo"}).json["token"]
    yield app, client, {"Authorization": f"Bearer {token}"}, armed
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_read_answered_before_the_database_died_is_still_answered(private_postgres, in_process):
    """The read succeeded, then PostgreSQL died before the end of the request: Flask-SQLAlchemy's
    teardown rolled the read's transaction back on the dead connection, the error escaped Flask,
    and gunicorn sent its own HTML 500 in place of the answer (`create_app`'s `_end_session`)."""
    _app_, client, headers, armed = in_process
    armed.append(True)
    response = client.get("/api/v1/units", headers=headers)
    assert response.status_code == 200 and any(unit["code"] == "gulou" for unit in response.json)
    assert not private_postgres.running()

    private_postgres.start()
    assert client.get("/api/v1/units", headers=headers).status_code == 200   # pinged: the socket tells


def test_a_refusal_decided_before_the_database_died_keeps_its_status(private_postgres, in_process):
    """404 decided, then PostgreSQL died before the error handler's rollback: that rollback
    raised and the 404 became a 500 (`errors._rollback`)."""
    from sqlalchemy import event

    from hotline.extensions import db

    app, client, headers, _armed = in_process

    def stop_after_the_lookup(_conn, _cursor, statement, *_args):
        if "FROM tickets" in statement and private_postgres.running():
            private_postgres.stop("immediate")

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", stop_after_the_lookup)
    try:
        response = client.get("/api/v1/tickets/999999", headers=headers)
    finally:
        event.remove(engine, "after_cursor_execute", stop_after_the_lookup)
    assert not private_postgres.running()
    assert response.status_code == 404, response.json
    assert response.json["code"] == 404

    private_postgres.start()
    assert client.get("/api/v1/units", headers=headers).status_code == 200


def test_a_restart_between_two_requests_moments_apart_costs_the_second_nothing(private_postgres,
                                                                                private_redis_url):
    """A connection back from a request a moment ago is used without a ping; when the server
    restarted meanwhile, the connection's socket says so and the pool connects afresh
    (`hotline._ping_when_in_doubt`: with an hour's idle allowance, only the socket can tell)."""
    from hotline.extensions import db

    app = _app(private_postgres.url, private_redis_url, DATABASE_PING_AFTER_IDLE_SECONDS=3600)
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "seat1", "password": "demo"}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    try:
        assert client.get("/api/v1/units", headers=headers).status_code == 200
        private_postgres.stop("fast")
        private_postgres.start()
        response = client.get("/api/v1/units", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
