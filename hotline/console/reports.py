"""KPI dashboard with a chart per KPI, and the CSV/XLSX exports of KPIs and ticket lists."""

from datetime import date

from flask import abort, render_template, request
from flask_babel import gettext
from flask_login import current_user, login_required

from hotline import audit, kpis
from hotline.console import bp, charts, exports, forms, labels, queries
from hotline.console.helpers import roles, user
from hotline.console.queue_pages import list_filters
from hotline.errors import HotlineError
from hotline.extensions import db
from hotline.tickets import access, service
from hotline.tickets.models import Desk
from hotline.tickets.schemas import TicketOut
from hotline.users import Role


def _date(name: str) -> date | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise forms.FormInvalid({name: [gettext("日期格式应为 YYYY-MM-DD")]}) from None


def _report(with_units: bool = False) -> kpis.Report:
    start, end = kpis.check_period(_date("from"), _date("to"))
    unit = kpis.scope_for(user(), request.args.get("unit") or None)
    desk = request.args.get("desk") or None
    if desk and desk not in {d.value for d in Desk}:
        raise forms.FormInvalid({"desk": [gettext("请从列表中选择")]})
    return kpis.compute(start, end, unit=unit, desk=desk, with_units=with_units)


@bp.get("/kpis")
@roles(Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN, Role.HANDLER)
def kpi_dashboard():
    errors = {}
    try:
        report = _report(with_units=True)
    except (forms.FormInvalid, HotlineError) as error:
        if getattr(error, "code", 422) == 403:
            raise
        errors = forms.field_errors(error)
        report = kpis.compute(*kpis.check_period(None, None), unit=kpis.scope_for(user(), None),
                              with_units=True)
    chart = {key: charts.rate_chart(report.series[key], labels.label(labels.KPIS, key))
             for key in kpis.KPI_KEYS}
    root = current_user.unit if current_user.role == Role.HANDLER else None
    return render_template(
        "console/kpis.html", report=report, charts=chart, desks=list(Desk),
        units=queries.unit_tree(root=root), units_by_code=queries.units_by_code(),
        form=forms.FormState(values=request.args, errors=errors),
    ), 200 if not errors else 422


@bp.get("/kpis/export")
@roles(Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN, Role.HANDLER)
def kpi_export():
    fmt = request.args.get("format", "csv")
    if fmt not in exports.FORMATS:
        abort(404)
    report = _report()
    return exports.download(fmt, exports.kpi_filename(report), exports.KPI_HEADER,
                            exports.kpi_rows(report), sheet="KPIs")


TICKET_HEADER = ["number", "created_at", "state", "desk", "channel", "category", "priority",
                 "subject", "caller_name", "caller_phone", "caller_is_minor", "location_unit",
                 "lead_unit", "co_units", "resolution", "closed_at", "overdue"]
EXPORT_CHUNK = 200


def _ticket_rows(viewer, filters: dict):
    """Every ticket of the filtered list, a chunk at a time, masked as the API masks them.

    Each chunk's reads of children's tickets are committed to the read audit before its rows
    are handed out: a CSV is written while the response streams, after the request's own
    commit, so this generator is the only boundary those rows pass."""
    schema = TicketOut(many=True, viewer=viewer)
    page_number = 1
    while True:
        page = service.list_tickets(viewer, {**filters, "page": page_number,
                                             "per_page": EXPORT_CHUNK}, view="export")
        db.session.commit()
        for row in schema.dump(page.items):
            caller = row["caller"]
            yield [row["number"], row["created_at"], row["state"], row["desk"], row["channel"],
                   row["category"], row["priority"], row["subject"], caller["name"] or "",
                   caller["phone"] or "", caller["is_minor"], row["location"]["unit"] or "",
                   row["lead_unit"] or "", " ".join(row["co_units"]), row["resolution"] or "",
                   row["closed_at"] or "",
                   any(timer["state"] == "overdue" for timer in row["timers"])]
        if page_number * EXPORT_CHUNK >= page.total:
            return
        page_number += 1


def ticket_export(viewer, fmt: str, filters: dict):
    """The ticket list as a CSV or XLSX download, for the console and the API alike: only for
    an exporting role (403), masked as `viewer` sees it, every child's row in the read audit
    and the export itself audited (who, filter, row count)."""
    access.check_export_allowed(viewer)
    # Bad filters fail before streaming.
    first = service.list_tickets(viewer, {**filters, "page": 1, "per_page": 1}, view="export")
    audit.record_export(viewer, fmt, filters, first.total)
    db.session.commit()
    return exports.download(fmt, "tickets", TICKET_HEADER, _ticket_rows(viewer, filters),
                            sheet="tickets")


@bp.get("/tickets/export")
@login_required
def tickets_export():
    fmt = request.args.get("format", "csv")
    if fmt not in exports.FORMATS:
        abort(404)
    if not access.may_export(user()):
        abort(403)
    return ticket_export(user(), fmt, list_filters(request.args))
