"""The admin's page of outgoing webhooks (the console side of /api/v1/subscriptions): the
subscriptions, a new one (its secret shown once), a test send, the delivery log, retries."""

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from hotline import permissions, subscriptions
from hotline.api.subscriptions import SubscriptionIn
from hotline.console import bp, forms
from hotline.console.guard import allowed
from hotline.console.helpers import save_form, user
from hotline.extensions import db

STATUS_NAMES = {"pending": _l("待发送"), "retrying": _l("重试中"), "delivered": _l("已送达"),
                "failed": _l("失败"), "cancelled": _l("已取消")}


@bp.get("/admin/webhooks")
@allowed(permissions.is_admin)
def webhooks_page(form=None, created=None, status: int = 200):
    rows = subscriptions.visible(user())
    page = render_template("console/webhooks.html", rows=rows, created=created,
                           form=form or forms.FormState(values=request.form),
                           event_types=sorted(set(subscriptions.EVENT_TYPES.values())))
    db.session.rollback()
    return page, status, {"Cache-Control": "no-store"}


@bp.post("/admin/webhooks")
@allowed(permissions.is_admin)
def webhooks_create():
    """A new subscription; the page shows its secret this once."""
    made = []

    def save():
        body = forms.schema_body(SubscriptionIn(), _with_events(request.form))
        sub = subscriptions.create(user(), body)
        made.append((sub.id, sub.secret))

    failed = save_form(save, lambda state, status: webhooks_page(state, status=status))
    return failed or webhooks_page(forms.FormState(), created=made[0])


@bp.post("/admin/webhooks/<int:sub_id>/<any(test, retry):what>")
@allowed(permissions.is_admin)
def webhooks_act(sub_id: int, what: str):
    """测试发送 (a signed webhook.test) or 重试失败的投递 (every failed delivery)."""
    act = subscriptions.send_test if what == "test" else subscriptions.retry
    back = redirect(url_for("console.webhook_log", sub_id=sub_id))
    return save_form(lambda: act(user(), sub_id), lambda state, status: back) or back


@bp.get("/admin/webhooks/<int:sub_id>")
@allowed(permissions.is_admin)
def webhook_log(sub_id: int):
    sub = subscriptions.get(user(), sub_id)
    rows = subscriptions.deliveries(user(), sub_id, None, 100)
    page = render_template("console/webhook_log.html", sub=sub, rows=rows, statuses=STATUS_NAMES)
    db.session.rollback()
    return page


def _with_events(form):
    """The checkboxes `events` as the API's list; none ticked: every event."""
    values = form.copy()
    if not values.getlist("events"):
        values.setlist("events", ["*"])
    return values
