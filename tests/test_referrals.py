"""Referrals to partners, consent, minimal disclosure, crisis path and mandatory reports."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from hotline.clocks import firing
from hotline.extensions import db

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
CHILD = {"phone": "+8613900000013", "name": "李小雨", "is_minor": True, "age": 12}
CONSENT = {"by": "母亲 王某", "how": "phone", "covers_contact": True}


def child_ticket(api, **overrides) -> dict:
    body = {"desk": "children", "category": "psych_support", "subject": "孩子情绪低落",
            "content": "孩子最近不愿上学，晚上睡不着", "caller": CHILD,
            "location": {"unit": "gulou", "address": "黄楼街道"}, **overrides}
    return api.create(as_user="seat2", **body)


def refer(api, tid, partner="xz-xinli", service="counselling", expect=200, **extra):
    body = {"partner": partner, "service": service, "urgency": "normal", "consent": CONSENT,
            "need": "情绪疏导", "contact_route": "请先联系母亲", "note": "孩子害怕见陌生人", **extra}
    return api.act(tid, "refer", "seat2", body, expect=expect)


def referral_id(ticket: dict, partner: str) -> int:
    return next(r["id"] for r in ticket["referrals"] if r["partner"] == partner)


def ract(api, rid, action, user, body=None, expect=200):
    return api.post(f"/api/v1/referrals/{rid}/actions/{action}", user, body or {}, expect=expect).json


def test_partner_directory_lists_the_seeded_institutions(api):
    partners = api.get("/api/v1/partners", "seat1").json
    kinds = [p["kind"] for p in partners]
    assert kinds.count("psychology") == 12 and kinds.count("legal_aid") == 1
    assert kinds.count("social_work") == 2
    legal = api.get("/api/v1/partners?kind=legal_aid", "seat1").json
    assert legal[0]["code"] == "12348"
    assert set(legal[0]["services"]) == {"legal_consultation", "legal_aid", "mediation"}
    crisis = api.get("/api/v1/partners?service=crisis_intervention", "seat1").json
    assert "xz-xinli" in [p["code"] for p in crisis]


def test_the_whole_referral_road(api):
    tid = child_ticket(api)["id"]
    referred = refer(api, tid)
    rid = referral_id(referred, "xz-xinli")
    assert [r["state"] for r in referred["referrals"]] == ["sent"]
    partner = "partner-xz-xinli"
    seen = api.get(f"/api/v1/referrals/{rid}", partner).json
    assert seen["state"] == "sent" and [t["kind"] for t in seen["timers"]] == ["accept"]
    ract(api, rid, "accept", partner)
    ract(api, rid, "first_contact", partner, {"note": "已与母亲通话，约定周六面谈"})
    ract(api, rid, "report_outcome", partner, {"outcome": "三次咨询后情绪好转", "follow_up": True})
    closed = ract(api, rid, "close", partner)
    assert closed["state"] == "closed"
    assert [(t["kind"], t["state"]) for t in closed["timers"]] == [
        ("accept", "met"), ("first_contact", "met"), ("outcome", "met")]
    steps = [e["action"] for e in api.get(f"/api/v1/referrals/{rid}/events", "supervisor1").json]
    assert steps == ["sent", "accept", "first_contact", "report_outcome", "close"]
    on_ticket = [e["action"] for e in api.events(tid) if e["action"].startswith("referral_")]
    assert on_ticket == ["referral_sent", "referral_accept", "referral_first_contact",
                         "referral_report_outcome", "referral_close"]
    # A closed referral takes no more steps.
    ract(api, rid, "accept", partner, expect=409)


def test_decline_then_refer_elsewhere(api):
    tid = child_ticket(api)["id"]
    rid = referral_id(refer(api, tid), "xz-xinli")
    ract(api, rid, "decline", "partner-xz-xinli", {"reason": "本周名额已满"})
    ract(api, rid, "decline", "partner-xz-xinli", {"reason": "again"}, expect=409)
    again = refer(api, tid, partner="gulou-xinli")
    assert [(r["partner"], r["state"]) for r in again["referrals"]] == [
        ("xz-xinli", "declined"), ("gulou-xinli", "sent")]
    assert any(n["kind"] == "referral_declined" for n in api.get("/api/v1/notices", "seat2").json)


def test_revoke_by_the_referring_side_only(api):
    tid = child_ticket(api)["id"]
    rid = referral_id(refer(api, tid), "xz-xinli")
    ract(api, rid, "revoke", "partner-xz-xinli", {"reason": "x"}, expect=403)
    revoked = ract(api, rid, "revoke", "seat2", {"reason": "家长改变主意"})
    assert revoked["state"] == "revoked"
    assert all(t["state"] == "cancelled" for t in revoked["timers"])


def test_partner_actions_are_the_partners_alone(api):
    tid = child_ticket(api)["id"]
    rid = referral_id(refer(api, tid), "xz-xinli")
    for user in ("seat2", "supervisor1"):
        ract(api, rid, "accept", user, expect=403)


def test_wrong_partner_or_service_is_named(api):
    tid = child_ticket(api)["id"]
    assert "partner" in refer(api, tid, partner="nobody", expect=422)["errors"]
    assert "service" in refer(api, tid, partner="12348", service="therapy", expect=422)["errors"]


def test_consent_is_needed_under_14_and_the_override_is_logged(api):
    tid = child_ticket(api)["id"]
    refused = refer(api, tid, consent={}, expect=422)
    assert "consent" in refused["errors"] and "监护人" in refused["message"]
    assert api.ticket(tid)["referrals"] == []
    overridden = refer(api, tid, consent={"override_reason": "孩子正在自伤，无法联系监护人"})
    rid = referral_id(overridden, "xz-xinli")
    full = api.get(f"/api/v1/referrals/{rid}", "supervisor1").json
    assert full["consent"]["override_reason"] == "孩子正在自伤，无法联系监护人"
    board = api.get("/api/v1/notices", "supervisor1").json
    assert any(n["kind"] == "consent_override" and n["ticket"] == tid for n in board)
    # A 15-year-old needs no guardian consent.
    older = child_ticket(api, caller={**CHILD, "age": 15})["id"]
    refer(api, older, consent={})


def test_the_partner_sees_only_the_minimal_view(api):
    tid = child_ticket(api)["id"]
    no_contact = {**CONSENT, "covers_contact": False}
    rid = referral_id(refer(api, tid, consent=no_contact), "xz-xinli")
    view = api.get(f"/api/v1/referrals/{rid}", "partner-xz-xinli").json
    assert view["child"] == {"alias": "雨同学", "age": 12, "phone": None}
    # Without consent to contact, no contact route either (issue 18).
    assert view["need"] == "情绪疏导" and view["contact_route"] is None
    assert view["note"] == "孩子害怕见陌生人"
    assert view["consent"] is None and view["ticket"] == {"id": tid, "number": view["ticket"]["number"]}
    for absent in ("content", "caller", "timeline", "events", "referrals", "location"):
        assert absent not in view
    # The partner cannot open the ticket itself.
    api.get(f"/api/v1/tickets/{tid}", "partner-xz-xinli", expect=404)
    # With consent covering contact, the phone is shown.
    rid2 = referral_id(refer(api, tid, partner="xz-shegong", service="family_support"), "xz-shegong")
    covered = api.get(f"/api/v1/referrals/{rid2}", "partner-xz-shegong").json
    assert covered["child"]["phone"] == CHILD["phone"] and covered["contact_route"] == "请先联系母亲"


@pytest.mark.parametrize("viewer", ["partner-xz-xinli", "partner-12348", "partner-gulou-xinli"])
def test_partners_never_see_each_others_referrals(api, viewer):
    tid = child_ticket(api)["id"]
    mine = {"partner-xz-xinli": ("xz-xinli", "counselling"),
            "partner-12348": ("12348", "legal_aid"),
            "partner-gulou-xinli": ("gulou-xinli", "counselling")}
    ids = {}
    for code, service in mine.values():
        ids[code] = referral_id(refer(api, tid, partner=code, service=service), code)
    own_code = mine[viewer][0]
    listed = [r["id"] for r in api.get("/api/v1/referrals", viewer).json]
    assert listed == [ids[own_code]]
    for code, rid in ids.items():
        expected = 200 if code == own_code else 404
        api.get(f"/api/v1/referrals/{rid}", viewer, expect=expected)
        if code != own_code:
            ract(api, rid, "accept", viewer, expect=404)


def test_a_partners_list_reads_the_tickets_once_however_many_referrals(api, statements):
    def ticket_reads_for_a_list_of(count: int) -> int:
        for _ in range(count - len(api.get("/api/v1/referrals", "partner-xz-xinli").json)):
            refer(api, child_ticket(api)["id"])
        api.get("/api/v1/referrals", "partner-xz-xinli")       # log in before counting
        statements.clear()
        listed = api.get("/api/v1/referrals", "partner-xz-xinli").json
        assert len(listed) == count and all(r["child"]["phone"] for r in listed)
        return sum("FROM tickets" in s for s in statements)

    assert ticket_reads_for_a_list_of(1) == ticket_reads_for_a_list_of(4) == 1


def test_an_unanswered_accept_clock_escalates_and_proposes_the_next_partner(app, api):
    with time_machine.travel(T0, tick=False):
        tid = child_ticket(api)["id"]
        rid = referral_id(refer(api, tid, partner="gulou-xinli"), "gulou-xinli")
    with time_machine.travel(T0 + timedelta(hours=2, minutes=1), tick=False):
        with app.app_context():
            firing.sweep()
            db.session.commit()
        api.forget_tokens()
        escalated = api.get(f"/api/v1/referrals/{rid}", "supervisor1").json
        assert escalated["state"] == "escalated"
        assert escalated["proposed_partner"]["code"] != "gulou-xinli"
        board = api.get("/api/v1/notices", "supervisor1").json
        assert any(n["kind"] == "referral_escalated" and n["ticket"] == tid for n in board)
        # The partner may still accept late.
        assert ract(api, rid, "accept", "partner-gulou-xinli")["state"] == "accepted"


def test_a_tickets_clock_and_two_referral_clocks_firing_in_one_batch_keep_its_timeline_chained(app, api):
    """One batch fires the ticket's dispatch clock and both referrals' accept clocks: the
    clock events are written together as the batch ends, the escalations one by one in
    between; the timeline is in order and its hash chain intact."""
    from hotline import audit

    with time_machine.travel(T0, tick=False):
        tid = child_ticket(api)["id"]
        api.act(tid, "submit", "seat2")
        refer(api, tid, partner="gulou-xinli")
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        refer(api, tid, partner="xz-xinli")
    with time_machine.travel(T0 + timedelta(hours=30), tick=False):
        with app.app_context():
            assert firing.sweep() == {"warning": 0, "overdue": 3}
            db.session.commit()
            assert audit.verify(tid).broken == []
        api.forget_tokens()
        timeline = [(e["seq"], e["action"], e["data"].get("timer")) for e in api.events(tid)]
    assert timeline[-5:] == [(7, "timer_overdue", "dispatch"), (8, "timer_overdue", "accept"),
                             (9, "referral_escalate", None), (10, "timer_overdue", "accept"),
                             (11, "referral_escalate", None)]


def test_a_crisis_referral_must_be_answered_before_the_reply(api):
    ticket = child_ticket(api, priority="crisis")
    tid = ticket["id"]
    api.act(tid, "submit", "seat2")
    api.act(tid, "dispatch", "dispatcher1", {"unit": "gulou"})
    api.act(tid, "acknowledge", "handler-gulou")
    rid = referral_id(api.act(tid, "refer", "handler-gulou", {
        "partner": "xz-xinli", "service": "crisis_intervention", "urgency": "crisis",
        "consent": CONSENT}), "xz-xinli")
    refused = api.act(tid, "reply", "handler-gulou", {"result": "已处理", "resolved": True}, expect=409)
    assert "危机转介" in refused["message"]
    ract(api, rid, "accept", "partner-xz-xinli")
    api.act(tid, "reply", "handler-gulou", {"result": "已处理", "resolved": True})


@pytest.mark.parametrize("content, flagged", [
    ("我不想活了，每天都很难受", True),
    ("爸爸喝醉了就打我，我被打得很疼", True),
    ("同学在学校霸凌我", True),
    ("晚上邻居太吵，经常被打扰休息", False),      # 被打扰 is not 被打
    ("想咨询孩子转学的手续", False),
    ("我在看一部关于自杀的纪录片，想了解心理援助热线", True),   # accepted false positive
])
def test_crisis_words_on_intake(api, content, flagged):
    ticket = child_ticket(api, content=content)
    assert (ticket["priority"] == "crisis") is flagged
    board = api.get("/api/v1/notices", "supervisor1").json
    assert any(n["kind"] == "crisis" and n["ticket"] == ticket["id"] for n in board) is flagged
    if flagged:
        assert ticket["crisis"]["transfer_to"] == "110"
        assert "xz-xinli" in [p["code"] for p in ticket["crisis"]["partners"]]
        event = [e for e in api.events(ticket["id"]) if e["action"] == "crisis_flagged"][0]
        assert event["data"]["by"] == "keywords" and event["data"]["words"]
    else:
        assert ticket["crisis"] is None


def test_crisis_words_in_a_note_and_the_seats_judgement(api):
    tid = child_ticket(api, content="咨询孩子厌学")["id"]
    noted = api.act(tid, "add_note", "seat2", {"note": "孩子说想割腕"})
    assert noted["priority"] == "crisis"
    other = child_ticket(api, content="咨询孩子厌学")["id"]
    judged = api.act(other, "flag_crisis", "seat2", {"reason": "孩子语气异常，反复沉默"})
    assert judged["priority"] == "crisis"
    event = [e for e in api.events(other) if e["action"] == "crisis_flagged"][0]
    assert event["data"]["by"] == "seat"
    api.act(other, "flag_crisis", "handler-gulou", {"reason": "x"}, expect=404)


def test_mandatory_report_lifecycle(api):
    ticket = child_ticket(api, content="邻居家的孩子经常被打，身上有伤")
    tid = ticket["id"]
    reports = api.get("/api/v1/mandatory-reports?open=true", "supervisor1").json
    [report] = [r for r in reports if r["ticket"] == tid]
    assert report["state"] == "open" and report["suspected"] == "abuse"
    assert datetime.fromisoformat(report["due_at"]) > datetime.fromisoformat(ticket["created_at"])
    api.post(f"/api/v1/mandatory-reports/{report['id']}/actions/record_receipt", "supervisor1",
             {"receipt_number": "x"}, expect=409)
    api.post(f"/api/v1/mandatory-reports/{report['id']}/actions/report", "supervisor1",
             {"to": "鼓楼公安分局", "note": "电话报告"})
    done = api.post(f"/api/v1/mandatory-reports/{report['id']}/actions/record_receipt",
                    "supervisor1", {"receipt_number": "GL-2026-1123-07"}).json
    assert done["state"] == "receipted"
    assert [r for r in api.get("/api/v1/mandatory-reports?open=true", "supervisor1").json
            if r["ticket"] == tid] == []
    actions = [e["action"] for e in api.events(tid)]
    assert {"mandatory_report", "mandatory_report_report", "mandatory_report_record_receipt"} <= set(actions)
    api.get("/api/v1/mandatory-reports", "partner-xz-xinli", expect=403)
    # A seat may also open one by hand.
    other = child_ticket(api, content="孩子长期无人照看")["id"]
    api.act(other, "mandatory_report", "seat2", {"suspected": "neglect", "what": "长期独自在家，无人照看"})
    assert any(r["ticket"] == other for r in api.get("/api/v1/mandatory-reports", "supervisor1").json)


def test_every_read_of_a_childs_ticket_or_referral_is_audited(app, api):
    from sqlalchemy import select

    from referrals.models import ReadAudit

    tid = child_ticket(api)["id"]
    rid = referral_id(refer(api, tid), "xz-xinli")
    api.ticket(tid, as_user="supervisor1")
    api.get(f"/api/v1/referrals/{rid}", "partner-xz-xinli")
    with app.app_context():
        rows = db.session.execute(select(ReadAudit.subject, ReadAudit.subject_id, ReadAudit.view)).all()
    assert ("ticket", tid, "ticket") in rows
    assert ("referral", rid, "referral") in rows
    general = api.create()
    api.ticket(general["id"])
    with app.app_context():
        subjects = db.session.scalars(select(ReadAudit.subject_id).where(ReadAudit.subject == "ticket")).all()
    assert general["id"] not in subjects


def test_partner_kpis(api):
    with time_machine.travel(T0, tick=False):
        tid = child_ticket(api)["id"]
        first = referral_id(refer(api, tid), "xz-xinli")
        second = referral_id(refer(api, tid, partner="xz-shegong", service="family_support"), "xz-shegong")
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        ract(api, first, "accept", "partner-xz-xinli")
        ract(api, second, "decline", "partner-xz-shegong", {"reason": "不在服务范围"})
    with time_machine.travel(T0 + timedelta(hours=4), tick=False):
        ract(api, first, "first_contact", "partner-xz-xinli", {"note": "已联系"})
        ract(api, first, "report_outcome", "partner-xz-xinli", {"outcome": "好转", "follow_up": False})
        kpis = {k["partner"]: k for k in
                api.get("/api/v1/reports/partners?from=2026-11-01&to=2026-11-30", "supervisor1").json}
    assert kpis["xz-xinli"] | {"name": None} == {
        "partner": "xz-xinli", "name": None, "sent": 1, "acceptance": 1.0, "completion": 1.0,
        "median_hours_to_accept": 1.0, "median_hours_to_first_contact": 3.0}
    assert (kpis["xz-shegong"]["sent"], kpis["xz-shegong"]["acceptance"]) == (1, 0.0)
    assert kpis["12348"]["acceptance"] is None


def test_consent_with_its_time_is_recorded(api):
    tid = child_ticket(api)["id"]
    consent = {**CONSENT, "at": "2026-11-23T09:30:00+08:00"}
    rid = referral_id(refer(api, tid, consent=consent), "xz-xinli")
    full = api.get(f"/api/v1/referrals/{rid}", "supervisor1").json
    assert full["consent"]["at"].startswith("2026-11-23T01:30:00")
    event = [e for e in api.events(tid) if e["action"] == "refer"][0]
    assert event["data"]["consent"]["at"] == "2026-11-23T09:30:00+08:00"


def test_seats_see_the_referrals_of_their_desks_only(api):
    tid = child_ticket(api)["id"]
    rid = referral_id(refer(api, tid), "xz-xinli")
    api.get(f"/api/v1/referrals/{rid}", "seat1")                 # general + children
    api.get(f"/api/v1/referrals/{rid}", "seat3", expect=404)     # hard cases + general
    assert api.get("/api/v1/referrals", "seat3").json == []
    api.get(f"/api/v1/referrals/{rid}", "handler-yunlong", expect=404)
