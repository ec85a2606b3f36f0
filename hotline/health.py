"""GET /healthz (process up) and GET /readyz (database and Redis reachable).

Depends on: the session, Redis and its job queue, failed jobs, the calendar's declared years
and the migrations' head (alembic).
"""

from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from rq import Worker
from sqlalchemy import text

from hotline import failed_jobs
from hotline.clocks.overrides import missing_year_warning
from hotline.extensions import db
from hotline.redis import connection
from hotline.tasks import queue

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    state = readiness()
    return jsonify(state), 200 if state["status"] == "ok" else 503


def readiness() -> dict:
    """What /readyz answers (and the admins' page shows): the checks, the workers, the warnings."""
    checks = {"database": _check(lambda: db.session.execute(text("SELECT 1"))),
              "redis": _check(lambda: connection().ping())}
    if checks["database"] == "ok":
        checks["schema"] = _check(_schema_is_current)
    ready = all(value == "ok" for value in checks.values())
    warnings = _warnings() if checks.get("schema") == "ok" else []
    workers = _workers() if checks["redis"] == "ok" else None
    if workers is not None and workers["failed"]:
        warnings.append(failed_jobs.warning())
    if workers is not None and not workers["scheduler"]:
        warnings.append("没有运行中的调度器：时限不会按时触发 (no RQ scheduler is running: "
                        "start `hotline worker`)")
    db.session.rollback()
    return {"status": "ok" if ready else "unavailable", "checks": checks, "workers": workers,
            "warnings": warnings}


def _workers() -> dict:
    """Worker health: how many, whether one holds the scheduler lock, and queue depths."""
    q = queue()
    redis = connection()
    return {
        "count": Worker.count(connection=redis),
        "scheduler": bool(redis.exists(f"rq:scheduler-lock:{q.name}")),
        "queued": q.count,
        "scheduled": q.scheduled_job_registry.count,
        "failed": q.failed_job_registry.count,
    }


def _warnings() -> list[str]:
    """Things an operator must fix soon that do not stop the service now."""
    warning = missing_year_warning()
    return [warning] if warning else []


def _schema_is_current() -> None:
    """The database is at the migrations' head (else: run `hotline db upgrade`)."""
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
