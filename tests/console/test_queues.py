"""The queues of each role: what is listed, how it is coloured, paging, notices and exports."""

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from tests.helpers import at


def row_of(page: str, number: str) -> str:
    match = re.search(rf'<tr class="([^"]*)" data-ticket="{number}">', page)
    assert match, number
    return match.group(1)


def test_dispatch_queue_lists_pending_tickets_with_a_one_click_suggestion(browser, api):
    waiting = api.create()
    api.act(waiting["id"], "submit", "seat1")
    not_yet = api.create()
    dispatcher = browser("dispatcher1")
    page = dispatcher.html("/console/dispatch")
    assert waiting["number"] in page and not_yet["number"] not in page
    assert "派给 鼓楼区" in page
    dispatcher.post(f"/console/tickets/{waiting['id']}/actions/dispatch",
                    {"unit": "gulou", "next": "/console/dispatch"})
    assert api.ticket(waiting["id"])["lead_unit"] == "gulou"
    assert waiting["number"] not in dispatcher.html("/console/dispatch")
    browser("seat1").get("/console/dispatch", expect=403)


def test_review_tabs_list_returns_extensions_and_replies(browser, api):
    returned = api.dispatched(unit="yunlong")
    api.act(returned["id"], "return", "handler-yunlong", {"reason": "不属于本区"})
    extension = api.in_progress()
    api.act(extension["id"], "request_extension", "handler-gulou", {"days": 2, "reason": "需协调"})
    replied = api.replied()
    dispatcher = browser("dispatcher1")
    tabs = {"returns": returned, "extensions": extension, "replies": replied}
    for tab, ticket in tabs.items():
        page = dispatcher.html(f"/console/review?tab={tab}")
        assert ticket["number"] in page, tab
        assert all(other["number"] not in page for name, other in tabs.items() if name != tab)
        assert f'href="/console/tickets/{ticket["id"]}"' in page
    assert re.search(r'退单申请 <span class="count">1</span>', page)


# The due-soon and overdue tabs read the clocks first and list up to OVERDUE_BY_ID tickets by
# id (500), else by an EXISTS (0): the same tabs either way.
@pytest.mark.parametrize("by_id", [500, 0])
def test_unit_inbox_tabs_and_their_colours(browser, api, monkeypatch, by_id):
    from hotline.tickets import service

    monkeypatch.setattr(service, "OVERDUE_BY_ID", by_id)
    with at(api, 2026, 11, 19, 10, 0):          # Thursday: acknowledge due Friday 10:00
        overdue = api.dispatched()
    with at(api, 2026, 11, 20, 16, 0):          # Friday 16:00: due Monday 16:00, warned by now
        warned = api.dispatched()
    fresh = api.dispatched()
    working = api.in_progress()
    handler = browser("handler-gulou")

    page = handler.html("/console/inbox?tab=acknowledge")
    for ticket in (overdue, warned, fresh):
        assert ticket["number"] in page
    assert working["number"] not in page
    assert "overdue" in row_of(page, overdue["number"]).split()
    assert "warned" in row_of(page, warned["number"]).split()
    assert row_of(page, fresh["number"]).strip() == ""
    assert "已超期" not in page and "超期" in page

    page = handler.html("/console/inbox?tab=in_progress")
    assert working["number"] in page and fresh["number"] not in page
    page = handler.html("/console/inbox?tab=due_soon")
    assert warned["number"] in page and overdue["number"] not in page and fresh["number"] not in page
    page = handler.html("/console/inbox?tab=overdue")
    assert overdue["number"] in page and warned["number"] not in page
    assert re.search(r'超期 <span class="count">1</span>', page)
    handler.get("/console/inbox?tab=nope", expect=404)
    browser("dispatcher1").get("/console/inbox", expect=403)


