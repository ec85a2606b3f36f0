"""Clocks fire: a warning, then overdue, exactly once each; met clocks stay quiet.

Time is frozen or moved with time-machine; firing goes through the same code the
RQ jobs and the minute sweep run, on the real database and Redis.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine

from hotline import tasks
from hotline.clocks import firing
from hotline.extensions import db

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)    # a Monday


def at(delta: timedelta):
    return time_machine.travel(T0 + delta, tick=False)


def sweep(app) -> dict:
    with app.app_context():
        result = firing.sweep()
        db.session.commit()
        return result


def clock_events(api, tid: int) -> list[tuple[str, str]]:
    return [(e["action"], e["data"]["timer"]) for e in api.events(tid)
            if e["action"].startswith("timer_")]


def timer_state(api, tid: int, kind: str) -> str:
    return [t["state"] for t in api.ticket(tid)["timers"] if t["kind"] == kind][-1]


def test_warning_then_overdue_once_each(app, api):
    with at(timedelta(0)):
        tid = api.dispatched(unit="gulou", desk="children", category="psych_support")["id"]
    # children: acknowledge within 2h, warned at 80% (1h36m).
    with at(timedelta(minutes=90)):
        assert sweep(app) == {"warning": 0, "overdue": 0}
    with at(timedelta(minutes=97)):
        assert sweep(app)["warning"] == 1
        assert sweep(app) == {"warning": 0, "overdue": 0}
        assert clock_events(api, tid) == [("timer_warning", "acknowledge")]
        assert timer_state(api, tid, "acknowledge") == "warned"
    with at(timedelta(hours=2, minutes=1)):
        assert sweep(app)["overdue"] == 1
        assert sweep(app) == {"warning": 0, "overdue": 0}
        assert clock_events(api, tid) == [("timer_warning", "acknowledge"),
                                          ("timer_overdue", "acknowledge")]
        overdue = [e for e in api.events(tid) if e["action"] == "timer_overdue"][0]
        assert overdue["actor"] is None and overdue["from_state"] == overdue["to_state"] == "dispatched"
        # The unit gets a 督办 notice; the supervisor's board lists it.
        unit_inbox = api.get("/api/v1/notices", "handler-gulou").json
        assert [(n["kind"], n["ticket"]) for n in unit_inbox] == [("overdue", tid)]
        board = api.get("/api/v1/notices", "supervisor1").json
        assert [(n["kind"], n["ticket"]) for n in board] == [("overdue", tid)]
        # The overdue list shows it.
        assert tid in [t["id"] for t in api.get("/api/v1/tickets?overdue=true", "supervisor1").json]


def test_a_met_clock_never_fires(app, api):
    with at(timedelta(0)):
        tid = api.dispatched(unit="gulou", desk="children", category="psych_support")["id"]
    with at(timedelta(minutes=30)):
        api.act(tid, "acknowledge", "handler-gulou")
    with at(timedelta(hours=3)):
        sweep(app)
    assert ("timer_overdue", "acknowledge") not in clock_events(api, tid)
    assert ("timer_warning", "acknowledge") not in clock_events(api, tid)
    assert timer_state(api, tid, "acknowledge") == "met"


def test_the_job_and_the_sweep_and_a_retry_fire_once(app, api):
    with at(timedelta(0)):
        ticket = api.dispatched(unit="gulou", desk="children", category="psych_support")
    with app.app_context():
        from hotline.clocks.models import Timer

        timer_id = db.session.query(Timer.id).filter_by(ticket_id=ticket["id"], kind="acknowledge").scalar()
    with at(timedelta(hours=3)):
        with app.app_context():
            assert tasks.fire_timer(timer_id, "overdue") is True
            assert tasks.fire_timer(timer_id, "overdue") is False     # a retried job
        sweep(app)                                                      # and the sweep
        with app.app_context():
            assert tasks.fire_timer(timer_id, "warning") is False      # overdue already
    assert clock_events(api, ticket["id"]).count(("timer_overdue", "acknowledge")) == 1


def test_a_job_that_runs_early_does_nothing(app, api):
    with at(timedelta(0)):
        ticket = api.dispatched(unit="gulou")
    with app.app_context():
        from hotline.clocks.models import Timer

        timer_id = db.session.query(Timer.id).filter_by(ticket_id=ticket["id"], kind="handle").scalar()
        with at(timedelta(hours=1)):
            assert tasks.fire_timer(timer_id, "overdue") is False
        # ... but comes back at the due time (RQ may wake a job up to a second early).
        registry = tasks.queue().scheduled_job_registry
        again = [j for j in registry.get_job_ids() if j.startswith(f"timer-{timer_id}-overdue-")
                 and j.endswith("-again")]
        assert len(again) == 1
        due = db.session.get(Timer, timer_id).due_at
        assert registry.get_scheduled_time(again[0]) >= due.replace(microsecond=0)
    assert clock_events(api, ticket["id"]) == []


def test_crisis_warning_alerts_the_supervisor_at_once(app, api):
    with at(timedelta(0)):
        tid = api.dispatched(unit="gulou", desk="children", category="psych_support",
                             priority="crisis")["id"]
    with at(timedelta(minutes=25)):        # 80% of the 30-minute acknowledge clock
        sweep(app)
    board = api.get("/api/v1/notices", "supervisor1").json
    assert ("crisis_warning", tid) in [(n["kind"], n["ticket"]) for n in board]


def test_hard_case_tiers_escalate_by_name(app, api):
    with at(timedelta(0)):
        created = api.create(as_user="seat3", desk="hard_case", category="help")
        api.act(created["id"], "submit", "seat3")
    with at(timedelta(minutes=11)):          # dispatch within 10 minutes: window chief on site
        sweep(app)
    board = api.get("/api/v1/notices", "supervisor1").json
    assert any("窗口负责人" in n["message"] for n in board if n["ticket"] == created["id"])
    dispatchers = api.get("/api/v1/notices", "dispatcher1").json
    assert [(n["kind"], n["ticket"]) for n in dispatchers] == [("overdue", created["id"])]


def test_an_extension_moves_the_overdue_to_the_new_due(app, api):
    with at(timedelta(0)):
        tid = api.in_progress(unit="gulou", desk="children", category="psych_support")["id"]
        api.act(tid, "request_extension", "handler-gulou", {"days": 3, "reason": "需要家访"})
        api.act(tid, "approve_extension", "dispatcher1", {"note": "同意"})
    # children handle = 5wd -> Mon 30 Nov; +3wd -> Thu 3 Dec 10:00.
    with at(timedelta(days=7, hours=1)):
        sweep(app)
        api.forget_tokens()                  # tokens last 12 hours
        assert ("timer_overdue", "handle") not in clock_events(api, tid)
    with at(timedelta(days=10, minutes=1)):
        sweep(app)
        api.forget_tokens()
        assert clock_events(api, tid).count(("timer_overdue", "handle")) == 1


def test_timer_jobs_are_scheduled_in_redis_at_warn_and_due(app, api):
    from rq import Queue

    from hotline.redis import connection

    with at(timedelta(0)):
        ticket = api.dispatched(unit="gulou", desk="children", category="psych_support")
    with app.app_context():
        registry = Queue("default", connection=connection()).scheduled_job_registry
        job_ids = registry.get_job_ids()
        from hotline.clocks.models import Timer

        timers = db.session.query(Timer).filter_by(ticket_id=ticket["id"]).all()
        for timer in timers:
            if timer.is_open:
                for instant in (timer.warn_at, timer.due_at):
                    job_id = f"clocks-{instant:%Y%m%d%H%M%S}"
                    assert job_id in job_ids
                    assert abs((registry.get_scheduled_time(job_id) - instant).total_seconds()) < 1



def acknowledge_timer_ids(app, ticket_ids: list[int]) -> list[int]:
    with app.app_context():
        from hotline.clocks.models import Timer

        return [db.session.query(Timer.id).filter_by(ticket_id=tid, kind="acknowledge").scalar()
                for tid in ticket_ids]


def assert_each_overdue_once(api, tickets: list[int]) -> None:
    """Each ticket's acknowledge clock went overdue once on its timeline and on the board."""
    for tid in tickets:
        assert clock_events(api, tid).count(("timer_overdue", "acknowledge")) == 1
    board = api.get("/api/v1/notices", "supervisor1").json
    assert sorted(n["ticket"] for n in board if n["kind"] == "overdue") == sorted(tickets)


