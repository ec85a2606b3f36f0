"""Issue 18 in the console: the break-glass reveal (a reason form on the ticket page) and the
read-audit page of the supervisor on duty and the admins (who read, exported or revealed
a child's data; filters: ticket, user, kind, dates)."""

from flask import render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from hotline import audit
from hotline.console import bp, forms, reports
from hotline.console.helpers import roles, save_form, user
from hotline.console.navigation import NAV
from hotline.extensions import db
from hotline.tickets.models import Ticket
from hotline.tickets.schemas import RevealIn
from hotline.users import Role

for _role in (Role.SUPERVISOR, Role.ADMIN):
    NAV[_role].append(("console.audit_page", _l("访问审计")))


@bp.post("/tickets/<int:ticket_id>/reveal")
@login_required
def reveal_contact(ticket_id: int):
    """The contact, once, on a page of its own (not kept by the browser); the ticket page
    stays masked."""
    shown: dict = {}

    def save():
        body = forms.schema_body(RevealIn(), request.form)
        shown.update(audit.reveal(user(), ticket_id, body["reason"]))

    def refused(state, status):
        state.message = gettext("请说明为何现在需要完整联系方式。")
        return _reveal_page(ticket_id, None, state, status)

    return save_form(save, refused) or _reveal_page(ticket_id, shown, None, 200)


def _reveal_page(ticket_id: int, shown: dict | None, state, status: int):
    number = db.session.scalar(db.select(Ticket.number).where(Ticket.id == ticket_id))
    response = render_template("console/reveal.html", ticket_id=ticket_id, number=number,
                               shown=shown, form=state or forms.FormState(values=request.form))
    return response, status, {"Cache-Control": "no-store"}


@bp.get("/audit")
@roles(Role.SUPERVISOR, Role.ADMIN)
def audit_page():
    args = request.args
    kind = args.get("kind") or None
    if kind not in (None, *audit.AUDIT_KINDS):
        raise forms.FormInvalid({"kind": [gettext("请从列表中选择")]})
    try:
        ticket = int(args["ticket"]) if args.get("ticket") else None
    except ValueError:
        raise forms.FormInvalid({"ticket": [gettext("请输入工单编号（数字）")]}) from None
    rows = audit.read_audits(user(), ticket=ticket, username=args.get("user") or None, kind=kind,
                             start=reports._date("from"), end=reports._date("to"))
    return render_template("console/audit.html", rows=rows, kinds=audit.AUDIT_KINDS,
                           form=forms.FormState(values=args))
