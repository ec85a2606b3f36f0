"""Who sees what: every role x relation of the ticket to the viewer's unit x read, list, each action.

A hidden ticket is 404 on read and on every action and never listed or counted;
a visible ticket refuses with 403 the actions the viewer's role or unit may not do.
Refused requests change nothing (the ticket's version stays).
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from hotline.tickets.registry import ACTION_RULES

BODIES = {
    "answer": {"answer": "已答复"}, "transfer_out": {"to": "110", "note": "紧急"},
    "reject": {"reason": "不属于受理范围"}, "merge": {"into": 1}, "submit": {},
    "dispatch": {"unit": "yunlong"}, "acknowledge": {}, "return": {"reason": "非本单位职责"},
    "approve_return": {"note": "同意"}, "deny_return": {"note": "不同意"},
    "forward": {"unit": "gulou-huanglou-hepan"}, "contact_caller": {"note": "已联系"},
    "submit_opinion": {"opinion": "同意主办意见"},
    "request_extension": {"days": 2, "reason": "需现场勘查"},
    "approve_extension": {"note": "同意"}, "deny_extension": {"note": "不同意"},
    "reply": {"result": "已处理", "resolved": True}, "approve_reply": {"note": "同意"},
    "send_back": {"note": "请补充"},
    "record_callback": {"reached": True, "resolved": True, "satisfied": True},
    "reopen": {"reason": "市民再次来电"}, "supervise": {"note": "请加快办理"},
    "add_note": {"note": "备注"},
}

VIEWER = "handler-gulou-huanglou"   # a town (街道) under 鼓楼区, with a village below it


def ticket_led_by(api, unit_path: list[str]) -> dict:
    """Dispatch to the county and forward down `unit_path` (each unit acknowledges first)."""
    ticket = api.in_progress(unit=unit_path[0])
    for parent, child in zip(unit_path, unit_path[1:], strict=False):
        api.act(ticket["id"], "forward", f"handler-{parent}", {"unit": child})
        ticket = api.act(ticket["id"], "acknowledge", f"handler-{child}")
    return ticket


RELATIONS = {
    # relation: (how the ticket is routed, visible to VIEWER?)
    "own unit": (["gulou", "gulou-huanglou"], True),
    "child unit": (["gulou", "gulou-huanglou", "gulou-huanglou-hepan"], True),
    "sibling unit": (["gulou", "gulou-edu"], False),
    "parent unit": (["gulou"], False),
    "other county": (["yunlong", "yunlong-pengcheng"], False),
}


@pytest.mark.parametrize("relation", RELATIONS)
def test_handler_matrix(api, relation):
    path, visible = RELATIONS[relation]
    ticket = ticket_led_by(api, path)
    tid = ticket["id"]
    version = api.ticket(tid)["version"]

    read = api.get(f"/api/v1/tickets/{tid}", VIEWER, expect=None)
    events = api.get(f"/api/v1/tickets/{tid}/events", VIEWER, expect=None)
    listed = api.get("/api/v1/tickets?per_page=100", VIEWER)
    ids = [row["id"] for row in listed.json]
    assert read.status_code == events.status_code == (200 if visible else 404)
    assert (tid in ids) is visible
    assert int(listed.headers["X-Total-Count"]) == len(ids)

    for action, body in BODIES.items():
        response = api.post(f"/api/v1/tickets/{tid}/actions/{action}", VIEWER, body, expect=None)
        roles, relation_needed = ACTION_RULES[action].roles, ACTION_RULES[action].relation
        if not visible:
            assert response.status_code == 404, (action, response.json)
            assert response.json["message"]
            continue
        is_lead = relation == "own unit"
        may = "handler" in roles and (
            relation_needed is None
            or (relation_needed in ("lead", "lead_or_co_unit") and is_lead)
        )
        if not may:
            assert response.status_code == 403, (action, response.status_code, response.json)
        else:
            assert response.status_code in (200, 409, 422), (action, response.json)
        if response.status_code != 200:
            assert api.ticket(tid)["version"] == version, f"{action} refused but changed the ticket"
        version = api.ticket(tid)["version"]


def test_co_unit_sees_and_may_only_do_co_unit_actions(api):
    ticket = api.dispatched(unit="yunlong", co_units=["gulou-huanglou"])
    tid = ticket["id"]
    assert api.get(f"/api/v1/tickets/{tid}", VIEWER).json["lead_unit"] == "yunlong"
    assert tid in [row["id"] for row in api.get("/api/v1/tickets", VIEWER).json]
    # Co-unit actions work; lead-unit ones are 403.
    api.act(tid, "acknowledge", VIEWER)
    api.act(tid, "submit_opinion", VIEWER, {"opinion": "街道配合排查"})
    for action in ("reply", "return", "forward", "contact_caller", "request_extension"):
        api.act(tid, action, VIEWER, BODIES[action], expect=403)
    # The county above the co-unit sees it too; a sibling county does not.
    api.get(f"/api/v1/tickets/{tid}", "handler-gulou")
    api.get(f"/api/v1/tickets/{tid}", "handler-quanshan", expect=404)


@pytest.mark.parametrize("viewer, desk, visible", [
    ("seat1", "general", True), ("seat1", "children", True), ("seat1", "hard_case", False),
    ("seat2", "general", False), ("seat2", "children", True),
    ("seat3", "hard_case", True), ("seat3", "children", False),
    ("dispatcher1", "hard_case", True), ("supervisor1", "children", True),
    ("admin", "general", True),
])
def test_centre_roles_by_desk(api, viewer, desk, visible):
    creator = {"general": "seat1", "children": "seat1", "hard_case": "seat3"}[desk]
    ticket = api.create(as_user=creator, desk=desk)
    read = api.get(f"/api/v1/tickets/{ticket['id']}", viewer, expect=None)
    assert read.status_code == (200 if visible else 404)
    listed = [row["id"] for row in api.get("/api/v1/tickets", viewer).json]
    assert (ticket["id"] in listed) is visible
    for action, body in BODIES.items():
        response = api.post(f"/api/v1/tickets/{ticket['id']}/actions/{action}", viewer, body,
                            expect=None)
        if not visible:
            assert response.status_code == 404, (action, response.json)
        elif not any(role.value == _role_of(viewer) for role in ACTION_RULES[action].roles):
            assert response.status_code == 403, (action, response.json)
        else:
            assert response.status_code in (200, 409, 422), (action, response.json)


def _role_of(username: str) -> str:
    return {"seat1": "seat", "seat2": "seat", "seat3": "seat", "dispatcher1": "dispatcher",
            "supervisor1": "supervisor", "admin": "admin"}[username]


def test_unit_filter_means_my_unit_and_below(api):
    county = ticket_led_by(api, ["gulou"])
    town = ticket_led_by(api, ["gulou", "gulou-huanglou"])
    other = ticket_led_by(api, ["yunlong"])
    ids = [row["id"] for row in api.get("/api/v1/tickets?unit=gulou", "dispatcher1").json]
    assert set(ids) == {county["id"], town["id"]}
    ids = [row["id"] for row in api.get("/api/v1/tickets?unit=gulou-huanglou", "dispatcher1").json]
    assert ids == [town["id"]]
    assert other["id"] not in ids
    # A handler's own scope and the filter apply together: below its unit, nothing outside it.
    ids = [row["id"] for row in api.get("/api/v1/tickets?unit=gulou-huanglou", "handler-gulou").json]
    assert ids == [town["id"]]
    assert api.get("/api/v1/tickets?unit=yunlong", "handler-gulou").json == []


def test_returned_ticket_leaves_the_previous_units_view(api):
    ticket = ticket_led_by(api, ["gulou"])
    api.act(ticket["id"], "return", "handler-gulou", {"reason": "应由云龙区办理"})
    api.act(ticket["id"], "approve_return", "dispatcher1", {"note": "同意"})
    api.get(f"/api/v1/tickets/{ticket['id']}", "handler-gulou", expect=404)
    api.act(ticket["id"], "dispatch", "dispatcher1", {"unit": "yunlong"})
    api.get(f"/api/v1/tickets/{ticket['id']}", "handler-yunlong")
    api.get(f"/api/v1/tickets/{ticket['id']}", "handler-gulou", expect=404)


SHANGHAI_MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


# The overdue list reads the clocks past due first and lists up to OVERDUE_BY_ID of them by id;
# beyond, an EXISTS with the page taken from the newest overdue when they fill it. 500: by id;
# 0 and 2: the other way, with pages from the newest overdue or not.
@pytest.mark.parametrize("by_id", [500, 0, 2])
def test_overdue_lists_exactly_the_tickets_with_an_open_clock_past_due(api, monkeypatch, by_id):
    from hotline.tickets import service

    monkeypatch.setattr(service, "OVERDUE_BY_ID", by_id)
    with time_machine.travel(SHANGHAI_MONDAY_10, tick=False):
        lead = api.dispatched(unit="gulou")                                # ack + respond due Tue 10:00
        met = api.dispatched(unit="gulou")
        api.act(met["id"], "acknowledge", "handler-gulou")
        api.act(met["id"], "contact_caller", "handler-gulou", BODIES["contact_caller"])
        co_unit = api.dispatched(unit="yunlong", co_units=["gulou-huanglou"])
        elsewhere = api.dispatched(unit="yunlong")
        waiting = api.create()
        api.act(waiting["id"], "submit", "seat1")                         # dispatch due Mon 12:00
        api.create()                                                       # no clock at all
    with time_machine.travel(SHANGHAI_MONDAY_10 + timedelta(days=1, hours=2), tick=False):
        api.forget_tokens()                                                # a day old
        states = {t["kind"]: t["state"] for t in api.ticket(met["id"])["timers"]}
        assert states == {"dispatch": "met", "acknowledge": "met", "respond": "met",
                          "handle": "running"}
        everyone = [waiting["id"], elsewhere["id"], co_unit["id"], lead["id"]]
        expected = {
            ("supervisor1", ""): everyone,
            ("seat1", ""): everyone,
            ("dispatcher1", "&unit=gulou"): [co_unit["id"], lead["id"]],
            ("handler-gulou", ""): [co_unit["id"], lead["id"]],
            (VIEWER, ""): [co_unit["id"]],                                 # through the co-unit only
            ("handler-yunlong", ""): [elsewhere["id"], co_unit["id"]],
            ("handler-quanshan", ""): [],
        }
        for (viewer, query), ids in expected.items():
            listed = api.get(f"/api/v1/tickets?overdue=true{query}", viewer)
            assert [row["id"] for row in listed.json] == ids, viewer
            assert int(listed.headers["X-Total-Count"]) == len(ids), viewer
            # Page by page, one ticket a page: the same tickets in the same order.
            pages = [api.get(f"/api/v1/tickets?overdue=true{query}&per_page=1&page={n}", viewer)
                     for n in range(1, len(ids) + 2)]
            assert [row["id"] for page in pages for row in page.json] == ids, viewer
            assert {int(page.headers["X-Total-Count"]) for page in pages} == {len(ids)}, viewer
