"""End to end in a real browser: Debian's Chromium driven by Playwright against a live server.

Each person logs in through the login form in a browser context of their own. Screenshots
go to test-artifacts/ (look at them). Without /usr/bin/chromium these tests are skipped,
saying so: install it with `apt-get install -y chromium` (never `playwright install`).
"""

from pathlib import Path

import pytest

from tests import conftest
from tests.helpers import at

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

if not CHROMIUM.exists():
    pytest.skip("browser tests need Debian's Chromium at /usr/bin/chromium "
                "(apt-get install -y chromium)", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")

# The suite's live server; the other browser modules import it from here.
live_server = conftest.live_server


@pytest.fixture(scope="module")
def chromium():
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def person(chromium, live_server):
    """`person("seat1")`: a fresh browser context, logged in through the form.

    Another `password`, where the sign-in lands (`lands_on`) and the context's options (a
    phone's `viewport`, `is_mobile`, ...) may be given; the contexts close after the test.
    """
    contexts = []

    def login(username: str, password: str = "demo", lands_on: str = "**/console/**", **options):
        context = chromium.new_context(**{"base_url": live_server, "locale": "zh-CN",
                                          "viewport": {"width": 1360, "height": 900}, **options})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(lands_on)
        assert page.locator("header .user").is_visible()
        return page

    yield login
    for context in contexts:
        context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def file_intake(page, screenshot: str) -> int:
    """Shoot the filled intake form, file it (受理) and wait for the ticket: its id."""
    shot(page, screenshot)
    page.get_by_role("button", name="受理").click()
    page.get_by_text("已受理").wait_for()
    return int(page.url.rsplit("/", 1)[1])


def menu(page, title: str) -> None:
    """Follow a menu entry, opening the 管理 menu first when the entry sits under it."""
    entry = page.locator("header.top nav a", has_text=title).first
    if not entry.is_visible():
        page.locator("header.top details.nav-more > summary").click()
    entry.click()
    page.wait_for_load_state()


def action(page, name: str, label: str, fields: dict | None = None) -> None:
    """Open an action's form on the ticket page, fill it and send it."""
    form = page.locator(f"#action-{name}")
    if form.get_attribute("open") is None:
        form.locator("summary").click()
    for field, value in (fields or {}).items():
        target = form.locator(f"[name={field}]")
        if target.count() > 1:  # yes/no radios
            form.locator(f"[name={field}][value=\"{value}\"]").check()
        elif target.evaluate("e => e.tagName") == "SELECT":
            # A unit list sits hidden under its search box (unit_picker.js) and still carries the value.
            target.select_option(value, force=True)
        else:
            target.fill(value)
    form.locator("button[type=submit]", has_text=label).click()
    page.wait_for_load_state()



def test_a_ticket_from_intake_to_callback_through_five_browsers(person, api):
    earlier = api.create(subject="上个月的路灯问题")
    seat = person("seat1")
    seat.get_by_role("link", name="新建工单").click()
    seat.fill("input[name=caller_phone]", "13800000001")
    seat.locator("#caller-history").get_by_text(earlier["number"]).wait_for()
    seat.fill("input[name=caller_name]", "张三")
    seat.select_option("select[name=desk]", "general")
    seat.select_option("select[name=category]", "help")
    seat.fill("input[name=subject]", "河畔社区路灯不亮")
    seat.fill("textarea[name=content]", "河畔社区3号楼前路灯坏了一个月，晚上看不见路。")
    seat.select_option("select[name=location_unit]", "gulou-huanglou")
    seat.fill("input[name=address]", "河畔社区3号楼")
    ticket_id = file_intake(seat, "01-seat-intake")
    number = seat.locator("h1").first.inner_text().split()[0]
    shot(seat, "02-seat-ticket")
    action(seat, "submit", "提交派单")
    assert "待派单" in seat.locator(".state-badge").inner_text()

    dispatcher = person("dispatcher1")
    dispatcher.get_by_role("link", name="待派单").click()
    shot(dispatcher, "03-dispatch-queue")
    dispatcher.get_by_role("link", name=number).click()
    assert dispatcher.locator("#action-dispatch select[name=unit]").input_value() == "gulou"
    shot(dispatcher, "04-dispatch-form")
    action(dispatcher, "dispatch", "派单", {"note": "请核实并尽快修复"})
    assert "待签收" in dispatcher.locator(".state-badge").inner_text()

    county = person("handler-gulou")
    county.locator("tr", has_text=number).get_by_role("link", name=number).click()
    action(county, "acknowledge", "签收")
    assert "办理中" in county.locator(".state-badge").inner_text()
    action(county, "contact_caller", "联系来电人", {"note": "已电话联系来电人"})
    action(county, "reply", "办理回复", {"result": "已更换灯泡，路灯恢复照明。", "resolved": "true"})
    assert "待审核" in county.locator(".state-badge").inner_text()
    shot(county, "05-county-replied")

    dispatcher.get_by_role("link", name="审核").click()
    dispatcher.get_by_role("link", name="待审核回复").click()
    dispatcher.get_by_role("link", name=number).click()
    action(dispatcher, "approve_reply", "审核通过", {"note": "同意"})
    assert "待回访" in dispatcher.locator(".state-badge").inner_text()

    seat.get_by_role("link", name="回访").click()
    seat.get_by_role("link", name=number).click()
    action(seat, "record_callback", "记录回访",
           {"reached": "true", "resolved": "true", "rating": "1", "note": "来电人表示满意"})
    assert "已办结" in seat.locator(".state-badge").inner_text()
    shot(seat, "06-seat-closed")
    assert api.ticket(ticket_id)["state"] == "closed"
    timeline = seat.locator(".timeline").inner_text()
    for step in ("受理", "提交派单", "派单", "签收", "联系来电人", "办理回复", "审核通过", "记录回访"):
        assert step in timeline


def test_the_supervisor_sees_an_overdue_ticket_in_red(person, api):
    with at(api, 2026, 11, 19, 10, 0):   # dispatched last Thursday: acknowledge was due Friday
        late = api.dispatched()
    api.create(priority="crisis", subject="孩子说想轻生")
    supervisor = person("supervisor1")
    supervisor.get_by_role("link", name="超期工单").click()
    row = supervisor.locator(f"tr[data-ticket='{late['number']}']")
    assert "overdue" in row.get_attribute("class")
    background = row.locator("td").nth(1).evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(255, 225, 222)", background
    shot(supervisor, "07-supervisor-overdue")
    supervisor.get_by_role("link", name="危机工单").click()
    supervisor.get_by_text("孩子说想轻生").wait_for()
    shot(supervisor, "08-supervisor-crisis")
    supervisor.get_by_role("link", name="统计指标").click()
    assert supervisor.locator("svg.chart").count() == 11
    shot(supervisor, "13-supervisor-kpis")
    # An export says it is being made, then that its download has begun.
    with supervisor.expect_download() as download:
        supervisor.locator("a.export", has_text="XLSX").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    status = supervisor.locator(".export-status")
    status.filter(has_text="导出文件已开始下载").wait_for()
    shot(supervisor, "27-supervisor-kpi-export")


def test_one_units_pages_never_show_another_units_ticket(person, api, live_server):
    theirs = api.dispatched(unit="yunlong", subject="云龙区的工单")
    ours = api.dispatched(unit="gulou", subject="鼓楼区的工单")
    gulou = person("handler-gulou")
    for tab in ("待签收", "办理中", "临期", "超期"):
        gulou.get_by_role("link", name=tab).click()
        assert theirs["number"] not in gulou.content()
    gulou.get_by_role("link", name="待签收").click()
    assert ours["number"] in gulou.content()
    shot(gulou, "09-gulou-inbox")
    gulou.get_by_role("link", name="工单查询").click()
    assert theirs["number"] not in gulou.content() and ours["number"] in gulou.content()
    response = gulou.goto(f"/console/tickets/{theirs['id']}")
    assert response.status == 404
    assert "云龙区的工单" not in gulou.content()
    shot(gulou, "10-gulou-404")


def test_form_errors_are_shown_in_place_and_english_is_a_click_away(person):
    seat = person("seat1")
    seat.fill("input[name=caller_phone]", "abc")
    seat.fill("input[name=subject]", "我输入的标题")
    seat.get_by_role("button", name="受理").click()
    assert seat.locator("input[name=subject]").input_value() == "我输入的标题"
    assert seat.locator("#content-error").inner_text() == "此项为必填项"
    assert "不是有效的电话号码" in seat.locator("#caller_phone-error").inner_text()
    shot(seat, "11-intake-errors")
    seat.get_by_role("link", name="English").click()
    seat.get_by_role("link", name="New ticket").wait_for()
    assert "Caller phone" in seat.content()
    shot(seat, "12-intake-english")
    seat.get_by_role("link", name="中文").click()
    seat.get_by_role("link", name="新建工单").wait_for()


CHILD = {"phone": "+8613900000013", "name": "李小雨", "is_minor": True, "age": 12}
CHILD_CONTENT = "孩子最近不愿上学，晚上睡不着，父母离异后情绪很差"


def child_ticket(api, **overrides) -> dict:
    body = {"desk": "children", "category": "psych_support", "subject": "孩子情绪低落，不愿上学",
            "content": CHILD_CONTENT, "caller": CHILD,
            "location": {"unit": "gulou", "address": "黄楼街道河畔小区5号楼"}, **overrides}
    return api.create(as_user="seat2", **body)


def test_a_seat_refers_a_child_and_the_partner_accepts_it(person, api):
    ticket = child_ticket(api)
    seat = person("seat2")
    seat.goto(f"/console/tickets/{ticket['id']}")
    form = seat.locator("#action-refer")
    if form.get_attribute("open") is None:
        form.locator("summary").click()
    partner_select = form.locator("select[name=partner]")
    # The partner list follows the service (swapped in by the page's script).
    form.locator("select[name=service]").select_option("legal_aid")
    partner_select.locator("option[value='12348']").wait_for(state="attached")
    assert partner_select.locator("option[value='xz-xinli']").count() == 0
    form.locator("select[name=service]").select_option("counselling")
    partner_select.locator("option[value='xz-xinli']").wait_for(state="attached")
    partner_select.select_option("xz-xinli")
    form.locator("textarea[name=need]").fill("情绪疏导，评估是否需要心理治疗")
    form.locator("input[name=contact_route]").fill("先联系母亲，工作日晚上")
    form.locator("textarea[name=note]").fill("孩子怕生，请女性咨询师联系")
    form.locator("input[name=consent_by]").fill("母亲 王某")
    form.locator("select[name=consent_how]").select_option("phone")
    form.locator("input[name=consent_covers_contact]").check()
    shot(seat, "14-seat-refer-form")
    form.locator("button[type=submit]", has_text="转介").click()
    seat.get_by_text("已完成：转介").wait_for()
    referrals = seat.locator("#referrals")
    assert "徐州市心理援助中心" in referrals.inner_text() and "待接收" in referrals.inner_text()
    assert "接收时限" in referrals.inner_text()
    shot(seat, "15-seat-ticket-referred")
    [referral] = api.ticket(ticket["id"])["referrals"]

    partner = person("partner-xz-xinli")
    assert partner.url.endswith("/console/referrals")
    row = partner.locator(f"tr[data-referral='{referral['id']}']")
    assert "雨同学" in row.inner_text() and "待接收" in row.inner_text()
    shot(partner, "16-partner-inbox")
    row.get_by_role("link", name=f"#{referral['id']}").click()
    page = partner.content()
    assert "+8613900000013" in page and "情绪疏导" in page and "先联系母亲" in page
    for absent in ("李小雨", CHILD_CONTENT, "黄楼街道河畔小区", "母亲 王某"):
        assert absent not in page, absent
    shot(partner, "17-partner-referral")
    partner.locator("#step-accept button[type=submit]").click()
    partner.get_by_text("已完成：接收").wait_for()
    assert "已接收" in partner.locator(".state-badge").inner_text()
    partner.locator("#step-first_contact textarea[name=note]").fill("已与母亲通话，约定周六上午面谈")
    partner.locator("#step-first_contact button[type=submit]").click()
    partner.get_by_text("已完成：记录首次联系").wait_for()
    assert "服务中" in partner.locator(".state-badge").inner_text()
    timeline = partner.locator(".timeline").inner_text()
    for step in ("发出转介", "接收", "记录首次联系", "已与母亲通话，约定周六上午面谈"):
        assert step in timeline, step
    shot(partner, "18-partner-first-contact")
    assert api.get(f"/api/v1/referrals/{referral['id']}", "supervisor1").json["state"] == "in_service"
    # Another partner gets the 404 page for it.
    other = person("partner-gulou-xinli")
    response = other.goto(f"/console/referrals/{referral['id']}")
    assert response.status == 404 and "情绪疏导" not in other.content()

    seat.reload()
    assert "服务中" in seat.locator("#referrals").inner_text()
    timeline = seat.locator(".timeline").inner_text()
    for step in ("发出转介", "机构接收转介", "机构首次联系"):
        assert step in timeline, step


def test_the_supervisor_sees_overdue_reports_and_escalated_referrals(person, api, app):
    from hotline.clocks import firing
    from hotline.extensions import db

    with at(api, 2026, 11, 19, 10, 0):   # last Thursday: the report was due Friday
        abused = child_ticket(api, content="邻居家的孩子经常被打，身上有伤")
        late = child_ticket(api, subject="孩子长期失眠")
        api.act(late["id"], "refer", "seat2", {
            "partner": "gulou-xinli", "service": "counselling", "urgency": "normal",
            "consent": {"by": "父亲 李某", "how": "phone"}, "need": "失眠与焦虑"})
    with app.app_context():
        firing.sweep()
        db.session.commit()
    supervisor = person("supervisor1")
    supervisor.get_by_role("link", name="强制报告").click()
    row = supervisor.locator("tr[data-report]", has_text=abused["number"])
    assert "overdue" in row.get_attribute("class")
    background = row.locator("td").nth(1).evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(255, 225, 222)", background
    shot(supervisor, "19-supervisor-mandatory-reports")
    row.locator("input[name=to]").fill("鼓楼公安分局")
    row.locator("button[type=submit]").click()
    supervisor.get_by_text("已完成：记录已报告").wait_for()
    row = supervisor.locator("tr[data-report]", has_text=abused["number"])
    row.locator("input[name=receipt_number]").fill("GL-2026-1119-03")
    row.locator("button[type=submit]").click()
    supervisor.get_by_text("已完成：登记回执").wait_for()
    assert supervisor.locator("tr[data-report]", has_text=abused["number"]).count() == 0

    supervisor.get_by_role("link", name="转介超时").click()
    row = supervisor.locator("tr[data-referral]", has_text=late["number"])
    assert "鼓楼区未成年人心理健康辅导站" in row.inner_text()
    proposed = row.locator("td.proposal").inner_text()
    assert proposed and "暂无" not in proposed
    shot(supervisor, "20-supervisor-escalated-referrals")
    row.get_by_role("link", name="改转介").click()
    form = supervisor.locator("#action-refer")
    assert form.get_attribute("open") is not None
    assert form.locator("input[name=consent_by]").input_value() == "父亲 李某"
    chosen = form.locator("select[name=partner] option:checked").inner_text()
    assert chosen.startswith(proposed.strip())
    shot(supervisor, "21-supervisor-refer-again")
    form.locator("button[type=submit]", has_text="转介").click()
    supervisor.get_by_text("已完成：转介").wait_for()
    assert len(api.ticket(late["id"])["referrals"]) == 2


def test_a_seat_opens_a_ticket_for_a_waiting_call_in_one_click(person, api, twilio, app, monkeypatch):
    from tests.twilio_fakes import CALLER, sid

    monkeypatch.setitem(app.config, "CONSOLE_CALLS_REFRESH_SECONDS", 2)
    earlier = api.create(desk="children", category="psych_support", subject="孩子不愿上学",
                         caller={"phone": CALLER, "name": "小明", "is_minor": True, "age": 12})
    waiting = sid("CA")
    twilio.call(waiting)
    twilio.press(waiting, "2")                       # 儿童服务专席
    seat = person("seat1")                           # lands on the intake form, calls above it
    row = seat.locator(f"tr[data-call='{waiting}']")
    assert CALLER in row.inner_text() and "儿童服务专席" in row.inner_text()
    assert earlier["number"] in row.locator("td.open-tickets").inner_text()
    # A call that comes in now shows up without reloading the page.
    later = sid("CA")
    twilio.call(later, caller="+8613500000000")
    twilio.press(later, "1")
    seat.locator(f"tr[data-call='{later}']").wait_for()
    assert "综合专席" in seat.locator(f"tr[data-call='{later}']").inner_text()
    shot(seat, "22-seat-waiting-calls")

    row.get_by_role("link", name="为此来电建单").click()
    seat.wait_for_url(f"**/console/tickets/new?call_sid={waiting}")
    assert seat.locator("input[name=caller_phone]").input_value() == CALLER
    assert seat.locator("select[name=desk]").input_value() == "children"
    assert seat.locator("select[name=channel]").input_value() == "voice"
    assert seat.locator("input[name=call_sid]").input_value() == waiting
    seat.locator("#caller-history").get_by_text(earlier["number"]).wait_for()
    seat.fill("input[name=caller_name]", "小明妈妈")
    seat.select_option("select[name=category]", "psych_support")
    seat.fill("input[name=subject]", "孩子在学校被欺负")
    seat.fill("textarea[name=content]", "家长来电：孩子在学校被同学欺负，不愿上学，希望学校介入。")
    ticket_id = file_intake(seat, "23-seat-intake-for-a-call")
    link = seat.locator("a.call-link")
    assert link.is_visible() and link.get_attribute("href") == f"/console/calls/{waiting}"
    shot(seat, "24-seat-ticket-from-a-call")
    link.click()
    seat.get_by_role("link", name=api.ticket(ticket_id)["number"]).first.wait_for()
    shot(seat, "25-seat-call-page")
    # Back on the intake form the call is still queued (until a seat takes it), with its ticket.
    seat.get_by_role("link", name="新建工单").click()
    assert api.ticket(ticket_id)["number"] in seat.locator(f"tr[data-call='{waiting}']").inner_text()
    shot(seat, "26-seat-call-with-its-ticket")
    assert api.get(f"/api/v1/calls/{waiting}", "seat1").json["ticket"]["id"] == ticket_id
