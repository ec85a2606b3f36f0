"""Console side of contact safety: the ticket page's contact card and outbox, the seat's
call tasks in the callback list, and the opt-out flag beside a caller's history."""

from flask import flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import login_required

from hotline import callbacks, contact_safety, outbox, permissions
from hotline.console import bp, forms
from hotline.console.helpers import save_form, user
from hotline.console.ticket_pages import render_ticket
from hotline.tickets.schemas import CancelMessageIn, ContactPatchIn


@bp.app_context_processor
def _contact_helpers() -> dict:
    return {"seat_call_tasks": _seat_call_tasks, "caller_opted_out": contact_safety.is_opted_out,
            "contact_controls": _controls}


def _seat_call_tasks(rows) -> dict[int, str]:
    return callbacks.seat_call_tasks([row["id"] for row in rows])


def _controls() -> dict:
    role = user().role
    return {"edit": role in permissions.SETS_CONTACT_SAFETY, "cancel": role in permissions.CANCELS_TEXTS}


@bp.post("/tickets/<int:ticket_id>/contact")
@login_required
def set_contact(ticket_id: int):
    def save():
        values = {key: request.form.get(key, "").strip() for key in ("safe_times", "note")}
        if request.form.get("safe_to_text") == "default":      # the seat's word withdrawn
            return contact_safety.set_contact(user(), ticket_id, {"safe_to_text": None, **values})
        body = forms.schema_body(ContactPatchIn(), {**values, **_safe(request.form)})
        return contact_safety.set_contact(user(), ticket_id, body)

    refused = save_form(save, lambda state, status: render_ticket(ticket_id, "contact", state, status),
                        stale=gettext("工单已被他人同时修改，请核对后重试。"))
    if refused is not None:
        return refused
    flash(gettext("联系安全设置已保存。"), "success")
    return redirect(url_for("console.ticket_page", ticket_id=ticket_id) + "#contact")


def _safe(form) -> dict:
    choice = form.get("safe_to_text", "")
    return {} if choice not in ("true", "false") else {"safe_to_text": choice}


@bp.post("/tickets/<int:ticket_id>/messages/<int:message_id>/cancel")
@login_required
def cancel_message(ticket_id: int, message_id: int):
    def save():
        body = forms.schema_body(CancelMessageIn(), request.form)
        return outbox.cancel(user(), ticket_id, message_id, body.get("reason"))

    refused = save_form(save, lambda state, status: render_ticket(ticket_id, "outbox", state, status))
    if refused is not None:
        return refused
    flash(gettext("外发短信已取消。"), "success")
    return redirect(url_for("console.ticket_page", ticket_id=ticket_id) + "#outbox")