def test_a_storm_of_clocks_due_together_has_one_job_that_fires_them_all_once(app, api):
    """A holiday's end: many clocks fall due at one instant. They share one job, which fires
    them all in a batch; the sweep after it finds nothing; every timeline stays intact."""
    from rq import Queue

    from hotline import audit
    from hotline.clocks.models import Timer
    from hotline.redis import connection

    with at(timedelta(0)):
        tickets = [api.dispatched(unit="gulou", desk="children", category="psych_support")["id"]
                   for _ in range(12)]
    with app.app_context():
        dues = {db.session.get(Timer, timer_id).due_at for timer_id in acknowledge_timer_ids(app, tickets)}
        assert len(dues) == 1
        due = dues.pop()
        job_id = f"clocks-{due:%Y%m%d%H%M%S}"
        registry = Queue("default", connection=connection()).scheduled_job_registry
        assert [j for j in registry.get_job_ids() if j == job_id] == [job_id]
    with time_machine.travel(due, tick=False), app.app_context():
        assert tasks.fire_clocks(due.replace(microsecond=0).isoformat())["overdue"] == 12
        assert firing.sweep() == {"warning": 0, "overdue": 0}
        db.session.commit()
        assert audit.verify().broken == []
    assert_each_overdue_once(api, tickets)


