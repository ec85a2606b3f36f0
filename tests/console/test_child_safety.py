"""The ticket page's child-safety panels (issue 16): the crisis panel, the risk assessment form,
the children's-desk offer, child-only controls, the refer form's defaults."""

import re

from tests.console.test_referrals import CHILD, child_ticket

ADULT = {"phone": "+8613900000099", "name": "王建国", "is_minor": False, "age": 45}


def section(page: str, element_id: str) -> str:
    """The HTML of the <section> with `element_id` ('' when the page has none)."""
    match = re.search(rf'<section[^>]*id="{element_id}".*?</section>', page, re.S)
    return match.group(0) if match else ""


def test_the_crisis_panel_shows_the_words_the_script_110_120_and_the_partner(browser, api):
    tid = child_ticket(api, content="孩子说活着没意思，想从楼上跳下去。我想结束自己的生命")["id"]
    page = browser("seat2").html(f"/console/tickets/{tid}")
    panel = section(page, "crisis-panel")
    assert panel, "no crisis panel on a crisis ticket"
    assert "受理内容中的危机词" in panel
    assert '<mark class="crisis-word">活着没意思</mark>' in panel
    assert '<mark class="crisis-word">结束自己的生命</mark>' in panel
    assert "你现在安全吗" in panel and "你是不是在想结束自己的生命" in panel
    assert "先问位置" in panel           # no assessment says where the child is yet
    assert 'href="tel:110"' in panel and 'href="tel:120"' in panel
    assert "徐州市心理援助中心" in panel and "转介危机干预" in panel
    # 标记危机 is not offered on a crisis ticket, not even as a refusal.
    assert "action-flag_crisis" not in page and "标记危机" not in page


def test_the_crisis_panel_shows_the_seats_reason_and_the_note_words(browser, api):
    seat = browser("seat2")
    tid = child_ticket(api)["id"]
    assert not section(seat.html(f"/console/tickets/{tid}"), "crisis-panel")
    assert "action-flag_crisis" in seat.html(f"/console/tickets/{tid}")
    seat.action(tid, "flag_crisis", {"reason": "孩子一直在哭，说没人要她"})
    other = child_ticket(api)["id"]
    seat.action(other, "add_note", {"note": "孩子后来说：我把家里的安眠药都攒起来了"})
    judged = section(seat.html(f"/console/tickets/{tid}"), "crisis-panel")
    assert "坐席判断" in judged and "孩子一直在哭，说没人要她" in judged
    noted = section(seat.html(f"/console/tickets/{other}"), "crisis-panel")
    assert "备注中的危机词" in noted and '<mark class="crisis-word">安眠药</mark>' in noted
    assert "我把家里的安眠药都攒起来了" in noted


def test_the_transfer_button_records_the_call_on_the_timeline(browser, api):
    tid = child_ticket(api, content="我现在就在楼顶，想跳楼")["id"]
    seat = browser("seat2")
    seat.action(tid, "call_emergency", {"to": "110"})
    assert [e["data"]["to"] for e in api.events(tid) if e["action"] == "call_emergency"] == ["110"]
    page = seat.html(f"/console/tickets/{tid}")
    assert "转接 110/120" in page and api.ticket(tid)["state"] == "intake"


def test_the_risk_form_raises_a_ticket_to_crisis(browser, api):
    tid = child_ticket(api)["id"]
    seat = browser("seat2")
    page = seat.html(f"/console/tickets/{tid}")
    form = section(page, "risk-assessment")
    assert "孩子现在是否有危险" in form and "工具或药物是否就在手边" in form
    seat.action(tid, "assess_risk", {"immediate_danger": "no", "self_harm_thoughts": "yes",
                                     "self_harm_plan": "yes", "self_harm_means": "yes",
                                     "violence_or_abuse": "no", "safe_adult": "yes",
                                     "location_known": "yes", "note": "说药就在枕头下"})
    page = seat.html(f"/console/tickets/{tid}")
    assert '<span class="prio crisis">危机</span>' in page
    risk = section(page, "risk-assessment")
    assert 'class="risk-level high">高风险' in risk and "说药就在枕头下" in risk
    assert "风险评估为高风险" in section(page, "crisis-panel")
    assert "先问位置" not in section(page, "crisis-panel")   # the assessment says it is known
    # The answers come back checked for the next assessment.
    assert re.search(r'name="self_harm_plan" value="yes" checked', risk)


