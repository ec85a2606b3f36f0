"""The menu fits: one row on a desk's screen, a small header on a phone.

The pages added for administration (users, units, calendar, rules, outbox, audit...) sit
under one 管理 menu instead of each taking a place in the top row.
"""

import pytest

from tests.console.test_browser import chromium, live_server, person, shot  # noqa: F401,F811 (fixtures)

pytestmark = pytest.mark.browser

ROLES = ["admin", "supervisor1", "dispatcher1", "seat1", "handler-gulou"]


def _nav_rows(page) -> int:
    tops = page.eval_on_selector_all("header.top nav .nav-links > a, header.top .nav-more > summary",
                                     "els => els.map(e => Math.round(e.getBoundingClientRect().top))")
    return len(set(tops))


@pytest.mark.parametrize("username", ROLES)
def test_the_menu_is_one_row_on_a_desk_screen(person, username):  # noqa: F811 (the imported fixture)
    page = person(username)
    assert _nav_rows(page) == 1, f"{username}'s menu wraps onto {_nav_rows(page)} rows"
    shot(page, f"menu-{username}-desk")


def test_the_admin_finds_every_admin_page_under_one_menu(person):  # noqa: F811
    page = person("admin")
    menu = page.locator("header.top nav details.nav-more")
    menu.locator("summary", has_text="管理").click()
    for title in ["用户管理", "组织机构", "工作日历", "时限规则", "运行状态", "访问审计", "变更记录"]:
        assert menu.get_by_role("link", name=title, exact=True).is_visible(), title
    shot(page, "menu-admin-open")
    page.locator("main h1").click()   # a click elsewhere closes it
    assert not menu.locator(".nav-menu").is_visible()
    menu.locator("summary").click()
    menu.get_by_role("link", name="工作日历", exact=True).click()
    page.wait_for_url("**/calendar**")
    # The page one is on is marked on the closed menu too.
    summary = page.locator("header.top nav details.nav-more > summary")
    assert "active" in (summary.get_attribute("class") or "")


@pytest.mark.parametrize("username", ["admin", "supervisor1", "handler-gulou", "handler-police"])
def test_on_a_phone_the_header_leaves_the_screen_to_the_work(person, username):  # noqa: F811
    page = person(username)
    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    header = page.locator("header.top").bounding_box()
    assert header["height"] <= 812 * 0.15, f"the header takes {header['height']:.0f} px of 812"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot(page, f"menu-{username}-phone")
