"""The administration pages: users, the unit tree, import, one's own password (issue 20)."""

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import delete

from hotline.extensions import db
from referrals.models import Partner
from tests.admin_org import org  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("org")
GOOD = "Lantern-Harbour-42"
NEW = "Quiet-River-77"
USER = {"username": "wang.fang", "display_name": "王芳", "role": "handler", "unit": "gulou-edu",
        "phone": "139 1234 5678", "desks_sent": "1", "password": GOOD}


def xlsx(columns, rows) -> io.BytesIO:
    book = Workbook()
    book.active.append(columns)
    for row in rows:
        book.active.append(row)
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    return data


def test_an_admin_creates_a_user_who_is_sent_to_change_the_password(browser):
    admin = browser("admin")
    assert "handler-gulou-edu" in admin.html("/console/admin/users?q=鼓楼区教育局")
    assert "handler-yunlong" not in admin.html("/console/admin/users?q=鼓楼区教育局")
    created = admin.post("/console/admin/users", USER)
    assert created.headers["Location"].endswith("/console/admin/users/wang.fang")
    page = admin.html("/console/admin/users/wang.fang")
    assert "待改密码" in page and "+8613912345678" in page

    handler = browser()
    handler.login("wang.fang", GOOD)
    moved = handler.get("/console/inbox", expect=302)
    assert moved.headers["Location"].endswith("/console/password")
    assert "管理员已重置您的密码" in handler.html("/console/password")
    assert handler.get("/console/static/console.css", expect=200).mimetype == "text/css"  # the page's style
    mismatch = handler.post("/console/password", {"old": GOOD, "new": NEW, "confirm": "other"}, expect=422)
    assert "两次输入的新密码不一致" in handler.text(mismatch)
    weak = handler.post("/console/password", {"old": GOOD, "new": "wang.fang123", "confirm": "wang.fang123"},
                        expect=422)
    assert 'id="new-error"' in handler.text(weak)
    handler.post("/console/password", {"old": GOOD, "new": NEW, "confirm": NEW})
    handler.get("/console/inbox")  # the same browser stays signed in


def test_a_bad_user_form_names_the_fields_and_keeps_what_was_typed(browser):
    admin = browser("admin")
    page = admin.text(admin.post("/console/admin/users", {**USER, "username": "x", "unit": ""}, expect=422))
    assert 'id="username-error"' in page and 'id="unit-error"' in page and "王芳" in page


def test_reset_and_deactivate_from_the_users_page(browser):
    admin = browser("admin")
    admin.post("/console/admin/users", USER)
    handler = browser()
    handler.login("wang.fang", GOOD)
    handler.post("/console/password", {"old": GOOD, "new": NEW, "confirm": NEW})
    admin.post("/console/admin/users/wang.fang/password", {"password": "Morning-Tea-2026"})
    assert "/console/login" in handler.get("/console/inbox", expect=302).headers["Location"]
    handler.login("wang.fang", "Morning-Tea-2026")
    assert handler.get("/console/inbox", expect=302).headers["Location"].endswith("/console/password")
    admin.post("/console/admin/users/wang.fang", {"active": "no"})
    assert "已停用" in admin.html("/console/admin/users?q=wang")
    browser().login("wang.fang", "Morning-Tea-2026", expect=401)


def test_import_dry_run_lists_every_problem_then_imports(browser):
    admin = browser("admin")
    columns = ["code", "name", "kind", "parent", "contact_name", "contact_phone"]
    first = ["xq", "滨湖新城", "county", "xz", "刘主任", "0516-1"]
    bad = xlsx(columns, [first, ["", "", "planet", "nowhere", "", ""]])
    response = admin.post("/console/admin/import", {"kind": "units", "mode": "dry_run",
                                                    "file": (bad, "u.xlsx")},
                          expect=422, content_type="multipart/form-data")
    page = admin.text(response)
    assert "1 行有问题，未写入任何数据" in page and "planet" in page and "nowhere" in page
    assert "滨湖新城" not in admin.html("/console/admin/units")
    good = xlsx(columns, [first])
    page = admin.text(admin.post("/console/admin/import", {"kind": "units", "mode": "import",
                                                           "file": (good, "u.xlsx")},
                                 expect=200, content_type="multipart/form-data"))
    assert "已导入：新增 1" in page
    assert "滨湖新城" in admin.html("/console/admin/units") and "刘主任" in admin.html("/console/admin/units")


def test_a_unit_is_added_deactivated_and_moved_from_its_page(browser):
    admin = browser("admin")
    admin.post("/console/admin/units", {"code": "gulou-new", "name": "新设街道", "kind": "town",
                                        "parent": "gulou"})
    admin.post("/console/admin/units/gulou-new", {"parent": "yunlong"})
    assert "云龙区" in admin.html("/console/admin/units/gulou-new")
    admin.post("/console/admin/units/gulou-new", {"active": "no"})
    assert "已停用" in admin.html("/console/admin/units/gulou-new")
    cycle = admin.post("/console/admin/units/gulou", {"parent": "gulou-huanglou"}, expect=422)
    assert 'id="parent-error"' in admin.text(cycle)


