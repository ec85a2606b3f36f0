"""Issue 18: guardian and contact data masked like the caller; every read of a child's ticket audited."""

from sqlalchemy import select

from hotline.extensions import db
from referrals.models import ReadAudit

CHILD = {"phone": "+8613900000013", "name": "李小雨", "is_minor": True, "age": 12}
ROUTE = "母亲手机 13912345678，晚上联系"
GUARDIAN = "母亲 王秀英"


def referred(api, covers_contact: bool) -> tuple[int, int]:
    """A child's ticket led by 鼓楼区 with 市教育局 as co-unit, referred to xz-xinli."""
    tid = api.dispatched(unit="gulou", co_units=["edu"], desk="children", category="psych_support",
                         caller=CHILD)["id"]
    ticket = api.act(tid, "refer", "seat1", {
        "partner": "xz-xinli", "service": "counselling", "urgency": "normal", "need": "情绪疏导",
        "contact_route": ROUTE, "child_alias": "小雨",
        "consent": {"by": GUARDIAN, "how": "phone", "covers_contact": covers_contact}})
    return tid, ticket["referrals"][-1]["id"]


def test_guardian_and_contact_route_are_masked_for_whoever_sees_the_caller_masked(api):
    tid, rid = referred(api, covers_contact=True)
    for user in ("handler-edu", "handler-gulou", "supervisor1", "seat1"):
        masked = api.ticket(tid, as_user=user)["caller"]["masked"]
        events = api.get(f"/api/v1/tickets/{tid}/events", user).json
        referral = api.get(f"/api/v1/referrals/{rid}", user).json
        listed = next(r for r in api.get("/api/v1/referrals", user).json if r["id"] == rid)
        for shown in (str(events), str(referral), str(listed)):
            if masked:
                assert "13912345678" not in shown and "王秀英" not in shown, user
            else:
                assert ROUTE in str(referral) and GUARDIAN in str(referral), user
        if masked:
            assert referral["contact_route"] != ROUTE and referral["contact_route"].startswith("母")
            assert referral["consent"]["by"] == "母*****"
    assert api.ticket(tid, as_user="handler-edu")["caller"]["masked"] is True


def test_the_event_log_keeps_no_guardian_or_contact_route(api):
    tid, _ = referred(api, covers_contact=True)
    refer = next(e for e in api.events(tid, as_user="supervisor1") if e["action"] == "refer")
    assert "13912345678" not in str(refer["data"]) and "王秀英" not in str(refer["data"])
    assert refer["data"]["partner"] == "xz-xinli" and refer["data"]["consent"]["covers_contact"] is True


def test_the_partner_gets_a_contact_route_only_when_consent_covers_contact(api):
    _, without = referred(api, covers_contact=False)
    seen = api.get(f"/api/v1/referrals/{without}", "partner-xz-xinli").json
    assert seen["contact_route"] is None and seen["child"]["phone"] is None
    assert "13912345678" not in str(api.get("/api/v1/referrals", "partner-xz-xinli").json)
    _, covered = referred(api, covers_contact=True)
    seen = api.get(f"/api/v1/referrals/{covered}", "partner-xz-xinli").json
    assert seen["contact_route"] == ROUTE and seen["child"]["phone"] == CHILD["phone"]


def reads(app, tid) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(ReadAudit.view).where(
            ReadAudit.subject == "ticket", ReadAudit.subject_id == tid)))


def test_routing_and_action_answers_are_audited_reads(app, api):
    """Row 10: the routing suggestion and every action's answer (the full ticket) are reads."""
    tid = api.create(as_user="seat2", desk="children", category="psych_support", caller=CHILD,
                     content="孩子最近不愿上学")["id"]
    api.act(tid, "submit", "seat2")
    assert reads(app, tid) >= {"intake", "action"}
    api.get(f"/api/v1/tickets/{tid}/routing", "dispatcher1", expect=None)
    assert "routing" in reads(app, tid)
    general = api.create()["id"]
    api.get(f"/api/v1/tickets/{general}/routing", "dispatcher1", expect=None)
    api.act(general, "submit", "seat1")
    assert reads(app, general) == set()


def test_the_calls_open_tickets_are_audited_reads(app, api):
    from hotline.channels import calls
    from hotline.tickets.models import Desk

    tid = api.create(as_user="seat2", desk="children", category="psych_support", caller=CHILD,
                     content="孩子最近不愿上学")["id"]
    with app.app_context():
        calls.record_arrival("CA" + "1" * 32, CHILD["phone"], "+8651612345", "ringing")
        calls.choose_desk("CA" + "1" * 32, Desk.CHILDREN)
        db.session.commit()
    listed = api.get("/api/v1/calls", "supervisor1").json
    assert [t["id"] for t in listed[0]["open_tickets"]] == [tid]
    assert "calls" in reads(app, tid)
