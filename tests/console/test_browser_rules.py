"""In a real browser (desktop): the admin follows the banner's link to declare 2027 from the
State Council's notice, then edits a time limit, previews what it moves, and saves it."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from hotline.extensions import db
from hotline.outbox import MessageStatus, OutboxMessage
from tests.console.test_browser import chromium, live_server, menu, person, shot  # noqa: F401 (fixtures)


@pytest.fixture
def december(api):
    """Monday 21 December 2026, the clock ticking: a 15-working-day clock reaches 2027."""
    api.forget_tokens()
    with time_machine.travel(datetime(2026, 12, 21, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=True):
        yield


@pytest.mark.usefixtures("december")
def test_an_admin_declares_2027_from_the_banner_and_edits_a_time_limit(person, api):  # noqa: F811
    ticket = api.dispatched(category="complaint")
    assert api.running_timer(ticket, "handle")["provisional"] is True
    admin = person("admin")
    banner = admin.locator("#calendar-warning")
    assert "2027 年放假安排尚未导入" in banner.inner_text()
    banner.get_by_role("link", name="录入 2027 年放假安排").click()
    assert "/console/admin/calendar?year=2027" in admin.url
    admin.fill("textarea[name=rest_days]", "2027-02-05~2027-02-13\n2027-10-04~2027-10-07")
    admin.fill("textarea[name=work_days]", "2027-02-20\n2027-10-09")
    admin.fill("input[name=note]", "国办发明电〔2026〕9号")
    shot(admin, "rules-calendar-declare")
    admin.click("button:has-text('保存并宣布 2027 年')")
    assert "已宣布 2027 年放假安排" in admin.inner_text("main")
    assert admin.locator("#calendar-warning").count() == 0
    assert admin.locator("table.calendar-days tbody tr").count() == 15
    shot(admin, "rules-calendar-declared")
    assert api.running_timer(api.ticket(ticket["id"]), "handle")["provisional"] is False

    menu(admin, "时限规则")
    handle = admin.get_by_label("general-complaint-report：办结")
    assert handle.input_value() == "15wd"
    handle.fill("20wd")
    admin.click("button:has-text('预览修改')")
    preview = admin.locator("#preview").inner_text()
    assert "15wd → 20wd" in preview and "有 1 个适用被修改的时限" in preview and ticket["number"] in preview
    shot(admin, "rules-time-limits-preview")
    admin.check("input[name=recompute]")
    admin.click("button:has-text('保存')")
    assert "1 个进行中的计时已按新时限重算" in admin.inner_text("main")
    assert admin.get_by_label("general-complaint-report：办结").input_value() == "20wd"
    shot(admin, "rules-time-limits-saved")


def test_the_routing_crisis_outbox_and_status_pages_in_a_browser(app, person, api):  # noqa: F811
    """The admin adds a route, tries a sentence on the crisis words, looks at the service's
    status and resends a text that never went from the outbox (screenshots of each)."""
    ticket = api.create()
    with app.app_context():
        db.session.add(OutboxMessage(key="browser-unsent", channel="sms", to_number="+8613912345678",
                                     body="【12345】您的诉求已受理，工单号见短信。", purpose="receipt",
                                     ticket_id=ticket["id"], status=MessageStatus.NOT_SENT,
                                     status_detail="no Twilio credentials"))
        db.session.commit()
    admin = person("admin")
    menu(admin, "时限规则")                  # the rules' entry in the menu
    admin.click("nav.subnav >> text=派单目录")
    new = admin.locator("fieldset.new-route")
    new.locator("input[name$='.name']").fill("法律咨询 → 市人社局")
    new.locator("select[name$='.unit']").select_option("hrss")
    new.get_by_label("咨询").check()
    admin.click("button:has-text('保存派单目录')")
    assert "派单目录已保存" in admin.inner_text("main")
    assert admin.locator("fieldset.route legend", has_text="法律咨询 → 市人社局").count() == 1
    shot(admin, "rules-routing")

    admin.click("nav.subnav >> text=危机词库")
    admin.fill("textarea[name='kinds.self_harm']",
               admin.input_value("textarea[name='kinds.self_harm']") + "\n撑不下去了")
    admin.fill("input[name=sample]", "我真的撑不下去了")
    admin.click("button:has-text('试一试')")
    result = admin.locator("#sample-result").inner_text()
    assert "未识别为危机" in result and "撑不下去了" in result
    shot(admin, "rules-crisis-words")

    menu(admin, "运行状态")                  # watching the service's entry
    assert "2027 年放假安排尚未导入" in admin.locator(".health-warnings").inner_text()
    shot(admin, "watch-health")
    admin.click("nav.subnav >> text=短信发件箱")
    admin.fill("main form.filters input[name=q]", "1391234")
    admin.click("button:has-text('查询')")
    row = admin.locator("tr.outbox-row", has_text="您的诉求已受理")
    assert "未发送" in row.inner_text()
    shot(admin, "watch-outbox")
    row.locator("button:has-text('重新发送')").click()
    assert "已重新排队发送" in admin.inner_text("main")
