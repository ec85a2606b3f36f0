"""The admin's console page of a user's sessions: list them, end one, end all."""

import re

TICKETS = "/api/v1/tickets"


def test_an_admin_sees_and_ends_a_users_sessions_in_the_console(app, browser, client):
    seat = browser("seat3")
    token = client.post("/api/v1/auth/token", json={"username": "seat3", "password": "demo"}).json["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    admin = browser("admin")

    page = admin.html("/console/admin/sessions?username=seat3")
    assert "控制台登录" in page and "API 令牌" in page and "127.0.0.1" in page
    ids = re.findall(r'name="session" value="(\d+)"', page)
    assert len(ids) == 2
    api_row = re.search(r'API 令牌.*?name="session" value="(\d+)"', page, re.S).group(1)

    admin.post("/console/admin/sessions/seat3/end", {"session": api_row})
    assert client.get(TICKETS, headers=bearer).status_code == 401
    seat.get("/console/tickets/new")

    admin.post("/console/admin/sessions/seat3/end", {})
    assert "/console/login" in seat.get("/console/tickets/new", expect=302).headers["Location"]
    assert "没有有效的会话" in admin.html("/console/admin/sessions?username=seat3")


def test_only_an_admin_has_the_page(browser):
    for username in ("supervisor1", "seat1", "handler-gulou"):
        visitor = browser(username)
        visitor.get("/console/admin/sessions?username=seat3", expect=403)
        visitor.post("/console/admin/sessions/seat3/end", {}, expect=403)
    assert "登录会话" in browser("admin").html("/console/tickets")


def test_an_unknown_user_is_a_404_page(browser):
    browser("admin").get("/console/admin/sessions?username=nobody", expect=404)