def test_a_storm_larger_than_a_batch_fans_out_to_a_second_job_for_the_same_second(app, api, monkeypatch):
    """More clocks due at once than a batch holds: the instant's job, on finding its first batch
    full, queues a follow-up job for the same second, which a second worker runs alongside it
    (`SKIP LOCKED` keeps them apart). Draining the queue fires every clock exactly once, and a
    job delivered twice fires nothing again."""
    from hotline import audit
    from tests.twilio_fakes import drain

    monkeypatch.setattr(firing, "BATCH", 4)
    with at(timedelta(0)):
        tickets = [api.dispatched(unit="gulou", desk="children", category="psych_support")["id"]
                   for _ in range(firing.BATCH * 3)]
    with app.app_context():
        from hotline.clocks.models import Timer

        due = db.session.get(Timer, acknowledge_timer_ids(app, tickets)[0]).due_at
    second = due.replace(microsecond=0)
    with time_machine.travel(due, tick=False):
        with app.app_context():
            assert tasks.fire_clocks(second.isoformat())["overdue"] == 12
            follow_up = f"clocks-{second:%Y%m%d%H%M%S}-1"
            assert tasks.queue().job_ids == [follow_up]
            assert tasks.queue().fetch_job(follow_up).args == (second.isoformat(), 1)
        drain(app)
        with app.app_context():
            assert tasks.queue().job_ids == []        # the follow-up found nothing left: no third
            assert tasks.fire_clocks(second.isoformat()) == {"warning": 0, "overdue": 0}
            assert tasks.fire_clocks(second.isoformat(), 1) == {"warning": 0, "overdue": 0}
            assert firing.sweep() == {"warning": 0, "overdue": 0}
            db.session.commit()
            assert audit.verify().broken == []
    assert_each_overdue_once(api, tickets)


def test_the_sweep_fires_a_batch_in_a_few_statements_not_a_few_per_clock(app, api):
    from sqlalchemy import event

    with at(timedelta(0)):
        tickets = [api.dispatched(unit="gulou", desk="children", category="psych_support")["id"]
                   for _ in range(20)]
    statements = []
    with at(timedelta(hours=3)), app.app_context():
        engine, dialect = db.engine, db.engine.dialect.name
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            fired = firing.sweep()
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    assert fired["overdue"] >= 20
    for tid in tickets:
        assert clock_events(api, tid).count(("timer_overdue", "acknowledge")) == 1
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) < 15, "\n".join(s.split("\n")[0][:90] for s in reads)
    bumps = [s for s in statements if s.lstrip().upper().startswith("UPDATE TICKETS")]
    assert len(bumps) == 1, "each ticket's event counter: one executemany for the batch"
    notice_writes = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO NOTICES")]
    assert len(notice_writes) == 1 and "RETURNING" not in notice_writes[0].upper(), \
        "the batch's notices: one executemany, no ORM objects to give ids back to"
    event_writes = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO TICKET_EVENTS")]
    assert len(event_writes) == 1, "the batch's clock events: one statement, chained in Python"
    if dialect == "postgresql":
        # SQLite cannot batch an INSERT that must return each new id; in-process, it need not.
        assert len(statements) < 40, "\n".join(s.split("\n")[0][:90] for s in statements)
        # One array a column, not a parameter a row: the text is the same for any batch, so
        # psycopg caches it (only under 4 KB) and the server prepares it.
        assert max(len(s) for s in statements) < 4096, \
            "\n".join(s[:90] for s in statements if len(s) >= 4096)
