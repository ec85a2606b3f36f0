"""Contact safety (issue 16 item 1): nothing automatic reaches a phone that is not safe to
text, no automatic text carries case details, a seat previews and cancels texts."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rq import Queue

from hotline import tasks
from hotline.outbox import OutboxMessage
from hotline.redis import connection
from tests.console.helpers import Browser
from tests.twilio_fakes import drain, rows, run

SH = ZoneInfo("Asia/Shanghai")
CHILD_PHONE = "+8613700000077"
CHILD_TICKET = {
    "desk": "children", "channel": "voice", "category": "rights_violation", "priority": "crisis",
    "subject": "孩子被父亲体罚",
    "content": "孩子说父亲酗酒后经常体罚他，身上有伤，不敢回家",
    "caller": {"phone": CHILD_PHONE, "name": "小明", "is_minor": True, "age": 12},
    "location": {"unit": "gulou", "address": "河畔社区"},
}
REPLY = "经核实，孩子父亲酗酒后体罚孩子属实，派出所已出具告诫书，社区网格员每周家访"


def texts_to(app, phone: str) -> list[OutboxMessage]:
    return rows(app, OutboxMessage, OutboxMessage.to_number == phone)


def through_to_callback(api, ticket: dict, reply: str = REPLY) -> int:
    tid = ticket["id"]
    api.act(tid, "submit", "seat1")
    api.act(tid, "dispatch", "dispatcher1", {"unit": "gulou", "co_units": [], "note": "请核实"})
    api.act(tid, "acknowledge", "handler-gulou")
    api.act(tid, "reply", "handler-gulou", {"result": reply, "resolved": True})
    api.act(tid, "approve_reply", "dispatcher1", {"note": "同意"})
    return tid


def test_a_childrens_crisis_ticket_gets_no_sms_and_its_callback_is_a_seat_task(app, api):
    ticket = api.create(**CHILD_TICKET)
    assert ticket["contact"]["safe_to_text"] is False
    assert ticket["contact"]["reason"] in ("crisis", "abuse", "children_desk")
    tid = through_to_callback(api, ticket)
    drain(app)                                       # the survey job and whatever else was queued

    assert texts_to(app, CHILD_PHONE) == []          # nothing queued to the child's phone, ever
    seen = api.ticket(tid)
    assert seen["state"] == "callback_pending" and seen["messages"] == []
    assert "callback_seat_task" in api.actions_logged(tid)
    with app.app_context():                          # no follow-up counting silence
        assert not [job for job in Queue("default", connection=connection()).scheduled_job_registry
                    .get_job_ids() if job.startswith(f"callback-followup-{tid}-")]

    seat = Browser(app)
    seat.login("seat1")
    page = seat.html("/console/callbacks")
    assert ticket["number"] in page and "坐席电话回访" in page
    api.act(tid, "record_callback", "seat1",
            {"reached": True, "resolved": True, "satisfied": True, "rating": 1, "note": "已电话回访"})
    closed = api.ticket(tid)
    assert (closed["state"], closed["resolution"]) == ("closed", "satisfied")
    assert ticket["number"] not in seat.html("/console/callbacks")


def test_a_general_survey_says_nothing_of_the_reply(app, api):
    ticket = api.create()
    reply = "经核实，河畔社区3号楼路灯线路老化，已于11月20日更换灯杆和线缆"
    tid = through_to_callback(api, ticket, reply)
    drain(app)
    [survey] = texts_to(app, ticket["caller"]["phone"])
    assert survey.purpose == "callback_survey"
    assert ticket["number"] in survey.body and "1满意" in survey.body
    # Every two-character piece of the reply's words (dates and numbers aside).
    words = {reply[i:i + 2] for i in range(len(reply) - 1) if not any(c.isdigit() for c in reply[i:i + 2])}
    assert {"路灯", "河畔", "核实", "更换"} <= words
    assert not [word for word in words if word in survey.body], survey.body
    assert api.ticket(tid)["state"] == "callback_pending"


def test_a_ticket_that_becomes_crisis_later_is_not_texted(app, api):
    ticket = api.create()
    assert ticket["contact"]["safe_to_text"] is True
    api.act(ticket["id"], "flag_crisis", "seat1", {"reason": "来电人说想结束自己的生命"})
    assert api.ticket(ticket["id"])["contact"] == {**api.ticket(ticket["id"])["contact"],
                                                   "safe_to_text": False, "reason": "crisis"}
    tid = through_to_callback(api, ticket)
    drain(app)
    assert texts_to(app, ticket["caller"]["phone"]) == []
    assert "callback_seat_task" in api.actions_logged(tid)


def test_a_seat_may_mark_a_childrens_ticket_safe_and_a_later_crisis_undoes_it(app, api):
    body = {**CHILD_TICKET, "priority": "normal", "subject": "咨询入学", "content": "孩子想咨询转学手续"}
    with time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=SH), tick=False):
        ticket = api.create(**body)
        assert ticket["contact"]["safe_to_text"] is False
        assert ticket["contact"]["reason"] == "children_desk"
        patched = api.client.patch(f"/api/v1/tickets/{ticket['id']}/contact", headers=api.headers("seat1"),
                                   json={"safe_to_text": True, "safe_times": "工作日 16:00-18:00",
                                         "note": "母亲的手机，可以发短信"})
        assert patched.status_code == 200, patched.json
        assert patched.json["contact"] | {"decided_at": None} == {
            "safe_to_text": True, "reason": "seat", "explanation": patched.json["contact"]["explanation"],
            "safe_times": "工作日 16:00-18:00", "note": "母亲的手机，可以发短信", "opted_out": False,
            "decided_by": "seat1", "decided_at": None}
    assert "contact_safety_set" in api.actions_logged(ticket["id"])
    with time_machine.travel(datetime(2026, 11, 23, 11, 0, tzinfo=SH), tick=False):
        api.act(ticket["id"], "flag_crisis", "seat1", {"reason": "孩子说不想活了"})
        assert api.ticket(ticket["id"])["contact"]["safe_to_text"] is False
    with time_machine.travel(datetime(2026, 11, 23, 11, 30, tzinfo=SH), tick=False):
        api.client.patch(f"/api/v1/tickets/{ticket['id']}/contact", headers=api.headers("supervisor1"),
                         json={"safe_to_text": True})
        assert api.ticket(ticket["id"])["contact"]["safe_to_text"] is True


def test_contact_safety_given_at_intake_counts(api):
    ticket = api.create(contact={"safe_to_text": False, "note": "父亲不能知道"})
    assert ticket["contact"]["safe_to_text"] is False and ticket["contact"]["reason"] == "seat"
    assert ticket["contact"]["note"] == "父亲不能知道"


@pytest.mark.parametrize("user, status", [("handler-gulou", 403), ("dispatcher1", 403),
                                          ("partner-xz-xinli", 404), ("seat1", 200),
                                          ("supervisor1", 200)])
def test_who_may_set_contact_safety(api, user, status):
    ticket = api.dispatched()
    response = api.client.patch(f"/api/v1/tickets/{ticket['id']}/contact", headers=api.headers(user),
                                json={"safe_to_text": False})
    assert response.status_code == status, response.json
    expected = status == 200
    assert (api.ticket(ticket["id"])["contact"]["reason"] == "seat") is expected


def test_an_empty_contact_patch_is_refused(api):
    ticket = api.create()
    response = api.client.patch(f"/api/v1/tickets/{ticket['id']}/contact", headers=api.headers("seat1"),
                                json={})
    api.assert_error(response, 422)


def test_a_text_queued_before_the_number_was_marked_unsafe_is_not_sent(app, api):
    ticket = api.create()
    tid = through_to_callback(api, ticket)
    run(app, tasks.callback_survey, tid, 0, 1)
    [survey] = texts_to(app, ticket["caller"]["phone"])
    api.client.patch(f"/api/v1/tickets/{tid}/contact", headers=api.headers("seat1"),
                     json={"safe_to_text": False, "note": "家人会看到短信"})
    assert run(app, tasks.deliver_message, survey.id) == "cancelled"
    [survey] = texts_to(app, ticket["caller"]["phone"])
    assert survey.status_detail.startswith("withheld")


def test_a_seat_cancels_a_queued_text_and_the_job_then_does_not_send_it(app, api):
    ticket = api.create()
    tid = through_to_callback(api, ticket)
    run(app, tasks.callback_survey, tid, 0, 1)
    [survey] = api.ticket(tid)["messages"]
    assert survey["cancellable"] is True and "1满意" in survey["body"]
    api.post(f"/api/v1/tickets/{tid}/messages/{survey['id']}/cancel", "handler-gulou",
             {"reason": "x"}, expect=403)
    cancelled = api.post(f"/api/v1/tickets/{tid}/messages/{survey['id']}/cancel", "seat1",
                         {"reason": "来电人要求不要发短信"}).json
    assert (cancelled["status"], cancelled["cancellable"]) == ("cancelled", False)
    assert run(app, tasks.deliver_message, survey["id"]) == "cancelled"
    event = api.events(tid)[-1]
    assert (event["action"], event["actor"], event["data"]["message"]) == \
        ("message_cancelled", "seat1", survey["id"])
    again = api.post(f"/api/v1/tickets/{tid}/messages/{survey['id']}/cancel", "seat1", {}, expect=409)
    assert again.json["code"] == 409


def test_a_sent_text_cannot_be_cancelled(app, api, sending_twilio):
    ticket = api.create()
    tid = through_to_callback(api, ticket)
    run(app, tasks.callback_survey, tid, 0, 1)
    [survey] = api.ticket(tid)["messages"]
    assert run(app, tasks.deliver_message, survey["id"]) == "sent"
    response = api.post(f"/api/v1/tickets/{tid}/messages/{survey['id']}/cancel", "seat1", {}, expect=409)
    assert "不能取消" in response.json["message"]
    assert response.json["error"] == "outbox.not_cancellable"
    assert api.ticket(tid)["messages"][0]["status"] == "sent"


def test_another_tickets_message_is_not_found(app, api):
    first, second = api.create(), api.create()
    tid = through_to_callback(api, first)
    run(app, tasks.callback_survey, tid, 0, 1)
    [survey] = api.ticket(tid)["messages"]
    api.post(f"/api/v1/tickets/{second['id']}/messages/{survey['id']}/cancel", "seat1", {}, expect=404)


def test_a_null_safe_to_text_withdraws_the_seats_word(api):
    ticket = api.create(**{**CHILD_TICKET, "priority": "normal", "subject": "咨询转学",
                           "content": "孩子想咨询转学手续"})
    path = f"/api/v1/tickets/{ticket['id']}/contact"
    api.client.patch(path, headers=api.headers("seat1"), json={"safe_to_text": True})
    assert api.ticket(ticket["id"])["contact"]["safe_to_text"] is True
    response = api.client.patch(path, headers=api.headers("seat1"), json={"safe_to_text": None})
    assert (response.json["contact"]["safe_to_text"], response.json["contact"]["reason"]) == \
        (False, "children_desk")


def test_no_survey_call_to_a_childs_phone_either(app, api):
    ticket = api.create(**CHILD_TICKET)
    tid = through_to_callback(api, ticket)
    assert run(app, tasks.voice_survey, tid, 0, 1) is False
    assert texts_to(app, CHILD_PHONE) == []
    assert "callback_seat_task" in api.actions_logged(tid)
