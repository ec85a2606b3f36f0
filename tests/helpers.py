"""A small client for the REST API as a seat, a dispatcher or a county would use it."""

import contextlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import time_machine
from werkzeug.http import HTTP_STATUS_CODES

# How often a loopback server's serve_forever looks for shutdown(): the default 0.5 s made
# every test with a fake Twilio, webhook receiver or served app wait up to that in teardown.
POLL = 0.02

DEFAULT_TICKET = {
    "desk": "general",
    "channel": "voice",
    "category": "help",
    "priority": "normal",
    "subject": "小区路灯不亮",
    "content": "鼓楼区黄楼街道河畔社区路灯坏了一个月",
    "caller": {"phone": "+8613800000001", "name": "张三", "is_minor": False},
    "location": {"unit": "gulou", "address": "河畔社区3号楼"},
}


OPEN_TIMER_STATES = ("running", "warned", "overdue")


class Api:
    def __init__(self, app, client):
        self.app = app
        self.client = client
        self._tokens: dict[str, str] = {}

    def headers(self, username: str) -> dict[str, str]:
        if username not in self._tokens:
            response = self.client.post(
                "/api/v1/auth/token", json={"username": username, "password": "demo"}
            )
            assert response.status_code == 200, response.json
            self._tokens[username] = response.json["token"]
        return {"Authorization": f"Bearer {self._tokens[username]}"}

    def get(self, path: str, as_user: str, expect: int | None = 200, **kwargs):
        response = self.client.get(path, headers=self.headers(as_user), **kwargs)
        if expect is not None:
            assert response.status_code == expect, (path, response.status_code, response.json)
        return response

    def post(self, path: str, as_user: str, json: Any = None, expect: int | None = 200):
        response = self.client.post(path, json=json, headers=self.headers(as_user))
        if expect is not None:
            assert response.status_code == expect, (path, response.status_code, response.json)
        return response

    def create(self, as_user: str = "seat1", expect: int = 201, **overrides) -> dict:
        body = {**DEFAULT_TICKET, **overrides}
        return self.post("/api/v1/tickets", as_user, body, expect=expect).json

    def act(self, ticket_id: int, action: str, as_user: str, body: dict | None = None,
            expect: int = 200) -> dict:
        response = self.post(f"/api/v1/tickets/{ticket_id}/actions/{action}", as_user,
                             body if body is not None else {}, expect=expect)
        return response.json

    def try_act(self, ticket_id: int, action: str, as_user: str, body: Any = None):
        """POST an action and return the raw response, whatever its status."""
        return self.post(f"/api/v1/tickets/{ticket_id}/actions/{action}", as_user,
                         body if body is not None else {}, expect=None)

    def ticket(self, ticket_id: int, as_user: str = "supervisor1") -> dict:
        return self.get(f"/api/v1/tickets/{ticket_id}", as_user).json

    def events(self, ticket_id: int, as_user: str = "supervisor1") -> list[dict]:
        return self.get(f"/api/v1/tickets/{ticket_id}/events", as_user).json

    def actions_logged(self, ticket_id: int) -> list[str]:
        return [event["action"] for event in self.events(ticket_id)]

    # --- common roads --------------------------------------------------------

    def dispatched(self, unit: str = "gulou", co_units: list[str] | None = None,
                   **ticket) -> dict:
        created = self.create(**ticket)
        self.act(created["id"], "submit", "seat1")
        return self.act(created["id"], "dispatch", "dispatcher1",
                        {"unit": unit, "co_units": co_units or [], "note": "请核实处理"})

    def in_progress(self, unit: str = "gulou", co_units: list[str] | None = None, **ticket) -> dict:
        ticket_row = self.dispatched(unit=unit, co_units=co_units, **ticket)
        return self.act(ticket_row["id"], "acknowledge", f"handler-{unit}")

    def replied(self, unit: str = "gulou", resolved: bool = True, co_units: list[str] | None = None) -> dict:
        """Replied by `unit`, after each co-unit's opinion."""
        ticket_row = self.in_progress(unit=unit, co_units=co_units)
        for co_unit in co_units or []:
            self.act(ticket_row["id"], "submit_opinion", f"handler-{co_unit}", {"opinion": "同意"})
        return self.act(ticket_row["id"], "reply", f"handler-{unit}",
                        {"result": "已修复路灯", "resolved": resolved})

    def callback_pending(self, unit: str = "gulou") -> dict:
        ticket_row = self.replied(unit=unit)
        return self.act(ticket_row["id"], "approve_reply", "dispatcher1", {"note": "同意"})

    def in_state(self, state: str, unit: str = "gulou", co_units: list[str] | None = None) -> int:
        """The id of a fresh ticket in `state`, by the usual road (dispatched to `unit`)."""
        if state == "intake":
            return self.create()["id"]
        if state == "pending_dispatch":
            tid = self.create()["id"]
            self.act(tid, "submit", "seat1")
            return tid
        if state == "callback_pending":
            return self.callback_pending(unit=unit)["id"]
        road = {"in_progress": self.in_progress, "replied": self.replied}
        return road[state](unit=unit, co_units=co_units)["id"]

    # --- checks used by the refusal tests --------------------------------------

    def forget_tokens(self) -> None:
        """Log in again on the next request (after travelling in time past a token's life)."""
        self._tokens.clear()

    def ticket_count(self, as_user: str = "supervisor1") -> int:
        """How many tickets `as_user` may see, from the X-Total-Count header of the list."""
        return int(self.get("/api/v1/tickets", as_user).headers["X-Total-Count"])

    def snapshot(self, ticket_id: int) -> tuple:
        """What any write would change: state, version and the number of events."""
        ticket = self.ticket(ticket_id)
        return ticket["state"], ticket["version"], len(self.events(ticket_id))

    def timers_of(self, ticket: dict, kind: str) -> list[dict]:
        return [timer for timer in ticket["timers"] if timer["kind"] == kind]

    def running_timer(self, ticket: dict, kind: str) -> dict:
        """The one open clock of `kind` (fails unless there is exactly one)."""
        running = [t for t in self.timers_of(ticket, kind) if t["state"] in OPEN_TIMER_STATES]
        assert len(running) == 1, (kind, ticket["timers"])
        return running[0]

    @staticmethod
    def assert_error(response, status: int, *fields: str) -> dict:
        """`response` is the JSON error body of docs/integration.md with `status`, naming each of `fields`.

        A field like "caller.age" is looked up nested: errors["caller"]["age"].
        """
        assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
        body = response.get_json()
        assert isinstance(body, dict), response.get_data(as_text=True)
        assert set(body) - {"error"} == {"code", "status", "message", "errors"}, body
        assert body["code"] == status
        assert body["status"] == HTTP_STATUS_CODES[status]
        assert isinstance(body["message"], str) and body["message"].strip()
        assert isinstance(body["errors"], dict)
        for field in fields:
            node = body["errors"]
            for part in field.split("."):
                assert isinstance(node, dict) and part in node, (field, body["errors"])
                node = node[part]
            assert node, (field, body["errors"])
        return body


SHANGHAI = ZoneInfo("Asia/Shanghai")


@contextlib.contextmanager
def at(api: Api, *when):
    """Act at a Shanghai wall-clock time (tokens are fetched anew on both sides)."""
    api.forget_tokens()
    with time_machine.travel(datetime(*when, tzinfo=SHANGHAI), tick=False):
        yield
    api.forget_tokens()
