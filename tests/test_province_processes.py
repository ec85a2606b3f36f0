"""A provincial deployment in miniature: two `hotline web` and three `hotline worker` processes on
one PostgreSQL and one Redis, under a burst of texts, API intake, actions and a clock storm.

Every text is posted to both web nodes (Twilio retries reach whichever node the balancer picks),
the storm's clocks are all due before the workers start (so three start-up sweeps race for them),
and receipts go to a loopback Twilio. Afterwards: one ticket per text, one firing per clock, one
receipt per sender, every API action applied once. docs/operations.md "A provincial deployment"
describes the same layout.
"""

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psutil
import psycopg
import pytest
from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.engine import make_url

from hotline.channels.models import InboundSms
from hotline.clocks.models import Timer, TimerFiring
from hotline.outbox import MessageStatus, OutboxMessage
from hotline.tickets.models import Channel, Event, Ticket
from hotline.units import Unit
from tests import test_cli, test_faults_redis
from tests.test_cli import _free_port, _hotline, _hotline_ok, _kill, _request
from tests.test_run_outlives_redis import text_in
from tests.twilio_fakes import ACCOUNT_SID, AUTH_TOKEN, HOTLINE_NUMBER, fake_twilio, sid  # noqa: F401

pytestmark = pytest.mark.usefixtures("app")

WEB_NODES, WORKERS = 2, 3
TEXTS, API_TICKETS, STORM = 30, 20, 200
TIMEOUT = 240
REQUEST_TIMEOUT = 30

instance = test_cli.instance
private_redis = test_faults_redis.private_redis


