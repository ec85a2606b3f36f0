"""Issue 21's repeat callers and hotspots in a real browser: a seat adds a caller's new request
to the open ticket from the intake history (no duplicate), the unit sees it; five callers about
one estate's water make a hotspot the supervisor is alerted to, sees on the board and dispatches
to one unit as one matter. Wide and 375 px."""

from tests.console.test_browser import chromium, live_server, person, shot  # noqa: F401,F811 (fixtures)
from tests.test_hotspots import WATER, water_hotspot


def test_a_seat_adds_a_repeat_callers_request_to_the_open_ticket(person, api):  # noqa: F811
    ticket = api.dispatched(content="幸福小区3号楼电梯坏了，老人下不了楼")
    seat = person("seat1")
    seat.goto("/console/tickets/new")
    seat.fill("input[name=caller_phone]", "+8613800000001")
    seat.locator("textarea[name=content]").fill("电梯还是坏的，今天又把人困在里面了")
    button = seat.locator("#caller-history button.append-to")
    button.wait_for()
    shot(seat, "h5-01-intake-history-append")
    seat.set_viewport_size({"width": 375, "height": 800})
    shot(seat, "h5-02-intake-history-append-375")
    seat.set_viewport_size({"width": 1360, "height": 900})
    button.click()
    seat.wait_for_url(f"**/console/tickets/{ticket['id']}")
    assert "电梯还是坏的，今天又把人困在里面了" in seat.locator("#added-requests").inner_text()
    assert len(api.get("/api/v1/tickets", "supervisor1").json) == 1          # no duplicate
    unit = person("handler-gulou")
    unit.goto("/console/notices")
    assert "电梯还是坏的" in unit.locator("main").inner_text()
    unit.goto(f"/console/tickets/{ticket['id']}")
    shot(unit, "h5-03-unit-sees-appended-request")


def test_the_supervisor_is_alerted_to_a_hotspot_and_dispatches_it_as_one_matter(app, person, api):  # noqa: F811
    water = water_hotspot(app, api)
    supervisor = person("supervisor1")
    supervisor.goto("/console/")
    banner = supervisor.locator("#live .crisis-alert").first
    banner.wait_for()
    assert "热点诉求" in banner.inner_text() and "停水" in banner.inner_text()
    assert "危机警报" not in banner.inner_text()
    shot(supervisor, "h5-04-hotspot-alert")
    supervisor.goto("/console/hotspots")
    card = supervisor.locator("section.hotspot").first
    assert all(item["number"] in card.inner_text() for item in water)
    shot(supervisor, "h5-05-hotspot-board")
    supervisor.set_viewport_size({"width": 375, "height": 800})
    shot(supervisor, "h5-06-hotspot-board-375")
    supervisor.set_viewport_size({"width": 1360, "height": 900})
    card.locator("select[name=unit]").select_option("gulou")
    card.locator("button[type=submit]").click()
    supervisor.wait_for_url(f"**/console/tickets/{water[0]['id']}")
    merged = supervisor.locator("#added-requests").inner_text()
    assert all(text in merged for text in WATER[1:5])
    shot(supervisor, "h5-07-hotspot-dispatched-primary")
    assert api.ticket(water[0]["id"])["lead_unit"] == "gulou"
