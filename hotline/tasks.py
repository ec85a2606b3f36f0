"""Background jobs on RQ, declared in this one module; each takes ids, never objects.

Services ask for jobs with `after_commit`, so a job is enqueued only once the
data it reads is committed (and never for a rolled-back transaction). If Redis
is down at that moment nothing is lost: the database is the source of truth and
the minute sweep re-finds due clocks and unsent messages.

Every job runs in an app context, commits once at its end, and is idempotent:
RQ may run it again after a crash, a retry or a duplicate enqueue.
"""

import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask, current_app
from rq import Queue, Retry
from sqlalchemy import event

from hotline.extensions import db
from hotline.redis import connection

log = logging.getLogger(__name__)

SWEEP_EVERY = timedelta(minutes=1)
SEND_RETRY = Retry(max=4, interval=[10, 60, 300, 900])
_PENDING = "hotline.after_commit"


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
    from hotline import redis

    pending = session.info.pop(_PENDING, [])
    for func, ids, at, job_id, retry in pending:
        ids = tuple(value() if callable(value) else value for value in ids)
        job_id = job_id() if callable(job_id) else job_id
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
    from hotline import create_app

    return create_app()


# --- the jobs -------------------------------------------------------------------------

@job
def fire_timer(timer_id: int, level: str) -> bool:
    """A clock reached its warning or due time."""
    from hotline.clocks import firing

    return firing.fire(timer_id, level)


@job
def sweep() -> dict:
    """Fire whatever is due that no job handled, resend stuck messages; find hotspots and the
    knowledge articles near their valid-to date; runs every minute."""
    from hotline import callbacks, failed_jobs, hotspots, outbox, subscriptions
    from hotline.channels import sms
    from hotline.clocks import firing
    from hotline.knowledge import service as knowledge

    result = {"clocks": firing.sweep(), "messages": outbox.requeue_stuck(),
              "inbound_sms": sms.requeue_unprocessed(), "callback_surveys": callbacks.requeue_lost(),
              "survey_keys": failed_jobs.requeue_lost_survey_keys(),
              "failed_jobs_retried": failed_jobs.retry_due()}
    result["webhooks"] = subscriptions.requeue_due()
    result["hotspots"] = hotspots.detect()
    result["knowledge_expiring"] = knowledge.notify_expiring()
    schedule_next_sweep()
    return result


def schedule_next_sweep(now: datetime | None = None) -> None:
    """One sweep per minute however many workers: the job id names the minute."""
    from hotline.types import utcnow

    now = now or utcnow()
    minute = (now + SWEEP_EVERY).replace(second=0, microsecond=0)
    enqueue(sweep, at=minute, job_id=f"sweep-{minute:%Y%m%d%H%M}")


@job
def deliver_message(message_id: int) -> str:
    """Send one outbox message (SMS or voice call) through Twilio, at most once."""
    from hotline import outbox

    return outbox.deliver(message_id)


@job
def callback_survey(ticket_id: int, cycle: int, attempt: int) -> bool:
    """回访: text the caller the satisfaction survey, then check back after the spacing."""
    from hotline import callbacks

    return callbacks.send_survey(ticket_id, cycle, attempt)


@job
def callback_followup(ticket_id: int, cycle: int, attempt: int) -> bool:
    """No answer to survey `attempt`: count it, and try again or close as unreachable."""
    from hotline import callbacks

    return callbacks.follow_up(ticket_id, cycle, attempt)


# --- Twilio channels (hotline/channels) ---------------------------------------------------

# A citizen's text or survey key: retried by RQ, then (failed for good) by the sweep.
INPUT_RETRY = Retry(max=4, interval=[5, 30, 120, 600])
STATUS_RETRY = Retry(max=3, interval=[60, 300, 900])
STATUS_RETRY_AFTER = timedelta(seconds=30)


def status_retry_at() -> datetime:
    from hotline.types import utcnow

    return utcnow() + STATUS_RETRY_AFTER


@job
def process_inbound_sms(sms_id: int) -> str | None:
    """A citizen's text: a survey answer, a note on their open ticket, or a new ticket; once."""
    from hotline.channels import sms

    return sms.process(sms_id)


@job
def reapply_status(sid: str) -> bool:
    """Status reports that arrived before their message's Sid was committed; raises to retry."""
    from hotline.channels import status

    if not status.reapply(sid):
        raise LookupError(f"nothing known with Sid {sid} yet")
    return True


@job
def voice_survey(ticket_id: int, cycle: int, attempt: int) -> bool:
    """回访 by phone: queue a survey call (press 1/2/3) for a ticket waiting for its callback."""
    from hotline.channels import survey

    return survey.send_survey_call(ticket_id, cycle, attempt)


@job
def process_survey_key(key_id: int) -> str | None:
    """A key pressed on a survey call, stored by the webhook: applied to the ticket once."""
    from hotline.channels import survey

    return survey.process_key(key_id)


# --- outgoing webhooks (hotline.subscriptions) -------------------------------------------

@job
def deliver_webhook(delivery_id: int) -> str:
    """POST one signed webhook delivery (in its ticket's order); retried on a schedule."""
    from hotline import subscriptions  # it imports this module

    return subscriptions.deliver(delivery_id)
