"""`hotline run` and `hotline worker` outlive a Redis outage, as real processes.

A redis-server of the test's own (no persistence: it comes back empty, as a restarted
cache does) is stopped for a few seconds while `hotline run` takes texts and a clock falls
due, then started again. Nobody restarts anything by hand: afterwards the same worker
process is alive, the clock has fired once and every text became exactly one ticket.
The clock is written into the database directly (as tests/test_worker_faults.py does), so
only the worker's recovery can fire it: nothing was ever scheduled for it in Redis.
"""

import http.cookiejar
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

import psutil
import pytest
from sqlalchemy import create_engine, func, insert, select
from twilio.request_validator import RequestValidator

from hotline.channels.models import InboundSms
from hotline.clocks.models import Timer
from hotline.tickets.models import Channel, Event, Ticket
from hotline.units import Unit
from tests import test_cli, test_faults_redis
from tests.test_cli import _hotline, _running
from tests.twilio_fakes import AUTH_TOKEN, HOTLINE_NUMBER, sid

# The suite's app: every model mapped (the test reads and writes the run's database with them).
pytestmark = pytest.mark.usefixtures("app")

OUTAGE = 30.0                # seconds Redis stays down (issue 17)
RECOVERY_TIMEOUT = 150       # the sweep requeues a text a minute after it came in, at most two sweeps
WORKER_PHRASE = "the worker waits for it"


# The instance-folder fixtures of `hotline run`'s own tests.
instance, seeded_db, seeded_instance, env = (test_cli.instance, test_cli.seeded_db,
                                             test_cli.seeded_instance, test_cli.env)
private_redis = test_faults_redis.private_redis      # a redis-server of the test's own


def text_in(base: str, body: str, sender: str, message_sid: str | None = None,
            timeout: float = 10) -> int:
    params = {"MessageSid": message_sid or sid("SM"), "From": sender, "To": HOTLINE_NUMBER, "Body": body,
              "NumMedia": "0"}
    url = f"{base}/twilio/sms"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    request = urllib.request.Request(url, data=urllib.parse.urlencode(params).encode(),
                                     headers={"X-Twilio-Signature": signature})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status


def console_login(base: str, username: str, password: str) -> tuple[int, str]:
    """Sign in through the console's own form (CSRF token and cookie included), as a browser
    does; the status and the page the form led to."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(f"{base}/console/login", timeout=10) as response:
        token = re.search(r'name="csrf_token" value="([^"]+)"', response.read().decode()).group(1)
    form = urllib.parse.urlencode({"csrf_token": token, "username": username, "password": password})
    try:
        with opener.open(f"{base}/console/login", data=form.encode(), timeout=10) as response:
            return response.status, response.url
    except urllib.error.HTTPError as error:
        return error.code, error.url


def clock_due_in(engine, seconds: float) -> int:
    """A dispatched ticket whose acknowledge clock runs out `seconds` from now (real time)."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        unit = conn.scalar(select(Unit.id).where(Unit.code == "gulou"))
        ticket_id = conn.scalar(insert(Ticket).values(
            number="OUTAGE-000001", desk="general", channel="voice", category="help",
            priority="normal", state="dispatched", content="outage test", subject="",
            lead_unit_id=unit, created_at=now, updated_at=now, event_seq=0, version=1,
            caller_is_minor=False, callback_attempts=0, rework_count=0, return_count=0,
            extended_days=0, supervise_count=0).returning(Ticket.id))
        due = now + timedelta(seconds=seconds)
        conn.execute(insert(Timer).values(ticket_id=ticket_id, kind="acknowledge", state="running",
                                          started_at=now, warn_at=due - timedelta(seconds=1),
                                          due_at=due, original_due_at=due))
    return ticket_id


def wait_until(predicate, timeout: float, what: str, run, log):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert run.poll() is None, f"`hotline run` exited:\n{log.read_text()[-4000:]}"
        assert time.monotonic() < deadline, f"no {what} within {timeout}s:\n{log.read_text()[-4000:]}"
        time.sleep(0.5)


def the_worker(run) -> psutil.Process:
    for proc in psutil.Process(run.pid).children():
        if "worker" in proc.cmdline():
            return proc
    raise AssertionError("no worker child")


def test_run_serves_through_a_redis_outage_and_catches_up_by_itself(
        seeded_instance, env, tmp_path, private_redis, request):
    env = {**env, "REDIS_URL": private_redis.url, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
    engine = create_engine(f"sqlite:///{seeded_instance / 'hotline.db'}")
    request.addfinalizer(engine.dispose)
    with _running(env, tmp_path / "run.log") as started:
        run, base, log = started.process, started.base, started.log
        worker = the_worker(run)
        started.children()
        senders = [f"+86139000000{i:02d}" for i in range(6)]
        for sender in senders[:3]:
            assert text_in(base, "小区路灯坏了", sender) == 200

        private_redis.stop()
        outage_started = time.monotonic()
        ticket_id = clock_due_in(engine, OUTAGE / 2)
        for sender in senders[3:]:
            assert text_in(base, "楼道里堆满杂物", sender) == 200    # intake goes on
        status, landed = console_login(base, "seat1", "demo")           # and so does signing in
        assert status == 200 and "/console/login" not in landed, (status, landed)
        wait_until(lambda: WORKER_PHRASE in log.read_text(), 20, "the outage logged", run, log)
        wait_until(lambda: time.monotonic() - outage_started >= OUTAGE, OUTAGE + 5, "the outage", run, log)
        private_redis.start()                                        # back, and empty

        def caught_up():
            with engine.connect() as conn:
                fired = conn.scalar(select(func.count()).select_from(Event).where(
                    Event.ticket_id == ticket_id, Event.action == "timer_overdue"))
                waiting = conn.scalar(select(func.count()).select_from(InboundSms).where(
                    InboundSms.processed_at.is_(None)))
            return fired >= 1 and waiting == 0

        wait_until(caught_up, RECOVERY_TIMEOUT, "recovery", run, log)
        assert worker.is_running() and the_worker(run).pid == worker.pid, "the worker was replaced"
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(Event).where(
                Event.ticket_id == ticket_id, Event.action == "timer_overdue")) == 1
            by_sender = dict(conn.execute(
                select(Ticket.caller_phone, func.count()).where(Ticket.channel == Channel.SMS)
                .group_by(Ticket.caller_phone)).all())
        assert by_sender == dict.fromkeys(senders, 1)
        assert log.read_text().count(WORKER_PHRASE) == 1              # one outage, one line

        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=40) == 0, log.read_text()[-4000:]


def test_a_worker_asked_to_stop_while_redis_is_down_exits_in_bounded_time(
        seeded_instance, env, tmp_path, private_redis):
    env = {**env, "REDIS_URL": private_redis.url}
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen([*_hotline(), "worker"], env=env, stdout=out,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_until(lambda: "Listening on" in log.read_text() or "subscribing to channel" in log.read_text(),
                   30, "the worker started", worker, log)
        private_redis.stop()
        wait_until(lambda: WORKER_PHRASE in log.read_text(), 20, "the outage noticed", worker, log)
        asked = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        took = time.monotonic() - asked
        assert took < 12, f"took {took:.1f}s to stop:\n{log.read_text()[-3000:]}"
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
