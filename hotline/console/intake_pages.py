"""Intake: the seat's form for a new ticket, with the caller's history and the waiting calls."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from hotline import permissions
from hotline.attachments import service as attachments
from hotline.attachments import uploads
from hotline.console import bp, call_pages, forms, knowledge_pages, queries
from hotline.console.guard import allowed
from hotline.console.helpers import dump, refused_state, user
from hotline.errors import HotlineError
from hotline.extensions import db
from hotline.tickets import service
from hotline.tickets.models import Category, Channel, Desk, Priority
from hotline.types import utcnow
from hotline.users import Role


def _intake_choices() -> dict:
    desks = [Desk(code) for code in (current_user.desks or [])] if current_user.role == Role.SEAT \
        else list(Desk)
    return {
        "desks": desks, "channels": list(Channel), "categories": list(Category),
        "priorities": list(Priority),
        "locations": queries.unit_tree(),
    }


@bp.route("/tickets/new", methods=["GET", "POST"])
@allowed(permissions.does_seat_work)
def new_ticket():
    if request.method == "GET":
        values, call, message = call_pages.intake_prefill(user(), request.args)
        return _intake_page(forms.FormState(values=values, message=message), call)
    try:
        body = forms.intake_body(request.form)
        ticket = service.create_ticket(user(), body)
        knowledge_pages.answer_from_intake(ticket, request.form)   # a direct answer given at intake
        attachments.attach_at_intake(user(), ticket, uploads.from_form(request.files),
                                     uploads.keep_location(request.form))   # the caller's material
        db.session.commit()
    except (forms.FormInvalid, HotlineError) as error:
        db.session.rollback()
        return _intake_page(refused_state(error), call_pages.form_call(user(), request.form),
                            getattr(error, "code", 422))
    flash(gettext("工单 %(number)s 已受理。", number=ticket.number), "success")
    return redirect(url_for("console.ticket_page", ticket_id=ticket.id))


def _intake_page(state: forms.FormState, call: dict | None, status: int = 200):
    """The intake form (`call`: the call it is filled for), the caller's history beside it
    and the waiting calls above it."""
    return render_template(
        "console/intake.html", form=state, call=call,
        history=_history(state.value("caller_phone")), calls=call_pages.waiting_calls(user()),
        current_call=call["sid"] if call else None, updated_at=utcnow(),
        refresh_seconds=call_pages.refresh_seconds(), **_intake_choices(),
    ), status


@bp.get("/callers")
@allowed(permissions.is_centre)
def caller_history():
    """The caller's earlier tickets, as a fragment for the intake form (or a page)."""
    return render_template("console/_history.html", history=_history(request.args.get("phone", "")))


def _history(phone: str) -> list[dict] | None:
    """The caller's earlier tickets; None when `phone` is not a number (nothing to say)."""
    if not queries.phone_variants(phone):
        return None
    return dump(queries.caller_history(user(), phone))
