"""In a real browser (issue 22's Done-when): a dispatcher bulk-dispatches three tickets with the
lead and co-units chosen by typing two characters; a village handler's inbox fits a phone's
375 px with no sideways scroll. `DOC_SCREENSHOTS=1` refreshes docs/screenshots/ for the README."""

import os
from pathlib import Path

from tests.console.test_browser import action, chromium, live_server, person, shot  # noqa: F401

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def docs_shot(page, name: str) -> None:
    """To test-artifacts/ like every screenshot; to docs/screenshots/ (committed, linked from the
    README) too when DOC_SCREENSHOTS=1, so an ordinary run leaves the work tree clean."""
    shot(page, name)
    if os.environ.get("DOC_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)


def pick(page, select: str, typed: str, choice: str) -> None:
    """Type into the picker over `select` and click the suggestion named `choice`."""
    box = page.locator(f"{select} + .unit-picker")
    box.locator("input").fill(typed)
    box.locator("li[role=option]", has_text=choice).first.click()


def test_bulk_dispatch_of_three_tickets_with_co_units_chosen_by_typing(person, api):  # noqa: F811
    subjects = ["王陵街道路面塌陷", "泉山区小区噪音扰民", "学校门口占道经营"]
    tickets = []
    for subject in subjects:
        created = api.create(subject=subject, location={"unit": "quanshan", "address": "王陵路"})
        api.act(created["id"], "submit", "seat1")
        tickets.append(created)
    api.dispatched(unit="gulou")                 # work already with the counties
    api.in_progress(unit="yunlong")
    dispatcher = person("dispatcher1")
    dispatcher.get_by_role("link", name="待派单").click()
    assert "各单位工作量" in dispatcher.inner_text(".workload")
    for ticket in tickets:
        dispatcher.locator(f"tr[data-ticket='{ticket['number']}'] input[name=ticket]").check()
    form = "#bulk-form"
    assert dispatcher.locator(f"{form} select[name=unit]").is_hidden()      # the picker stands in
    pick(dispatcher, f"{form} select[name=unit]", "泉山", "泉山区")
    pick(dispatcher, f"{form} select[name=co_units]", "云龙", "云龙区")
    # Two 教育局: the path says which is 鼓楼区's.
    box = dispatcher.locator(f"{form} select[name=co_units] + .unit-picker")
    box.locator("input").fill("教育")
    option = box.locator("li[role=option]", has_text="鼓楼区教育局")
    assert "鼓楼区" in option.locator(".path").inner_text()
    docs_shot(dispatcher, "dispatcher-queue")
    option.click()
    assert sorted(box.locator(".chip").evaluate_all("chips => chips.map(c => c.dataset.code)")) == \
        ["gulou-edu", "yunlong"]
    dispatcher.fill(f"{form} input[name=note]", "请会同相关单位办理")
    dispatcher.get_by_role("button", name="对选中工单派单").click()
    dispatcher.get_by_text("3 张已完成，0 张未处理").wait_for()
    shot(dispatcher, "bulk-dispatch-result")
    for ticket in tickets:
        done = api.ticket(ticket["id"])
        assert (done["state"], done["lead_unit"], sorted(done["co_units"])) == \
            ("dispatched", "quanshan", ["gulou-edu", "yunlong"])
    # One went to the wrong county: recalled before 泉山区 signs, and dispatched again by typing.
    dispatcher.get_by_role("link", name=tickets[0]["number"]).click()
    action(dispatcher, "recall", "撤回改派", {"reason": "属铜山区管辖"})
    assert "待派单" in dispatcher.locator(".state-badge").inner_text()
    assert dispatcher.locator("#action-dispatch .no-js-hint").is_hidden()    # no Ctrl-click to explain
    pick(dispatcher, "#action-dispatch select[name=unit]", "铜山", "铜山区")
    shot(dispatcher, "ticket-dispatch-picker")
    dispatcher.locator("#action-dispatch button[type=submit]").click()
    dispatcher.get_by_text("已完成：派单").wait_for()
    assert api.ticket(tickets[0]["id"])["lead_unit"] == "tongshan"
    timeline = dispatcher.inner_text(".timeline")
    assert "撤回改派" in timeline and "原承办单位 泉山区" in timeline


def test_a_village_handlers_inbox_fits_a_phone(chromium, live_server, api):  # noqa: F811
    unit = "gulou-huanglou-hepan"
    for subject in ["河畔社区3号楼前路灯坏了一个月，晚上看不见路", "楼道堆放杂物堵塞消防通道",
                    "小区门口积水"]:
        created = api.create(subject=subject)
        api.act(created["id"], "submit", "seat1")
        api.act(created["id"], "dispatch", "dispatcher1", {"unit": "gulou"})
        api.act(created["id"], "acknowledge", "handler-gulou")
        api.act(created["id"], "forward", "handler-gulou", {"unit": unit})
    context = chromium.new_context(base_url=live_server, locale="zh-CN",
                                   viewport={"width": 375, "height": 812},
                                   is_mobile=True, has_touch=True, device_scale_factor=2)
    context.set_default_timeout(10_000)
    try:
        phone = context.new_page()
        phone.goto("/console/login")
        phone.fill("input[name=username]", f"handler-{unit}")
        phone.fill("input[name=password]", "demo")
        phone.click("button[type=submit]")
        phone.wait_for_url("**/console/inbox**")
        cards = phone.locator("table.tickets tbody tr")
        assert cards.count() == 3
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        first = cards.first.bounding_box()
        assert first["width"] <= 375 and first["x"] >= 0
        # A card of "label：value" lines, not columns.
        assert phone.locator("table.tickets thead").is_hidden()
        label = cards.first.locator("td[data-label]").first.evaluate(
            "td => getComputedStyle(td, '::before').content")
        assert label == '"受理时间："'
        docs_shot(phone, "handler-inbox-phone")
        cards.first.locator("input[name=ticket]").check()
        phone.get_by_role("button", name="对选中工单签收").click()
        phone.get_by_text("1 张已完成，0 张未处理").wait_for()
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        context.close()
