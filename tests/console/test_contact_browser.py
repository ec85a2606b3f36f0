"""Contact safety in a real browser: the seat reads the queued survey on the ticket page and
cancels it, marks the number unsafe; the callback list shows a child's ticket as a seat's call.
Screenshots in test-artifacts/ (h1-*.png), at desk width and at 375 px."""

from hotline import tasks
from tests.console.test_browser import chromium, live_server, person, shot  # noqa: F401  (fixtures)
from tests.test_contact_safety import CHILD_TICKET, through_to_callback
from tests.twilio_fakes import drain, run


def test_a_seat_previews_and_cancels_a_survey_and_marks_the_number_unsafe(app, api, person):  # noqa: F811
    tid = api.callback_pending(unit="gulou")["id"]
    run(app, tasks.callback_survey, tid, 0, 1)
    [message] = api.ticket(tid)["messages"]
    seat = person("seat1")
    seat.goto(f"/console/tickets/{tid}")
    outbox = seat.locator("#outbox")
    assert message["body"] in outbox.inner_text()
    shot(seat, "h1-ticket-outbox")
    seat.set_viewport_size({"width": 375, "height": 800})
    seat.locator("#outbox").scroll_into_view_if_needed()
    shot(seat, "h1-ticket-outbox-375")
    seat.set_viewport_size({"width": 1360, "height": 900})
    outbox.locator("input[name=reason]").fill("来电人说家人会看到短信")
    outbox.get_by_role("button", name="取消发送").click()
    seat.get_by_text("外发短信已取消").wait_for()
    assert "cancelled" in seat.locator("#outbox").inner_text()

    contact = seat.locator("#contact")
    contact.locator("summary").click()
    contact.locator("select[name=safe_to_text]").select_option("false")
    contact.locator("textarea[name=note]").fill("母亲的手机，父亲不能知道")
    contact.get_by_role("button", name="保存").click()
    seat.get_by_text("联系安全设置已保存").wait_for()
    assert "不自动发短信" in seat.locator("#contact").inner_text()
    shot(seat, "h1-ticket-contact-unsafe")
    assert api.ticket(tid)["contact"]["safe_to_text"] is False


def test_the_callback_list_shows_a_childs_ticket_as_a_seats_call(app, api, person):  # noqa: F811
    ticket = api.create(**CHILD_TICKET)
    through_to_callback(api, ticket)
    drain(app)
    seat = person("seat1")
    seat.goto("/console/callbacks")
    tasks_card = seat.locator(".seat-call-tasks")
    assert ticket["number"] in tasks_card.inner_text()
    shot(seat, "h1-callbacks-seat-task")
    seat.set_viewport_size({"width": 375, "height": 800})
    shot(seat, "h1-callbacks-seat-task-375")
