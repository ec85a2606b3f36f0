"""Texts from citizens: recorded at once, then a new ticket, a note or a survey answer —
exactly once, however often and however concurrently Twilio delivers the same message."""

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
import time_machine

from hotline import tasks
from hotline.channels.models import InboundSms, SmsOutcome
from hotline.extensions import db
from hotline.outbox import OutboxMessage
from hotline.tickets.models import Ticket
from hotline.types import utcnow
from tests.twilio_fakes import CALLER, drain, rows, run, signature, sms_params, twiml


def inbound(app, message_sid: str) -> InboundSms:
    [row] = rows(app, InboundSms, InboundSms.message_sid == message_sid)
    return row


def text_in(app, twilio, body: str, caller: str = CALLER) -> InboundSms:
    """Twilio delivers a text; the job runs; the stored message says what it became."""
    params = sms_params(body, caller)
    response = twilio.post("/twilio/sms", params)
    assert response.status_code == 200
    assert list(twiml(response)) == []             # answered at once, with nothing
    drain(app)
    return inbound(app, params["MessageSid"])


def replies(app, caller: str = CALLER) -> list[OutboxMessage]:
    return rows(app, OutboxMessage, OutboxMessage.to_number == caller)


def test_a_new_text_opens_an_intake_ticket_and_texts_back_its_number(app, api, twilio):
    sms = text_in(app, twilio, "您好，我想咨询一下公积金提取需要哪些材料？")
    assert sms.outcome == SmsOutcome.TICKET and sms.processed_at is not None
    ticket = api.ticket(sms.ticket_id)
    assert (ticket["state"], ticket["channel"], ticket["desk"], ticket["category"], ticket["priority"]) == (
        "intake", "sms", "general", "consultation", "normal")
    assert ticket["caller"]["phone"] == CALLER
    assert ticket["content"] == "您好，我想咨询一下公积金提取需要哪些材料？"
    assert ticket["subject"].startswith("短信：")
    [reply] = replies(app)
    assert ticket["number"] in reply.body and reply.purpose == "sms_ticket"
    assert reply.key == f"sms-reply-{sms.message_sid}" and reply.ticket_id == ticket["id"]
    assert api.events(ticket["id"])[0]["actor"] is None      # opened by the channel, no seat


@pytest.mark.parametrize("body, age", [
    ("我家孩子在学校被同学欺负，老师不管", None),
    ("我今年13岁，爸妈不让我上学", 13),
    ("我今年十五岁了，想问问打工的事", 15),
    ("未成年人能不能办银行卡", None),
])
def test_texts_about_children_go_to_the_childrens_desk(app, api, twilio, body, age):
    ticket = api.ticket(text_in(app, twilio, body).ticket_id)
    assert ticket["desk"] == "children"
    assert ticket["caller"]["age"] == age
    assert ticket["caller"]["is_minor"] is (age is not None)


def test_an_adult_stating_an_age_stays_on_the_general_desk(app, api, twilio):
    ticket = api.ticket(text_in(app, twilio, "我今年70岁，想问养老金怎么领取").ticket_id)
    assert (ticket["desk"], ticket["caller"]["age"], ticket["caller"]["is_minor"]) == ("general", 70, False)


def test_a_number_known_to_the_childrens_desk_stays_there(app, api, twilio):
    earlier = api.create(desk="children", category="psych_support",
                         caller={"phone": CALLER, "name": "小明", "is_minor": True, "age": 12})
    api.act(earlier["id"], "answer", "seat1", {"answer": "已疏导"})
    ticket = api.ticket(text_in(app, twilio, "还想再聊聊").ticket_id)
    assert ticket["desk"] == "children" and ticket["id"] != earlier["id"]


@pytest.mark.parametrize("body, category", [
    ("我要投诉小区物业乱收费", "complaint"), ("举报有人在河边非法捕鱼", "report"),
    ("建议在学府路增设红绿灯", "suggestion"), ("求助：家里老人走失了", "help"),
])
def test_the_category_follows_the_words(app, api, twilio, body, category):
    assert api.ticket(text_in(app, twilio, body).ticket_id)["category"] == category