PAGES = ["/console/admin/users", "/console/admin/users/handler-gulou-edu", "/console/admin/units",
         "/console/admin/units/gulou-edu", "/console/admin/import", "/console/admin/export?kind=users"]
# page -> admin, supervisor, unit admin (admin-gulou), seat, dispatcher, handler, partner
EXPECTED = {
    "/console/admin/users": (200, 200, 200, 403, 403, 403, 403),
    "/console/admin/users/handler-gulou-edu": (200, 200, 200, 403, 403, 403, 403),
    "/console/admin/users/handler-yunlong": (200, 200, 404, 403, 403, 403, 403),
    "/console/admin/units": (200, 200, 200, 403, 403, 403, 403),
    "/console/admin/units/gulou-edu": (200, 200, 200, 403, 403, 403, 403),
    "/console/admin/units/yunlong-edu": (200, 200, 404, 403, 403, 403, 403),
    "/console/admin/import": (200, 403, 200, 403, 403, 403, 403),
    "/console/admin/export?kind=users": (200, 200, 200, 403, 403, 403, 403),
    # the rules the centre owns and watching the service: admins change, supervisors read
    "/console/admin/calendar?year=2027": (200, 200, 403, 403, 403, 403, 403),
    "/console/admin/time-limits": (200, 200, 403, 403, 403, 403, 403),
    "/console/admin/routing": (200, 200, 403, 403, 403, 403, 403),
    "/console/admin/crisis-words": (200, 200, 403, 403, 403, 403, 403),
    "/console/admin/outbox?q=1391234": (200, 200, 403, 403, 403, 403, 403),
    "/console/admin/health": (200, 200, 403, 403, 403, 403, 403),
    "/console/admin/changes": (200, 200, 403, 403, 403, 403, 403),
    "/console/audit?user=seat1": (200, 200, 403, 403, 403, 403, 403),
    "/console/audit/export?format=csv": (200, 200, 403, 403, 403, 403, 403),
    # a unit admin ends the sessions of its own subtree's users
    "/console/admin/sessions?username=handler-gulou-edu": (200, 403, 200, 403, 403, 403, 403),
}
WHO = ("admin", "supervisor1", "admin-gulou", "seat1", "dispatcher1", "handler-gulou", "partner-xz-xinli")
# Posts: who may change (302), who is refused; a unit admin outside its subtree gets 403/404/422.
POSTS = {
    ("/console/admin/users/handler-gulou-edu", "display_name"): (302, 403, 302, 403, 403, 403, 403),
    ("/console/admin/users/handler-yunlong", "display_name"): (302, 403, 404, 403, 403, 403, 403),
    ("/console/admin/units/gulou-edu", "name"): (302, 403, 302, 403, 403, 403, 403),
    ("/console/admin/units/yunlong-edu", "name"): (302, 403, 404, 403, 403, 403, 403),
    # the admin's post is refused for its value (422: not a duration, no day, no route, no
    # words) or its target (404: no such message); everyone else's for the role (403)
    ("/console/admin/time-limits", "ticket.review"): (422, 403, 403, 403, 403, 403, 403),
    ("/console/admin/calendar/days", "note"): (422, 403, 403, 403, 403, 403, 403),
    ("/console/admin/calendar/2027/declare", "rest_days"): (422, 403, 403, 403, 403, 403, 403),
    ("/console/admin/routing", "note"): (422, 403, 403, 403, 403, 403, 403),
    ("/console/admin/crisis-words", "note"): (422, 403, 403, 403, 403, 403, 403),
    ("/console/admin/outbox/999999/resend", "reason"): (404, 403, 403, 403, 403, 403, 403),
    ("/console/admin/outbox/999999/cancel", "reason"): (404, 403, 403, 403, 403, 403, 403),
    ("/console/admin/sessions/handler-yunlong/end", "session"): (302, 403, 404, 403, 403, 403, 403),
}


def test_the_pages_for_every_role(browser):
    wrong = []
    sessions = {username: browser(username) for username in WHO}
    for page, codes in EXPECTED.items():
        for username, want in zip(WHO, codes, strict=True):
            got = sessions[username].get(page, expect=None).status_code
            if got != want:
                wrong.append(f"GET {page} {username}: expected {want}, got {got}")
    for (page, field), codes in POSTS.items():
        for username, want in zip(WHO, codes, strict=True):
            got = sessions[username].post(page, {field: "改名测试"}, expect=None).status_code
            if got != want:
                wrong.append(f"POST {page} {username}: expected {want}, got {got}")
    assert not wrong, "\n".join(wrong)
    unit_admin = sessions["admin-gulou"]
    listed = unit_admin.html("/console/admin/users")
    assert "handler-gulou-edu" in listed and "handler-yunlong" not in listed
    tree = unit_admin.html("/console/admin/units")
    assert "gulou-huanglou-hepan" in tree and "yunlong" not in tree
    assert "新建用户" not in sessions["supervisor1"].html("/console/admin/users")