def test_co_unit_work_shows_in_the_co_units_inbox(browser, api):
    ticket = api.dispatched(co_units=["police"])
    police = browser("handler-police")
    assert ticket["number"] in police.html("/console/inbox?tab=acknowledge")
    api.act(ticket["id"], "acknowledge", "handler-police")
    assert ticket["number"] not in police.html("/console/inbox?tab=acknowledge")
    assert ticket["number"] in police.html("/console/inbox?tab=in_progress")
    api.act(ticket["id"], "submit_opinion", "handler-police", {"opinion": "已巡逻"})
    assert ticket["number"] not in police.html("/console/inbox?tab=in_progress")


def test_supervisor_boards_crisis_and_overdue_in_red(browser, api):
    crisis = api.create(priority="crisis")
    normal = api.create()
    with at(api, 2026, 11, 19, 10, 0):
        late = api.dispatched()
    supervisor = browser("supervisor1")
    page = supervisor.html("/console/boards/crisis")
    assert crisis["number"] in page and normal["number"] not in page
    page = supervisor.html("/console/boards/overdue")
    assert late["number"] in page and crisis["number"] not in page
    assert "overdue" in row_of(page, late["number"]).split()
    supervisor.post(f"/console/tickets/{late['id']}/actions/supervise",
                    {"note": "请今日办结", "next": "/console/boards/overdue"})
    assert api.ticket(late["id"])["supervise_count"] == 1
    browser("handler-gulou").get("/console/boards/overdue", expect=403)


def test_notices_inbox_and_mark_read(browser, api):
    ticket = api.dispatched()
    api.act(ticket["id"], "supervise", "supervisor1", {"note": "请加快"})
    handler = browser("handler-gulou")
    page = handler.html("/console/notices")
    assert "督办" in page and "请加快" in page and 'class="unread"' in page
    notice_id = int(re.search(r"/console/notices/(\d+)/read", page).group(1))
    browser("handler-yunlong").post(f"/console/notices/{notice_id}/read", expect=404)
    handler.post(f"/console/notices/{notice_id}/read")
    page = handler.html("/console/notices")
    assert 'class="unread"' not in page and "已读" in page
    assert "请加快" not in browser("handler-yunlong").html("/console/notices")


def test_callback_list_holds_the_seats_desks_only(browser, api):
    general = api.callback_pending()
    seat = browser("seat1")
    page = seat.html("/console/callbacks")
    assert general["number"] in page
    assert general["number"] not in browser("seat2").html("/console/callbacks")
    seat.post(f"/console/tickets/{general['id']}/actions/record_callback",
              {"reached": "false", "note": "无人接听"})
    ticket = api.ticket(general["id"])
    assert ticket["state"] == "callback_pending" and ticket["callback"]["attempts"] == 1


def test_ticket_list_filters_and_pages(browser, api):
    for _ in range(23):
        api.create()
    dispatched = api.dispatched(unit="yunlong")
    supervisor = browser("supervisor1")
    page = supervisor.html("/console/tickets")
    assert "第 1 / 2 页，共 24 条" in page
    assert dispatched["number"] in page
    page = supervisor.html("/console/tickets?page=2")
    assert "第 2 / 2 页" in page and page.count('data-ticket="') == 4
    page = supervisor.html("/console/tickets?state=dispatched")
    assert page.count('data-ticket="') == 1 and dispatched["number"] in page
    page = supervisor.html("/console/tickets?unit=yunlong")
    assert page.count('data-ticket="') == 1
    page = supervisor.html("/console/tickets?state=bogus")
    assert "请从列表中选择" in page


