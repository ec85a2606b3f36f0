"""GET /healthz (process up) and GET /readyz (database and Redis reachable)."""

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from hotline.extensions import db
from hotline.redis import connection
from hotline.types import utcnow

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks = {"database": _check(lambda: db.session.execute(text("SELECT 1"))),
              "redis": _check(lambda: connection().ping())}
    if checks["database"] == "ok":
        checks["schema"] = _check(_schema_is_current)
    ready = all(value == "ok" for value in checks.values())
    warnings = _warnings() if checks.get("schema") == "ok" else []
    db.session.rollback()
    return jsonify(status="ok" if ready else "unavailable", checks=checks, warnings=warnings), (
        200 if ready else 503
    )


def _warnings() -> list[str]:
    """Things an operator must fix soon that do not stop the service now."""
    from hotline.clocks.calendar import SHANGHAI
    from hotline.clocks.overrides import missing_year_warning

    warning = missing_year_warning(utcnow().astimezone(SHANGHAI).date())
    return [warning] if warning else []


def _schema_is_current() -> None:
    """The database is at the migrations' head (else: run `hotline db upgrade`)."""
    from alembic.script import ScriptDirectory

    if "hotline.migration_head" not in current_app.extensions:
        config = current_app.extensions["migrate"].migrate.get_config()
        head = ScriptDirectory.from_config(config).get_current_head()
        current_app.extensions["hotline.migration_head"] = head
    head = current_app.extensions["hotline.migration_head"]
    current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if current != head:
        raise RuntimeError(f"database at {current}, code expects {head}: run `hotline db upgrade`")


def _check(probe) -> str:
    try:
        probe()
        return "ok"
    except Exception as exc:  # any failure means "not ready", with the reason shown
        return f"error: {type(exc).__name__}: {exc}"[:300]
