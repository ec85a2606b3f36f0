"""In a real browser: the admin subscribes a county system, copies the secret, sends a test."""

from tests.console.test_browser import chromium, live_server, menu, person, shot  # noqa: F401 (fixtures)
from tests.webhook_receivers import pump


def test_an_admin_subscribes_and_sends_a_test(app, person, scripted):  # noqa: F811 (the imported fixture)
    admin = person("admin")
    menu(admin, "推送订阅")
    admin.fill("input[name=url]", scripted.url)
    admin.fill("input[name=unit]", "gulou")
    admin.fill("input[name=description]", "鼓楼区网格化平台")
    admin.check("input[value='ticket.dispatched']")
    admin.click("button:has-text('创建')")
    secret = admin.inner_text("code.secret-value")
    assert secret.startswith("whsec_")
    shot(admin, "webhooks-created")
    scripted.secret = secret
    admin.click("table.webhooks >> button:has-text('测试发送')")
    pump(app)
    admin.reload()
    assert "已送达" in admin.inner_text("table.deliveries")
    shot(admin, "webhooks-log")
    admin.set_viewport_size({"width": 375, "height": 800})
    shot(admin, "webhooks-log-375")
    admin.click("text=← 推送订阅")
    shot(admin, "webhooks-375")
    assert secret not in admin.content()
