"""The ticket page: the ticket, its events, the forms of the actions the viewer may take
(derived from the state machine, console/actions.py), and posting one of them."""

from flask import abort, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required

from hotline.attachments import service as attachments
from hotline.attachments import uploads
from hotline.console import bp, call_pages, dispatch_pages, forms, labels, queries, referral_pages, timeline
from hotline.console.actions import offered_actions
from hotline.console.helpers import dump, post_action, user
from hotline.console.widgets import form_specs
from hotline.errors import Conflict, Forbidden
from hotline.tickets import service
from hotline.tickets.schemas import TicketDetailOut
from hotline.units import UnitKind

FINISHED = ("closed", "transferred", "rejected", "merged")


def _unit_pickers(ticket) -> dict:
    lead_kinds = (UnitKind.COUNTY, UnitKind.DEPARTMENT)
    pickers = {
        "dispatch": queries.unit_tree(kinds=lead_kinds, active_only=True),
        "all": queries.unit_tree(active_only=True),
        "forward": [],
    }
    if ticket.lead_unit is not None:
        below = queries.unit_tree(root=ticket.lead_unit, active_only=True)
        pickers["forward"] = [(name, [(u, d) for u, d in rows if u.id != ticket.lead_unit.id])
                              for name, rows in below]
    return pickers


def render_ticket(ticket_id: int, failed: str | None = None, state: forms.FormState | None = None,
                  status: int = 200):
    viewer = user()
    ticket = service.get_ticket(viewer, ticket_id)
    detail = TicketDetailOut(viewer=viewer).dump(ticket)
    events = service.ticket_events(viewer, ticket_id)
    offer = offered_actions(viewer, ticket)
    if failed and failed not in offer.allowed and failed in forms.ACTION_BODIES:
        offer.allowed.append(failed)  # keep the form the user typed into on screen
    suggestion = detail.get("routing_suggestion")
    history = []
    if "merge" in offer.allowed and detail["caller"]["phone"] and not detail["caller"]["masked"]:
        history = [t for t in dump(queries.caller_history(viewer, detail["caller"]["phone"]))
                   if t["id"] != ticket.id and t["state"] not in FINISHED]
    forms_state = {failed: state} if failed and state else {}
    refer = None
    if "refer" in offer.allowed:
        refer = referral_pages.refer_form(viewer, ticket, state.values if failed == "refer" and state
                                          else None)
    return render_template(
        "console/ticket.html", t=detail, events=timeline.entries(events), offer=offer,
        specs=form_specs(offer.allowed), forms_state=forms_state,
        pickers=_unit_pickers(ticket), suggestion=suggestion, merge_candidates=history,
        units=queries.units_by_code(), failed=failed,
        referrals=referral_pages.ticket_referrals(viewer, ticket, detail), refer=refer,
        linked_calls=call_pages.ticket_calls(viewer, ticket),
    ), status


@bp.get("/tickets/<int:ticket_id>")
@login_required
def ticket_page(ticket_id: int):
    return render_ticket(ticket_id)


@bp.post("/tickets/<int:ticket_id>/actions/<action>")
@login_required
def ticket_action(ticket_id: int, action: str):
    if action not in forms.ACTION_BODIES:
        abort(404)
    try:
        return post_action(
            action, labels.label(labels.ACTIONS, action), url_for("console.ticket_page", ticket_id=ticket_id),
            lambda: attachments.perform_with_files(  # the action, and the files sent with it
                user(), ticket_id, action, forms.action_body(action, request.form),
                uploads.from_form(request.files), uploads.keep_location(request.form)),
            lambda failed, state, status: render_ticket(ticket_id, failed, state, status),
            stale=gettext("工单已被他人同时修改，请核对后重试。"), refuse=(Conflict, Forbidden))
    except (Conflict, Forbidden) as error:     # not the input: the form closes and says why
        return dispatch_pages.refused(ticket_id, action, error)
