"""Bad input is refused with a 4xx and a JSON body naming the field, and nothing is written.

"Nothing written" is checked the way a user would see it: no ticket appears in
the supervisor's list (X-Total-Count), and an existing ticket keeps its state,
its version and its number of timeline events.
"""

import pytest

from hotline.console import labels
from tests.helpers import DEFAULT_TICKET


def with_fields(**changes) -> dict:
    """DEFAULT_TICKET with `changes`; a value of ... removes the key, "caller.age" reaches in."""
    body = {key: (dict(value) if isinstance(value, dict) else value)
            for key, value in DEFAULT_TICKET.items()}
    for path, value in changes.items():
        *parents, name = path.split("__")
        node = body
        for parent in parents:
            node = node[parent]
        if value is ...:
            node.pop(name, None)
        else:
            node[name] = value
    return body


# --- creating a ticket --------------------------------------------------------------


BAD_TICKETS = [
    ({"desk": 5}, "desk"),
    ({"desk": "foo"}, "desk"),
    ({"desk": ...}, "desk"),
    ({"channel": "fax"}, "channel"),
    ({"channel": ...}, "channel"),
    ({"category": "gossip"}, "category"),
    ({"category": ...}, "category"),
    ({"priority": "high"}, "priority"),
    ({"content": ...}, "content"),
    ({"content": ""}, "content"),
    ({"content": 42}, "content"),
    ({"content": "字" * 10_001}, "content"),
    ({"subject": "x" * 201}, "subject"),
    ({"caller__age": "x"}, "caller.age"),
    ({"caller__age": -1}, "caller.age"),
    ({"caller__phone": "call me maybe"}, "caller.phone"),
    ({"caller__is_minor": "perhaps"}, "caller.is_minor"),
    ({"caller": "13800000000"}, "caller"),
    ({"location__unit": "atlantis"}, "location.unit"),
    ({"surprise": 1}, "surprise"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_TICKETS,
                         ids=[f"{row[1]}-{i}" for i, row in enumerate(BAD_TICKETS)])
def test_bad_ticket_is_refused_and_not_created(api, changes, field):
    response = api.post("/api/v1/tickets", "seat1", with_fields(**changes), expect=None)

    api.assert_error(response, 422, field)
    assert api.ticket_count() == 0


def test_content_of_exactly_ten_thousand_characters_is_accepted(api):
    ticket = api.create(content="字" * 10_000)
    assert len(ticket["content"]) == 10_000
    assert api.ticket_count() == 1


def test_oversize_content_names_content_in_the_message(api):
    response = api.post("/api/v1/tickets", "seat1", with_fields(content="x" * 10_001), expect=None)

    body = api.assert_error(response, 422, "content")
    assert "content" in body["message"]
    assert list(body["errors"]) == ["content"]


def test_missing_required_fields_are_all_named(api):
    response = api.post("/api/v1/tickets", "seat1", {}, expect=None)

    body = api.assert_error(response, 422, "desk", "channel", "category", "content")
    assert "priority" not in body["errors"]  # it has a default
    assert api.ticket_count() == 0


def test_malformed_json_body_is_a_400(api):
    response = api.client.post("/api/v1/tickets", data='{"desk": "general", "content": ',
                               content_type="application/json", headers=api.headers("seat1"))

    body = api.assert_error(response, 400, "json")
    assert "JSON" in body["message"]
    assert api.ticket_count() == 0


@pytest.mark.parametrize("raw", ["[1, 2]", '"a ticket"', "null", "42"])
def test_a_body_that_is_not_an_object_is_refused(api, raw):
    response = api.client.post("/api/v1/tickets", data=raw, content_type="application/json",
                               headers=api.headers("seat1"))

    api.assert_error(response, 422)
    assert api.ticket_count() == 0


# --- actions --------------------------------------------------------------------------


BAD_ACTIONS = [
    # state, action, user, body, field
    ("intake", "merge", "seat1", {"into": "abc"}, "into"),
    ("intake", "merge", "seat1", {"into": 1.5}, "into"),
    ("intake", "merge", "seat1", {"into": True}, "into"),
    ("intake", "merge", "seat1", {}, "into"),
    ("intake", "merge", "seat1", {"into": 987654}, "into"),
    ("intake", "answer", "seat1", {}, "answer"),
    ("intake", "answer", "seat1", {"answer": ""}, "answer"),
    ("intake", "answer", "seat1", {"answer": "x" * 10_001}, "answer"),
    ("intake", "answer", "seat1", {"answer": ["a", "b"]}, "answer"),
    ("intake", "answer", "seat1", {"answer": "好", "extra": True}, "extra"),
    ("intake", "transfer_out", "seat1", {"to": "911"}, "to"),
    ("intake", "transfer_out", "seat1", {"to": 110}, "to"),
    ("intake", "transfer_out", "seat1", {}, "to"),
    ("intake", "reject", "seat1", {"reason": None}, "reason"),
    ("pending_dispatch", "dispatch", "dispatcher1", {}, "unit"),
    ("pending_dispatch", "dispatch", "dispatcher1", {"unit": "atlantis"}, "unit"),
    ("pending_dispatch", "dispatch", "dispatcher1", {"unit": 7}, "unit"),
    ("pending_dispatch", "dispatch", "dispatcher1", {"unit": "gulou", "co_units": ["atlantis"]},
     "co_units"),
    ("pending_dispatch", "dispatch", "dispatcher1", {"unit": "gulou", "co_units": "edu"}, "co_units"),
    ("pending_dispatch", "dispatch", "dispatcher1", {"unit": "gulou", "co_units": ["edu", "edu"]},
     "co_units"),
    ("pending_dispatch", "dispatch", "dispatcher1", {"unit": "gulou", "co_units": ["gulou"]},
     "co_units"),
    # Dispatch goes to a county or a city department, not the centre, a street or a village.
    ("pending_dispatch", "dispatch", "dispatcher1", {"unit": "xz"}, "unit"),
    ("pending_dispatch", "dispatch", "dispatcher1", {"unit": "gulou-huanglou"}, "unit"),
    ("pending_dispatch", "dispatch", "dispatcher1", {"unit": "gulou-huanglou-hepan"}, "unit"),
    ("in_progress", "forward", "handler-gulou", {"unit": "atlantis"}, "unit"),
    ("in_progress", "forward", "handler-gulou", {}, "unit"),
    ("in_progress", "request_extension", "handler-gulou", {"days": "3", "reason": "x"}, "days"),
    ("in_progress", "request_extension", "handler-gulou", {"days": 0, "reason": "x"}, "days"),
    ("in_progress", "request_extension", "handler-gulou", {"days": 2.5, "reason": "x"}, "days"),
    ("in_progress", "request_extension", "handler-gulou", {"days": 2}, "reason"),
    ("in_progress", "reply", "handler-gulou", {"result": "已处理"}, "resolved"),
    ("in_progress", "reply", "handler-gulou", {"resolved": True}, "result"),
    ("in_progress", "reply", "handler-gulou", {"result": "已处理", "resolved": "maybe"}, "resolved"),
    ("in_progress", "return", "handler-gulou", {"reason": ""}, "reason"),
    ("in_progress", "add_note", "handler-gulou", {}, "note"),
    ("in_progress", "add_note", "handler-gulou", {"note": "x" * 10_001}, "note"),
    ("in_progress", "supervise", "supervisor1", {"note": 3}, "note"),
    ("replied", "send_back", "dispatcher1", {"note": ["x"]}, "note"),
    ("callback_pending", "record_callback", "seat1", {}, "reached"),
    ("callback_pending", "record_callback", "seat1", {"reached": "no idea"}, "reached"),
    ("callback_pending", "record_callback", "seat1", {"reached": True, "satisfied": True}, "resolved"),
]


@pytest.mark.parametrize(("state", "action", "user", "body", "field"), BAD_ACTIONS,
                         ids=[f"{row[1]}-{row[4]}-{i}" for i, row in enumerate(BAD_ACTIONS)])
def test_bad_action_body_is_refused_and_changes_nothing(api, state, action, user, body, field):
    tid = api.in_state(state)
    before = api.snapshot(tid)

    response = api.try_act(tid, action, user, body)

    api.assert_error(response, 422, field)
    assert api.snapshot(tid) == before


def test_unknown_unit_in_dispatch_is_named_with_its_code(api):
    tid = api.in_state("pending_dispatch")

    body = api.assert_error(api.try_act(tid, "dispatch", "dispatcher1", {"unit": "atlantis"}), 422, "unit")

    assert "atlantis" in body["message"]
    assert body["errors"]["unit"] == ["unknown unit atlantis"]
    ticket = api.ticket(tid)
    assert ticket["lead_unit"] is None and ticket["state"] == "pending_dispatch"


def test_malformed_json_on_an_action_changes_nothing(api):
    tid = api.in_state("intake")
    before = api.snapshot(tid)

    response = api.client.post(f"/api/v1/tickets/{tid}/actions/answer", data="{answer: 'x'}",
                               content_type="application/json", headers=api.headers("seat1"))

    api.assert_error(response, 400, "json")
    assert api.snapshot(tid) == before


# --- unknown things -------------------------------------------------------------------------


def test_unknown_ticket_ids_are_404(api):
    api.create()
    missing = 987654

    for path in (f"/api/v1/tickets/{missing}", f"/api/v1/tickets/{missing}/events"):
        api.assert_error(api.get(path, "supervisor1", expect=None), 404)
    response = api.try_act(missing, "answer", "seat1", {"answer": "x"})
    body = api.assert_error(response, 404)
    assert str(missing) in body["message"]
    api.assert_error(api.try_act(missing, "dispatch", "dispatcher1", {"unit": "gulou"}), 404)
    # Not a number at all.
    api.assert_error(api.get("/api/v1/tickets/abc", "supervisor1", expect=None), 404)
    assert api.ticket_count() == 1


def test_unknown_action_name_is_404(api):
    tid = api.in_state("intake")
    before = api.snapshot(tid)

    for action in ("frobnicate", "callback_unreachable", "close", "merged_in"):
        api.assert_error(api.try_act(tid, action, "admin", {}), 404)

    assert api.snapshot(tid) == before


def test_wrong_method_on_an_action_is_405_with_a_json_body(api):
    tid = api.in_state("intake")

    response = api.get(f"/api/v1/tickets/{tid}/actions/answer", "seat1", expect=None)

    api.assert_error(response, 405)


# --- wrong state --------------------------------------------------------------------------


def _terminal(api, ending: str) -> int:
    tid = api.create()["id"]
    if ending == "closed":
        api.act(tid, "answer", "seat1", {"answer": "已答复"})
    elif ending == "transferred":
        api.act(tid, "transfer_out", "seat1", {"to": "120"})
    elif ending == "rejected":
        api.act(tid, "reject", "seat1", {"reason": "重复来电"})
    elif ending == "merged":
        api.act(tid, "merge", "seat1", {"into": api.create()["id"]})
    return tid


TERMINAL_ACTIONS = [
    ("answer", "seat1", {"answer": "再答复一次"}),
    ("transfer_out", "seat1", {"to": "110"}),
    ("reject", "seat1", {"reason": "x"}),
    ("submit", "seat1", {}),
    ("dispatch", "dispatcher1", {"unit": "gulou"}),
    ("supervise", "supervisor1", {"note": "督办"}),
    ("record_callback", "seat1", {"reached": False}),
    ("approve_reply", "dispatcher1", {}),
    ("approve_return", "dispatcher1", {}),
]


@pytest.mark.parametrize("ending", ["closed", "transferred", "rejected", "merged"])
def test_actions_on_terminal_tickets_conflict(api, ending):
    tid = _terminal(api, ending)
    before = api.snapshot(tid)
    assert before[0] == ending

    for action, user, body in TERMINAL_ACTIONS:
        response = api.try_act(tid, action, user, body)
        refused = api.assert_error(response, 409)
        assert refused["error"] == "ticket.wrong_state", (action, refused)
        assert str(labels.STATES[ending]) in refused["message"], (action, refused)
    # A merge into another open ticket is refused too.
    other = api.create()["id"]
    api.assert_error(api.try_act(tid, "merge", "seat1", {"into": other}), 409)

    assert api.snapshot(tid) == before
    assert api.ticket_count() == (3 if ending == "merged" else 2)


def test_only_closed_tickets_may_be_reopened(api):
    for ending in ("transferred", "rejected", "merged"):
        tid = _terminal(api, ending)
        before = api.snapshot(tid)
        api.assert_error(api.try_act(tid, "reopen", "seat1", {"reason": "再看看"}), 409)
        assert api.snapshot(tid) == before


@pytest.mark.parametrize(("state", "action", "user", "body"), [
    ("intake", "dispatch", "dispatcher1", {"unit": "gulou"}),
    ("intake", "record_callback", "seat1", {"reached": False}),
    ("pending_dispatch", "answer", "seat1", {"answer": "x"}),
    ("pending_dispatch", "submit", "seat1", {}),
    ("in_progress", "acknowledge", "handler-gulou", {}),
    ("in_progress", "approve_reply", "dispatcher1", {}),
    ("in_progress", "approve_return", "dispatcher1", {}),
    ("in_progress", "reopen", "seat1", {"reason": "x"}),
    ("replied", "reply", "handler-gulou", {"result": "再答复", "resolved": True}),
    ("replied", "request_extension", "handler-gulou", {"days": 2, "reason": "x"}),
    ("callback_pending", "send_back", "dispatcher1", {}),
    ("callback_pending", "merge", "seat1", {"into": 1}),
])
def test_action_not_allowed_in_the_current_state_conflicts(api, state, action, user, body):
    tid = api.in_state(state)
    if action == "merge":
        body = {"into": api.create()["id"]}
    before = api.snapshot(tid)

    response = api.try_act(tid, action, user, body)

    refused = api.assert_error(response, 409)
    # In words ("工单当前为“待签收”，不能派单。"), with the code beside for programs.
    assert refused["error"] in ("ticket.wrong_state", "ticket.not_applicable")
    message = refused["message"]
    assert str(labels.STATES[state]) in message and str(labels.ACTIONS[action]) in message
    assert state not in message and action not in message
    assert api.snapshot(tid) == before


# --- the list's query ------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "field"), [
    ("state=open", "state"),
    ("desk=foo", "desk"),
    ("unit=atlantis", "unit"),
    ("page=0", "page"),
    ("per_page=1000", "per_page"),
    ("overdue=perhaps", "overdue"),
])
def test_bad_list_query_is_refused(api, query, field):
    api.create()

    response = api.get(f"/api/v1/tickets?{query}", "supervisor1", expect=None)

    api.assert_error(response, 422, field)
