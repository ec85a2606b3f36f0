"""Background jobs on RQ, declared in this one module; each takes ids, never objects.

Services ask for jobs with `after_commit`, so a job is enqueued only once the
data it reads is committed (and never for a rolled-back transaction). If Redis
is down at that moment nothing is lost: the database is the source of truth and
the minute sweep re-finds due clocks and unsent messages.

Every job runs in an app context, commits once at its end, and is idempotent:
RQ may run it again after a crash, a retry or a duplicate enqueue.

Depends on: the session, Redis and the app factory only. Each job is declared here (its
name, arguments and what it does: RQ stores `hotline.tasks.<name>`), and the domain that
does the work registers the function behind it (`implement`, in `hotline.receivers`), so
domains enqueue `tasks.callback_survey` without this module importing them.
"""

import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask, current_app
from rq import Queue, Retry
from sqlalchemy import event

from hotline import create_app, redis
from hotline.extensions import db
from hotline.redis import connection
from hotline.types import utcnow

log = logging.getLogger(__name__)

SWEEP_EVERY = timedelta(minutes=1)
SEND_RETRY = Retry(max=4, interval=[10, 60, 300, 900])
_PENDING = "hotline.after_commit"
# Job name -> the function that does its work, registered by its domain (`implement`).
_IMPLEMENTATIONS: dict[str, Callable] = {}
# Sweep step name -> the function the minute sweep calls (`sweeps`), in the order registered.
_SWEEP_STEPS: dict[str, Callable[[], object]] = {}


def queue(name: str = "default") -> Queue:
    return Queue(name, connection=connection())


def enqueue(func: Callable, *ids, at: datetime | None = None, job_id: str | None = None,
            retry: Retry | None = None):
    """Enqueue `func(*ids)` now or at `at`; the same `job_id` replaces rather than duplicates."""
    q = queue()
    if at is not None:
        return q.enqueue_at(at, func, *ids, job_id=job_id, retry=retry)
    return q.enqueue(func, *ids, job_id=job_id, retry=retry)


def after_commit(func: Callable, *ids, at: datetime | None = None, job_id: str | None = None,
                 retry: Retry | None = None) -> None:
    """Enqueue once the current transaction commits (ids may be objects' ids known only then)."""
    db.session.info.setdefault(_PENDING, []).append((func, ids, at, job_id, retry))


def init_app(app: Flask) -> None:
    """Enqueue what services asked for once their transaction commits (registered once)."""
    if not event.contains(db.session, "after_commit", _enqueue_pending):
        event.listen(db.session, "after_commit", _enqueue_pending)
        event.listen(db.session, "after_rollback", _forget_pending)


def _enqueue_pending(session) -> None:
    pending = session.info.pop(_PENDING, [])
    named: set[str] = set()
    for func, ids, at, job_id, retry in pending:
        ids = tuple(value() if callable(value) else value for value in ids)
        job_id = job_id() if callable(job_id) else job_id
        if job_id is not None:
            if job_id in named:      # many clocks due in one second: one job, enqueued once
                continue
            named.add(job_id)
        if not redis.available():  # it just failed: do not wait on it again for each job
            log.warning("Redis unavailable: %s%s left to the sweep", func.__name__, ids)
            continue
        try:
            enqueue(func, *ids, at=at, job_id=job_id, retry=retry)
        except Exception as exc:  # Redis down: the sweep recovers from the database
            redis.failed()
            log.warning("could not enqueue %s%s (%s); the sweep will recover it",
                        func.__name__, ids, exc)


def _forget_pending(session) -> None:
    session.info.pop(_PENDING, None)


def job(func: Callable) -> Callable:
    """Run a job in an app context with its own session: commit at the end, roll back on error."""

    @functools.wraps(func)
    def wrapper(*args):
        app = current_app._get_current_object() if _has_app() else _worker_app()
        with app.app_context():
            try:
                result = func(*args)
                db.session.commit()
                return result
            except Exception:
                db.session.rollback()
                raise
            finally:
                db.session.remove()

    return wrapper


def _has_app() -> bool:
    try:
        current_app._get_current_object()
        return True
    except RuntimeError:
        return False


@functools.cache
def _worker_app() -> Flask:
    """A bare `rq worker` (no `hotline worker`) builds the app once per process."""
    return create_app()


# --- registering what the jobs do ---------------------------------------------------------

def implement(declared: Callable, function: Callable) -> None:
    """`function` does the work of job `declared` (called with the job's ids in its app context)."""
    _IMPLEMENTATIONS[declared.__name__] = function


def sweeps(name: str, step: Callable[[], object]) -> None:
    """The minute sweep also calls `step()`; its answer shows under `name` in the sweep's result."""
    _SWEEP_STEPS[name] = step


