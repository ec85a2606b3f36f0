"""GET /healthz (process up) and GET /readyz (database and Redis reachable)."""

from flask import Blueprint, jsonify
from sqlalchemy import text

from hotline.extensions import db
from hotline.redis import connection

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks = {"database": _check(lambda: db.session.execute(text("SELECT 1"))),
              "redis": _check(lambda: connection().ping())}
    ready = all(value == "ok" for value in checks.values())
    db.session.rollback()
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503


def _check(probe) -> str:
    try:
        probe()
        return "ok"
    except Exception as exc:  # any failure means "not ready", with the reason shown
        return f"error: {type(exc).__name__}: {exc}"[:300]
