"""A small client for the REST API as a seat, a dispatcher or a county would use it."""

from typing import Any

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

    def in_progress(self, unit: str = "gulou", **ticket) -> dict:
        ticket_row = self.dispatched(unit=unit, **ticket)
        return self.act(ticket_row["id"], "acknowledge", f"handler-{unit}")

    def replied(self, unit: str = "gulou", resolved: bool = True) -> dict:
        ticket_row = self.in_progress(unit=unit)
        return self.act(ticket_row["id"], "reply", f"handler-{unit}",
                        {"result": "已修复路灯", "resolved": resolved})

    def callback_pending(self, unit: str = "gulou") -> dict:
        ticket_row = self.replied(unit=unit)
        return self.act(ticket_row["id"], "approve_reply", "dispatcher1", {"note": "同意"})
