"""No citizen input is lost: a survey key or a text is stored and answered at once, even while
the job that applies it keeps failing; the failure is visible, and once its cause is gone
the sweep applies the input, once.

The lasting cause is a real one the production code cannot tell from any other: the
database refuses to write a ticket's timeline (a trigger that raises on INSERT into
ticket_events, as a full disk, a read-only replica promoted by mistake or a DBA's
emergency lock would). Every path that applies input writes an event, so all three fail
the same honest way, and dropping the trigger is "the cause fixed". A second test uses the
cause the issue saw in production (an undeclared year) where it still applies.
"""

import contextlib
from datetime import timedelta

import time_machine
from sqlalchemy import func, select, text

from hotline import failed_jobs, tasks
from hotline.channels.models import InboundSms, SmsOutcome, SurveyKey
from hotline.extensions import db
from hotline.redis import connection
from hotline.tickets.models import Event, Ticket
from hotline.types import utcnow
from hotline.worker import HotlineWorker
from tests.twilio_fakes import CALLER, drain, rows, run, sid, sms_params, twiml

REFUSAL = "ticket timeline is read-only: disk quota exceeded"


@contextlib.contextmanager
def timeline_refused(app, table: str = "ticket_events"):
    """The database refuses every new row of `table` (ticket events) until the block ends."""
    with app.app_context():
        dialect = db.engine.dialect.name
        with db.engine.begin() as conn:
            if dialect == "postgresql":
                conn.execute(text(f"CREATE OR REPLACE FUNCTION refuse_event() RETURNS trigger AS $$ "
                                  f"BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$ LANGUAGE plpgsql"))
                conn.execute(text(f"CREATE TRIGGER refuse_events BEFORE INSERT ON {table} "
                                  "FOR EACH ROW EXECUTE FUNCTION refuse_event()"))
            else:
                conn.execute(text(f"CREATE TRIGGER refuse_events BEFORE INSERT ON {table} "
                                  f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"))
    try:
        yield
    finally:
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER IF EXISTS refuse_events" +
                              (f" ON {table}" if dialect == "postgresql" else "")))


class Clock:
    """The suite's clock moved on by hand (RQ's retry intervals and the sweep's wait)."""

    def __init__(self):
        self.now = utcnow()

    def later(self, minutes: int):
        self.now += timedelta(minutes=minutes)
        return time_machine.travel(self.now, tick=True)


def work_off(app, clock: Clock, rounds: int = 6) -> None:
    """Run the queue as the worker and its scheduler would over the next hour or so: each
    round moves time on past RQ's next retry interval and runs whatever is due."""
    for _ in range(rounds):
        with clock.later(11), app.app_context():
            HotlineWorker([tasks.queue()], connection=connection()).work(
                burst=True, with_scheduler=True, logging_level="WARNING")


def sweep_and_work(app, clock: Clock) -> dict:
    with clock.later(failed_jobs.RETRY_AFTER.seconds // 60 + 1):
        result = run(app, tasks.sweep)
        drain(app)
    return result


def failed_ids(app) -> list[str]:
    with app.app_context():
        return failed_jobs.registry().get_job_ids()


def readyz_warnings(api) -> list[str]:
    return api.client.get("/readyz").json["warnings"]


def events(app, tid: int, action: str) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(Event).where(
            Event.ticket_id == tid, Event.action == action))
        db.session.rollback()
        return n


def test_a_voice_survey_key_is_thanked_kept_and_applied_once_the_cause_is_fixed(app, api, twilio):
    tid = api.callback_pending(unit="gulou")["id"]
    drain(app)                                   # the SMS survey went out before the fault
    clock = Clock()
    path = f"/twilio/voice/survey?ticket={tid}&cycle=0&attempt=1"
    params = {"CallSid": sid("CA"), "Digits": "3", "From": "+8651612345", "To": CALLER}
    with timeline_refused(app):
        answer = twilio.post(path, params)
        assert answer.status_code == 200
        assert "感谢您的评价" in twiml(answer).find("Say").text
        [key] = rows(app, SurveyKey)
        assert (key.ticket_id, key.digits, key.processed_at) == (tid, "3", None)
        work_off(app, clock)
        assert failed_ids(app) == [f"survey-key-{key.id}"]
        assert any("1 个后台任务失败" in w for w in readyz_warnings(api))
        # While the cause lasts the sweep's retry fails again, and the key stays kept.
        sweep_and_work(app, clock)
        assert failed_ids(app) == [f"survey-key-{key.id}"]
        assert api.ticket(tid)["state"] == "callback_pending"
    # The cause is fixed; the survey's follow-up falls due before the retry: the caller
    # answered, so this is not silence.
    assert run(app, tasks.callback_followup, tid, 0, 1) is False
    assert api.ticket(tid)["callback"]["attempts"] == 0
    result = sweep_and_work(app, clock)
    assert result["failed_jobs_retried"] == 1
    after = api.ticket(tid)
    assert (after["state"], after["callback"]["rating"]) == ("in_progress", 3)   # back for 重办
    assert failed_ids(app) == []
    assert not [w for w in readyz_warnings(api) if "后台任务失败" in w]
    # Twilio retries the webhook, the sweep runs again: applied once.
    twiml(twilio.post(path, params))
    sweep_and_work(app, clock)
    assert events(app, tid, "record_callback") == 1


