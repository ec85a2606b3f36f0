"""Console test helpers: a browser-like client per user that logs in through the form."""

import re

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """One user's session in the console (Flask test client + the form's CSRF token)."""

    def __init__(self, app, base_url: str = "http://localhost"):
        self.app = app
        self.client = app.test_client()
        self.base_url = base_url
        self.token: str | None = None

    def get(self, path: str, expect: int | None = 200, **kwargs):
        response = self.client.get(path, base_url=self.base_url, **kwargs)
        if expect is not None:
            assert response.status_code == expect, (path, response.status_code, self.text(response)[:2000])
        self._remember_token(response)
        return response

    def post(self, path: str, data: dict | None = None, expect: int | None = 302, csrf: bool = True,
             **kwargs):
        data = dict(data or {})
        if csrf:
            if self.token is None:
                self.get("/console/", expect=None, follow_redirects=True)
            data.setdefault("csrf_token", self.token)
        # Over https Flask-WTF also checks the Referer, as a browser sends it on the same site.
        kwargs.setdefault("headers", {"Referer": f"{self.base_url}/console/"})
        response = self.client.post(path, data=data, base_url=self.base_url, **kwargs)
        if expect is not None:
            assert response.status_code == expect, (path, response.status_code, self.text(response)[:3000])
        self._remember_token(response)
        return response

    def login(self, username: str, password: str = "demo", expect: int = 302):
        self.get("/console/login")
        response = self.post("/console/login", {"username": username, "password": password},
                             expect=expect)
        if response.status_code == 302:
            self.token = None  # a login starts a new session, with a new token
        return response

    def html(self, path: str, expect: int = 200) -> str:
        return self.text(self.get(path, expect=expect))

    def action(self, ticket_id: int, action: str, data: dict | None = None, expect: int = 302):
        return self.post(f"/console/tickets/{ticket_id}/actions/{action}", data or {}, expect=expect)

    @staticmethod
    def text(response) -> str:
        return response.get_data(as_text=True)

    def _remember_token(self, response):
        if response.mimetype == "text/html":
            match = TOKEN.search(response.get_data(as_text=True))
            if match:
                self.token = match.group(1)


def ticket_id_from(response) -> int:
    match = re.search(r"/console/tickets/(\d+)$", response.headers["Location"])
    assert match, response.headers.get("Location")
    return int(match.group(1))


INTAKE = {
    "desk": "general", "channel": "voice", "category": "help", "priority": "normal",
    "subject": "小区路灯不亮", "content": "鼓楼区黄楼街道河畔社区路灯坏了一个月",
    "caller_phone": "+8613800000001", "caller_name": "张三", "location_unit": "gulou",
    "address": "河畔社区3号楼",
}
