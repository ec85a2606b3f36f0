"""Repeat callers at intake (issue 21): the caller's open ticket takes the new request.

The caller-history panel beside the intake form offers "追加到此工单" on each open ticket the
seat may add to; the button posts the intake form here, and its request (content, channel)
becomes the `append` action on that ticket instead of a duplicate ticket.
"""

from flask import flash, redirect, request, url_for
from flask_babel import gettext

from hotline.console import bp, forms
from hotline.console.views import roles, user
from hotline.extensions import db
from hotline.tickets import access, service
from hotline.tickets.models import TERMINAL_STATES
from hotline.users import Role

APPEND = "append"


@bp.app_context_processor
def _may_append():
    def may_append(ticket: dict) -> bool:
        """The history row (a dumped ticket) is open and the viewer's role may add to it."""
        roles_allowed, _relation = access.ACTION_RULES[APPEND]
        viewer = user()
        return (getattr(viewer, "role", None) in roles_allowed
                and ticket["state"] not in {state.value for state in TERMINAL_STATES})

    return {"may_append": may_append}


@bp.post("/tickets/<int:ticket_id>/append")
@roles(Role.SEAT, Role.ADMIN)
def append_request(ticket_id: int):
    """The intake form's request, added to the caller's open ticket `ticket_id`."""
    ticket = service.perform(user(), ticket_id, APPEND, forms.action_body(APPEND, request.form))
    db.session.commit()
    flash(gettext("已追加到工单 %(number)s，承办单位已收到通知。", number=ticket.number), "success")
    return redirect(url_for("console.ticket_page", ticket_id=ticket.id))
