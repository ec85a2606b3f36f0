"""Watching the service (issue 20): the centre-wide outbox (search, resend, cancel), the
/readyz warnings page, the read audit by ticket number and its export, a unit admin ending its
own users' sessions, and the change log over the API."""

import csv
import io
from datetime import datetime

from openpyxl import load_workbook
from sqlalchemy import select

from hotline.admin.changes import AdminEvent
from hotline.extensions import db
from hotline.outbox import MessageStatus, OutboxMessage
from tests.admin_org import org  # noqa: F401  (fixture)


def message(app, ticket_id: int | None, status: MessageStatus, number: str = "+8613912345678",
            body: str = "您的诉求已受理") -> int:
    with app.app_context():
        row = OutboxMessage(key=f"test-{status.value}-{number}-{ticket_id}", channel="sms", to_number=number,
                            body=body, purpose="receipt", ticket_id=ticket_id, status=status)
        db.session.add(row)
        db.session.commit()
        return row.id


def status_of(app, message_id: int) -> str:
    with app.app_context():
        value = db.session.get(OutboxMessage, message_id).status.value
        db.session.remove()
        return value


def test_the_outbox_is_searched_and_what_has_not_gone_is_resent_or_cancelled(app, api, browser):
    ticket = api.create()
    failed = message(app, ticket["id"], MessageStatus.NOT_SENT)
    queued = message(app, ticket["id"], MessageStatus.QUEUED, "+8613800001111", "回访短信")
    sent = message(app, None, MessageStatus.DELIVERED, "+8613700002222", "别的短信")
    admin = browser("admin")
    by_number = admin.html("/console/admin/outbox?q=1391234")
    assert "您的诉求已受理" in by_number and "回访短信" not in by_number
    by_ticket = admin.html(f"/console/admin/outbox?q={ticket['number']}")
    assert "您的诉求已受理" in by_ticket and "回访短信" in by_ticket and "别的短信" not in by_ticket
    assert "别的短信" in admin.html("/console/admin/outbox?status=delivered")
    admin.post(f"/console/admin/outbox/{failed}/resend", {})
    assert status_of(app, failed) in ("queued", "not_sent")   # queued again (no Twilio: not sent again)
    admin.post(f"/console/admin/outbox/{queued}/cancel", {"reason": "家长要求不发短信"})
    assert status_of(app, queued) == "cancelled"
    assert "message_cancelled" in [e["action"] for e in api.events(ticket["id"])]
    refused = admin.post(f"/console/admin/outbox/{sent}/resend", {}, expect=409)
    assert "不能重发" in admin.text(refused)
    admin.post(f"/console/admin/outbox/{sent}/cancel", {}, expect=409)
    log = browser("supervisor1").html("/console/admin/changes?subject=outbox")
    assert "重新发送" in log and "取消发送" in log
    supervisor = browser("supervisor1")
    assert "您的诉求已受理" in supervisor.html("/console/admin/outbox")
    assert "重新发送</button>" not in supervisor.html("/console/admin/outbox")
    supervisor.post(f"/console/admin/outbox/{failed}/resend", {}, expect=403)
    browser("seat1").get("/console/admin/outbox", expect=403)


def test_the_readyz_warnings_page_links_to_what_fixes_them(browser):
    page = browser("admin").html("/console/admin/health")      # November 2026: 2027 is not declared
    assert "数据库" in page and "正常" in page
    warnings = page[page.index("需要处理的事项"):]
    assert "2027 年放假安排尚未导入" in warnings and "/console/admin/calendar?year=2027#declare" in warnings
    browser("supervisor1").get("/console/admin/health")
    browser("dispatcher1").get("/console/admin/health", expect=403)


def test_the_read_audit_by_ticket_number_and_exported_for_an_inspection(api, browser):
    child = api.create(desk="children", caller={"phone": "13912345678", "name": "小明", "is_minor": True})
    api.ticket(child["id"], "supervisor1")
    supervisor = browser("supervisor1")
    page = supervisor.html(f"/console/audit?ticket={child['number']}")
    assert f"工单 {child['id']}" in page
    bad = supervisor.get("/console/audit?ticket=not-a-ticket", expect=422)
    assert "ticket：请输入工单ID或工单号" in supervisor.text(bad)
    exported = supervisor.get(f"/console/audit/export?format=csv&ticket={child['number']}", expect=200)
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:2] == ["时间", "用户"] and any(r[1] == "supervisor1" for r in rows[1:])
    assert all(r[4] == str(child["id"]) for r in rows[1:])
    xlsx = supervisor.get("/console/audit/export?format=xlsx&user=supervisor1", expect=200)
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    assert sheet.cell(1, 9).value == "校验" and sheet.max_row >= 2
    assert isinstance(sheet.cell(2, 1).value, datetime)                  # a real date-time, Shanghai
    # The export itself is in the read audit: who exported it, in which format.
    assert "导出" in supervisor.html("/console/audit?kind=export")
    browser("seat1").get("/console/audit/export?format=csv", expect=403)


def test_a_unit_admin_ends_the_sessions_of_its_own_users_only(org, api, browser):  # noqa: F811
    handler = browser("handler-gulou")
    county_admin = browser("admin-gulou")
    page = county_admin.html("/console/admin/sessions?username=handler-gulou")
    assert "控制台登录" in page
    county_admin.post("/console/admin/sessions/handler-gulou/end", {})
    assert "/console/login" in handler.get("/console/inbox", expect=302).headers["Location"]
    county_admin.get("/console/admin/sessions?username=handler-yunlong", expect=404)
    county_admin.post("/console/admin/sessions/handler-yunlong/end", {}, expect=404)
    headers = api.headers("admin-gulou")
    assert api.client.get("/api/v1/users/handler-gulou-edu/sessions", headers=headers).status_code == 200
    assert api.client.delete("/api/v1/users/handler-yunlong/sessions", headers=headers).status_code == 404
    ended = api.client.get("/api/v1/admin/changes?subject=session", headers=headers).json
    assert [(c["actor"], c["key"], c["action"]) for c in ended] == [
        ("admin-gulou", "handler-gulou", "end_sessions")]


def test_the_change_log_over_the_api_keeps_a_unit_admin_to_its_subtree(org, api):  # noqa: F811
    admin = api.headers("admin")
    for username in ("handler-gulou-edu", "handler-yunlong"):
        api.client.patch(f"/api/v1/users/{username}", headers=admin, json={"display_name": "改名测试"})
    everything = api.client.get("/api/v1/admin/changes?subject=user", headers=admin).json
    assert {c["key"] for c in everything} == {"handler-gulou-edu", "handler-yunlong"}
    assert everything[0]["detail"]["display_name"][1] == "改名测试"
    county = api.client.get("/api/v1/admin/changes", headers=api.headers("admin-gulou")).json
    assert [c["key"] for c in county] == ["handler-gulou-edu"]
    assert api.client.get("/api/v1/admin/changes", headers=api.headers("seat1")).status_code == 403
    assert api.client.get("/api/v1/admin/changes?subject=planet", headers=admin).status_code == 422
    with api.app.app_context():
        actor = db.session.scalar(select(AdminEvent.actor).where(AdminEvent.key == "handler-yunlong"))
        assert actor == "admin"
