"""Issue 18 in the console: the break-glass reveal (a reason form on the ticket page) and the
read-audit page of the supervisor on duty and the admins (who read, exported or revealed
a child's data; filters: ticket, user, kind, dates)."""

import json

from flask import render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from hotline import audit, permissions
from hotline.console import bp, exports, forms
from hotline.console.guard import allowed
from hotline.console.helpers import save_form, user
from hotline.extensions import db
from hotline.tickets.models import Ticket
from hotline.tickets.schemas import RevealIn
from hotline.types import utcnow


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


def _filters(args) -> dict:
    """The page's filters as read_audits takes them; the ticket by its ID or its number."""
    kind = args.get("kind") or None
    if kind not in (None, *audit.AUDIT_KINDS):
        raise forms.FormInvalid({"kind": [gettext("请从列表中选择")]})
    text, ticket = args.get("ticket", "").strip(), None
    if text:
        ticket = db.session.scalar(db.select(Ticket.id).where(Ticket.number == text))
        if ticket is None and text.isdigit() and len(text) <= 9:
            ticket = int(text)
        if ticket is None:
            raise forms.FormInvalid({"ticket": [gettext("请输入工单ID或工单号")]})
    return {"ticket": ticket, "username": args.get("user") or None, "kind": kind,
            "start": forms.date_arg("from"), "end": forms.date_arg("to")}


@bp.get("/audit")
@allowed(permissions.can_view_audit)
def audit_page():
    rows = audit.read_audits(user(), **_filters(request.args))
    return render_template("console/audit.html", rows=rows, kinds=audit.AUDIT_KINDS,
                           form=forms.FormState(values=request.args))


EXPORT_LIMIT = 50_000
EXPORT_COLUMNS = [
    exports.Column(_l("时间"), 20, "datetime"), exports.Column(_l("用户"), 16),
    exports.Column(_l("类型"), 10), exports.Column(_l("对象"), 10), exports.Column(_l("对象ID"), 10, "int"),
    exports.Column(_l("页面"), 14), exports.Column(_l("理由"), 30), exports.Column(_l("详情"), 40),
    exports.Column(_l("校验"), 66),
]


@bp.get("/audit/export")
@allowed(permissions.can_view_audit)
def audit_export():
    """The filtered read audit as CSV or XLSX, for an inspection (up to 50,000 rows, newest
    first), with each row's chain hash so `hotline audit verify` can be checked against it."""
    fmt = request.args.get("format", "xlsx")
    if fmt not in exports.FORMATS:
        raise forms.FormInvalid({"format": [gettext("请从列表中选择")]})
    filters = _filters(request.args)
    rows = audit.read_audits(user(), **filters, limit=EXPORT_LIMIT)
    # The export of who read a child's file is a read of its own: audited like the others.
    audit.record_export(user(), fmt, filters, len(rows), view="read_audit")
    db.session.commit()
    lines = ([exports.local(row.at), who.username, row.kind, row.subject, row.subject_id, row.view,
              row.reason or "", json.dumps(row.detail, ensure_ascii=False) if row.detail else "", row.hash]
             for row, who in rows)
    return exports.download(fmt, f"read-audit-{utcnow():%Y%m%d}", EXPORT_COLUMNS, lines, sheet="访问审计")
