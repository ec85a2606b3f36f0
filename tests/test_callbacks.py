"""回访 after an approved reply: the SMS survey, the caller's answer, silence and its limit."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from hotline import callbacks, tasks
from hotline.extensions import db

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
PHONE = "+8613800000001"   # the default caller in tests/helpers.py


def run(app, func, *args):
    """Run a job function the way the worker does (own app context, one commit)."""
    with app.app_context():
        return func(*args)


def surveys(api, tid: int) -> list[dict]:
    return [m for m in api.ticket(tid)["messages"] if m["purpose"] == "callback_survey"]


def approved(api) -> int:
    return api.callback_pending(unit="gulou")["id"]


def test_approval_texts_the_survey_and_it_waits_in_the_outbox_without_credentials(app, api):
    tid = approved(api)
    assert run(app, tasks.callback_survey, tid, 0, 1) is True
    assert run(app, tasks.callback_survey, tid, 0, 1) is False        # a duplicate job
    [message] = surveys(api, tid)
    assert message["status"] == "queued"
    assert "1满意 2基本满意 3不满意" in message["body"] and api.ticket(tid)["number"] in message["body"]
    run(app, tasks.deliver_message, message["id"])
    [message] = surveys(api, tid)
    assert (message["status"], message["status_detail"]) == ("not_sent", "no credentials")
    assert message["to"] != PHONE and message["to"].endswith(PHONE[-4:])   # masked
    listed = api.get("/api/v1/outbox?status=not_sent", "supervisor1").json
    assert [m["id"] for m in listed] == [message["id"]]
    api.get("/api/v1/outbox", "handler-gulou", expect=403)


def test_the_approval_enqueues_the_survey_job(app, api):
    from rq import Queue

    from hotline.redis import connection

    tid = approved(api)
    with app.app_context():
        jobs = Queue("default", connection=connection()).jobs
        assert any(job.id == f"callback-{tid}-0-1" for job in jobs)


@pytest.mark.parametrize("answer, state, rating, resolved", [
    ("1", "closed", 1, True),
    ("2 已解决", "closed", 2, True),
    ("1 但是未解决", "in_progress", 1, False),
    ("3", "in_progress", 3, False),
    ("不满意", "in_progress", 3, False),
])
def test_the_callers_sms_answer_is_recorded(app, api, answer, state, rating, resolved):
    tid = approved(api)
    run(app, tasks.callback_survey, tid, 0, 1)
    with app.app_context():
        ticket = callbacks.record_answer(PHONE, answer)
        db.session.commit()
        assert ticket.id == tid
    seen = api.ticket(tid)
    assert seen["state"] == state
    assert (seen["callback"]["rating"], seen["callback"]["resolved"]) == (rating, resolved)
    event = api.events(tid)[-1]
    assert event["action"] == "record_callback" and event["actor"] is None
    assert event["data"]["note"].startswith("短信回复")
    if state == "in_progress":
        assert seen["rework_count"] == 1


def test_text_that_is_not_an_answer_is_left_alone(app, api):
    tid = approved(api)
    with app.app_context():
        assert callbacks.record_answer(PHONE, "你好，请问进度") is None
        assert callbacks.record_answer("+8613999999999", "1") is None
    assert api.ticket(tid)["state"] == "callback_pending"


def test_silence_counts_as_attempts_then_closes_as_unreachable(app, api):
    with time_machine.travel(T0, tick=False):
        tid = approved(api)
        run(app, tasks.callback_survey, tid, 0, 1)
    for attempt in (1, 2):
        with time_machine.travel(T0 + timedelta(hours=4 * attempt), tick=False):
            assert run(app, tasks.callback_followup, tid, 0, attempt) is True
            api.forget_tokens()
            seen = api.ticket(tid)
            assert (seen["state"], seen["callback"]["attempts"]) == ("callback_pending", attempt)
            run(app, tasks.callback_survey, tid, 0, attempt + 1)
    assert len(surveys(api, tid)) == 3
    with time_machine.travel(T0 + timedelta(hours=12), tick=False):
        assert run(app, tasks.callback_followup, tid, 0, 3) is True
        api.forget_tokens()
        closed = api.ticket(tid)
    assert (closed["state"], closed["resolution"]) == ("closed", "unreachable")
    assert closed["callback"]["attempts"] == 3
    # Late jobs find nothing to do.
    assert run(app, tasks.callback_followup, tid, 0, 3) is False
    assert run(app, tasks.callback_survey, tid, 0, 4) is False


def test_a_seat_callback_meanwhile_makes_the_follow_up_a_no_op(app, api):
    tid = approved(api)
    run(app, tasks.callback_survey, tid, 0, 1)
    api.act(tid, "record_callback", "seat1",
            {"reached": True, "resolved": True, "satisfied": True, "rating": 1})
    assert run(app, tasks.callback_followup, tid, 0, 1) is False
    assert api.ticket(tid)["state"] == "closed"


def test_rework_starts_a_new_survey_cycle(app, api):
    tid = approved(api)
    run(app, tasks.callback_survey, tid, 0, 1)
    with app.app_context():
        callbacks.record_answer(PHONE, "3")
        db.session.commit()
    api.act(tid, "reply", "handler-gulou", {"result": "再次上门维修", "resolved": True})
    api.act(tid, "approve_reply", "dispatcher1", {"note": "同意"})
    assert run(app, tasks.callback_followup, tid, 0, 1) is False      # the old cycle's job
    assert run(app, tasks.callback_survey, tid, 1, 1) is True
    assert len(surveys(api, tid)) == 2


@pytest.mark.parametrize("text, parsed", [
    ("1", (1, True)), (" 2 ", (2, True)), ("3", (3, False)), ("满意", (1, True)),
    ("基本满意，已解决", (2, True)), ("1未解决", (1, False)), ("没解决 2", (2, False)),
    ("谢谢", None), ("", None),
])
def test_parse_answer(text, parsed):
    assert callbacks.parse_answer(text) == parsed