@pytest.fixture
def province_db():
    """A database of this test's own on the suite's PostgreSQL server (dropped afterwards)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("several nodes share one PostgreSQL; the SQLite file is for a single node")
    name = f"hotline_province_{uuid.uuid4().hex[:8]}"
    admin = make_url(url).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_url(url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def storm_of_due_clocks(engine, count: int) -> list[int]:
    """`count` dispatched tickets whose acknowledge clocks are all already due (a holiday's end)."""
    now = datetime.now(UTC)
    due = now - timedelta(seconds=1)
    with engine.begin() as conn:
        unit = conn.scalar(select(Unit.id).where(Unit.code == "gulou"))
        ticket_ids = conn.scalars(insert(Ticket).returning(Ticket.id), [dict(
            number=f"STORM-{i:06d}", desk="general", channel="voice", category="help",
            priority="normal", state="dispatched", content="节后集中到期", subject="",
            lead_unit_id=unit, created_at=now, updated_at=now, event_seq=0, version=1,
            caller_is_minor=False, callback_attempts=0, rework_count=0, return_count=0,
            extended_days=0, supervise_count=0) for i in range(count)]).all()
        conn.execute(insert(Timer), [dict(
            ticket_id=ticket_id, kind="acknowledge", state="running", started_at=now - timedelta(days=7),
            warn_at=due - timedelta(hours=1), due_at=due, original_due_at=due) for ticket_id in ticket_ids])
    return list(ticket_ids)


def start(args: list[str], env: dict[str, str], log) -> subprocess.Popen:
    return subprocess.Popen([*_hotline(), *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)


def wait_until(predicate, what: str, processes: list[subprocess.Popen], log_path) -> None:
    deadline = datetime.now(UTC) + timedelta(seconds=TIMEOUT)
    while not predicate():
        dead = [p.args for p in processes if p.poll() is not None]
        assert not dead, f"{dead} exited:\n{log_path.read_text()[-4000:]}"
        assert datetime.now(UTC) < deadline, f"no {what} within {TIMEOUT}s:\n{log_path.read_text()[-4000:]}"
        time.sleep(0.5)


def api(base: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    """JSON in and out; a generous timeout, as a burst on a small machine queues requests."""
    request = urllib.request.Request(f"{base}{path}", data=json.dumps(body).encode(), headers={
        "Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_two_web_nodes_and_three_workers_lose_nothing_and_do_nothing_twice(
        instance, tmp_path, private_redis, province_db, fake_twilio):  # noqa: F811
    env = {**test_cli._child_env(instance), "DATABASE_URL": province_db, "REDIS_URL": private_redis.url,
           "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
           "TWILIO_FROM_NUMBER": HOTLINE_NUMBER, "TWILIO_API_BASE_URL": fake_twilio.url}
    _hotline_ok(env, "db", "upgrade")
    _hotline_ok(env, "seed", "--demo")
    engine = create_engine(province_db)
    storm = storm_of_due_clocks(engine, STORM)

    log_path = tmp_path / "province.log"
    processes: list[subprocess.Popen] = []
    with log_path.open("w") as log:
        try:
            bases = []
            for _ in range(WEB_NODES):
                port = _free_port()
                processes.append(start(["web", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                                       env, log))
                bases.append(f"http://127.0.0.1:{port}")
            for base in bases:
                wait_until(lambda b=base: _ready(b), f"{base} ready", processes, log_path)
            processes += [start(["worker"], env, log) for _ in range(WORKERS)]

            senders = [f"+8613900{i:06d}" for i in range(TEXTS)]
            with ThreadPoolExecutor(max_workers=10) as pool:
                texts = list(pool.map(lambda s: text_twice(bases, s), senders))
                tokens = {user: api(bases[0], "/api/v1/auth/token",
                                    {"username": user, "password": "demo"})[1]["token"]
                          for user in ("seat1", "dispatcher1")}
                made = list(pool.map(lambda i: intake_and_dispatch(bases[i % WEB_NODES], tokens, i),
                                     range(API_TICKETS)))
            assert texts == [(200, 200)] * TEXTS
            assert all(status == (201, 200, 200) for status, _ in made), made

            def settled() -> bool:
                with engine.connect() as conn:
                    waiting_texts = conn.scalar(select(func.count()).select_from(InboundSms).where(
                        InboundSms.processed_at.is_(None)))
                    storm_fired = conn.scalar(select(func.count()).select_from(Event).where(
                        Event.ticket_id.in_(storm), Event.action == "timer_overdue"))
                    unsent = conn.scalar(select(func.count()).select_from(OutboxMessage).where(
                        OutboxMessage.status.in_([MessageStatus.QUEUED, MessageStatus.SENDING])))
                return waiting_texts == 0 and storm_fired >= STORM and unsent == 0

            wait_until(settled, "the burst worked off", processes, log_path)
        finally:
            stop(processes)

    with engine.connect() as conn:
        by_sender = dict(conn.execute(
            select(Ticket.caller_phone, func.count()).where(Ticket.channel == Channel.SMS)
            .group_by(Ticket.caller_phone)).all())
        fired = conn.execute(select(Event.ticket_id, func.count()).where(
            Event.ticket_id.in_(storm), Event.action == "timer_overdue").group_by(Event.ticket_id)).all()
        firings = conn.scalar(select(func.count()).select_from(TimerFiring))
        dispatches = conn.execute(select(Event.ticket_id, func.count()).where(
            Event.ticket_id.in_([ticket_id for _, ticket_id in made]), Event.action == "dispatch")
            .group_by(Event.ticket_id)).all()
    engine.dispose()
    assert by_sender == dict.fromkeys(senders, 1)                      # one ticket per text
    assert sorted(fired) == sorted((ticket_id, 1) for ticket_id in storm)  # one firing per clock
    assert firings >= STORM
    assert sorted(count for _, count in dispatches) == [1] * API_TICKETS   # each action once
    receipts: dict[str, int] = {}
    for request in fake_twilio.requests:
        receipts[request.form.get("To")] = receipts.get(request.form.get("To"), 0) + 1
    assert {sender: receipts.get(sender, 0) for sender in senders} == dict.fromkeys(senders, 1)


def _ready(base: str) -> bool:
    try:
        return _request(f"{base}/readyz")[0] == 200
    except OSError:
        return False


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM to all, as an orchestrator stops nodes; whatever outlives 40 s is killed."""
    tree = [child for p in processes if p.poll() is None
            for child in psutil.Process(p.pid).children(recursive=True)]
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    _kill(tree)


def text_twice(bases: list[str], sender: str) -> tuple[int, int]:
    """The same text (one MessageSid) delivered to both nodes, as a retry through the balancer is."""
    message_sid = sid("SM")
    return tuple(text_in(base, "小区停水三天了", sender, message_sid=message_sid, timeout=REQUEST_TIMEOUT)
                 for base in bases)


def intake_and_dispatch(base: str, tokens: dict[str, str], i: int) -> tuple[tuple[int, int, int], int]:
    status, ticket = api(base, "/api/v1/tickets", {
        "desk": "general", "channel": "voice", "category": "help", "priority": "normal",
        "subject": "路灯不亮", "content": f"第{i}号楼下路灯不亮",
        "caller": {"phone": f"+861370000{i:04d}", "name": "张三", "is_minor": False},
        "location": {"unit": "gulou", "address": f"河畔社区{i}号楼"}}, tokens["seat1"])
    submitted, _ = api(base, f"/api/v1/tickets/{ticket['id']}/actions/submit", {}, tokens["seat1"])
    dispatched, _ = api(base, f"/api/v1/tickets/{ticket['id']}/actions/dispatch",
                        {"unit": "gulou", "co_units": [], "note": "请核实"}, tokens["dispatcher1"])
    return (status, submitted, dispatched), ticket["id"]
