"""Dispatching as a day's work (issue 22): the unit picker's type-ahead, actions on many tickets
at once with a result per row, each unit's workload beside the queue, and what a refused action
says.

Depends on the ticket service (one `perform` per ticket), the units' search and the console's
forms and labels; the pages themselves are console/templates/console/queue.html and bulk.html.
"""

from dataclasses import dataclass

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hotline import permissions, units
from hotline.console import bp, forms, labels, queries, workload
from hotline.console.guard import allowed
from hotline.console.helpers import safe_next, user
from hotline.errors import HotlineError, NotFound
from hotline.extensions import db
from hotline.tickets import service
from hotline.tickets.models import Ticket
from hotline.tickets.workflow import DISPATCH_TARGETS, WrongState

PICKER_MIN = 2          # characters typed before the picker asks
BULK_MAX = 100          # tickets one bulk action may name
BULK_ACTIONS = ("dispatch", "acknowledge", "supervise")


# --- the unit picker ---------------------------------------------------------------------

@bp.get("/units/search")
@allowed(permissions.works_tickets)
def unit_search():
    """`?q=鼓楼` (2+ characters of a name or code) → `{"items": [{code, name, kind, path}]}`;
    `for=lead`: only the units a ticket is dispatched to; `below=<code>`: that unit's subtree."""
    text = (request.args.get("q") or "").strip()[:50]
    if len(text) < PICKER_MIN:
        return jsonify(items=[])
    within = units.get_by_code(request.args["below"]) if request.args.get("below") else None
    kinds = DISPATCH_TARGETS if request.args.get("for") == "lead" else None
    found = units.search(text, kinds=kinds, within=within)
    paths = units.path_names(found)
    return jsonify(items=[{"code": unit.code, "name": unit.name, "path": " › ".join(paths[unit.id]),
                           "kind": labels.label(labels.UNIT_KINDS, unit.kind)} for unit in found])


# --- actions on many tickets -------------------------------------------------------------

@dataclass
class RowResult:
    ticket_id: int
    number: str
    done: bool
    message: str


@bp.post("/bulk/<action>")
@allowed(permissions.works_tickets)
def bulk_action(action: str):
    """One action on the selected rows. Each ticket is its own action, committed on its own:
    a refused row (someone acted first, a unit not allowed) leaves the others done, and the
    page lists what happened to each."""
    if action not in BULK_ACTIONS:
        return redirect(url_for("console.home"))
    back = safe_next(request.form.get("next"), url_for("console.home"))
    ids = _selected_ids()
    if not ids:
        flash(gettext("请先勾选要处理的工单。"), "error")
        return redirect(back)
    try:
        body = forms.action_body(action, request.form)
    except forms.FormInvalid as error:
        details = "；".join(f"{labels.label(labels.FIELDS, name)}：{'，'.join(messages)}"
                           for name, messages in error.errors.items())
        flash(gettext("未处理任何工单：%(details)s", details=details), "error")
        return redirect(back)
    results = [_one(ticket_id, action, body) for ticket_id in ids]
    done = sum(result.done for result in results)
    return render_template("console/bulk.html", action=action, results=results, back=back,
                           done=done, refused=len(results) - done)


def _selected_ids() -> list[int]:
    ids = []
    for raw in request.form.getlist("ticket")[:BULK_MAX]:
        if raw.isdigit() and int(raw) not in ids:
            ids.append(int(raw))
    return ids


def _one(ticket_id: int, action: str, body: dict) -> RowResult:
    try:
        ticket = service.perform(user(), ticket_id, action, dict(body))
        number = ticket.number
        db.session.commit()
    except NotFound:
        db.session.rollback()
        return RowResult(ticket_id, str(ticket_id), False, gettext("工单不存在或您无权查看。"))
    except HotlineError as error:
        db.session.rollback()
        return RowResult(ticket_id, _number(ticket_id), False, refusal_message(error))
    return RowResult(ticket_id, number, True, gettext("已完成：%(action)s",
                                                      action=labels.label(labels.ACTIONS, action)))


def _number(ticket_id: int) -> str:
    stmt = permissions.visible_tickets(user(), select(Ticket.number)).where(Ticket.id == ticket_id)
    return db.session.scalar(stmt) or str(ticket_id)


# --- what a refused action says -------------------------------------------------------------

RELATIONS = {permissions.LEAD: _l("主办单位"), permissions.CO_UNIT: _l("协办单位"),
             permissions.LEAD_OR_CO: _l("主办或协办单位")}


def refusal_message(error: HotlineError) -> str:
    """A refusal in words: what happened, and for a state that moved on, what to do."""
    if isinstance(error, WrongState):
        return gettext("工单现在是「%(state)s」，已不能%(action)s：可能有人刚处理过。"
                       "请查看处理记录，按最新状态操作。",
                       state=labels.label(labels.STATES, error.state),
                       action=labels.label(labels.ACTIONS, error.action))
    if isinstance(error, permissions.ActionForbidden):
        what = labels.label(labels.ACTIONS, error.action)
        if error.relation is None:
            return gettext("%(role)s不能%(action)s。如确需办理，请联系有权限的同事（如派单员或值班长）。",
                           role=labels.label(labels.ROLES, error.role), action=what)
        return gettext("只有本工单的%(who)s可以%(action)s。", action=what,
                       who=labels.label(RELATIONS, error.relation))
    message = error.message
    if error.errors:
        details = forms.service_errors(error)
        message += "（" + "；".join(f"{labels.label(labels.FIELDS, name)}：{'，'.join(texts)}"
                                    for name, texts in details.items()) + "）"
    return message


def refused(ticket_id: int, action: str, error: HotlineError):
    """A refused action on the ticket page: the form closes and the page, as it is now, says
    what happened and what to do. (Input to correct, 422, keeps its form open instead.)"""
    flash(gettext("未能%(action)s。", action=labels.label(labels.ACTIONS, action)) + refusal_message(error),
          "error")
    return redirect(url_for("console.ticket_page", ticket_id=ticket_id))


# --- the dispatch page ------------------------------------------------------------------------

def queue_context() -> dict:
    """What the dispatch queue shows beside its rows: the bulk form and each unit's load."""
    return {"bulk": "dispatch", "loads": workload.unit_loads()}


def unit_groups(lead: bool = False):
    """The picker's options without the script: the active units grouped by county (`lead`: only
    the units a ticket is dispatched to)."""
    return queries.unit_tree(kinds=DISPATCH_TARGETS if lead else None, active_only=True)


bp.add_app_template_global(unit_groups)