def test_a_minor_on_the_general_desk_is_offered_the_childrens_desk(browser, api):
    seat = browser("seat1")
    tid = api.create(as_user="seat1", caller={"phone": "+8613900000021", "name": "刘小军", "age": 12})["id"]
    offer = section(seat.html(f"/console/tickets/{tid}"), "children-desk-offer")
    assert "来电人未满 18 岁" in offer and "12岁" in offer
    seat.action(tid, "move_to_children_desk")
    page = seat.html(f"/console/tickets/{tid}")
    assert "儿童服务专席" in page and not section(page, "children-desk-offer")
    assert "转入儿童专席" in page      # on the timeline


def test_child_controls_are_not_offered_on_an_adults_ticket(browser, api):
    adult = api.create(as_user="seat1", caller=ADULT)["id"]
    page = browser("seat1").html(f"/console/tickets/{adult}")
    for control in ("action-refer", "action-mandatory_report", "risk-assessment", "监护人同意",
                    "children-desk-offer"):
        assert control not in page, control
    assert "仅适用于儿童专席" not in page        # not offered at all, not shown as refused
    child = browser("seat2").html(f"/console/tickets/{child_ticket(api)['id']}")
    for control in ("action-refer", "action-mandatory_report", "risk-assessment", "监护人同意"):
        assert control in child, control


def test_the_refer_form_defaults_urgency_by_service_and_prefills_the_alias(browser, api):
    tid = child_ticket(api, content="我不想活了", caller={**CHILD, "name": "张小明"})["id"]
    seat = browser("seat2")
    crisis = seat.html(f"/console/tickets/{tid}")
    assert '<option value="crisis" selected>' in crisis          # crisis intervention, by default
    assert 'name="child_alias" value="明同学"' in crisis
    legal = seat.html(f"/console/tickets/{tid}?service=legal_aid")
    assert '<option value="normal" selected>' in legal and '<option value="crisis" selected>' not in legal


def test_the_seat_edits_the_alias_on_the_referral_page(browser, api):
    from tests.console.test_referrals import refer

    tid = child_ticket(api)["id"]
    rid = refer(api, tid)
    seat = browser("seat2")
    page = seat.html(f"/console/referrals/{rid}")
    assert "修改儿童称呼" in page and 'name="child_alias"' in page
    seat.post(f"/console/referrals/{rid}/actions/rename_child", {"child_alias": "小雨点"})
    assert "小雨点" in browser("partner-xz-xinli").html(f"/console/referrals/{rid}")


def test_the_partner_sees_the_risk_assessment_consent_permitting(browser, api):
    from tests.console.test_referrals import CONSENT

    tid = child_ticket(api)["id"]
    api.post(f"/api/v1/tickets/{tid}/risk", "seat2", {"immediate_danger": "no", "violence_or_abuse": "yes",
                                                      "safe_adult": "yes"})
    with_consent = api.act(tid, "refer", "seat2", {"partner": "xz-xinli", "service": "counselling",
                                                   "consent": CONSENT})["referrals"][-1]["id"]
    overridden = api.act(tid, "refer", "seat2", {
        "partner": "xz-shegong", "service": "family_support",
        "consent": {"override_reason": "监护人即施暴者"}})["referrals"][-1]["id"]
    seen = section(browser("partner-xz-xinli").html(f"/console/referrals/{with_consent}"), "referral-risk")
    assert "中风险" in seen and "家中或学校有暴力/虐待" in seen
    blind = section(browser("partner-xz-shegong").html(f"/console/referrals/{overridden}"), "referral-risk")
    assert "中风险" in blind and "家中或学校有暴力/虐待" not in blind and "仅提供风险等级" in blind


def test_a_general_desk_seat_who_moves_a_child_lands_on_their_own_page(browser, api):
    tid = api.create(as_user="seat3", caller={"phone": "+8613900000023", "name": "孙小美", "age": 9})["id"]
    seat = browser("seat3")
    offer = section(seat.html(f"/console/tickets/{tid}"), "children-desk-offer")
    after = re.search(r'name="next" value="([^"]+)"', offer).group(1)   # what the browser posts
    moved = seat.action(tid, "move_to_children_desk", {"next": after})
    assert moved.headers["Location"].endswith("/console/")
    assert "已完成：转入儿童专席" in seat.text(seat.get("/console/", follow_redirects=True))
    assert api.ticket(tid)["desk"] == "children"
