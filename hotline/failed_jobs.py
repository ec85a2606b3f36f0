"""Jobs that failed for good: kept where the team sees them, and retried once the cause is gone.

RQ retries a job a few times (tasks.INPUT_RETRY), then moves it to its failed registry.
For a citizen's text or survey key, or a callback survey, that registry is where the
input waits: the rows stay unprocessed in the database, supervisors see the list in the
console (`/console/failed-jobs`), `/readyz` warns with the count, and the minute sweep
puts each such job back on the queue every RETRY_AFTER, so it goes through by itself
once the cause is fixed (a year declared, a database problem solved). The jobs are
idempotent, so a retry that finds the work done does nothing.

Depends on: the job helper and Redis, and the survey keys of `hotline.channels.survey`.
"""

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rq.job import Job

from hotline import tasks
from hotline.channels import survey
from hotline.redis import connection
from hotline.types import utcnow

log = logging.getLogger(__name__)

RETRY_AFTER = timedelta(minutes=10)
# The jobs that carry a citizen's input or a callback: the sweep retries them.
RETRIED = ("sms-", "survey-key-", "callback-")
STUCK_AFTER = timedelta(minutes=1)
SHOWN = 200


@dataclass(frozen=True)
class FailedJob:
    id: str
    function: str
    args: tuple
    failed_at: datetime | None
    error: str
    retried_by_sweep: bool


def registry():
    return tasks.queue().failed_job_registry


def count() -> int:
    return registry().count


def listed(limit: int = SHOWN) -> list[FailedJob]:
    """The failed jobs, most recent failure first (what, with which ids, why)."""
    ids = registry().get_job_ids()
    found = [job for job in Job.fetch_many(ids, connection=connection()) if job is not None]
    found.sort(key=lambda job: job.ended_at or datetime.min, reverse=True)
    return [FailedJob(job.id, (job.func_name or "").rsplit(".", 1)[-1], tuple(job.args or ()),
                      _aware(job.ended_at), _last_line(job), job.id.startswith(RETRIED))
            for job in found[:limit]]


def retry_due(now: datetime | None = None) -> int:
    """Put back on the queue the retried kinds that failed RETRY_AFTER ago or more."""
    now = now or utcnow()
    retried = 0
    try:
        failed = registry()
        for job_id in failed.get_job_ids():
            if not job_id.startswith(RETRIED):
                continue
            job = Job.fetch(job_id, connection=connection())
            ended = _aware(job.ended_at)
            if ended is not None and ended > now - RETRY_AFTER:
                continue
            failed.requeue(job)
            retried += 1
    except Exception as exc:  # Redis down: the next sweep tries again
        log.warning("could not retry failed jobs: %s", exc)
    if retried:
        log.info("retried %d failed job(s)", retried)
    return retried


def requeue_lost_survey_keys(now: datetime | None = None) -> int:
    """Enqueue survey keys whose job Redis lost (a failed job still exists: left to retry_due)."""
    now = now or utcnow()
    requeued = 0
    try:
        for key_id in survey.unprocessed_keys(now - STUCK_AFTER):
            job_id = f"survey-key-{key_id}"
            if Job.exists(job_id, connection=connection()):
                continue
            tasks.enqueue(tasks.process_survey_key, key_id, job_id=job_id, retry=tasks.INPUT_RETRY)
            requeued += 1
    except Exception as exc:
        log.warning("could not requeue survey keys: %s", exc)
    return requeued


def warning() -> str | None:
    """The /readyz warning while jobs sit in the failed registry."""
    n = count()
    if not n:
        return None
    return (f"{n} 个后台任务失败待处理：原因消除后每 {RETRY_AFTER.seconds // 60} 分钟自动重试，"
            f"见控制台“失败任务” ({n} failed job(s): see /console/failed-jobs; citizens' texts and "
            f"survey keys are retried every {RETRY_AFTER.seconds // 60} minutes)")


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _last_line(job: Job) -> str:
    """The exception line of the traceback ("module.Error: message"; not SQLAlchemy's
    "[SQL: …]" or "(Background …)", nor PostgreSQL's "CONTEXT: …")."""
    result = job.latest_result()
    text = (result.exc_string if result is not None else None) or ""
    lines = [line for line in text.splitlines() if _EXCEPTION_LINE.match(line)]
    return lines[-1][:300] if lines else ""


_EXCEPTION_LINE = re.compile(r"^(?:\w+\.)+\w+: |^\w*(?:Error|Exception): ")
