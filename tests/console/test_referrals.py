"""Referrals in the console: the partner's inbox and minimal view, the ticket page's refer
form and revoke, and the supervisor's boards of escalated referrals and mandatory reports."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from hotline.extensions import db
from referrals.models import ReferralState
from referrals.workflow import PARTNER_ACTIONS, TRANSITIONS

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
CHILD = {"phone": "+8613900000013", "name": "李小雨", "is_minor": True, "age": 12}
CONTENT = "孩子最近不愿上学，晚上睡不着，父母离异后情绪很差"
CONSENT = {"by": "母亲 王某", "how": "phone", "covers_contact": True}


def child_ticket(api, **overrides) -> dict:
    body = {"desk": "children", "category": "psych_support", "subject": "孩子情绪低落",
            "content": CONTENT, "caller": CHILD,
            "location": {"unit": "gulou", "address": "黄楼街道河畔小区5号楼"}, **overrides}
    return api.create(as_user="seat2", **body)


def refer(api, tid, partner="xz-xinli", service="counselling", user="seat2", **extra) -> int:
    body = {"partner": partner, "service": service, "urgency": "normal", "consent": CONSENT,
            "need": "情绪疏导", "contact_route": "请先联系母亲", "note": "孩子害怕见陌生人", **extra}
    ticket = api.act(tid, "refer", user, body)
    return max(r["id"] for r in ticket["referrals"] if r["partner"] == partner)


def ract(api, rid, action, user, body=None, expect=200):
    return api.post(f"/api/v1/referrals/{rid}/actions/{action}", user, body or {}, expect=expect).json


def forms_on(page: str) -> set[str]:
    return set(re.findall(r'/referrals/\d+/actions/(\w+)"', page))


def tab_count(page: str, label: str) -> int:
    return int(re.search(rf'{label} <span class="count">(\d+)</span>', page).group(1))


# --- the partner's inbox and referral page ---------------------------------------------------------

def test_a_partner_lands_on_the_referral_inbox(browser, api):
    partner = browser()
    partner.get("/console/login")
    response = partner.post("/console/login", {"username": "partner-xz-xinli", "password": "demo"})
    home = partner.get(response.headers["Location"], expect=302)
    assert home.headers["Location"] == "/console/referrals"
    page = partner.html("/console/referrals")
    assert "转介收件箱" in page and "合作机构" in page and "徐州市心理援助中心" in page
    for tab in ("新转介", "已接收", "服务中", "已完成/已关闭", "已拒绝/已撤回"):
        assert tab in page
    # No seat, dispatcher or supervisor pages in the partner's navigation.
    assert "新建工单" not in page and "待派单" not in page and "统计指标" not in page


def test_the_inbox_tabs_and_crisis_referrals_in_red_at_the_top(browser, api):
    tid = child_ticket(api)["id"]
    first = refer(api, tid)
    crisis = refer(api, tid, service="crisis_intervention", urgency="crisis")
    last = refer(api, tid)
    accepted = refer(api, tid)
    ract(api, accepted, "accept", "partner-xz-xinli")
    elsewhere = refer(api, tid, partner="gulou-xinli")

    partner = browser("partner-xz-xinli")
    page = partner.html("/console/referrals")
    order = [int(n) for n in re.findall(r'data-referral="(\d+)"', page)]
    assert order == [crisis, last, first]  # crisis first, then the newest
    row = re.search(rf'<tr class="([^"]*)" data-referral="{crisis}"', page).group(1)
    assert "crisis" in row
    assert "有 1 个危机转介等待接收" in page
    assert tab_count(page, "新转介") == 3 and tab_count(page, "已接收") == 1
    assert elsewhere not in order and f"#{elsewhere}<" not in page
    assert "接收时限" in page and "剩余" in page
    assert "雨同学" in page and "12岁" in page and "心理咨询" in page

    page = partner.html("/console/referrals?tab=accepted")
    assert re.findall(r'data-referral="(\d+)"', page) == [str(accepted)]
    assert "首次联系时限" in page
    partner.get("/console/referrals?tab=nonsense", expect=404)
    # The inbox is the partner's page only.
    browser("seat2").get("/console/referrals", expect=403)


def test_the_referral_page_shows_exactly_the_minimal_view(browser, api):
    tid = child_ticket(api)["id"]
    rid = refer(api, tid, consent={**CONSENT, "covers_contact": False})
    api_view = api.get(f"/api/v1/referrals/{rid}", "partner-xz-xinli").json
    page = browser("partner-xz-xinli").html(f"/console/referrals/{rid}")
    # What the API shows the partner is on the page...
    assert api_view["child"] == {"alias": "雨同学", "age": 12, "phone": None}
    for shown in ("雨同学", "12岁", "情绪疏导", "孩子害怕见陌生人", "心理咨询",
                  api_view["ticket"]["number"], "未经监护人同意，不提供电话"):
        assert shown in page, shown
    # ... and nothing more: no full name, no ticket content or address, no phone, no consent record,
    # and no contact route without consent to contact (issue 18).
    for absent in ("李小雨", CONTENT, "不愿上学", "黄楼街道河畔小区", "13900000013", "母亲 王某",
                   "请先联系母亲",
                   "孩子情绪低落", "同意人", "儿童服务专席", f"/console/tickets/{tid}"):
        assert absent not in page, absent
    # With consent covering contact, the phone is there (and still not the name).
    rid2 = refer(api, tid)
    page = browser("partner-xz-xinli").html(f"/console/referrals/{rid2}")
    assert "+8613900000013" in page and "李小雨" not in page and CONTENT not in page
    assert "请先联系母亲" in page


def test_the_centre_sees_the_full_referral_with_consent_and_the_ticket_link(browser, api):
    tid = child_ticket(api)["id"]
    rid = refer(api, tid)
    page = browser("supervisor1").html(f"/console/referrals/{rid}")
    assert "李小雨" in page and "母亲 王某" in page and "电话" in page
    assert f"/console/tickets/{tid}" in page
    assert forms_on(page) == {"revoke", "rename_child"}


def test_steps_offered_follow_the_workflow_transitions(browser, api):
    tid = child_ticket(api)["id"]
    rid = refer(api, tid)
    partner = browser("partner-xz-xinli")

    def expected(state: ReferralState) -> set[str]:
        return {t["trigger"] for t in TRANSITIONS if t["trigger"] in PARTNER_ACTIONS
                and state in (t["source"] if isinstance(t["source"], list) else [t["source"]])}

    road = [("accept", {}), ("first_contact", {"note": "已联系"}),
            ("report_outcome", {"outcome": "好转", "follow_up": False}), ("close", {})]
    for action, body in road:
        state = ReferralState(api.get(f"/api/v1/referrals/{rid}", "partner-xz-xinli").json["state"])
        assert forms_on(partner.html(f"/console/referrals/{rid}")) == expected(state), state
        ract(api, rid, action, "partner-xz-xinli", body)
    page = partner.html(f"/console/referrals/{rid}")
    assert forms_on(page) == set() and "当前状态下没有可执行的操作" in page
    assert expected(ReferralState.SENT) == {"accept", "decline"}


def test_the_partner_accepts_contacts_reports_and_closes_through_the_forms(browser, api, app):
    tid = child_ticket(api)["id"]
    rid = refer(api, tid)
    partner = browser("partner-xz-xinli")
    base = f"/console/referrals/{rid}"
    response = partner.post(f"{base}/actions/accept")
    assert response.headers["Location"] == base
    assert "已完成：接收" in partner.html(base)
    partner.post(f"{base}/actions/first_contact", {"note": "已与母亲通话，约定周六面谈"})
    response = partner.post(f"{base}/actions/report_outcome", {"outcome": "三次咨询后情绪好转"},
                            expect=422)
    page = partner.text(response)
    assert "三次咨询后情绪好转</textarea>" in page
    assert re.search(r"需要后续跟进.*?<span class=\"error\"[^>]*>此项为必填项", page, re.S)
    partner.post(f"{base}/actions/report_outcome", {"outcome": "三次咨询后情绪好转", "follow_up": "true"})
    partner.post(f"{base}/actions/close")
    view = api.get(f"/api/v1/referrals/{rid}", "supervisor1").json
    assert view["state"] == "closed" and view["outcome"] == "三次咨询后情绪好转"
    assert view["follow_up"] is True
    page = partner.html(base)
    for words in ("发出转介", "接收", "记录首次联系", "已与母亲通话，约定周六面谈", "报告服务结果",
                  "关闭转介", "首次联系时限", "服务已完成"):
        assert words in page, words
    # A closed referral takes no more steps: the page says why.
    response = partner.post(f"{base}/actions/accept", expect=409)
    assert "转介当前为“已关闭”，不能接收。" in partner.text(response)
    # And the ticket's timeline has every step.
    timeline = browser("seat2").html(f"/console/tickets/{tid}")
    for words in ("发出转介", "机构接收转介", "机构首次联系", "机构报告服务结果", "转介关闭",
                  "徐州市心理援助中心"):
        assert words in timeline, words


def test_the_partner_declines_with_a_reason(browser, api):
    tid = child_ticket(api)["id"]
    rid = refer(api, tid)
    partner = browser("partner-xz-xinli")
    response = partner.post(f"/console/referrals/{rid}/actions/decline", {"reason": ""}, expect=422)
    assert "此项为必填项" in partner.text(response)
    partner.post(f"/console/referrals/{rid}/actions/decline", {"reason": "本周名额已满"})
    assert api.get(f"/api/v1/referrals/{rid}", "supervisor1").json["decline_reason"] == "本周名额已满"
    page = partner.html("/console/referrals?tab=ended")
    assert f'data-referral="{rid}"' in page and "已拒绝" in page


def test_another_partners_referral_is_404_on_every_door(browser, api):
    tid = child_ticket(api)["id"]
    rid = refer(api, tid)
    other = browser("partner-gulou-xinli")
    response = other.get(f"/console/referrals/{rid}", expect=404)
    assert "雨同学" not in other.text(response) and "情绪疏导" not in other.text(response)
    for action, body in (("accept", {}), ("decline", {"reason": "x"}), ("close", {})):
        other.post(f"/console/referrals/{rid}/actions/{action}", body, expect=404)
    assert f'data-referral="{rid}"' not in other.html("/console/referrals")
    other.get(f"/console/tickets/{tid}", expect=404)
    browser("partner-12348").get(f"/console/referrals/{rid}", expect=404)
    # The partner itself cannot open the ticket behind its referral either.
    browser("partner-xz-xinli").get(f"/console/tickets/{tid}", expect=404)
    assert api.get(f"/api/v1/referrals/{rid}", "supervisor1").json["state"] == "sent"


def test_the_partner_may_not_revoke_and_the_centre_may_not_accept(browser, api):
    tid = child_ticket(api)["id"]
    rid = refer(api, tid)
    partner = browser("partner-xz-xinli")
    assert "revoke" not in forms_on(partner.html(f"/console/referrals/{rid}"))
    response = partner.post(f"/console/referrals/{rid}/actions/revoke", {"reason": "x"}, expect=403)
    assert "只有转介方可以撤回" in partner.text(response)
    browser("seat2").post(f"/console/referrals/{rid}/actions/accept", expect=403)
    browser("seat2").post(f"/console/referrals/{rid}/actions/nonsense", expect=404)


@pytest.mark.parametrize("path, data", [
    ("/console/referrals/{rid}/actions/accept", {}),
    ("/console/referrals/{rid}/actions/decline", {"reason": "x"}),
    ("/console/tickets/{tid}/actions/refer", {"partner": "xz-xinli", "service": "counselling"}),
])
def test_referral_forms_need_the_csrf_token(browser, api, path, data):
    tid = child_ticket(api)["id"]
    rid = refer(api, tid)
    user = browser("partner-xz-xinli" if "/referrals/" in path else "seat2")
    response = user.post(path.format(rid=rid, tid=tid), data, csrf=False, expect=400)
    assert "安全令牌" in user.text(response)
    assert api.get(f"/api/v1/referrals/{rid}", "supervisor1").json["state"] == "sent"
    assert len(api.ticket(tid)["referrals"]) == 1


def test_reading_a_referral_in_the_console_is_audited(browser, api, app):
    from sqlalchemy import select

    from referrals.models import ReadAudit

    tid = child_ticket(api)["id"]
    rid = refer(api, tid)
    browser("partner-xz-xinli").html(f"/console/referrals/{rid}")
    browser("seat2").html(f"/console/tickets/{tid}")
    with app.app_context():
        rows = db.session.execute(select(ReadAudit.subject, ReadAudit.subject_id, ReadAudit.view)).all()
    assert ("referral", rid, "console") in rows
    assert ("ticket", tid, "ticket") in rows


# --- the ticket page: referrals, the refer form, revoke --------------------------------------------

def test_the_refer_form_offers_suitable_partners_services_and_consent(browser, api):
    tid = child_ticket(api)["id"]
    page = browser("seat2").html(f"/console/tickets/{tid}")
    form = re.search(r'<details class="action refer".*?</details>', page, re.S).group(0)
    partner = re.search(r'<select name="partner"[^>]*>(.*?)</select>', form, re.S).group(1)
    suitable = re.search(r'<optgroup label="推荐[^"]*">(.*?)</optgroup>', partner, re.S).group(1)
    codes = re.findall(r'<option value="([^"]+)"', suitable)
    # Counselling in Gulou: the Gulou station, the city-wide ones; not Yunlong's or the 12348.
    assert {"gulou-xinli", "xz-xinli", "xz-shegong"} <= set(codes)
    assert "yunlong-xinli" not in codes and "12348" not in codes
    assert "yunlong-xinli" in partner  # offered, but among the others (outside its area)
    service = re.search(r'<select name="service"[^>]*>(.*?)</select>', form, re.S).group(1)
    assert '<option value="counselling" selected>心理咨询</option>' in service
    assert 'value="legal_aid"' in service and 'value="crisis_intervention"' in service
    for name in ("urgency", "need", "child_alias", "contact_route", "note", "consent_by", "consent_how",
                 "consent_covers_contact", "consent_override_reason"):
        assert f'name="{name}"' in form, name
    assert "14 岁以下儿童转介须记录监护人同意" in form and 'class="consent needed' in form
    assert "尚无转介" in page


def test_partner_options_follow_the_service(browser, api):
    tid = child_ticket(api)["id"]
    seat = browser("seat2")
    options = seat.html(f"/console/tickets/{tid}/refer/partners?service=legal_aid")
    assert re.findall(r'<option value="([^"]+)"', options) == ["12348"]
    options = seat.html(f"/console/tickets/{tid}/refer/partners"
                        "?service=crisis_intervention&partner=xz-jingshen")
    assert '<option value="xz-jingshen" selected>' in options and "gulou-xinli" not in options
    browser("partner-xz-xinli").get(f"/console/tickets/{tid}/refer/partners", expect=404)
    # The no-script road: the page itself takes the service.
    page = seat.html(f"/console/tickets/{tid}?service=legal_aid")
    assert '<option value="legal_aid" selected>' in page and '<option value="12348"' in page


def test_on_a_crisis_ticket_crisis_intervention_partners_come_first(browser, api):
    tid = child_ticket(api, priority="crisis")["id"]
    page = browser("seat2").html(f"/console/tickets/{tid}")
    form = re.search(r'<details class="action refer".*?</details>', page, re.S).group(0)
    assert '<option value="crisis_intervention" selected>' in form
    assert '<option value="crisis" selected>' in form
    assert "危机干预机构" in form and "110" in form
    # Counselling on a crisis ticket: those who also do crisis intervention first.
    options = browser("seat2").html(f"/console/tickets/{tid}/refer/partners?service=counselling")
    codes = re.findall(r'<option value="([^"]+)"', options)
    capable = [code in {"xz-xinli", "xz-jingshen", "tongshan-xinli", "fengpei-xinli"} for code in codes]
    assert codes[0] == "xz-xinli"
    assert "gulou-xinli" in codes
    # Within each group (suitable, then the others) the crisis-capable come first.
    groups = re.findall(r'<optgroup label="[^"]*">(.*?)</optgroup>', options, re.S)
    for group in groups:
        flags = [code in {"xz-xinli", "tongshan-xinli", "fengpei-xinli"}
                 for code in re.findall(r'<option value="([^"]+)"', group)]
        assert flags == sorted(flags, reverse=True), group
    assert capable


def test_a_seat_refers_through_the_form_with_guardian_consent(browser, api):
    tid = child_ticket(api)["id"]
    seat = browser("seat2")
    seat.action(tid, "refer", {
        "service": "counselling", "partner": "xz-xinli", "urgency": "normal", "need": "情绪疏导",
        "child_alias": "小雨", "contact_route": "先联系母亲", "note": "孩子怕生",
        "consent_by": "母亲 王某", "consent_how": "phone", "consent_covers_contact": "true"})
    [referral] = api.ticket(tid)["referrals"]
    full = api.get(f"/api/v1/referrals/{referral['id']}", "supervisor1").json
    assert full["partner"] == "xz-xinli" and full["child"]["alias"] == "小雨"
    assert full["consent"]["by"] == "母亲 王某" and full["consent"]["how"] == "phone"
    assert full["consent"]["covers_contact"] is True
    assert datetime.fromisoformat(full["consent"]["at"]) >= T0  # recorded when it was sent
    page = seat.html(f"/console/tickets/{tid}")
    table = re.search(r'<section class="card" id="referrals">.*?</section>', page, re.S).group(0)
    for words in ("徐州市心理援助中心", "心理咨询", "一般", "待接收", "接收时限",
                  f"/console/referrals/{referral['id']}"):
        assert words in table, words
    assert "revoke" in forms_on(table)


def test_refer_errors_are_shown_next_to_the_fields_and_keep_the_input(browser, api):
    tid = child_ticket(api)["id"]
    seat = browser("seat2")
    typed = {"service": "counselling", "partner": "xz-xinli", "need": "我写的需求",
             "contact_route": "我写的联系方式"}
    response = seat.action(tid, "refer", typed, expect=422)
    page = seat.text(response)
    assert "为 14 岁以下儿童转介，须记录监护人同意" in page
    consent = re.search(r'<fieldset class="consent.*?</fieldset>', page, re.S).group(0)
    assert "invalid" in consent.split(">")[0]
    assert re.search(r'<span class="error"[^>]*>为 14 岁以下儿童转介，须记录监护人同意', consent)
    assert "我写的需求</textarea>" in page and 'value="我写的联系方式"' in page
    assert '<option value="xz-xinli" selected>' in page
    assert api.ticket(tid)["referrals"] == []

    response = seat.action(tid, "refer", {**typed, "partner": "12348", "consent_by": "父亲",
                                          "consent_how": "phone"}, expect=422)
    page = seat.text(response)
    offered = "（提供：法律咨询、法律援助、调解）"
    assert re.search(rf'name="service".*?<span class="error"[^>]*>[^<]*不提供[^<]*{offered}', page, re.S)
    assert '<option value="phone" selected>' in page and 'value="父亲"' in page

    response = seat.action(tid, "refer", {**typed, "partner": "nobody"}, expect=422)
    assert "合作机构 nobody 不存在" in seat.text(response)

    # The emergency override goes through, and the supervisor hears of it.
    seat.action(tid, "refer", {**typed, "consent_override_reason": "孩子正在自伤，无法联系监护人"})
    assert len(api.ticket(tid)["referrals"]) == 1
    assert any(n["kind"] == "consent_override" for n in api.get("/api/v1/notices", "supervisor1").json)


def test_the_referring_side_revokes_from_the_ticket_page(browser, api):
    tid = child_ticket(api)["id"]
    rid = refer(api, tid)
    seat = browser("seat2")
    response = seat.post(f"/console/referrals/{rid}/actions/revoke",
                         {"reason": "家长改变主意", "next": f"/console/tickets/{tid}#referrals"})
    assert response.headers["Location"] == f"/console/tickets/{tid}#referrals"
    assert api.get(f"/api/v1/referrals/{rid}", "supervisor1").json["state"] == "revoked"
    page = seat.html(f"/console/tickets/{tid}")
    assert "已撤回" in page and "撤回转介" in page and "revoke" not in forms_on(page)
    # A missing reason is said in words on the referral page.
    rid = refer(api, tid)
    response = seat.post(f"/console/referrals/{rid}/actions/revoke", {"reason": ""}, expect=422)
    assert "此项为必填项" in seat.text(response)


def test_the_lead_unit_refers_and_revokes_a_co_unit_does_not(browser, api):
    ticket = child_ticket(api)
    tid = ticket["id"]
    api.act(tid, "submit", "seat2")
    api.act(tid, "dispatch", "dispatcher1", {"unit": "gulou", "co_units": ["police"]})
    lead, co_unit = browser("handler-gulou"), browser("handler-police")
    assert 'id="action-refer"' in lead.html(f"/console/tickets/{tid}")
    lead.action(tid, "refer", {"service": "legal_aid", "partner": "12348", "consent_by": "母亲",
                               "consent_how": "in_person"})
    [referral] = api.ticket(tid)["referrals"]
    page = co_unit.html(f"/console/tickets/{tid}")
    assert 'id="action-refer"' not in page and "12348江苏法网" in page  # listed, not refer-able
    assert "revoke" not in forms_on(page)
    co_unit.post(f"/console/referrals/{referral['id']}/actions/revoke", {"reason": "x"}, expect=403)
    assert "revoke" in forms_on(lead.html(f"/console/tickets/{tid}"))
    lead.post(f"/console/referrals/{referral['id']}/actions/revoke", {"reason": "已另行处理"})
    assert api.ticket(tid)["referrals"][0]["state"] == "revoked"


# --- the supervisor's boards -------------------------------------------------------------------------

def test_escalated_referrals_with_the_proposed_partner(browser, api, app):
    from hotline.clocks import firing

    with time_machine.travel(T0, tick=False):
        tid = child_ticket(api)["id"]
        rid = refer(api, tid, partner="gulou-xinli")
    with time_machine.travel(T0 + timedelta(hours=2, minutes=1), tick=False):
        with app.app_context():
            firing.sweep()
            db.session.commit()
        api.forget_tokens()
        proposed = api.get(f"/api/v1/referrals/{rid}", "supervisor1").json["proposed_partner"]
        supervisor = browser("supervisor1")
        page = supervisor.html("/console/boards/referrals")
        assert '<a href="/console/boards/referrals" class="active"' in page
        row = re.search(rf'<tr class="([^"]*)" data-referral="{rid}">(.*?)</tr>', page, re.S)
        assert "overdue" in row.group(1)
        assert "鼓楼区未成年人心理健康辅导站" in row.group(2) and proposed["name"] in row.group(2)
        assert f"/console/tickets/{tid}?from_referral={rid}#action-refer" in row.group(2)
        # The link opens the refer form with the proposed partner and the old referral's details.
        page = supervisor.html(f"/console/tickets/{tid}?from_referral={rid}")
        form = re.search(r'<details class="action refer"[^>]*>.*?</details>', page, re.S).group(0)
        assert form.startswith('<details class="action refer" id="action-refer" open')
        assert f'<option value="{proposed["code"]}" selected>' in form
        assert 'value="母亲 王某"' in form and "情绪疏导</textarea>" in form
        assert "超时未接收" in page
        supervisor.action(tid, "refer", {"service": "counselling", "partner": proposed["code"],
                                         "consent_by": "母亲 王某", "consent_how": "phone"})
        assert [r["partner"] for r in api.ticket(tid)["referrals"]] == ["gulou-xinli", proposed["code"]]
        # Partners and handlers do not get the board.
        browser("partner-gulou-xinli").get("/console/boards/referrals", expect=403)
        browser("handler-gulou").get("/console/boards/referrals", expect=403)


def test_the_mandatory_reports_board(browser, api):
    with time_machine.travel(T0, tick=False):
        ticket = child_ticket(api, content="邻居家的孩子经常被打，身上有伤")
    with time_machine.travel(T0 + timedelta(hours=12), tick=False):
        api.forget_tokens()
        later = child_ticket(api, content="孩子长期无人照看")
        api.act(later["id"], "mandatory_report", "seat2", {"suspected": "neglect", "what": "长期独自在家"})
    api.forget_tokens()
    reports = {r["ticket"]: r for r in api.get("/api/v1/mandatory-reports", "supervisor1").json}
    late, fresh = reports[ticket["id"]], reports[later["id"]]
    with time_machine.travel(datetime.fromisoformat(late["due_at"]) + timedelta(minutes=5), tick=False):
        supervisor = browser("supervisor1")
        page = supervisor.html("/console/boards/mandatory-reports")
        classes = {int(rid): cls for cls, rid in re.findall(r'<tr class="([^"]*)" data-report="(\d+)"', page)}
        assert classes[late["id"]] == "overdue" and classes[fresh["id"]] == ""
        assert re.findall(r'data-report="(\d+)"', page)[0] == str(late["id"])  # overdue first
        assert "超期" in page and "虐待" in page and "忽视照料" in page and ticket["number"] in page
        # Reported...
        response = supervisor.post(f"/console/mandatory-reports/{late['id']}/actions/report",
                                   {"to": "鼓楼公安分局", "note": "电话报告"})
        assert response.headers["Location"] == "/console/boards/mandatory-reports"
        page = supervisor.html("/console/boards/mandatory-reports")
        row = re.search(rf'data-report="{late["id"]}">(.*?)</tr>', page, re.S).group(1)
        assert "已报告，待回执" in row and "鼓楼公安分局" in row and 'name="receipt_number"' in row
        # ... a receipt number is required ...
        response = supervisor.post(f"/console/mandatory-reports/{late['id']}/actions/record_receipt",
                                   {"receipt_number": ""}, expect=422)
        assert re.search(r'name="receipt_number".*?此项为必填项', supervisor.text(response), re.S)
        # ... and a step out of turn is a conflict.
        response = supervisor.post(f"/console/mandatory-reports/{fresh['id']}/actions/record_receipt",
                                   {"receipt_number": "X"}, expect=409)
        assert "强制报告当前为“待报告”，不能登记回执。" in supervisor.text(response)
        supervisor.post(f"/console/mandatory-reports/{late['id']}/actions/record_receipt",
                        {"receipt_number": "GL-2026-1123-07"})
        page = supervisor.html("/console/boards/mandatory-reports")
        assert f'data-report="{late["id"]}"' not in page  # done: off the open board
        page = supervisor.html("/console/boards/mandatory-reports?all=1")
        assert "GL-2026-1123-07" in page and "已回执" in page
        timeline = supervisor.html(f"/console/tickets/{ticket['id']}")
        assert "强制报告已报送" in timeline and "强制报告回执已登记" in timeline
        assert "报告对象" in timeline and "GL-2026-1123-07" in timeline
        supervisor.post(f"/console/mandatory-reports/{fresh['id']}/actions/report", {}, csrf=False,
                        expect=400)
        supervisor.post(f"/console/mandatory-reports/{fresh['id']}/actions/nonsense", {}, expect=404)
        supervisor.post("/console/mandatory-reports/999999/actions/report", {}, expect=404)
    api.forget_tokens()
    done = {r["id"]: r for r in api.get("/api/v1/mandatory-reports", "supervisor1").json}[late["id"]]
    assert done["state"] == "receipted" and done["receipt_number"] == "GL-2026-1123-07"
    for username in ("partner-xz-xinli", "handler-gulou", "seat2"):
        browser(username).get("/console/boards/mandatory-reports", expect=403)
        browser(username).post(f"/console/mandatory-reports/{fresh['id']}/actions/report", {},
                               expect=403)
