"""Issue 22: supervisors dispatch; the centre recalls (改派) a ticket before the unit signs for it."""

from hotline.extensions import db
from hotline.notices import Notice
from tests.test_webhooks_out import log_of, subscribe


def test_a_supervisor_dispatches_an_overdue_ticket_himself(api):
    ticket = api.create()
    api.act(ticket["id"], "submit", "seat1")
    dispatched = api.act(ticket["id"], "dispatch", "supervisor1", {"unit": "gulou"})
    assert dispatched["state"] == "dispatched" and dispatched["lead_unit"] == "gulou"


def test_recall_before_acknowledgement_sends_the_ticket_back_to_dispatch(app, api):
    sub = subscribe(api, "http://127.0.0.1:9/down", unit="gulou", events=["ticket.recalled"])
    tid = api.dispatched(unit="gulou", co_units=["yunlong"])["id"]

    recalled = api.act(tid, "recall", "dispatcher1", {"reason": "派错区县，应由泉山区办理"})

    assert recalled["state"] == "pending_dispatch"
    assert recalled["lead_unit"] is None and recalled["co_units"] == []
    event = api.get(f"/api/v1/tickets/{tid}/events", "dispatcher1").json[-1]
    assert (event["action"], event["from_state"], event["to_state"]) == \
        ("recall", "dispatched", "pending_dispatch")
    assert event["data"]["previous_unit"] == "gulou"
    assert event["data"]["previous_co_units"] == ["yunlong"]
    # The unit's clocks stop; the dispatch clock runs again from now.
    assert [t["state"] for t in api.timers_of(recalled, "acknowledge")] == ["cancelled"]
    assert [t["state"] for t in api.timers_of(recalled, "handle")] == ["cancelled"]
    assert api.running_timer(recalled, "dispatch")
    # gulou no longer sees it, but its inbox says it was recalled, and so does its system.
    api.get(f"/api/v1/tickets/{tid}", "handler-gulou", expect=404)
    with app.app_context():
        told = db.session.query(Notice).filter_by(ticket_id=tid, kind="recall").all()
        assert {n.unit.code for n in told} == {"gulou", "yunlong"}
        assert "派错区县" in told[0].message
    (delivery,) = log_of(api, sub["id"])
    assert delivery["type"] == "ticket.recalled"
    assert '"previous_unit": "gulou"' in delivery["body"] or '"previous_unit":"gulou"' in delivery["body"]

    redispatched = api.act(tid, "dispatch", "dispatcher1", {"unit": "quanshan"})
    assert redispatched["lead_unit"] == "quanshan"
    assert api.running_timer(redispatched, "acknowledge")


def test_recall_after_the_unit_acknowledged_is_refused(api):
    tid = api.dispatched(unit="gulou")["id"]
    api.act(tid, "acknowledge", "handler-gulou")
    refused = api.try_act(tid, "recall", "supervisor1", {"reason": "改派"})
    assert refused.status_code == 409
    assert refused.json["error"] == "ticket.wrong_state"


def test_recall_needs_a_reason_and_the_centre(api):
    tid = api.dispatched(unit="gulou")["id"]
    assert api.try_act(tid, "recall", "dispatcher1", {}).status_code == 422
    assert api.try_act(tid, "recall", "handler-gulou", {"reason": "x"}).status_code == 403
    assert api.try_act(tid, "recall", "seat1", {"reason": "x"}).status_code == 403

