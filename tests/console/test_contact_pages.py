"""The console's contact safety: the ticket page shows and sets it, lists the ticket's texts
with their full text and cancels a queued one; the intake history flags an opted-out number."""

from hotline import tasks
from tests.twilio_fakes import run


def waiting_survey(app, api) -> tuple[int, dict]:
    tid = api.callback_pending(unit="gulou")["id"]
    run(app, tasks.callback_survey, tid, 0, 1)
    [message] = api.ticket(tid)["messages"]
    return tid, message


def test_the_ticket_page_previews_a_queued_text_and_a_seat_cancels_it(app, api, browser):
    tid, message = waiting_survey(app, api)
    seat = browser("seat1")
    page = seat.html(f"/console/tickets/{tid}")
    assert message["body"] in page and "取消发送" in page and "可自动发短信" in page
    seat.post(f"/console/tickets/{tid}/messages/{message['id']}/cancel", {"reason": "来电人要求"})
    assert api.ticket(tid)["messages"][0]["status"] == "cancelled"
    page = seat.html(f"/console/tickets/{tid}")
    assert "取消发送" not in page and "cancelled by seat1" in page


def test_a_handler_sees_the_texts_but_cannot_cancel_or_change_safety(app, api, browser):
    tid, _message = waiting_survey(app, api)
    page = browser("handler-gulou").html(f"/console/tickets/{tid}")
    assert "外发短信与电话" in page and "取消发送" not in page and "修改联系安全" not in page


def test_a_seat_marks_a_number_unsafe_on_the_ticket_page(app, api, browser):
    ticket = api.create()
    seat = browser("seat1")
    seat.post(f"/console/tickets/{ticket['id']}/contact",
              {"safe_to_text": "false", "safe_times": "", "note": "父亲不能知道"})
    contact = api.ticket(ticket["id"])["contact"]
    assert (contact["safe_to_text"], contact["note"]) == (False, "父亲不能知道")
    assert contact["decided_by"] == "seat1"
    page = seat.html(f"/console/tickets/{ticket['id']}")
    assert "不自动发短信" in page and "父亲不能知道" in page


def test_an_empty_contact_form_says_what_is_wrong(api, browser):
    ticket = api.create()
    response = browser("seat1").post(f"/console/tickets/{ticket['id']}/contact", {}, expect=422)
    assert "联系安全" in response.get_data(as_text=True)


def test_the_caller_history_flags_an_opted_out_number(app, api, browser):
    from hotline import contact_safety
    from hotline.extensions import db

    seat = browser("seat1")
    assert "已退订" not in seat.html("/console/callers?phone=13800000001")
    with app.app_context():
        contact_safety.record_opt("+8613800000001", True, "退订")
        db.session.commit()
    assert "已退订" in seat.html("/console/callers?phone=13800000001")


def test_the_intake_form_takes_contact_safety(api, browser):
    from tests.console.helpers import INTAKE, ticket_id_from

    seat = browser("seat1")
    assert 'name="contact_safe_to_text"' in seat.html("/console/tickets/new")
    response = seat.post("/console/tickets/new", {**INTAKE, "contact_safe_to_text": "false",
                                                  "contact_safe_times": "工作日 16:00-18:00",
                                                  "contact_note": "只能联系学校心理老师"})
    contact = api.ticket(ticket_id_from(response))["contact"]
    assert (contact["safe_to_text"], contact["reason"]) == (False, "seat")
    assert (contact["safe_times"], contact["note"]) == ("工作日 16:00-18:00", "只能联系学校心理老师")


def test_a_plain_intake_keeps_the_defaults(api, browser):
    from tests.console.helpers import INTAKE, ticket_id_from

    response = browser("seat1").post("/console/tickets/new", {**INTAKE, "contact_safe_to_text": ""})
    contact = api.ticket(ticket_id_from(response))["contact"]
    assert (contact["safe_to_text"], contact["reason"], contact["decided_by"]) == (True, "safe", None)


def test_the_seat_can_go_back_to_the_defaults(api, browser):
    ticket = api.create(contact={"safe_to_text": False})
    browser("seat1").post(f"/console/tickets/{ticket['id']}/contact", {"safe_to_text": "default"})
    contact = api.ticket(ticket["id"])["contact"]
    assert (contact["safe_to_text"], contact["reason"], contact["decided_by"]) == (True, "safe", None)
