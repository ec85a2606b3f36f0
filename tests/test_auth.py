"""Who may do what: tokens (401), roles (403), units and desks (404), masked callers."""

from datetime import timedelta

import pytest
import time_machine

from hotline.console import labels
from hotline.extensions import db
from hotline.types import utcnow
from hotline.users import get_by_username

TICKETS = "/api/v1/tickets"


# --- tokens ---------------------------------------------------------------------------


def test_good_credentials_give_a_working_token(api, client):
    response = client.post("/api/v1/auth/token", json={"username": "dispatcher1", "password": "demo"})

    assert response.status_code == 200
    token = response.json["token"]
    assert isinstance(token, str) and len(token) >= 32
    listed = client.get(TICKETS, headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200 and listed.json == []
    # Each login is its own token.
    again = client.post("/api/v1/auth/token", json={"username": "dispatcher1", "password": "demo"})
    assert again.json["token"] != token


@pytest.mark.parametrize(("username", "password"), [
    ("seat1", "wrong"),
    ("seat1", "DEMO"),
    ("nobody", "demo"),
    ("SEAT1", "demo"),
])
def test_wrong_credentials_are_401(api, client, username, password):
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})

    body = api.assert_error(response, 401)
    assert "token" not in body
    # The same answer whether the user exists or not.
    assert body["message"] == client.post(
        "/api/v1/auth/token", json={"username": "nobody", "password": "x"}).json["message"]


def test_credentials_missing_a_field_are_422(api, client):
    response = client.post("/api/v1/auth/token", json={"username": "seat1"})

    api.assert_error(response, 422, "password")


@pytest.mark.parametrize("header", [
    None,
    "Bearer not-a-token",
    "Bearer ",
    "Basic c2VhdDE6ZGVtbw==",
    "not-even-a-scheme",
])
def test_no_or_garbage_token_is_401(api, client, header):
    tid = api.create()["id"]
    before = api.snapshot(tid)
    headers = {"Authorization": header} if header is not None else {}

    for path in (TICKETS, f"{TICKETS}/{tid}", f"{TICKETS}/{tid}/events", "/api/v1/units"):
        api.assert_error(client.get(path, headers=headers), 401)

    response = client.post(TICKETS, json={"desk": "general", "channel": "voice", "category": "help",
                                          "content": "x"}, headers=headers)
    api.assert_error(response, 401)
    response = client.post(f"{TICKETS}/{tid}/actions/answer", json={"answer": "x"}, headers=headers)
    api.assert_error(response, 401)
    assert api.ticket_count() == 1
    assert api.snapshot(tid) == before


