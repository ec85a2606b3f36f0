"""Child safety on the ticket (issue 16): crisis flagged once, the risk assessment and the level
it gives, the recorded 110/120 call, the children's desk for a minor, child-only controls,
the referral defaults (12348 urgency, the child's alias)."""

import pytest

from referrals.service import child_alias
from tests.test_referrals import CONSENT, child_ticket, ract, referral_id

ADULT = {"phone": "+8613900000099", "name": "王建国", "is_minor": False, "age": 45}
NO_RISK = {"immediate_danger": "no", "self_harm_thoughts": "no", "self_harm_plan": "no",
           "self_harm_means": "no", "violence_or_abuse": "no", "safe_adult": "yes",
           "location_known": "yes"}


def adult_ticket(api) -> dict:
    return api.create(as_user="seat1", caller=ADULT)


def test_flag_crisis_is_refused_on_a_ticket_already_in_crisis(api):
    tid = child_ticket(api)["id"]
    api.act(tid, "flag_crisis", "seat2", {"reason": "孩子说话断断续续，像在哭"})
    refused = api.act(tid, "flag_crisis", "seat2", {"reason": "再次标记"}, expect=409)
    assert refused["error"] == "ticket.already_crisis"
    assert "已是危机工单" in refused["message"]
    flagged = [e for e in api.events(tid) if e["action"] == "crisis_flagged"]
    assert len(flagged) == 1


@pytest.mark.parametrize("answers, level, priority", [
    (NO_RISK, "low", "normal"),
    ({**NO_RISK, "immediate_danger": "yes"}, "high", "crisis"),
    ({**NO_RISK, "self_harm_thoughts": "yes", "self_harm_plan": "yes", "self_harm_means": "yes"},
     "high", "crisis"),
    ({**NO_RISK, "violence_or_abuse": "yes", "safe_adult": "no"}, "high", "crisis"),
    ({**NO_RISK, "self_harm_thoughts": "yes"}, "medium", "urgent"),
    ({**NO_RISK, "self_harm_plan": "yes"}, "medium", "urgent"),
    ({**NO_RISK, "violence_or_abuse": "yes"}, "medium", "urgent"),
    ({**NO_RISK, "immediate_danger": "unknown"}, "medium", "urgent"),
    ({**NO_RISK, "location_known": "no"}, "low", "normal"),
])
def test_the_risk_level_and_the_priority_it_sets(api, answers, level, priority):
    tid = child_ticket(api)["id"]
    assessed = api.post(f"/api/v1/tickets/{tid}/risk", "seat2", answers).json
    assert assessed["risk"]["level"] == level
    assert assessed["priority"] == priority
    assert assessed["risk"]["answers"] == answers


def test_a_high_risk_assessment_takes_the_crisis_path(api):
    tid = child_ticket(api)["id"]
    api.post(f"/api/v1/tickets/{tid}/risk", "seat2",
             {**NO_RISK, "self_harm_thoughts": "yes", "self_harm_plan": "yes",
              "self_harm_means": "yes", "note": "说药已经准备好了"})
    ticket = api.ticket(tid)
    assert ticket["priority"] == "crisis"
    assert "xz-xinli" in [p["code"] for p in ticket["crisis"]["partners"]]
    notices = api.get("/api/v1/notices", "supervisor1").json
    assert any(n["kind"] == "crisis" and n["ticket"] == tid for n in notices)
    events = {e["action"]: e for e in api.events(tid)}
    assert events["assess_risk"]["data"]["level"] == "high"
    assert events["assess_risk"]["actor"] == "seat2"
    assert events["crisis_flagged"]["data"]["by"] == "seat"


def test_every_assessment_is_kept_with_the_seat_and_the_time(api):
    tid = child_ticket(api)["id"]
    api.post(f"/api/v1/tickets/{tid}/risk", "seat2", NO_RISK)
    api.post(f"/api/v1/tickets/{tid}/risk", "seat1", {**NO_RISK, "immediate_danger": "yes"})
    rows = api.get(f"/api/v1/tickets/{tid}/risk", "supervisor1").json
    assert [(r["assessed_by"], r["level"]) for r in rows] == [("seat1", "high"), ("seat2", "low")]
    assert all(r["assessed_at"] for r in rows)
    api.get(f"/api/v1/tickets/{tid}/risk", "handler-gulou", expect=404)


def test_an_assessment_never_lowers_the_priority(api):
    tid = child_ticket(api, content="我不想活了")["id"]
    assessed = api.post(f"/api/v1/tickets/{tid}/risk", "seat2", NO_RISK).json
    assert (assessed["risk"]["level"], assessed["priority"]) == ("low", "crisis")


def test_the_partner_sees_the_risk_and_the_answers_only_with_consent(api):
    tid = child_ticket(api)["id"]
    api.post(f"/api/v1/tickets/{tid}/risk", "seat2", {**NO_RISK, "self_harm_thoughts": "yes"})
    with_consent = referral_id(api.act(tid, "refer", "seat2", {
        "partner": "xz-xinli", "service": "counselling", "consent": CONSENT}), "xz-xinli")
    overridden = referral_id(api.act(tid, "refer", "seat2", {
        "partner": "xz-shegong", "service": "family_support",
        "consent": {"override_reason": "监护人即施暴者，无法取得同意"}}), "xz-shegong")
    seen = api.get(f"/api/v1/referrals/{with_consent}", "partner-xz-xinli").json
    assert seen["risk"]["level"] == "medium" and seen["risk"]["answers"]["self_harm_thoughts"] == "yes"
    blind = api.get(f"/api/v1/referrals/{overridden}", "partner-xz-shegong").json
    assert blind["risk"]["level"] == "medium" and "answers" not in blind["risk"]
    ract(api, with_consent, "accept", "partner-xz-xinli")


