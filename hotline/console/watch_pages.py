"""Watching the service from the console (admins; supervisors read): the centre-wide outbox
(search by number, ticket or status; resend or cancel what has not gone) and the `/readyz`
checks and warnings in words, linked to what fixes them (the calendar, the failed jobs).

Services: hotline.outbox (search, resend, cancel_queued), hotline.health (readiness). Who may:
hotline.permissions (OUTBOX_READERS, OUTBOX_EDITORS, RULE_READERS).
"""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from hotline import health, outbox, permissions
from hotline.console import bp, forms
from hotline.console.guard import allowed
from hotline.console.helpers import save_form, user
from hotline.outbox import MessageStatus
from hotline.permissions import OUTBOX_EDITORS

STATUS_NAMES = {"queued": _l("待发送"), "sending": _l("发送中"), "sent": _l("已发出"),
                "delivered": _l("已送达"), "undelivered": _l("未送达"), "failed": _l("发送失败"),
                "not_sent": _l("未发送（未配置短信通道）"), "cancelled": _l("已取消")}


def _outbox_page(state: forms.FormState | None = None, status: int = 200):
    args = request.args
    wanted = args.get("status") or None
    if wanted not in (None, *STATUS_NAMES):
        raise forms.FormInvalid({"status": [gettext("请从列表中选择")]})
    rows = outbox.search(user(), args.get("q", "")[:64], MessageStatus(wanted) if wanted else None)
    return render_template("console/admin_outbox.html", rows=rows, statuses=STATUS_NAMES,
                           resendable={s.value for s in outbox.RESENDABLE},
                           may_write=user().role in OUTBOX_EDITORS, form=state or forms.FormState()), status


@bp.get("/admin/outbox")
@allowed(permissions.can_read_outbox)
def admin_outbox():
    """Every SMS and call the service sent or means to send, newest first."""
    return _outbox_page()


def _outbox_change(change, done: str):
    back = redirect(url_for("console.admin_outbox", q=request.form.get("q", ""),
                            status=request.form.get("status", "")))
    failed = save_form(change, lambda state, status: _outbox_page(state, status))
    if failed:
        return failed
    flash(done)
    return back


@bp.post("/admin/outbox/<int:message_id>/resend")
@allowed(permissions.can_edit_outbox)
def admin_outbox_resend(message_id: int):
    return _outbox_change(lambda: outbox.resend(user(), message_id), gettext("已重新排队发送。"))


@bp.post("/admin/outbox/<int:message_id>/cancel")
@allowed(permissions.can_edit_outbox)
def admin_outbox_cancel(message_id: int):
    reason = request.form.get("reason", "")[:200]
    return _outbox_change(lambda: outbox.cancel_queued(user(), message_id, reason), gettext("已取消发送。"))


@bp.get("/admin/health")
@allowed(permissions.can_read_rules)
def admin_health():
    """`/readyz` for people: what is down, what waits, what to fix soon."""
    return render_template("console/admin_health.html", state=health.readiness())