def _work(name: str) -> Callable:
    try:
        return _IMPLEMENTATIONS[name]
    except KeyError:
        raise LookupError(f"job {name} has no implementation: create_app registers them "
                          "(hotline.receivers)") from None


# --- the jobs -------------------------------------------------------------------------

@job
def fire_timer(timer_id: int, level: str) -> bool:
    """A clock reached its warning or due time (the per-clock job of earlier releases; jobs
    already scheduled in Redis when upgrading still run it: `hotline.clocks.firing.fire`)."""
    return _work("fire_timer")(timer_id, level)


@job
def fire_clocks(second: str, generation: int = 0) -> dict:
    """Every clock level due within one whole second (ISO time), fired at its instant in batches;
    generation 1, 2... are follow-ups sharing a storm (`hotline.clocks.firing.fire_second`)."""
    return _work("fire_clocks")(second, generation)


@job
def sweep() -> dict:
    """Fire whatever is due that no job handled, resend stuck messages; runs every minute.

    The steps are registered by their domains (`sweeps`): clocks, messages, inbound texts,
    callback surveys, survey keys, failed jobs, webhooks."""
    result = {name: step() for name, step in _SWEEP_STEPS.items()}
    schedule_next_sweep()
    return result


def schedule_next_sweep(now: datetime | None = None) -> None:
    """One sweep per minute however many workers: the job id names the minute."""
    now = now or utcnow()
    minute = (now + SWEEP_EVERY).replace(second=0, microsecond=0)
    enqueue(sweep, at=minute, job_id=f"sweep-{minute:%Y%m%d%H%M}")


@job
def deliver_message(message_id: int) -> str:
    """Send one outbox message (SMS or voice call) through Twilio, at most once
    (`hotline.outbox.deliver`)."""
    return _work("deliver_message")(message_id)


@job
def callback_survey(ticket_id: int, cycle: int, attempt: int) -> bool:
    """回访: text the caller the satisfaction survey, then check back after the spacing
    (`hotline.callbacks.send_survey`)."""
    return _work("callback_survey")(ticket_id, cycle, attempt)


@job
def callback_followup(ticket_id: int, cycle: int, attempt: int) -> bool:
    """No answer to survey `attempt`: count it, and try again or close as unreachable
    (`hotline.callbacks.follow_up`)."""
    return _work("callback_followup")(ticket_id, cycle, attempt)


# --- Twilio channels (hotline/channels) ---------------------------------------------------

# A citizen's text or survey key: retried by RQ, then (failed for good) by the sweep.
INPUT_RETRY = Retry(max=4, interval=[5, 30, 120, 600])
STATUS_RETRY = Retry(max=3, interval=[60, 300, 900])
STATUS_RETRY_AFTER = timedelta(seconds=30)


def status_retry_at() -> datetime:
    return utcnow() + STATUS_RETRY_AFTER


@job
def process_inbound_sms(sms_id: int) -> str | None:
    """A citizen's text: a survey answer, a note on their open ticket, or a new ticket; once
    (`hotline.channels.sms.process`)."""
    return _work("process_inbound_sms")(sms_id)


MEDIA_RETRY = Retry(max=5, interval=[30, 120, 600, 1800, 3600])


@job
def fetch_mms_media(sms_id: int) -> int:
    """An MMS's media fetched from Twilio into its ticket's attachments; once (raises to be
    retried: `hotline.attachments.mms.fetch`)."""
    return _work("fetch_mms_media")(sms_id)


@job
def reapply_status(sid: str) -> bool:
    """Status reports that arrived before their message's Sid was committed; raises to retry
    (`hotline.channels.status.reapply`)."""
    if not _work("reapply_status")(sid):
        raise LookupError(f"nothing known with Sid {sid} yet")
    return True


@job
def voice_survey(ticket_id: int, cycle: int, attempt: int) -> bool:
    """回访 by phone: queue a survey call (press 1/2/3) for a ticket waiting for its callback
    (`hotline.channels.survey.send_survey_call`)."""
    return _work("voice_survey")(ticket_id, cycle, attempt)


@job
def process_survey_key(key_id: int) -> str | None:
    """A key pressed on a survey call, stored by the webhook: applied to the ticket once
    (`hotline.channels.survey.process_key`)."""
    return _work("process_survey_key")(key_id)


# --- outgoing webhooks (hotline.subscriptions) -------------------------------------------

@job
def deliver_webhook(delivery_id: int) -> str:
    """POST one signed webhook delivery (in its ticket's order); retried on a schedule
    (`hotline.subscriptions.deliver`)."""
    return _work("deliver_webhook")(delivery_id)
