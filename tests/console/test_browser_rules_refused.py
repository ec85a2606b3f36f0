"""What an admin and a supervisor see when the rules or the list are not what they expect:
saved time limits that no longer build (named, the shipped ones in force and edited), and a
list longer than its count ("1000+", "第 1 / 20+ 页"), on a desk's screen and on a phone."""

import pytest

from tests.console.test_browser import chromium, live_server, person, shot  # noqa: F401,F811 (fixtures)
from tests.test_rules_api import _save_limits_a_release_no_longer_builds

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}


def test_refused_time_limits_are_named_on_the_page_and_fixed_by_a_save(app, person):  # noqa: F811
    _save_limits_a_release_no_longer_builds(app)
    admin = person("admin")
    admin.goto("/console/admin/time-limits")
    warning = admin.get_by_role("alert").filter(has_text="保存的设置已不能使用")
    assert warning.is_visible() and "mandatory_report.due" in warning.inner_text()
    shot(admin, "rules-refused-time-limits")
    phone = person("admin", **PHONE)
    phone.goto("/console/admin/time-limits")
    assert phone.get_by_role("alert").filter(has_text="现按系统默认执行").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    shot(phone, "rules-refused-time-limits-375")


def test_a_list_past_its_count_says_at_least_on_a_phone(app, api, person, monkeypatch):  # noqa: F811
    for n in range(5):
        api.create(content=f"第{n}张工单")
    monkeypatch.setitem(app.config, "LIST_COUNT_CAP", 3)
    monkeypatch.setitem(app.config, "CONSOLE_PER_PAGE", 2)
    phone = person("supervisor1", **PHONE)
    phone.goto("/console/tickets")
    pager = phone.locator("nav.pager")
    assert "第 1 / 2+ 页，共 3+ 条" in pager.inner_text()
    shot(phone, "list-past-the-count-375")
    pager.get_by_role("link", name="下一页").click()
    phone.get_by_text("第 2 / 3+ 页").wait_for()
