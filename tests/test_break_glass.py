"""Issue 18: break-glass — a masked viewer reveals a child's contact by stating a reason."""

from sqlalchemy import select

from hotline.extensions import db
from referrals.models import ReadAudit

CHILD = {"phone": "+8613900000013", "name": "李小雨", "is_minor": True, "age": 12}
REASON = "孩子有自伤风险，警方需立即联系监护人"


def crisis_ticket(api) -> int:
    """A crisis ticket of the children's desk, led by 鼓楼区 with the police as co-unit."""
    tid = api.dispatched(unit="gulou", co_units=["police"], desk="children", category="psych_support",
                         priority="crisis", caller=CHILD)["id"]
    api.act(tid, "refer", "seat1", {"partner": "xz-xinli", "service": "crisis_intervention",
                                    "urgency": "crisis", "contact_route": "母亲手机 13912345678",
                                    "consent": {"by": "母亲 王秀英", "how": "phone"}})
    return tid


def test_the_police_co_unit_reveals_the_contact_with_a_reason_and_it_is_audited(app, api):
    tid = crisis_ticket(api)
    assert api.ticket(tid, as_user="handler-police")["caller"]["masked"] is True
    before = {n["id"] for n in api.get("/api/v1/notices", "supervisor1").json}
    shown = api.post(f"/api/v1/tickets/{tid}/reveal", "handler-police", {"reason": REASON}).json
    assert shown["caller"] == {"phone": CHILD["phone"], "name": CHILD["name"]}
    assert shown["referrals"][0]["contact_route"] == "母亲手机 13912345678"
    assert shown["referrals"][0]["guardian"] == "母亲 王秀英"
    with app.app_context():
        (row,) = db.session.scalars(select(ReadAudit).where(ReadAudit.kind == "reveal")).all()
        assert (row.subject, row.subject_id, row.reason) == ("ticket", tid, REASON)
    notice = next(n for n in api.get("/api/v1/notices", "supervisor1").json if n["id"] not in before)
    assert notice["kind"] == "reveal" and REASON in notice["message"]
    assert "handler-police" in notice["message"]
    # The reveal does not unmask the ticket for later reads.
    assert api.ticket(tid, as_user="handler-police")["caller"]["masked"] is True


def test_a_reveal_needs_a_reason_and_a_visible_ticket(api):
    tid = crisis_ticket(api)
    response = api.post(f"/api/v1/tickets/{tid}/reveal", "handler-police", {"reason": ""}, expect=422)
    api.assert_error(response, 422, "reason")
    api.post(f"/api/v1/tickets/{tid}/reveal", "handler-police", {}, expect=422)
    api.post(f"/api/v1/tickets/{tid}/reveal", "handler-yunlong", {"reason": REASON}, expect=404)
    api.post(f"/api/v1/tickets/{tid}/reveal", "partner-xz-xinli", {"reason": REASON}, expect=404)


def test_the_read_audit_api_lists_reveals_with_their_reason(api):
    tid = crisis_ticket(api)
    api.post(f"/api/v1/tickets/{tid}/reveal", "handler-police", {"reason": REASON})
    rows = api.get(f"/api/v1/audit/reads?ticket={tid}&kind=reveal", "supervisor1").json
    assert [(r["user"], r["kind"], r["subject_id"], r["reason"]) for r in rows] == [
        ("handler-police", "reveal", tid, REASON)]
    everything = api.get(f"/api/v1/audit/reads?ticket={tid}&from=2026-11-23&to=2026-11-23", "admin").json
    assert len(everything) > 1 and all(len(r["hash"]) == 64 for r in everything)
    assert api.get("/api/v1/audit/reads?from=2026-11-24", "admin").json == []
    api.assert_error(api.get("/api/v1/audit/reads", "handler-police", expect=403), 403)