def test_ticket_export_csv_and_xlsx_with_filters_and_masking(app, browser, api, monkeypatch):
    first = api.dispatched(co_units=["police"])
    api.create()
    supervisor = browser("supervisor1")
    response = supervisor.get("/console/tickets/export?format=csv")
    assert response.mimetype == "text/csv" and response.is_streamed
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "工单编号" and len(rows) == 3
    response = supervisor.get("/console/tickets/export?format=csv&state=dispatched")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row[0] for row in rows[1:]] == [first["number"]]
    assert rows[1][9] == "+8613800000001"

    police = browser("handler-police")
    police.get("/console/tickets/export?format=xlsx", expect=403)   # not an exporting role by default
    monkeypatch.setitem(app.config, "EXPORT_ROLES", ["supervisor", "handler"])
    response = police.get("/console/tickets/export?format=xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = list(sheet.values)
    assert values[0][0] == "工单编号" and len(values) == 2
    masked = api.get(f"/api/v1/tickets/{first['id']}", "handler-police").json["caller"]
    assert values[1][9] == masked["phone"] and values[1][8] == masked["name"]
    police.get("/console/tickets/export?format=pdf", expect=404)
    response = supervisor.get("/console/tickets/export?format=csv&state=bogus", expect=422)
    assert "请从列表中选择" in supervisor.text(response)


def test_an_export_tells_the_page_when_its_download_has_begun(browser, api):
    """The list's export links say "being made, N s" until the answer sets the page's token."""
    api.create()
    supervisor = browser("supervisor1")
    page = supervisor.html("/console/tickets?state=intake")
    assert page.count('class="export"') == 2 and 'class="export-status' in page
    assert "正在生成导出文件，请稍候……已用 {s} 秒" in page
    for fmt in ("csv", "xlsx"):
        response = supervisor.get(f"/console/tickets/export?format={fmt}&export_token=abc123XYZ9")
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith("export_ready=abc123XYZ9;") and "HttpOnly" not in cookie
        response.close()
    # Only a token of the page's own making is echoed back.
    response = supervisor.get("/console/tickets/export?format=csv&export_token=%3Cscript%3E")
    assert "export_ready" not in response.headers.get("Set-Cookie", "")
    response.close()
    response = supervisor.get("/console/kpis/export?format=xlsx&export_token=kpi12345")
    assert response.headers["Set-Cookie"].startswith("export_ready=kpi12345;")


def test_every_page_of_each_role_opens_on_demo_data(browser, api):
    """Every role's pages open on a centre's worth of tickets. How fast is measured by
    bench/console_pages.py, not here: a timed test fails on a busy machine, not a slow page."""
    for index in range(30):
        ticket = api.create()
        if index % 3 == 0:
            api.act(ticket["id"], "submit", "seat1")
    sample = api.dispatched(co_units=["police"])
    pages = {
        "seat1": ["/console/tickets/new", "/console/callbacks", f"/console/tickets/{sample['id']}",
                  "/console/tickets", "/console/callers?phone=13800000001"],
        "dispatcher1": ["/console/dispatch", "/console/review", f"/console/tickets/{sample['id']}"],
        "handler-gulou": ["/console/inbox", "/console/inbox?tab=overdue", "/console/notices"],
        "supervisor1": ["/console/boards/crisis", "/console/boards/overdue", "/console/kpis"],
    }
    for username, paths in pages.items():
        user = browser(username)
        for path in paths:
            user.get(path)   # asserts 200


def test_the_centre_is_warned_on_every_page_until_next_years_holidays_are_entered(api, browser):
    warning = "2027 年放假安排尚未导入：跨年的工作日时限按法定节假日暂定计算"
    supervisor, dispatcher, seat = browser("supervisor1"), browser("dispatcher1"), browser("seat1")
    # November 2026, and the statutory calendar stops at 2026.
    assert warning in supervisor.html("/console/boards/overdue")
    assert warning in dispatcher.html("/console/dispatch")
    assert warning not in seat.html("/console/tickets/new")   # seats cannot act on it

    declared = api.client.post("/api/v1/calendar/years/2027", json={"note": "国办通知"},
                               headers=api.headers("admin"))
    assert declared.status_code == 200

    assert warning not in supervisor.html("/console/boards/overdue")
    assert warning not in dispatcher.html("/console/dispatch")