def test_an_sms_survey_answer_is_kept_and_not_counted_as_silence(app, api, twilio):
    tid = api.callback_pending(unit="gulou")["id"]
    caller = api.ticket(tid)["caller"]["phone"]
    drain(app)                                   # the SMS survey went out before the fault
    clock = Clock()
    params = sms_params("3 未解决", caller)
    with timeline_refused(app):
        answer = twilio.post("/twilio/sms", params)
        assert answer.status_code == 200 and list(twiml(answer)) == []
        work_off(app, clock)
        [sms] = rows(app, InboundSms)
        assert sms.processed_at is None
        assert failed_ids(app) == [f"sms-{sms.id}"]
    assert run(app, tasks.callback_followup, tid, 0, 1) is False      # an answer arrived
    assert api.ticket(tid)["callback"]["attempts"] == 0
    sweep_and_work(app, clock)
    [sms] = rows(app, InboundSms)
    assert (sms.outcome, sms.ticket_id) == (SmsOutcome.SURVEY_ANSWER, tid)
    after = api.ticket(tid)
    assert (after["state"], after["callback"]["rating"]) == ("in_progress", 3)
    sweep_and_work(app, clock)
    assert events(app, tid, "record_callback") == 1


def test_an_sms_that_cannot_open_its_ticket_yet_opens_it_once_later(app, api, twilio):
    clock = Clock()
    params = sms_params("小区门口的路灯坏了一个星期了，晚上很黑", "+8613811112222")
    with timeline_refused(app):
        assert twilio.post("/twilio/sms", params).status_code == 200
        work_off(app, clock)
        [sms] = rows(app, InboundSms)
        assert failed_ids(app) == [f"sms-{sms.id}"]
        assert rows(app, Ticket) == []
    sweep_and_work(app, clock)
    [ticket] = rows(app, Ticket)
    assert "路灯坏了" in ticket.content
    assert rows(app, InboundSms)[0].ticket_id == ticket.id
    sweep_and_work(app, clock)
    assert len(rows(app, Ticket)) == 1


def test_supervisors_see_the_failed_jobs_and_why(app, api, twilio):
    from tests.console.helpers import Browser

    clock = Clock()
    with timeline_refused(app):
        twilio.post("/twilio/sms", sms_params("楼道里的灯坏了", "+8613811113333"))
        work_off(app, clock)
    supervisor = Browser(app)
    supervisor.login("supervisor1")
    page = supervisor.html("/console/failed-jobs")
    [sms] = rows(app, InboundSms)
    assert f'data-job="sms-{sms.id}"' in page and "市民短信" in page
    assert REFUSAL in page
    assert 'href="/console/failed-jobs"' in supervisor.html("/console/tickets")
    seat = Browser(app)
    seat.login("seat1")
    assert seat.get("/console/failed-jobs", expect=None).status_code == 403
    sweep_and_work(app, clock)
    assert "没有失败的任务" in supervisor.html("/console/failed-jobs")


def test_a_key_pressed_while_next_year_is_undeclared_is_applied_once_it_is(app, api, twilio):
    """The case the issue saw: 不满意 on 2026-12-28 sends the ticket back for 重办, whose clock
    reaches the undeclared 2027. Whether the calendar refuses that (today) or computes a
    provisional deadline, the caller is thanked and the rating is recorded exactly once."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    shanghai = ZoneInfo("Asia/Shanghai")
    with time_machine.travel(datetime(2026, 12, 1, 10, tzinfo=shanghai), tick=True):
        tid = api.callback_pending(unit="gulou")["id"]
        drain(app)
    with time_machine.travel(datetime(2026, 12, 28, 10, tzinfo=shanghai), tick=True):
        clock = Clock()
        path = f"/twilio/voice/survey?ticket={tid}&cycle=0&attempt=1"
        answer = twilio.post(path, {"CallSid": sid("CA"), "Digits": "3"})
        assert answer.status_code == 200 and "感谢您的评价" in twiml(answer).find("Say").text
        work_off(app, clock)
        declared = api.client.post("/api/v1/calendar/years/2027", json={"note": "国办通知"},
                                   headers=api.headers("admin"))
        assert declared.status_code == 200
        sweep_and_work(app, clock)
        sweep_and_work(app, clock)
        after = api.ticket(tid)
        assert (after["state"], after["callback"]["rating"]) == ("in_progress", 3)
        assert events(app, tid, "record_callback") == 1
        assert failed_ids(app) == []


def test_a_call_goes_on_when_the_database_refuses_to_log_it(app, twilio):
    """Whatever fails inside a voice webhook, Twilio gets TwiML with 200: the menu still plays
    and the key still reaches the desk (the call log is what is missing)."""
    call_sid = sid("CA")
    with timeline_refused(app, "calls"):
        menu = twilio.call(call_sid)
        assert menu.status_code == 200
        assert "儿童服务专席，请按2" in twiml(menu).find("Gather/Say").text
        routed = twilio.press(call_sid, "2")
        assert routed.status_code == 200
        assert twiml(routed).find("Enqueue").text == "children"
