"""In a real browser: a provisional clock is marked "（暂定）" with its reason on hover,
at desktop width and at 375 px."""

from tests.console.test_browser import chromium, live_server, person, shot  # noqa: F401
from tests.helpers import at


def test_a_provisional_clock_is_marked_in_the_browser(person, api):  # noqa: F811
    with at(api, 2026, 12, 21, 10, 0):
        ticket = api.dispatched(category="complaint")          # handle 15wd reaches 2027
    supervisor = person("supervisor1")
    supervisor.goto(f"/console/tickets/{ticket['id']}")
    mark = supervisor.locator(".provisional").first
    assert mark.is_visible() and mark.inner_text() == "（暂定）"
    assert "暂定计算" in mark.get_attribute("title")
    shot(supervisor, "h4-provisional-clock")
    supervisor.set_viewport_size({"width": 375, "height": 800})
    supervisor.reload()
    assert supervisor.locator(".provisional").first.is_visible()
    shot(supervisor, "h4-provisional-clock-375")
