"""The admin's console page of outgoing webhooks: create (secret shown once), test send, log."""

import re

from standardwebhooks.webhooks import Webhook

from tests.webhook_receivers import pump


def test_an_admin_creates_a_subscription_sees_its_secret_once_and_test_sends(app, browser, scripted):
    admin = browser("admin")
    assert "还没有推送订阅" in admin.html("/console/admin/webhooks")
    page = admin.text(admin.post("/console/admin/webhooks", {
        "url": scripted.url, "unit": "gulou", "description": "鼓楼区网格化平台",
        "events": ["ticket.dispatched", "timer.overdue"]}, expect=200))
    secret = re.search(r'class="secret-value">(whsec_[^<]+)<', page).group(1)
    assert Webhook(secret) and "鼓楼区网格化平台" in page and "ticket.dispatched, timer.overdue" in page
    assert f'value="{scripted.url}"' not in page                         # the form is empty again
    assert secret not in admin.html("/console/admin/webhooks")            # only that once
    sub_id = re.search(r"/console/admin/webhooks/(\d+)", page).group(1)

    scripted.secret = secret
    log = admin.post(f"/console/admin/webhooks/{sub_id}/test", {})
    assert log.headers["Location"].endswith(f"/console/admin/webhooks/{sub_id}")
    assert "待发送" in admin.html(f"/console/admin/webhooks/{sub_id}")
    pump(app)
    (seen,) = scripted.seen
    assert seen.message["type"] == "webhook.test"
    shown = admin.html(f"/console/admin/webhooks/{sub_id}")
    assert "已送达" in shown and "HTTP 204" in shown and "webhook.test" in shown


def test_the_form_says_what_is_wrong(browser):
    admin = browser("admin")
    page = admin.text(admin.post("/console/admin/webhooks", {"url": "https://x.example/h", "unit": "nowhere"},
                                 expect=422))
    assert "nowhere" in page and 'value="https://x.example/h"' in page


def test_only_an_admin_has_the_page(browser):
    for username in ("supervisor1", "dispatcher1", "handler-gulou"):
        visitor = browser(username)
        visitor.get("/console/admin/webhooks", expect=403)
        visitor.post("/console/admin/webhooks", {"url": "https://x.example/h"}, expect=403)
    assert "推送订阅" in browser("admin").html("/console/tickets")