def test_token_expires(api, client):
    token = client.post("/api/v1/auth/token", json={"username": "seat1", "password": "demo"}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(TICKETS, headers=headers).status_code == 200

    with time_machine.travel(utcnow() + timedelta(hours=13), tick=False):
        api.assert_error(client.get(TICKETS, headers=headers), 401)


def test_a_deactivated_users_token_stops_working(api, app, client):
    token = client.post("/api/v1/auth/token", json={"username": "seat3", "password": "demo"}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(TICKETS, headers=headers).status_code == 200

    _set_active(app, "seat3", False)
    try:
        api.assert_error(client.get(TICKETS, headers=headers), 401)
        response = client.post(TICKETS, json={"desk": "general", "channel": "voice", "category": "help",
                                              "content": "x"}, headers=headers)
        api.assert_error(response, 401)
        assert api.ticket_count() == 0
    finally:
        _set_active(app, "seat3", True)
    # Reactivation revives no old token (issue 18 row 9): the user signs in afresh.
    api.assert_error(client.get(TICKETS, headers=headers), 401)
    fresh = client.post("/api/v1/auth/token", json={"username": "seat3", "password": "demo"}).json["token"]
    assert client.get(TICKETS, headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def _set_active(app, username: str, active: bool) -> None:
    with app.app_context():
        get_by_username(username).active = active
        db.session.commit()


# --- roles (403) ----------------------------------------------------------------------


def _for_role_checks(api, state: str) -> int:
    return api.in_state(state, co_units=["edu"])


FORBIDDEN = [
    # state, action, user, body
    ("pending_dispatch", "dispatch", "seat1", {"unit": "gulou"}),
    # Supervisors dispatch too (API.md's Additions; a hotspot goes as one matter).
    ("intake", "answer", "supervisor1", {"answer": "我来答复"}),
    ("intake", "answer", "dispatcher1", {"answer": "我来答复"}),
    ("intake", "submit", "dispatcher1", {}),
    ("intake", "supervise", "seat1", {"note": "督办"}),
    ("intake", "supervise", "dispatcher1", {"note": "督办"}),
    ("in_progress", "reply", "dispatcher1", {"result": "已处理", "resolved": True}),
    ("in_progress", "reply", "seat1", {"result": "已处理", "resolved": True}),
    ("in_progress", "reply", "handler-edu", {"result": "协办代答", "resolved": True}),
    ("in_progress", "return", "handler-edu", {"reason": "协办不能退单"}),
    ("in_progress", "forward", "handler-edu", {"unit": "gulou-edu"}),
    ("in_progress", "request_extension", "handler-edu", {"days": 2, "reason": "x"}),
    ("in_progress", "submit_opinion", "handler-gulou", {"opinion": "主办不写协办意见"}),
    ("in_progress", "approve_return", "handler-gulou", {}),
    ("replied", "approve_reply", "handler-gulou", {"note": "自己审核自己"}),
    ("replied", "send_back", "seat1", {}),
    ("replied", "record_callback", "dispatcher1", {"reached": False}),
]


@pytest.mark.parametrize(("state", "action", "user", "body"), FORBIDDEN,
                         ids=[f"{row[2]}-{row[1]}" for row in FORBIDDEN])
def test_role_that_may_not_do_the_action_gets_403(api, state, action, user, body):
    tid = _for_role_checks(api, state)
    before = api.snapshot(tid)

    response = api.try_act(tid, action, user, body)

    refused = api.assert_error(response, 403)
    # The code for programs; for people the action in words ("坐席不能派单。"), never its code.
    assert refused["error"] in ("ticket.role_may_not", "ticket.only_relation")
    assert str(labels.ACTIONS[action]) in refused["message"] and action not in refused["message"]
    assert api.snapshot(tid) == before


def test_the_lead_unit_acts_where_the_co_unit_may_not(api):
    """The 403s above are about who asks, not the ticket: the right user succeeds."""
    tid = _for_role_checks(api, "in_progress")
    api.act(tid, "submit_opinion", "handler-edu", {"opinion": "同意"})

    assert api.act(tid, "reply", "handler-gulou", {"result": "已处理", "resolved": True})["state"] == \
        "replied"
    assert api.act(tid, "approve_reply", "dispatcher1", {})["state"] == "callback_pending"


def test_only_seats_open_tickets(api):
    for user in ("dispatcher1", "supervisor1", "handler-gulou"):
        response = api.post(TICKETS, user, {"desk": "general", "channel": "voice", "category": "help",
                                            "content": "x"}, expect=None)
        api.assert_error(response, 403)
    assert api.ticket_count() == 0


def test_a_handler_of_a_unit_that_is_not_lead_nor_co_unit_may_not_acknowledge(api):
    """The county above a forwarded ticket sees it but does not own it."""
    tid = api.in_progress(unit="gulou")["id"]
    api.act(tid, "forward", "handler-gulou", {"unit": "gulou-edu"})
    before = api.snapshot(tid)

    for action, body in (("acknowledge", {}), ("contact_caller", {"note": "x"}),
                         ("return", {"reason": "x"})):
        api.assert_error(api.try_act(tid, action, "handler-gulou", body), 403)

    assert api.snapshot(tid) == before


# --- hidden tickets (404) ------------------------------------------------------------------


def test_another_countys_ticket_is_hidden(api):
    tid = api.in_progress(unit="gulou")["id"]
    own = api.dispatched(unit="yunlong")["id"]
    before = api.snapshot(tid)

    for user in ("handler-yunlong", "handler-yunlong-edu", "handler-edu"):
        api.assert_error(api.get(f"{TICKETS}/{tid}", user, expect=None), 404)
        api.assert_error(api.get(f"{TICKETS}/{tid}/events", user, expect=None), 404)
        for action, body in (("acknowledge", {}), ("add_note", {"note": "看看"}),
                             ("reply", {"result": "x", "resolved": True}),
                             ("submit_opinion", {"opinion": "x"})):
            api.assert_error(api.try_act(tid, action, user, body), 404)
        listed = api.get(TICKETS, user)
        assert tid not in [t["id"] for t in listed.json]
        assert api.get(f"{TICKETS}?unit=gulou", user).headers["X-Total-Count"] == "0"

    assert api.snapshot(tid) == before
    # yunlong sees its own, and only that.
    assert [t["id"] for t in api.get(TICKETS, "handler-yunlong").json] == [own]
    assert api.get(TICKETS, "handler-yunlong").headers["X-Total-Count"] == "1"


def test_a_sub_unit_does_not_see_what_its_county_leads(api):
    tid = api.in_progress(unit="gulou")["id"]

    api.assert_error(api.get(f"{TICKETS}/{tid}", "handler-gulou-edu", expect=None), 404)
    assert api.get(TICKETS, "handler-gulou-edu").json == []


def test_a_seat_may_not_merge_into_a_ticket_of_another_desk(api):
    """A seat may only merge into a ticket it can see: otherwise it is an unknown id."""
    hidden = api.create(desk="general")["id"]
    tid = api.create(as_user="seat2", desk="children", category="psych_support")["id"]
    before = api.snapshot(tid)

    response = api.try_act(tid, "merge", "seat2", {"into": hidden})

    api.assert_error(response, 422, "into")
    assert api.snapshot(tid) == before


def test_a_desk_seat_does_not_see_other_desks(api):
    general = api.create(desk="general")["id"]
    children = api.create(desk="children", category="psych_support")["id"]

    api.assert_error(api.get(f"{TICKETS}/{general}", "seat2", expect=None), 404)
    api.assert_error(api.get(f"{TICKETS}/{general}/events", "seat2", expect=None), 404)
    api.assert_error(api.try_act(general, "answer", "seat2", {"answer": "x"}), 404)
    assert api.ticket(children, as_user="seat2")["desk"] == "children"
    listed = api.get(TICKETS, "seat2")
    assert [t["id"] for t in listed.json] == [children]
    assert listed.headers["X-Total-Count"] == "1"
    # The hard-case seat (hard_case + general) sees the general one, not the children's.
    assert [t["id"] for t in api.get(TICKETS, "seat3").json] == [general]
    assert api.snapshot(general)[0] == "intake"


def test_a_seat_opens_tickets_only_on_its_own_desks(api):
    response = api.post(TICKETS, "seat2", {"desk": "general", "channel": "voice", "category": "help",
                                           "content": "想问公积金"}, expect=None)
    body = api.assert_error(response, 403)
    assert body["error"] == "ticket.not_your_desk" and "综合专席" in body["message"]
    response = api.post(TICKETS, "seat1", {"desk": "hard_case", "channel": "walk_in",
                                           "category": "complaint", "content": "办不成"}, expect=None)
    api.assert_error(response, 403)
    assert api.ticket_count() == 0

    created = api.create(as_user="seat2", desk="children", category="psych_support")
    assert created["desk"] == "children"
    assert api.create(as_user="seat3", desk="hard_case", category="complaint")["desk"] == "hard_case"
    assert api.ticket_count() == 2


# --- the caller's details -------------------------------------------------------------------


def test_caller_is_masked_for_a_co_unit_but_not_for_the_lead_or_the_centre(api):
    tid = api.dispatched(unit="gulou", co_units=["edu"],
                         caller={"phone": "+8613912345678", "name": "李小明", "is_minor": True,
                                 "age": 12})["id"]

    for user in ("handler-gulou", "seat1", "dispatcher1", "supervisor1"):
        caller = api.ticket(tid, as_user=user)["caller"]
        assert caller == {"phone": "+8613912345678", "name": "李小明", "is_minor": True, "age": 12,
                          "masked": False}, user

    masked = api.ticket(tid, as_user="handler-edu")["caller"]
    assert masked["masked"] is True
    assert masked["phone"] != "+8613912345678" and "12345678" not in masked["phone"]
    assert masked["phone"].endswith("5678") and "*" in masked["phone"]
    assert masked["name"] == "李**"
    # The same in the co-unit's list and in what its own action returns.
    assert api.get(TICKETS, "handler-edu").json[0]["caller"] == masked
    assert api.act(tid, "acknowledge", "handler-edu")["caller"] == masked
    # Nor does the timeline give it away.
    events = api.get(f"{TICKETS}/{tid}/events", "handler-edu").json
    assert "13912345678" not in str(events) and "李小明" not in str(events)
