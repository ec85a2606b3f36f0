"""In a real browser: the admin ends a seat's sessions and the seat's next click is the login form."""

from tests.console.test_browser import chromium, live_server, menu, person, shot  # noqa: F401 (fixtures)


def test_an_admin_ends_a_seats_sessions_from_the_page(person):  # noqa: F811 (the imported fixture)
    seat = person("seat3")
    admin = person("admin")
    menu(admin, "登录会话")
    admin.fill("input[name=username]", "seat3")
    admin.click("button:has-text('查看')")
    assert admin.locator("table.sessions tbody tr").count() == 1
    assert "控制台登录" in admin.locator("table.sessions").inner_text()
    shot(admin, "sessions-admin")
    admin.set_viewport_size({"width": 375, "height": 800})
    shot(admin, "sessions-admin-375")

    admin.click("button:has-text('结束此用户的全部会话和令牌')")
    assert "没有有效的会话" in admin.inner_text("main")
    seat.reload()
    assert "/console/login" in seat.url
