"""Concurrent actions on one ticket: exactly one wins, the others get 409, never a 500.

Requests go through a real threaded HTTP server so each one has its own
connection and transaction, as under gunicorn.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import requests


def race(server: str, calls: list[tuple[str, str, dict, dict]]) -> list[requests.Response]:
    """Fire all calls at once (a barrier releases them together)."""
    barrier = threading.Barrier(len(calls))

    def fire(call):
        path, token_header, body, _ = call
        barrier.wait(timeout=10)
        return requests.post(server + path, json=body, headers=token_header, timeout=30)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(fire, calls))


def statuses(responses) -> list[int]:
    return sorted(response.status_code for response in responses)


def test_many_acknowledges_one_winner(api, server):
    ticket = api.dispatched(unit="gulou")
    headers = api.headers("handler-gulou")
    path = f"/api/v1/tickets/{ticket['id']}/actions/acknowledge"
    responses = race(server, [(path, headers, {}, {})] * 6)
    assert statuses(responses) == [200] + [409] * 5, [r.text for r in responses]
    assert api.actions_logged(ticket["id"]).count("acknowledge") == 1
    assert api.ticket(ticket["id"])["state"] == "in_progress"


def test_reply_races_return(api, server):
    ticket = api.in_progress(unit="gulou")
    headers = api.headers("handler-gulou")
    base = f"/api/v1/tickets/{ticket['id']}/actions/"
    responses = race(server, [
        (base + "reply", headers, {"result": "已处理", "resolved": True}, {}),
        (base + "return", headers, {"reason": "不属于本单位职责"}, {}),
    ])
    assert statuses(responses) == [200, 409], [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 200).json()
    final = api.ticket(ticket["id"])
    assert final["state"] == winner["state"] in ("replied", "return_requested")
    logged = api.actions_logged(ticket["id"])
    assert ("reply" in logged) != ("return" in logged)


def test_approve_and_deny_return_race(api, server):
    ticket = api.in_progress(unit="gulou")
    api.act(ticket["id"], "return", "handler-gulou", {"reason": "应由市住建局办理"})
    headers = api.headers("dispatcher1")
    base = f"/api/v1/tickets/{ticket['id']}/actions/"
    responses = race(server, [
        (base + "approve_return", headers, {"note": "同意"}, {}),
        (base + "deny_return", headers, {"note": "不同意"}, {}),
    ])
    assert statuses(responses) == [200, 409], [r.text for r in responses]
    assert api.ticket(ticket["id"])["state"] in ("pending_dispatch", "in_progress")
    logged = api.actions_logged(ticket["id"])
    assert logged.count("approve_return") + logged.count("deny_return") == 1


def test_notes_at_once_all_land_with_gapless_sequence(api, server):
    """Non-conflicting writers retry-free: each either lands or gets 409, none is lost silently."""
    ticket = api.create()
    headers = api.headers("seat1")
    path = f"/api/v1/tickets/{ticket['id']}/actions/add_note"
    responses = race(server, [(path, headers, {"note": f"备注{i}"}, {}) for i in range(5)])
    assert set(statuses(responses)) <= {200, 409}
    landed = sum(r.status_code == 200 for r in responses)
    events = api.events(ticket["id"])
    assert sum(e["action"] == "add_note" for e in events) == landed >= 1
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


def test_concurrent_intake_gives_distinct_numbers(api, server):
    from tests.helpers import DEFAULT_TICKET

    headers = api.headers("seat1")
    responses = race(server, [("/api/v1/tickets", headers, DEFAULT_TICKET, {})] * 6)
    assert statuses(responses) == [201] * 6, [r.text for r in responses]
    numbers = {r.json()["number"] for r in responses}
    assert len(numbers) == 6
