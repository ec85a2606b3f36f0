"""Redis stopped or frozen while the centre works on: no request fails or hangs, nothing is lost,
and once Redis is back every due clock fires once and every message goes out once.

Redis holds only jobs; the database is the truth. A job asked for at commit while Redis is
unreachable is dropped (`tasks._enqueue_pending` logs it), and the minute sweep re-finds its
work in the database: due clocks, queued outbox messages, unprocessed texts, callback
surveys. These tests check that promise against a real redis-server of their own (on a free
loopback port, so the suite's Redis is never touched) and a second app object that uses it
on the suite's database, then a real `hotline worker --burst` process.

The worker process runs on the real clock, so these tests do too (not the suite's fixed
Monday); the clocks they need due are moved into the past in the database, as if the
outage had lasted past them.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import redis
import time_machine
from sqlalchemy import func, select, update

from hotline.extensions import db
from hotline.redis import COMMAND_TIMEOUT
from tests.helpers import Api
from tests.twilio_fakes import AUTH_TOKEN, Twilio

# No request may wait on a dead or stalled Redis for more than one command timeout (plus
# headroom for a busy machine); without the pause after a failure each job a request asks
# for would wait its own timeout (10-30 s a request, measured).
REQUEST_BOUND = COMMAND_TIMEOUT + 1.5
WORKER_TIMEOUT = 120
OPEN = ("running", "warned", "overdue")


class PrivateRedis:
    """A redis-server of this test's own on a free loopback port, without persistence."""

    def __init__(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tempfile.mkdtemp(prefix="hotline-redis-")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert self.process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not come up"
                time.sleep(0.05)
            finally:
                client.connection_pool.disconnect()

    def stop(self) -> None:
        """Gone: its port refuses connections and everything it held is lost."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)     # in case it was frozen
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def freeze(self) -> None:
        """Alive but answering nothing, as a stalled or partitioned server is (SIGSTOP)."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def outage_app(app, private_redis):
    """The app as `hotline web` would build it against the private Redis, on the suite's database."""
    from hotline import create_app

    # No quiet hours: these tests run at the wall clock's time of day, surveys must go at once.
    other = create_app({"TESTING": True, "REDIS_URL": private_redis.url,
                        "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "PUBLIC_BASE_URL": None,
                        "HOTLINE_QUIET_HOURS": "00:00-00:00"})
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def real_now() -> float:
    """The wall clock outside this process (the suite's clock is travelling)."""
    return float(subprocess.check_output([sys.executable, "-c", "import time; print(time.time())"]))


def timed(client) -> list[float]:
    """Record how long each request through `client` takes."""
    durations: list[float] = []
    opener = client.open

    def open_timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return opener(*args, **kwargs)
        finally:
            durations.append(time.perf_counter() - start)

    client.open = open_timed
    return durations


def burst_worker(app) -> str:
    env = {**os.environ, "REDIS_URL": app.config["REDIS_URL"],
           "HOTLINE_QUIET_HOURS": app.config["HOTLINE_QUIET_HOURS"]}
    done = subprocess.run([sys.executable, "-m", "hotline.cli", "worker", "--burst"], env=env,
                          capture_output=True, text=True, timeout=WORKER_TIMEOUT)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return done.stdout + done.stderr


def work_the_centre(api, twilio) -> dict:
    """Intake by phone and by text, and the steps after it that start clocks and surveys."""
    waiting = api.create()["id"]                                    # stays in intake
    submitted = api.create()["id"]
    api.act(submitted, "submit", "seat1")                            # dispatch clock
    dispatched = api.dispatched(unit="yunlong")["id"]                # acknowledge clock
    surveyed = api.in_progress(unit="gulou")["id"]
    api.act(surveyed, "reply", "handler-gulou", {"result": "已修复路灯", "resolved": True})
    api.act(surveyed, "approve_reply", "dispatcher1", {"note": "同意"})  # callback clock + survey
    api.act(dispatched, "add_note", "dispatcher1", {"note": "市民再次来电催办"})
    texted = twilio.sms("小区门口的路灯坏了一个月了，晚上出行很不方便。")
    assert texted.status_code == 200, texted.get_data(as_text=True)
    return {"waiting": waiting, "submitted": submitted, "dispatched": dispatched, "surveyed": surveyed}


def state(app) -> dict:
    """What the database holds: tickets, open clocks, firings, clock events, messages, texts."""
    from hotline.channels.models import InboundSms
    from hotline.clocks.models import Timer, TimerFiring
    from hotline.outbox import OutboxMessage
    from hotline.tickets.models import Event, Ticket

    with app.app_context():
        found = {
            "tickets": dict(db.session.execute(select(Ticket.id, Ticket.state)).all()),
            "open_timers": set(db.session.scalars(select(Timer.id).where(Timer.state.in_(OPEN)))),
            "firings": db.session.execute(
                select(TimerFiring.timer_id, TimerFiring.level, func.count())
                .group_by(TimerFiring.timer_id, TimerFiring.level)).all(),
            "overdue_events": db.session.execute(
                select(Event.ticket_id, func.count()).where(Event.action == "timer_overdue")
                .group_by(Event.ticket_id)).all(),
            "messages": db.session.execute(
                select(OutboxMessage.key, OutboxMessage.purpose, OutboxMessage.status,
                       OutboxMessage.status_detail).order_by(OutboxMessage.id)).all(),
            "texts": db.session.execute(select(InboundSms.processed_at.is_not(None), InboundSms.outcome,
                                               InboundSms.ticket_id)).all(),
        }
        db.session.rollback()
    return found


def make_open_clocks_due(app) -> dict[int, int]:
    """The outage lasted past every open clock: due an hour ago, warned two hours ago.

    Returns {timer id: ticket id} of those clocks.
    """
    from hotline.clocks.models import Timer
    from hotline.types import utcnow

    with app.app_context():
        now = utcnow()
        due = dict(db.session.execute(select(Timer.id, Timer.ticket_id).where(Timer.state.in_(OPEN))).all())
        db.session.execute(update(Timer).where(Timer.id.in_(due)).values(
            warn_at=now - timedelta(hours=2), due_at=now - timedelta(hours=1)))
        db.session.commit()
    return due


def sweep(app, minutes_later: int) -> dict:
    """The minute sweep (`tasks.sweep`), run this many minutes from now."""
    from hotline import tasks
    from hotline.types import utcnow

    with time_machine.travel(utcnow() + timedelta(minutes=minutes_later), tick=True), app.app_context():
        return tasks.sweep()


@pytest.mark.parametrize("fault", ["stopped", "frozen"])
def test_redis_down_during_intake_loses_nothing_and_doubles_nothing(app, outage_app, private_redis, fault):
    with time_machine.travel(datetime.fromtimestamp(real_now(), UTC), tick=True):
        api = Api(outage_app, outage_app.test_client())
        for user in ("seat1", "dispatcher1", "handler-gulou", "handler-yunlong"):
            api.headers(user)                              # signed in before the outage
        durations = timed(api.client)

        if fault == "stopped":
            private_redis.stop()
        else:
            private_redis.freeze()
        started = time.perf_counter()
        tickets = work_the_centre(api, Twilio(api.client))
        outage = time.perf_counter() - started
        # At most one request waits for Redis to time out; after that the app leaves it alone.
        slow = [round(d, 2) for d in durations if d > 0.9 * COMMAND_TIMEOUT]
        assert max(durations) < REQUEST_BOUND and len(slow) <= 1, (fault, slow, sorted(durations)[-5:])

        # Every write is in the database; only the jobs were lost.
        during = state(outage_app)
        assert {during["tickets"][tid] for tid in tickets.values()} == {
            "intake", "pending_dispatch", "dispatched", "callback_pending"}
        assert len(during["tickets"]) == 4
        assert len(during["open_timers"]) >= 3           # dispatch, acknowledge, callback at least
        assert during["texts"] == [(False, None, None)]  # stored, waiting for its lost job
        assert during["messages"] == []                  # the survey and the receipt are made by jobs
        assert during["firings"] == []

        if fault == "frozen":
            private_redis.stop()                         # what was queued in it is lost too
        private_redis.start()                            # back, and empty
        due = make_open_clocks_due(outage_app)

        first = sweep(outage_app, minutes_later=5)
        assert first["clocks"]["overdue"] == len(due), first
        assert first["inbound_sms"] == 1 and first["callback_surveys"] == 1, first
        burst_worker(outage_app)

        after = state(outage_app)
        # Each clock fired once (overdue, as the warning time passed with it), one event each.
        assert sorted(after["firings"]) == sorted((timer_id, "overdue", 1) for timer_id in due)
        assert dict(after["overdue_events"]) == Counter(due.values())
        # The text became one ticket; the caller's receipt and the survey went out once each.
        sms_ticket = [tid for tid in after["tickets"] if tid not in tickets.values()]
        assert len(sms_ticket) == 1
        assert after["texts"] == [(True, "ticket", sms_ticket[0])]
        assert sorted((purpose, status, detail) for _, purpose, status, detail in after["messages"]) == [
            ("callback_survey", "not_sent", "no credentials"), ("sms_ticket", "not_sent", "no credentials")]
        assert len({key for key, *_ in after["messages"]}) == len(after["messages"])

        # Later sweeps and another worker find nothing more to do.
        second = sweep(outage_app, minutes_later=10)
        assert second["clocks"] == {"warning": 0, "overdue": 0}, second
        assert second["inbound_sms"] == second["callback_surveys"] == second["messages"] == 0, second
        burst_worker(outage_app)
        final = state(outage_app)
        for key in ("firings", "overdue_events", "messages", "texts", "tickets"):
            assert final[key] == after[key], key
    print(f"Redis {fault}: {len(durations)} requests in {outage:.2f}s, "
          f"slowest {max(durations) * 1000:.0f} ms")


def test_redis_flushed_after_a_survey_the_sweep_still_follows_it_up_once(app, api):
    """The survey's follow-up (scheduled hours ahead) is lost with a flushed Redis: once it is
    due, the sweep enqueues it again, and it asks for the next survey exactly once."""
    from hotline import tasks
    from hotline.outbox import OutboxMessage
    from hotline.redis import connection
    from hotline.types import utcnow
    from tests.twilio_fakes import drain, rows

    tid = api.callback_pending()["id"]
    drain(app)                                            # survey 1 out, its follow-up scheduled
    with app.app_context():
        scheduled = tasks.queue().scheduled_job_registry.get_job_ids()
        assert f"callback-followup-{tid}-0-1" in scheduled
        connection().flushdb()                            # ... and lost

    with time_machine.travel(utcnow() + timedelta(hours=5), tick=True):
        with app.app_context():
            assert tasks.sweep()["callback_surveys"] == 1
        drain(app)                                        # follow-up: attempt 1 failed; survey 2
        with app.app_context():
            assert tasks.sweep()["callback_surveys"] == 0
        drain(app)

    sent = [(m.key, m.status.value) for m in rows(app, OutboxMessage, OutboxMessage.ticket_id == tid)]
    assert sent == [(f"callback-survey-{tid}-0-1", "not_sent"), (f"callback-survey-{tid}-0-2", "not_sent")]
    assert api.ticket(tid)["callback"]["attempts"] == 1
