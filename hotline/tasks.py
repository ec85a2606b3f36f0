"""Background jobs on RQ: declared here, enqueued through `enqueue`, taking ids only.

A job runs inside an app context and commits once at its end; every job must be
idempotent because RQ may run it again after a crash or retry.
"""

import logging
from collections.abc import Callable
from datetime import datetime

from flask import current_app
from rq import Queue, Retry

from hotline.redis import connection

log = logging.getLogger(__name__)


def queue(name: str = "default") -> Queue:
    return Queue(name, connection=connection())


def enqueue(func: Callable, *ids, at: datetime | None = None, job_id: str | None = None,
            retry: Retry | None = None, queue_name: str = "default"):
    """Enqueue `func(*ids)` now or at `at`; a `job_id` makes a re-enqueue replace, not duplicate."""
    q = queue(queue_name)
    options = {"job_id": job_id, "retry": retry}
    if at is not None:
        return q.enqueue_at(at, _run_in_app, func.__module__, func.__qualname__, *ids, **options)
    return q.enqueue(_run_in_app, func.__module__, func.__qualname__, *ids, **options)


def _run_in_app(module: str, name: str, *ids):
    """Worker-side trampoline: resolve the job function and run it in an app context."""
    import importlib

    from hotline import create_app
    from hotline.extensions import db

    func = getattr(importlib.import_module(module), name)
    # `hotline worker` pushes one app context for its lifetime; a bare `rq worker` has none.
    app = current_app._get_current_object() if _has_app() else create_app()
    with app.app_context():
        try:
            result = func(*ids)
            db.session.commit()
            return result
        except Exception:
            db.session.rollback()
            raise


def _has_app() -> bool:
    try:
        current_app._get_current_object()
        return True
    except RuntimeError:
        return False
