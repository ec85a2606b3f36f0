"""The dispatch network beyond the plain road: 督办 notices, 会商, routing suggestions, dispatch notes."""

import pytest


def test_supervision_notifies_the_handling_units_and_is_listed(api):
    ticket = api.dispatched(unit="gulou", co_units=["edu"])
    tid = ticket["id"]
    supervised = api.act(tid, "supervise", "supervisor1", {"note": "市民多次来电，请加快办理"})
    assert supervised["supervise_count"] == 1
    assert "supervisions" not in supervised   # the answer to a write leaves out the histories
    assert [(s["actor"], s["note"]) for s in api.ticket(tid)["supervisions"]] == [
        ("supervisor1", "市民多次来电，请加快办理")]

    for unit in ("gulou", "edu"):
        inbox = api.get("/api/v1/notices?unread=true", f"handler-{unit}").json
        assert [(n["kind"], n["ticket"]) for n in inbox] == [("supervise", tid)]
        assert "督办" in inbox[0]["message"] and ticket["number"] in inbox[0]["message"]
    assert api.get("/api/v1/notices", "handler-yunlong").json == []

    notice_id = api.get("/api/v1/notices", "handler-gulou").json[0]["id"]
    read = api.post(f"/api/v1/notices/{notice_id}/read", "handler-gulou").json
    assert read["read_at"] is not None
    assert api.get("/api/v1/notices?unread=true", "handler-gulou").json == []
    # Another unit cannot mark (or learn about) it.
    api.post(f"/api/v1/notices/{notice_id}/read", "handler-yunlong", expect=404)


def test_only_supervisors_supervise(api):
    tid = api.dispatched(unit="gulou")["id"]
    for user in ("dispatcher1", "seat1", "handler-gulou"):
        api.act(tid, "supervise", user, {"note": "x"}, expect=403)
    assert api.ticket(tid)["supervise_count"] == 0


def test_consultation_notes_attach_to_the_ticket(api):
    tid = api.in_progress(unit="gulou")["id"]
    api.act(tid, "consult", "handler-gulou",
            {"note": "与市住建局、黄楼街道会商，明确由街道牵头维修", "units": ["housing", "gulou-huanglou"]})
    api.act(tid, "consult", "dispatcher1", {"note": "派单员组织二次会商"})
    detail = api.ticket(tid)
    assert [(c["actor"], c["units"]) for c in detail["consultations"]] == [
        ("handler-gulou", ["housing", "gulou-huanglou"]), ("dispatcher1", [])]
    assert detail["state"] == "in_progress"
    # A unit that is not the lead may not record one; an unknown unit is named.
    api.act(tid, "consult", "handler-gulou-edu", {"note": "x"}, expect=404)
    refused = api.act(tid, "consult", "handler-gulou", {"note": "x", "units": ["nowhere"]}, expect=422)
    assert "units" in refused["errors"]


@pytest.mark.parametrize("ticket, suggested", [
    ({"desk": "children", "category": "psych_support", "location": {"unit": "gulou"}}, "edu"),
    ({"desk": "general", "category": "help", "location": {"unit": "gulou-huanglou-hepan"}}, "gulou"),
    ({"desk": "general", "category": "complaint", "location": {"unit": "yunlong-pengcheng"}}, "yunlong"),
    ({"desk": "general", "category": "legal", "location": {"unit": None}}, "hrss"),
])
def test_routing_suggestion_from_the_catalogue(api, ticket, suggested):
    created = api.create(**ticket)
    api.act(created["id"], "submit", "seat1")
    routing = api.get(f"/api/v1/tickets/{created['id']}/routing", "dispatcher1").json
    assert routing["unit"] == suggested
    assert api.ticket(created["id"], as_user="dispatcher1")["routing_suggestion"]["unit"] == suggested


def test_no_suggestion_without_a_location_is_a_404_with_a_reason(api):
    created = api.create(category="help", location={"unit": None})
    refused = api.get(f"/api/v1/tickets/{created['id']}/routing", "dispatcher1", expect=404).json
    assert refused["message"]


def test_dispatcher_may_override_and_the_event_says_so(api):
    created = api.create(category="help", location={"unit": "gulou"})
    api.act(created["id"], "submit", "seat1")
    dispatched = api.act(created["id"], "dispatch", "dispatcher1",
                         {"unit": "housing", "note": "涉及住建职能，请市住建局主办"})
    assert dispatched["lead_unit"] == "housing"
    assert dispatched["routing_suggestion"] is None
    event = api.events(created["id"])[-1]
    assert event["data"]["suggested_unit"] == "gulou"
    assert event["data"]["followed_suggestion"] is False
    # The unit sees the dispatch note on the ticket.
    seen = api.get(f"/api/v1/tickets/{created['id']}", "handler-housing").json
    assert seen["dispatch_note"] == "涉及住建职能，请市住建局主办"


def test_paging_and_filters(api):
    ids = [api.dispatched(unit="gulou")["id"] for _ in range(3)]
    ids += [api.dispatched(unit="yunlong")["id"] for _ in range(2)]
    # Newest first when asked (the default is crisis first, then the nearest deadline).
    first = api.get("/api/v1/tickets?per_page=2&page=1&sort=newest", "dispatcher1")
    second = api.get("/api/v1/tickets?per_page=2&page=2&sort=newest", "dispatcher1")
    third = api.get("/api/v1/tickets?per_page=2&page=3&sort=newest", "dispatcher1")
    pages = [r["id"] for r in first.json + second.json + third.json]
    assert pages == sorted(ids, reverse=True)          # newest first, no gaps, no repeats
    assert first.headers["X-Total-Count"] == "5"
    assert '"total_pages": 3' in first.headers["X-Pagination"]
    mine = api.get("/api/v1/tickets?state=dispatched,in_progress", "handler-gulou").json
    assert sorted(r["id"] for r in mine) == sorted(ids[:3])
    assert api.get("/api/v1/tickets?desk=children", "dispatcher1").json == []
