"""Repeat callers at intake (issue 21): the caller's open ticket takes the new request.

The caller-history panel beside the intake form offers "追加到此工单" on each open ticket the
seat may add to; the button posts the intake form here, and its request (content, channel)
becomes the `append` action on that ticket instead of a duplicate ticket.
"""

from flask import flash, redirect, request, url_for
from flask_babel import gettext

from hotline import permissions
from hotline.console import bp, forms
from hotline.console.guard import allowed
from hotline.console.helpers import user
from hotline.extensions import db
from hotline.tickets import registry, service
from hotline.tickets.models import TERMINAL_STATES

APPEND = "append"


@bp.app_context_processor
def _may_append():
    def may_append(ticket: dict) -> bool:
        """The history row (a dumped ticket) is open and the viewer's role may add to it."""
        viewer = user()
        return (getattr(viewer, "role", None) in registry.ACTION_RULES[APPEND].roles
                and ticket["state"] not in {state.value for state in TERMINAL_STATES})

    return {"may_append": may_append}


@bp.post("/tickets/<int:ticket_id>/append")
@allowed(permissions.can_take_intake)
def append_request(ticket_id: int):
    """The intake form's request, added to the caller's open ticket `ticket_id`."""
    ticket = service.perform(user(), ticket_id, APPEND, forms.action_body(APPEND, request.form))
    db.session.commit()
    flash(gettext("已追加到工单 %(number)s，承办单位已收到通知。", number=ticket.number), "success")
    return redirect(url_for("console.ticket_page", ticket_id=ticket.id))
