"""In a real browser (issue 20's Done-when): an admin imports a unit tree and 50 users from
XLSX files (dry run first, then for real), resets one user's password, that user signs in and
is made to change it, and a ticket dispatched to a newly imported unit reaches them."""

import pytest
from openpyxl import Workbook

from tests.admin_org import org  # noqa: F401  (fixture)
from tests.console.test_browser import action, chromium, live_server, menu, person, shot  # noqa: F401

UNITS = [["code", "name", "kind", "parent", "contact_name", "contact_phone"],
         ["binhu-jd", "滨湖街道", "town", "binhu", "", ""],  # before its parent: the import sorts
         ["binhu", "滨湖新区", "county", "xz", "周主任", "0516-88880000"],
         ["binhu-edu", "滨湖新区教育局", "department", "binhu", "吴科长", "0516-88881111"],
         ["binhu-mz", "滨湖新区民政局", "department", "binhu", "", ""]]
UNITS_TO_FILE = ["binhu", "binhu-edu", "binhu-mz", "binhu-jd"]


def users(broken: bool) -> list[list[str]]:
    rows = [["username", "display_name", "role", "unit", "desks", "phone"]]
    for n in range(1, 51):
        unit = UNITS_TO_FILE[n % 4]
        rows.append([f"bh{n:02d}", f"滨湖承办人{n:02d}", "handler", unit, "", f"1390000{n:04d}"])
    if broken:
        rows[3][2] = "boss"          # row 4: an unknown role
        rows[7][3] = "binhu-nowhere"  # row 8: an unknown unit
        rows[9][0] = "bh01"           # row 10: a username twice in the file
    return rows


def xlsx(path, table) -> str:
    book = Workbook()
    for row in table:
        book.active.append(row)
    book.save(path)
    return str(path)


def upload(page, kind: str, path: str, button: str) -> None:
    page.select_option("select[name=kind]", kind)
    page.set_input_files("input[name=file]", path)
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()


@pytest.mark.usefixtures("org")
def test_onboarding_a_county_in_the_browser(person, api, tmp_path):  # noqa: F811
    admin = person("admin")
    menu(admin, "批量导入")
    upload(admin, "units", xlsx(tmp_path / "units.xlsx", UNITS), "试运行")
    assert "试运行通过：将新增 4" in admin.inner_text("main")
    upload(admin, "units", str(tmp_path / "units.xlsx"), "导入")
    assert "已导入：新增 4" in admin.inner_text("main")

    upload(admin, "users", xlsx(tmp_path / "broken.xlsx", users(broken=True)), "试运行")
    text = admin.inner_text("main")
    assert "3 行有问题，未写入任何数据" in text
    problems = admin.locator("table.import-rows tr.problem")
    numbers = [problems.nth(i).locator("td").first.inner_text() for i in range(problems.count())]
    assert numbers == ["4", "8", "10"]
    shot(admin, "admin-import-dry-run")
    admin.set_viewport_size({"width": 375, "height": 800})
    shot(admin, "admin-import-dry-run-375")
    admin.set_viewport_size({"width": 1360, "height": 900})
    upload(admin, "users", xlsx(tmp_path / "users.xlsx", users(broken=False)), "试运行")
    assert "试运行通过：将新增 50" in admin.inner_text("main")
    upload(admin, "users", str(tmp_path / "users.xlsx"), "导入")
    assert "已导入：新增 50" in admin.inner_text("main")

    menu(admin, "组织机构")
    tree = admin.inner_text("ul.unit-tree")
    assert "滨湖新区教育局" in tree and "吴科长" in tree
    shot(admin, "admin-units")
    admin.set_viewport_size({"width": 375, "height": 800})
    shot(admin, "admin-units-375")
    admin.set_viewport_size({"width": 1360, "height": 900})
    admin.get_by_role("link", name="滨湖新区教育局").click()
    assert "bh01" in admin.inner_text("main")
    shot(admin, "admin-unit-page")
    admin.go_back()

    menu(admin, "用户管理")
    admin.fill("main input[name=q]", "滨湖")   # not the header's ticket search
    admin.get_by_role("button", name="查询").click()
    assert "共 50 人" in admin.inner_text("main")
    shot(admin, "admin-users")
    admin.set_viewport_size({"width": 375, "height": 800})
    shot(admin, "admin-users-375")
    admin.set_viewport_size({"width": 1360, "height": 900})
    admin.get_by_role("link", name="bh01", exact=True).click()
    admin.fill("form.admin-reset input[name=password]", "Spring-Lake-2026")
    admin.get_by_role("button", name="重置密码").click()
    assert "密码已重置" in admin.inner_text("main")

    page = person("bh01", "Spring-Lake-2026", lands_on="**/console/password",
                  viewport={"width": 375, "height": 800})
    assert "管理员已重置您的密码" in page.inner_text("main")
    shot(page, "admin-forced-password-375")
    page.goto("/console/inbox")
    assert page.url.endswith("/console/password")
    page.fill("input[name=old]", "Spring-Lake-2026")
    page.fill("input[name=new]", "Harbour-Light-77")
    page.fill("input[name=confirm]", "Harbour-Light-77")
    page.get_by_role("button", name="保存新密码").click()
    page.wait_for_url("**/console/inbox")

    ticket = api.create(subject="滨湖新区学校门口积水")
    api.act(ticket["id"], "submit", "seat1")
    dispatcher = person("dispatcher1")
    dispatcher.goto(f"/console/tickets/{ticket['id']}")
    action(dispatcher, "dispatch", "派单", {"unit": "binhu-edu", "note": "新区教育局请处理"})
    assert "待签收" in dispatcher.locator(".state-badge").inner_text()

    page.reload()
    page.get_by_role("link", name=ticket["number"]).wait_for()
    shot(page, "admin-imported-handler-inbox-375")

    menu(admin, "时限规则")
    assert "紧急程度：危机" in admin.inner_text("table.time-limits")
    shot(admin, "admin-time-limits")
