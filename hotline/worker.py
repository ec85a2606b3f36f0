"""`hotline worker`: an RQ worker that outlives Redis and stops when asked, in bounded time.

- Redis goes away: RQ's worker gives up ("quitting") or retries on its own, logging every
  try. Here the worker is started again once Redis answers (backoff up to BACKOFF_MAX
  seconds), and the outage is logged once when it starts and once when it ends.
- Redis goes away under RQ's scheduler process: it dies, and RQ starts it again only at
  its next maintenance; the worker here runs that every MAINTENANCE_EVERY seconds.
- Redis comes back empty (restarted without persistence, flushed): the scheduled jobs,
  including the minute sweep that re-schedules itself, are gone. A watch thread notices
  (a marker key it keeps in Redis is missing) and runs the sweep, which fires what fell
  due from the database and schedules the next sweep. Every worker start sweeps too.
- SIGTERM: RQ finishes the current job (warm shutdown). Two things made that unbounded:
  redis-py >= 8 joins the pub/sub thread without a timeout on unsubscribe, and that thread
  can sit for a minute waiting for a subscription (seen: a 25 s hang after "unsubscribing
  from channel"); and with Redis down, RQ's goodbye commands wait on it. The listener here
  is stopped before the unsubscribe (the reply ends it) and waited for at most
  UNSUBSCRIBE_WAIT, and a watchdog ends the process STOP_DEADLINE
  seconds after the signal whatever it waits on. A job cut off that way is rolled back by
  the database and its work re-found by the sweep (due clocks, unsent messages,
  unprocessed texts and survey keys), so nothing is lost.
"""

import contextlib
import logging
import os
import signal
import threading
import time

import redis
from flask import Flask
from rq import SimpleWorker

from hotline import tasks
from hotline.redis import connection

log = logging.getLogger("hotline.worker")

BACKOFF_START = 0.5
BACKOFF_MAX = 30.0
WATCH_EVERY = 1.0
UNSUBSCRIBE_WAIT = 1.0
WAKE_EVERY = 5
MAINTENANCE_EVERY = 15
STOP_DEADLINE = 10.0          # below `hotline run`'s STOP_GRACE, so run never has to kill it
MARKER = "hotline:worker:redis-epoch"
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, OSError)


class HotlineWorker(SimpleWorker):
    """RQ's in-process worker with a bounded unsubscribe and, if asked, a stop deadline.

    It also wakes every WAKE_EVERY seconds while idle (RQ: every ~7 minutes), so that its
    maintenance — which restarts RQ's scheduler process, killed by a Redis outage — runs
    every MAINTENANCE_EVERY seconds (`run` sets it; RQ's default is 10 minutes, during
    which no scheduled job, the minute sweep included, would be enqueued).
    """

    stop_deadline: float | None = None

    @property
    def dequeue_timeout(self) -> int:
        return WAKE_EVERY

    def unsubscribe(self):
        thread, pubsub = self.pubsub_thread, self.pubsub
        if thread is None:
            return
        self.log.info("Worker %s: unsubscribing from channel %s", self.name, self.pubsub_channel_name)
        # The listener is told to stop before the UNSUBSCRIBE goes out, so that reading its reply
        # ends the listener's loop. The other way round it could read the reply first, find itself
        # subscribed to nothing and wait up to a minute for a subscription (redis-py's
        # get_message): every stop, and every burst run, then waited out the bound below.
        try:
            thread.stop(timeout=0)      # redis-py >= 8 joins in stop() unless told not to wait
        except TypeError:
            thread.stop()               # older redis-py: only clears the flag
        with contextlib.suppress(*REDIS_DOWN, redis.RedisError):
            pubsub.unsubscribe()
        thread.join(UNSUBSCRIBE_WAIT)
        if not thread.is_alive():       # else it is a daemon thread: it ends with the process
            with contextlib.suppress(*REDIS_DOWN, redis.RedisError):
                pubsub.close()
        self.pubsub_thread = None

    def request_stop(self, signum, frame):
        arm_watchdog(self.stop_deadline)
        super().request_stop(signum, frame)