def test_crisis_words_in_a_text_open_a_crisis_ticket(app, api, twilio):
    sms = text_in(app, twilio, "我不想活了，没有人在乎我")
    ticket = api.ticket(sms.ticket_id)
    assert ticket["priority"] == "crisis"
    assert "crisis_flagged" in api.actions_logged(ticket["id"])
    alerts = api.get("/api/v1/notices", "supervisor1").json
    assert any(ticket["number"] in notice["message"] for notice in alerts)
    # Crisis: not safe to text until a seat says so (the phone may not be the texter's own).
    assert replies(app) == []
    withheld = [e for e in api.events(ticket["id"]) if e["action"] == "text_withheld"]
    assert [e["data"]["safety"] for e in withheld] == ["crisis"]


def test_a_follow_up_within_a_day_is_a_note_on_the_open_ticket(app, api, twilio):
    first = text_in(app, twilio, "小区门口路灯坏了")
    second = text_in(app, twilio, "补充：是3号门那盏")
    assert second.outcome == SmsOutcome.NOTE and second.ticket_id == first.ticket_id
    note = api.events(first.ticket_id)[-1]
    assert note["action"] == "add_note" and note["actor"] is None
    assert note["data"]["note"] == "来电人短信补充：补充：是3号门那盏"
    assert note["data"]["message_sid"] == second.message_sid
    assert api.ticket_count() == 1
    assert [m.purpose for m in replies(app)] == ["sms_ticket", "sms_note"]


def test_a_follow_up_with_crisis_words_puts_the_open_ticket_on_the_crisis_path(app, api, twilio):
    first = text_in(app, twilio, "孩子最近不愿意上学")
    text_in(app, twilio, "他说想死")
    assert api.ticket(first.ticket_id)["priority"] == "crisis"
    assert replies(app) == []          # a child's ticket, then a crisis: nothing automatic is texted


def test_a_text_after_closing_or_after_a_day_opens_a_new_ticket(app, api, twilio):
    first = text_in(app, twilio, "小区门口路灯坏了")
    api.act(first.ticket_id, "answer", "seat1", {"answer": "已通知物业"})
    again = text_in(app, twilio, "路灯还是没修")
    assert again.outcome == SmsOutcome.TICKET and again.ticket_id != first.ticket_id
    with time_machine.travel(utcnow() + timedelta(hours=25)):
        later = text_in(app, twilio, "过了一天了，路灯还是不亮")
    assert later.outcome == SmsOutcome.TICKET
    assert later.ticket_id not in (first.ticket_id, again.ticket_id)


def test_an_answer_to_a_callback_survey_records_the_rating(app, api, twilio):
    tid = api.callback_pending(unit="gulou")["id"]          # the default caller of tests/helpers
    caller = api.ticket(tid)["caller"]["phone"]
    run(app, tasks.callback_survey, tid, 0, 1)
    sms = text_in(app, twilio, "1", caller=caller)
    assert (sms.outcome, sms.ticket_id) == (SmsOutcome.SURVEY_ANSWER, tid)
    ticket = api.ticket(tid)
    assert (ticket["state"], ticket["callback"]["rating"]) == ("closed", 1)
    assert replies(app, caller)[-1].purpose == "sms_survey_answer"


def test_another_reply_to_an_outstanding_survey_is_a_note_on_its_ticket(app, api, twilio):
    with time_machine.travel(utcnow() - timedelta(days=3)):
        tid = api.callback_pending(unit="gulou")["id"]      # opened days ago
    api.forget_tokens()
    caller = api.ticket(tid)["caller"]["phone"]
    run(app, tasks.callback_survey, tid, 0, 1)
    sms = text_in(app, twilio, "你们根本没来修", caller=caller)
    assert (sms.outcome, sms.ticket_id) == (SmsOutcome.NOTE, tid)
    assert api.ticket(tid)["state"] == "callback_pending"
    assert api.events(tid)[-1]["data"]["note"] == "来电人短信补充：你们根本没来修"


def test_the_same_delivery_twice_makes_one_ticket_and_the_same_answer(app, api, twilio):
    params = sms_params("路灯坏了一个月了")
    first = twilio.post("/twilio/sms", params)
    second = twilio.post("/twilio/sms", params)
    assert first.status_code == second.status_code == 200
    assert first.get_data() == second.get_data()
    assert len(rows(app, InboundSms)) == 1
    drain(app)
    twilio.post("/twilio/sms", params)          # a late retry after processing
    drain(app)
    sms_id = inbound(app, params["MessageSid"]).id
    assert run(app, tasks.process_inbound_sms, sms_id) == "ticket"    # a duplicate job: no-op
    assert api.ticket_count() == 1
    assert len(replies(app)) == 1


