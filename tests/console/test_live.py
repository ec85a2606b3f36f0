"""The console kept current: the queues' order and sort picker, the pulse's navigation counts
and the crisis alerts a dispatcher or supervisor acknowledges once (browser side: test_browser)."""

import re
from datetime import UTC, datetime, timedelta

import time_machine

from hotline.alerts import AlertAcknowledgement
from hotline.extensions import db


def queue_numbers(html: str) -> list[str]:
    return re.findall(r'<tr[^>]*data-ticket="([^"]+)"', html)


def flagged(api, **ticket) -> dict:
    """A routine ticket a seat later judges a crisis (the 标记危机 action)."""
    created = api.create(**ticket)
    api.act(created["id"], "flag_crisis", "seat1", {"reason": "孩子说不想活了"})
    return created


def pulse(session) -> dict:
    response = session.get("/console/pulse", headers={"Accept": "application/json"})
    return response.json


def acknowledge(session, alert_id: int, expect: int = 200):
    if session.token is None:
        session.get("/console/", follow_redirects=True)
    return session.client.post(f"/console/alerts/{alert_id}/ack", base_url=session.base_url,
                               headers={"X-CSRFToken": session.token,
                                        "Referer": f"{session.base_url}/console/"})


def test_the_dispatch_queue_lists_the_crisis_first_and_keeps_the_pick(api, browser):
    older_routine = api.create(subject="较早的例行工单")
    api.act(older_routine["id"], "submit", "seat1")
    crisis = api.create(subject="危机工单", priority="crisis")
    api.act(crisis["id"], "submit", "seat1")
    newer_routine = api.create(subject="较新的例行工单")
    api.act(newer_routine["id"], "submit", "seat1")
    dispatcher = browser("dispatcher1")
    html = dispatcher.html("/console/dispatch")
    assert queue_numbers(html) == [crisis["number"], older_routine["number"], newer_routine["number"]]
    assert '<option value="priority" selected>' in html
    newest = dispatcher.html("/console/dispatch?sort=newest")
    assert queue_numbers(newest) == [newer_routine["number"], crisis["number"], older_routine["number"]]
    # The picker keeps the other arguments of the page (a review tab here).
    review = dispatcher.html("/console/review?tab=replies&sort=due")
    assert '<input type="hidden" name="tab" value="replies">' in review
    assert '<option value="due" selected>' in review


def test_a_flagged_ticket_alerts_the_dispatcher_and_the_supervisor_until_each_acknowledges(api, browser, app):
    ticket = flagged(api)
    dispatcher, supervisor, seat = browser("dispatcher1"), browser("supervisor1"), browser("seat1")
    [alert] = pulse(dispatcher)["alerts"]
    assert alert["ticket"] == ticket["id"] and alert["number"] == ticket["number"]
    assert "危机工单" in alert["message"]
    assert [a["ticket"] for a in pulse(supervisor)["alerts"]] == [ticket["id"]]
    assert pulse(seat)["alerts"] == []

    response = acknowledge(dispatcher, alert["id"])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert pulse(dispatcher)["alerts"] == []
    assert len(pulse(supervisor)["alerts"]) == 1          # each user acknowledges for themselves
    with app.app_context():
        [ack] = db.session.query(AlertAcknowledgement).all()
        assert ack.ticket_id == ticket["id"] and ack.acknowledged_at is not None
        who = ack.user_id
    assert acknowledge(dispatcher, alert["id"]).status_code == 200   # a second click: same record
    with app.app_context():
        assert [a.user_id for a in db.session.query(AlertAcknowledgement)] == [who]


def test_flagging_an_already_crisis_ticket_raises_no_second_alert(api, browser):
    created = api.create(priority="crisis", subject="危机工单")
    api.act(created["id"], "add_note", "seat1", {"note": "孩子说不想活了"})
    assert len(pulse(browser("dispatcher1"))["alerts"]) == 1


def test_alerts_stop_when_the_ticket_is_closed_or_the_shift_is_over(api, browser):
    flagged(api)
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=12, minutes=1)):
        assert pulse(browser("dispatcher1"))["alerts"] == []     # the next shift, signed in anew
    dispatcher = browser("dispatcher1")
    assert len(pulse(dispatcher)["alerts"]) == 1
    gone = api.create(subject="转110", priority="crisis")
    assert len(pulse(dispatcher)["alerts"]) == 2
    api.act(gone["id"], "transfer_out", "seat1", {"to": "110", "note": "已转公安"})
    assert gone["id"] not in [a["ticket"] for a in pulse(dispatcher)["alerts"]]


def test_an_alert_is_acknowledged_only_by_whom_it_was_raised_for(api, browser):
    flagged(api)
    [alert] = pulse(browser("dispatcher1"))["alerts"]
    assert acknowledge(browser("handler-gulou"), alert["id"]).status_code == 404
    assert acknowledge(browser("dispatcher1"), 99999).status_code == 404


def test_acknowledging_needs_the_csrf_token(api, browser):
    flagged(api)
    dispatcher = browser("dispatcher1")
    [alert] = pulse(dispatcher)["alerts"]
    response = dispatcher.client.post(f"/console/alerts/{alert['id']}/ack")
    assert response.status_code == 400
    assert len(pulse(dispatcher)["alerts"]) == 1


def test_every_role_that_gets_notices_has_a_notices_entry_with_counts(api, browser):
    flagged(api)
    api.act(api.create()["id"], "submit", "seat1")
    for username in ("seat1", "dispatcher1", "supervisor1", "handler-gulou"):
        html = browser(username).html("/console/notices")
        assert re.search(r'<a href="/console/notices"[^>]*data-nav-count="console.notices_page">通知</a>',
                         html), username
    counts = pulse(browser("dispatcher1"))["counts"]
    assert counts["console.dispatch_queue"] == 1 and counts["console.notices_page"] == 1
    assert pulse(browser("supervisor1"))["counts"]["console.crisis_board"] == 1


def test_the_ticket_search_and_the_tabs_keep_the_chosen_order(api, browser):
    crisis = api.dispatched(subject="危机工单", priority="crisis")
    routine = api.dispatched(subject="例行工单")
    dispatcher = browser("dispatcher1")
    assert queue_numbers(dispatcher.html("/console/tickets?state=dispatched")) == [
        crisis["number"], routine["number"]]
    newest = dispatcher.html("/console/tickets?state=dispatched&sort=newest")
    assert queue_numbers(newest) == [routine["number"], crisis["number"]]
    assert '<input type="hidden" name="sort" value="newest">' in newest       # the filters keep it
    assert 'href="/console/review?tab=replies&amp;sort=due"' in dispatcher.html("/console/review?sort=due")