def arm_watchdog(deadline: float | None) -> None:
    """End this process `deadline` seconds from now unless it has ended by itself."""
    if deadline is None:
        return

    def expire():
        time.sleep(deadline)
        log.warning("did not stop within %.0fs of the stop signal: exiting now "
                    "(an unfinished job is rolled back and re-found by the sweep)", deadline)
        logging.shutdown()
        os._exit(1)

    threading.Thread(target=expire, name="stop-watchdog", daemon=True).start()


class RedisWatch(threading.Thread):
    """Logs each Redis outage once, and sweeps when Redis came back without its data."""

    def __init__(self, app: Flask, stopping: threading.Event):
        super().__init__(name="redis-watch", daemon=True)
        self.app = app
        self.stopping = stopping
        self.down_since: float | None = None

    def run(self) -> None:
        while not self.stopping.wait(WATCH_EVERY):
            self.check()

    def check(self) -> None:
        with self.app.app_context():
            try:
                client = connection()
                lost = not client.exists(MARKER)
                if lost:
                    client.set(MARKER, str(time.time()))
            except REDIS_DOWN as exc:
                self.went_down(exc)
                return
            self.came_back()
            if lost:
                log.warning("Redis has lost its jobs (restarted empty or flushed): sweeping now")
                sweep_once()

    def went_down(self, exc: Exception) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.warning("Redis unavailable (%s); the worker waits for it and resumes by itself", exc)

    def came_back(self) -> None:
        if self.down_since is not None:
            log.warning("Redis is back after %.0fs", time.monotonic() - self.down_since)
            self.down_since = None


class _OncePerOutage(logging.Filter):
    """RQ logs "could not connect to Redis" on every retry: keep the watch's one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "could not connect to Redis" not in str(record.msg)


def sweep_once() -> bool:
    """The start-up sweep; False when Redis (or the database) is not there for it."""
    try:
        result = tasks.sweep()
    except Exception as exc:  # retried once Redis answers again
        log.warning("sweep failed (%s); retrying when Redis answers", exc)
        return False
    log.info("start-up sweep: %s", result)
    return True


def run(app: Flask, queue_names: list[str], burst: bool = False) -> int:
    """Work the queues until asked to stop (or, with `burst`, until they are empty)."""
    stopping = threading.Event()

    def stop(signum, _frame):
        arm_watchdog(None if burst else STOP_DEADLINE)
        stopping.set()

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)          # this module's few lines; the jobs' own stay at WARNING
    logging.getLogger("rq.worker").addFilter(_OncePerOutage())
    watch = RedisWatch(app, stopping)
    if not burst:
        watch.start()
    delay = BACKOFF_START
    while not stopping.is_set():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, stop)
        if not sweep_once():
            stopping.wait(delay)
            delay = min(delay * 2, BACKOFF_MAX)
            continue
        worker = HotlineWorker([tasks.queue(name) for name in queue_names], connection=connection(),
                               maintenance_interval=MAINTENANCE_EVERY)
        worker.stop_deadline = None if burst else STOP_DEADLINE
        try:
            worker.work(with_scheduler=True, burst=burst, logging_level="INFO")
        except REDIS_DOWN as exc:
            watch.went_down(exc)
        if burst or worker._shutdown_requested_date is not None:
            break
        # RQ gave up (Redis went away under it): start again once Redis answers.
        delay = BACKOFF_START
        while not stopping.is_set() and not _answers(app):
            stopping.wait(delay)
            delay = min(delay * 2, BACKOFF_MAX)
        watch.came_back()
    stopping.set()
    return 0


def _answers(app: Flask) -> bool:
    with app.app_context():
        try:
            connection().ping()
            return True
        except REDIS_DOWN:
            return False
