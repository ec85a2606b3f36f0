"""Console login: the form, the session cookie, the rate limit, logout, CSRF and language."""

import re

import pytest

from tests.console.helpers import INTAKE


def test_root_sends_a_logged_out_visitor_to_the_login_form(browser):
    visitor = browser()
    response = visitor.get("/", expect=302)
    response = visitor.get(response.headers["Location"], expect=302)
    assert "/console/login" in response.headers["Location"]
    page = visitor.html(response.headers["Location"])
    assert 'name="username"' in page and 'name="password"' in page
    assert "登录" in page


@pytest.mark.parametrize("path", ["/console/tickets/new", "/console/dispatch", "/console/inbox",
                                  "/console/tickets", "/console/kpis", "/console/tickets/1"])
def test_every_page_needs_a_login(browser, path):
    response = browser().get(path, expect=302)
    assert "/console/login?next=" in response.headers["Location"]


def test_login_shows_role_and_unit_and_a_seat_gets_the_intake_link(browser):
    seat = browser("seat1")
    page = seat.html("/console/tickets/new")
    assert "坐席一号" in page and "坐席" in page
    link = re.search(r'<a href="([^"]+)"[^>]*>新建工单</a>', page)
    assert link and link.group(1) == "/console/tickets/new"
    for name in ("desk", "category", "priority", "content", "subject", "caller_phone", "caller_name",
                 "caller_is_minor", "caller_age", "location_unit", "address", "channel"):
        assert f'name="{name}"' in page, name

    handler = browser("handler-gulou")
    page = handler.html("/console/inbox")
    assert "承办单位" in page and "鼓楼区" in page
    assert "新建工单" not in page


def test_login_follows_only_local_next(browser):
    visitor = browser()
    visitor.get("/console/login")
    response = visitor.post("/console/login?next=/console/tickets",
                            {"username": "seat1", "password": "demo"})
    assert response.headers["Location"] == "/console/tickets"
    visitor = browser()
    visitor.get("/console/login")
    response = visitor.post("/console/login?next=//evil.example/x",
                            {"username": "seat1", "password": "demo"})
    assert response.headers["Location"] == "/console/"
    visitor = browser()
    visitor.get("/console/login")
    response = visitor.post("/console/login?next=/%5Cevil.example/x",
                            {"username": "seat1", "password": "demo"})
    assert response.headers["Location"] == "/console/"


def test_session_cookie_is_httponly_samesite_and_secure_over_https(browser):
    plain = browser()
    plain.get("/console/login")
    response = plain.post("/console/login", {"username": "seat1", "password": "demo"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie

    secure = browser(base_url="https://localhost")
    secure.get("/console/login")
    response = secure.post("/console/login", {"username": "seat1", "password": "demo"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_wrong_password_is_refused_in_chinese_and_keeps_the_username(browser):
    visitor = browser()
    response = visitor.login("seat1", "wrong", expect=401)
    page = visitor.text(response)
    assert "用户名或密码错误" in page
    assert 'value="seat1"' in page
    visitor.get("/console/tickets/new", expect=302)


def test_five_failures_lock_that_account_at_both_doors_for_a_while(browser, client):
    visitor = browser()
    for _ in range(5):
        visitor.login("seat1", "wrong", expect=401)
    response = visitor.login("seat1", "demo", expect=429)
    assert "登录失败次数过多" in visitor.text(response)
    assert int(response.headers["Retry-After"]) > 0
    # Another user is not locked out; the same account is, from another address and at the API.
    browser().login("seat2")
    other = browser()
    other.get("/console/login")
    other.post("/console/login", {"username": "seat1", "password": "demo"},
               environ_base={"REMOTE_ADDR": "10.1.2.3"}, expect=429)
    token = client.post("/api/v1/auth/token", json={"username": "seat1", "password": "demo"})
    assert token.status_code == 429 and "token" not in token.json


def test_a_success_clears_the_failure_count(browser):
    visitor = browser()
    for _ in range(4):
        visitor.login("seat1", "wrong", expect=401)
    visitor.login("seat1")
    visitor.post("/console/logout")
    for _ in range(4):
        visitor.login("seat1", "wrong", expect=401)
    visitor.login("seat1")


def test_logout_needs_a_post_with_the_token(browser):
    seat = browser("seat1")
    seat.get("/console/logout", expect=405)
    seat.post("/console/logout", csrf=False, expect=400)
    seat.get("/console/tickets/new")
    response = seat.post("/console/logout")
    assert response.headers["Location"].endswith("/console/login")
    seat.get("/console/tickets/new", expect=302)


def test_inactive_user_cannot_log_in_and_loses_the_session(app, browser):
    from hotline.extensions import db
    from hotline.users import get_by_username

    seat = browser("seat3")
    with app.app_context():
        get_by_username("seat3").active = False
        db.session.commit()
    try:
        seat.get("/console/tickets/new", expect=302)
        browser().login("seat3", expect=401)
    finally:
        with app.app_context():
            get_by_username("seat3").active = True
            db.session.commit()


@pytest.mark.parametrize("path,data", [
    ("/console/login", {"username": "seat1", "password": "demo"}),
    ("/console/tickets/new", INTAKE),
    ("/console/tickets/1/actions/submit", {}),
    ("/console/notices/1/read", {}),
    ("/console/logout", {}),
])
def test_every_form_refuses_a_post_without_the_csrf_token(browser, path, data):
    seat = browser("seat1")
    response = seat.post(path, data, csrf=False, expect=400)
    assert "安全令牌" in seat.text(response)
    response = seat.post(path, {**data, "csrf_token": "forged"}, csrf=False, expect=400)


def test_the_api_and_webhooks_need_no_csrf_token(client):
    response = client.post("/api/v1/auth/token", json={"username": "seat1", "password": "demo"})
    assert response.status_code == 200


def test_english_is_one_link_away_and_chinese_is_the_default(browser):
    seat = browser("seat1")
    page = seat.html("/console/tickets/new")
    assert "新建工单" in page and 'lang="zh-CN"' in page
    response = seat.get("/console/lang/en?next=/console/tickets/new", expect=302)
    assert response.headers["Location"] == "/console/tickets/new"
    page = seat.html("/console/tickets/new")
    assert 'lang="en"' in page
    assert "New ticket" in page and "新建工单" not in page
    assert "Caller phone" in page and "来电号码" not in page
    seat.get("/console/lang/zh?next=/console/tickets/new", expect=302)
    assert "新建工单" in seat.html("/console/tickets/new")