def test_call_emergency_is_recorded_without_closing_the_ticket(api):
    tid = child_ticket(api, content="我站在楼顶想跳楼")["id"]
    called = api.act(tid, "call_emergency", "seat2", {"to": "120", "note": "孩子已服药，转120"})
    assert called["state"] == "intake"
    event = [e for e in api.events(tid) if e["action"] == "call_emergency"][0]
    assert event["data"]["to"] == "120" and event["actor"] == "seat2"
    api.act(tid, "call_emergency", "seat2", {"to": "119"}, expect=422)


def test_a_minor_on_the_general_desk_moves_to_the_childrens_desk(api):
    ticket = api.create(as_user="seat1", caller={"phone": "+8613900000021", "name": "刘小军", "age": 12})
    assert ticket["desk"] == "general" and ticket["caller"]["is_minor"]
    moved = api.act(ticket["id"], "move_to_children_desk", "seat1")
    assert moved["desk"] == "children"
    event = [e for e in api.events(ticket["id"]) if e["action"] == "move_to_children_desk"][0]
    assert event["data"]["from_desk"] == "general" and event["actor"] == "seat1"
    again = api.act(ticket["id"], "move_to_children_desk", "seat1", expect=409)
    assert again["error"] == "ticket.not_minor_on_general_desk"
    adult = adult_ticket(api)
    assert api.act(adult["id"], "move_to_children_desk", "seat1",
                   expect=409)["error"] == "ticket.not_minor_on_general_desk"


@pytest.mark.parametrize("action, body", [
    ("refer", {"partner": "12348", "service": "legal_consultation"}),
    ("mandatory_report", {"suspected": "neglect", "what": "x"}),
    ("assess_risk", NO_RISK),
])
def test_child_only_controls_are_refused_on_an_adults_general_ticket(api, action, body):
    tid = adult_ticket(api)["id"]
    refused = api.act(tid, action, "seat1", body, expect=409)
    assert refused["error"] == "ticket.not_child_case"
    assert "儿童专席" in refused["message"]


def test_a_minor_on_the_general_desk_may_be_referred(api):
    ticket = api.create(as_user="seat1", caller={"phone": "+8613900000022", "name": "赵可", "age": 16})
    referred = api.act(ticket["id"], "refer", "seat1", {"partner": "12348", "service": "legal_consultation"})
    assert [r["urgency"] for r in referred["referrals"]] == ["normal"]


@pytest.mark.parametrize("name, alias", [
    ("张小明", "明同学"), ("小明", "明同学"), ("欧阳娜娜", "娜同学"), ("李雨", "雨同学"),
    ("匿名", "同学"), ("", "同学"), (None, "同学"), ("不详", "同学"), ("张某", "同学"),
    ("Tom", "同学"), ("  王芳 ", "芳同学"),
])
def test_the_childs_alias(name, alias):
    assert child_alias(name) == alias


def test_the_referral_uses_the_alias_or_what_the_seat_typed(api):
    tid = child_ticket(api, caller={"phone": "+8613900000013", "name": "张小明", "is_minor": True,
                                    "age": 15})["id"]
    first = api.act(tid, "refer", "seat2", {"partner": "xz-xinli", "service": "counselling"})
    edited = api.act(tid, "refer", "seat2", {"partner": "xz-shegong", "service": "family_support",
                                             "child_alias": "小雨点"})
    aliases = {}
    for partner, user in (("xz-xinli", "partner-xz-xinli"), ("xz-shegong", "partner-xz-shegong")):
        rid = referral_id(edited if partner == "xz-shegong" else first, partner)
        aliases[partner] = api.get(f"/api/v1/referrals/{rid}", user).json["child"]["alias"]
    assert aliases == {"xz-xinli": "明同学", "xz-shegong": "小雨点"}


def test_the_seat_corrects_the_alias_after_sending(api):
    tid = child_ticket(api)["id"]
    rid = referral_id(api.act(tid, "refer", "seat2", {"partner": "xz-xinli", "service": "counselling",
                                                      "consent": CONSENT}), "xz-xinli")
    assert api.get(f"/api/v1/referrals/{rid}", "partner-xz-xinli").json["child"]["alias"] == "雨同学"
    api.post(f"/api/v1/referrals/{rid}/actions/rename_child", "seat2", {"child_alias": "小雨点"})
    assert api.get(f"/api/v1/referrals/{rid}", "partner-xz-xinli").json["child"]["alias"] == "小雨点"
    api.post(f"/api/v1/referrals/{rid}/actions/rename_child", "partner-xz-xinli",
             {"child_alias": "x"}, expect=403)
    event = [e for e in api.events(tid) if e["action"] == "referral_rename_child"][0]
    assert event["data"]["previous"] == "雨同学" and event["actor"] == "seat2"