def test_five_concurrent_deliveries_make_one_ticket_and_the_same_answer(app, api, twilio, server):
    params = sms_params("小区门口的斑马线看不清了")
    url = server + "/twilio/sms"
    headers = {"X-Twilio-Signature": signature(url, params)}
    barrier = threading.Barrier(5)

    def deliver(_):
        barrier.wait(timeout=10)
        return requests.post(url, data=params, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(deliver, range(5)))
    assert [r.status_code for r in answers] == [200] * 5, [r.text for r in answers]
    assert len({r.content for r in answers}) == 1
    assert len(rows(app, InboundSms)) == 1
    drain(app)
    assert api.ticket_count() == 1
    assert len(replies(app)) == 1


def test_five_concurrent_jobs_on_one_text_make_one_ticket(app, api, twilio):
    """Workers racing on the same text: one does it; the others find it done (or fail and
    are retried by RQ, which then finds it done)."""
    params = sms_params("小区垃圾没人清运")
    twilio.post("/twilio/sms", params)
    sms_id = inbound(app, params["MessageSid"]).id
    barrier = threading.Barrier(5)

    def work(_):
        barrier.wait(timeout=10)
        try:
            return run(app, tasks.process_inbound_sms, sms_id)
        except Exception as exc:   # SQLite: a writer that lost the race; RQ would retry it
            return type(exc).__name__

    with ThreadPoolExecutor(max_workers=5) as pool:
        outcomes = list(pool.map(work, range(5)))
    assert run(app, tasks.process_inbound_sms, sms_id) == "ticket"            # the retry
    assert outcomes.count("ticket") >= 1, outcomes
    assert api.ticket_count() == 1
    assert len(replies(app)) == 1


def test_a_text_whose_job_was_lost_is_picked_up_by_the_sweep(app, api, twilio):
    from hotline.redis import connection

    params = sms_params("公交站牌被撞坏了")
    twilio.post("/twilio/sms", params)
    with app.app_context():
        connection().flushdb()                     # Redis lost the job
    with time_machine.travel(utcnow() + timedelta(minutes=2)), app.app_context():
        result = tasks.sweep()
        db.session.commit()
    assert result["inbound_sms"] == 1
    drain(app)
    assert inbound(app, params["MessageSid"]).outcome == SmsOutcome.TICKET


def test_the_sweep_leaves_a_text_whose_job_is_still_known_to_rq(app, twilio):
    params = sms_params("垃圾桶满了")
    twilio.post("/twilio/sms", params)                 # its job waits in the queue
    with time_machine.travel(utcnow() + timedelta(minutes=2)), app.app_context():
        assert tasks.sweep()["inbound_sms"] == 0
        db.session.commit()


def test_an_empty_text_with_a_picture_still_opens_a_ticket(app, api, twilio):
    params = {**sms_params(""), "NumMedia": "1", "MediaUrl0": "https://api.twilio.com/media/1"}
    twilio.post("/twilio/sms", params)
    drain(app)
    ticket = api.ticket(inbound(app, params["MessageSid"]).ticket_id)
    assert "短信无文字内容" in ticket["content"] and "彩信" in ticket["content"]


def test_a_real_worker_process_handles_the_text(app, api, twilio):
    params = sms_params("我想反映一下噪音扰民的问题")
    assert twilio.post("/twilio/sms", params).status_code == 200
    env = {**os.environ, "REDIS_URL": app.config["REDIS_URL"]}
    done = subprocess.run([sys.executable, "-m", "hotline.cli", "worker", "--burst"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    sms = inbound(app, params["MessageSid"])
    assert sms.outcome == SmsOutcome.TICKET
    with app.app_context():
        assert db.session.get(Ticket, sms.ticket_id).channel.value == "sms"
    # Its receipt went through the outbox: no credentials here, so it waits there, unsent.
    [reply] = replies(app)
    assert (reply.status.value, reply.status_detail) == ("not_sent", "no credentials")