def test_the_admin_menu_links_the_pages(browser):
    menu = browser("admin").html("/console/tickets")
    assert all(link in menu for link in ('href="/console/admin/users"', 'href="/console/admin/units"',
                                         'href="/console/admin/import"'))
    assert 'href="/console/admin/users"' in browser("admin-gulou").html("/console/admin/users")
    assert 'href="/console/admin/users"' not in browser("seat1").html("/console/tickets/new")


def test_a_deactivated_unit_is_not_offered_for_dispatch(browser, api):
    tid = api.create()["id"]
    api.act(tid, "submit", "seat1")
    dispatcher = browser("dispatcher1")
    assert 'value="gulou-edu"' in dispatcher.html(f"/console/tickets/{tid}")
    browser("admin").post("/console/admin/units/gulou-edu", {"active": "no"})
    page = dispatcher.html(f"/console/tickets/{tid}")
    assert 'value="gulou-edu"' not in page and 'value="gulou"' in page
    refused = dispatcher.action(tid, "dispatch", {"unit": "gulou-edu", "note": "请处理"}, expect=422)
    assert "已停用" in dispatcher.text(refused)


def test_the_time_limits_in_effect_with_example_deadlines(browser):
    """A crisis ticket's handle clock (24h, 7x24) started on Friday 2026-11-27 16:00 ends on
    Saturday at 16:00; a 1-working-day review started then ends on Monday."""
    page = browser("supervisor1").html("/console/admin/time-limits?start=2026-11-27T16:00")
    crisis = page[page.index("<td class=\"nowrap\">crisis</td>"):][:3000]
    assert "紧急程度：危机" in crisis and "7×24" in crisis and "2026-11-28 16:00" in crisis
    review = page[page.index("派单员审核回复"):][:400]
    assert "2026-11-30 16:00" in review
    assert "可重启期限" in page and "转介" in page
    browser("seat1").get("/console/admin/time-limits", expect=403)


PARTNER = {"code": "gulou-shegong", "name": "鼓楼区青少年社工站", "kind": "social_work",
           "services": ["case_management", "family_support"], "area": "gulou",
           "hours": "周一至周五 9:00-17:00", "capacity_per_week": "6", "contact": "0516-83330000",
           "active": "yes"}


@pytest.fixture
def no_new_partners(app):
    yield
    with app.app_context():
        db.session.execute(delete(Partner).where(Partner.code == PARTNER["code"]))
        db.session.commit()


@pytest.mark.usefixtures("no_new_partners")
def test_the_partners_directory(browser, api):
    admin = browser("admin")
    bad = admin.post("/console/admin/partners", {**PARTNER, "services": [], "capacity_per_week": "-1"},
                     expect=422)
    assert 'id="services-error"' in admin.text(bad) and 'id="capacity_per_week-error"' in admin.text(bad)
    admin.post("/console/admin/partners", PARTNER)
    page = admin.html("/console/admin/partners")
    assert "鼓楼区青少年社工站" in page and "家庭支持" in page and "鼓楼区" in page
    assert any(p["code"] == "gulou-shegong" for p in api.get("/api/v1/partners", "seat1").json)
    admin.post("/console/admin/partners/gulou-shegong", {**PARTNER, "active": ""})
    assert "已停用" in admin.html("/console/admin/partners/gulou-shegong")
    assert "添加合作机构" not in browser("supervisor1").html("/console/admin/partners")
    browser("supervisor1").get("/console/admin/partners/gulou-shegong", expect=403)
    browser("seat1").get("/console/admin/partners", expect=403)


def test_every_change_is_in_the_change_log(browser):
    admin = browser("admin")
    admin.post("/console/admin/users", USER)
    admin.post("/console/admin/users/wang.fang", {"role": "unit_admin", "display_name": "王芳"})
    admin.post("/console/admin/users/wang.fang/password", {"password": "Morning-Tea-2026"})
    admin.post("/console/admin/users/wang.fang", {"active": "no"})
    admin.post("/console/admin/units/gulou-edu", {"parent": "yunlong"})
    log = browser("supervisor1").html("/console/admin/changes?key=wang.fang")
    assert [action in log for action in ("新建", "修改", "重置密码", "停用")] == [True] * 4
    assert "handler → unit_admin" in log and "admin" in log and "yunlong" not in log
    moved = browser("supervisor1").html("/console/admin/changes?subject=unit")
    assert "移动" in moved and "gulou → yunlong" in moved
    browser("seat1").get("/console/admin/changes", expect=403)


def test_the_users_list_filters_by_unit_subtree(browser):
    page = browser("admin").html("/console/admin/users?unit=gulou-huanglou")
    assert "handler-gulou-huanglou-hepan" in page and "handler-gulou-edu" not in page
