"""Crisis first, in a real browser: the queues list a crisis ticket on top, and a crisis flagged
by a seat raises a banner on a dispatcher's page that is already open, until acknowledged.

Same live server and Chromium as test_browser.py (skipped, saying so, without Chromium).
The pulse is polled every second here (CONSOLE_PULSE_SECONDS) so that no test waits 15 s.
"""

import pytest

from hotline.alerts import AlertAcknowledgement
from hotline.extensions import db
from hotline.users import get_by_username
from tests.console import test_browser

# The live server, the browser and a logged-in person of the end-to-end tests.
live_server, chromium, person = test_browser.live_server, test_browser.chromium, test_browser.person
shot = test_browser.shot


@pytest.fixture
def fast_pulse(app, monkeypatch):
    monkeypatch.setitem(app.config, "CONSOLE_PULSE_SECONDS", 1)


def first_row(page) -> str:
    return page.locator("#queue tbody tr").first.get_attribute("data-ticket")


def submitted(api, **ticket) -> dict:
    created = api.create(**ticket)
    api.act(created["id"], "submit", "seat1")
    return created


def test_a_crisis_ticket_is_first_in_the_queue_the_inbox_and_on_the_crisis_board(person, api):
    submitted(api, subject="较早的例行工单")
    urgent_crisis = submitted(api, subject="孩子有危险，9分钟内须派单", priority="crisis")
    later_crisis = submitted(api, subject="稍后的危机工单", priority="crisis")
    for n in range(3):
        submitted(api, subject=f"较新的例行工单{n}")

    dispatcher = person("dispatcher1")
    dispatcher.get_by_role("link", name="待派单").click()
    assert first_row(dispatcher) == urgent_crisis["number"]
    assert dispatcher.locator("#queue tbody tr").nth(1).get_attribute("data-ticket") == later_crisis["number"]
    shot(dispatcher, "h2-01-dispatch-queue-crisis-first")
    # Newest first only when picked; the picker keeps the page.
    dispatcher.select_option("select[name=sort]", "newest")
    dispatcher.wait_for_url("**/console/dispatch?sort=newest")
    assert first_row(dispatcher) != urgent_crisis["number"]

    api.act(later_crisis["id"], "dispatch", "dispatcher1", {"unit": "gulou"})
    routine = api.dispatched(subject="更新的例行工单")
    assert routine["id"] > later_crisis["id"]
    county = person("handler-gulou")
    county.get_by_role("link", name="待签收").click()
    assert first_row(county) == later_crisis["number"]
    shot(county, "h2-02-county-inbox-crisis-first")

    supervisor = person("supervisor1")
    supervisor.get_by_role("link", name="危机工单").click()
    # Both are crisis: the one still waiting for dispatch (due in 10 min) before the newer one
    # the county has 30 minutes to acknowledge.
    assert first_row(supervisor) == urgent_crisis["number"]
    shot(supervisor, "h2-03-crisis-board")


def test_a_flagged_crisis_alerts_the_open_dispatch_page_until_acknowledged(person, api, app, fast_pulse):
    routine = submitted(api, subject="例行工单")
    dispatcher = person("dispatcher1")
    dispatcher.get_by_role("link", name="待派单").click()
    dispatcher.locator("[data-nav-count='console.dispatch_queue'][data-count='1']").wait_for()
    assert dispatcher.locator(".crisis-alert").count() == 0
    assert first_row(dispatcher) == routine["number"]

    # A seat, elsewhere, judges a waiting ticket to be a crisis.
    flagged = submitted(api, subject="孩子在电话里一直哭")
    assert api.ticket(flagged["id"])["priority"] == "normal"
    api.act(flagged["id"], "flag_crisis", "seat1", {"reason": "孩子表达轻生念头"})

    banner = dispatcher.locator(".crisis-alert[data-alert]", has_text=flagged["number"])
    banner.wait_for()
    assert "危机警报" in banner.inner_text()
    dispatcher.locator("#live[data-beeped]").wait_for(state="attached")       # the sound was played
    # The queue refreshed itself too: the crisis is on top, without a reload.
    dispatcher.locator("#queue tbody tr").first.and_(
        dispatcher.locator(f"tr[data-ticket='{flagged['number']}']")).wait_for()
    dispatcher.locator("[data-nav-count='console.notices_page'][data-count='1']").wait_for()
    shot(dispatcher, "h2-04-dispatch-queue-crisis-alert")
    dispatcher.set_viewport_size({"width": 375, "height": 800})
    assert banner.get_by_role("button", name="确认已知悉").is_visible()
    shot(dispatcher, "h2-05-dispatch-queue-crisis-alert-375")
    dispatcher.set_viewport_size({"width": 1360, "height": 900})

    banner.get_by_role("button", name="确认已知悉").click()
    banner.wait_for(state="detached")
    with app.app_context():
        [ack] = db.session.query(AlertAcknowledgement).all()
        assert (ack.user_id, ack.ticket_id) == (get_by_username("dispatcher1").id, flagged["id"])
    # Not raised again for this user after a reload; the supervisor still has it.
    dispatcher.reload()
    dispatcher.locator("[data-nav-count='console.dispatch_queue'][data-count='2']").wait_for()
    assert dispatcher.locator(".crisis-alert").count() == 0
    supervisor = person("supervisor1")
    supervisor.locator(".crisis-alert", has_text=flagged["number"]).wait_for()
    shot(supervisor, "h2-06-supervisor-crisis-alert")
