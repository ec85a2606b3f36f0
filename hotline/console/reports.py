"""KPI dashboard with a chart per KPI, and the CSV/XLSX exports of KPIs and ticket lists."""

from datetime import datetime, time

from flask import abort, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from hotline import audit, kpis, permissions
from hotline.clocks.calendar import SHANGHAI
from hotline.clocks.models import TimerState
from hotline.console import bp, charts, exports, forms, labels, queries
from hotline.console.guard import allowed
from hotline.console.helpers import user
from hotline.console.queue_pages import list_filters
from hotline.errors import HotlineError
from hotline.extensions import db
from hotline.knowledge import service as knowledge
from hotline.tickets import service
from hotline.tickets.models import Desk
from hotline.tickets.schemas import TicketOut
from hotline.units import names as unit_names
from hotline.users import Role, display_names


def _report(with_units: bool = False) -> kpis.Report:
    start, end = kpis.check_period(forms.date_arg("from"), forms.date_arg("to"))
    unit = kpis.scope_for(user(), request.args.get("unit") or None)
    return kpis.compute(start, end, unit=unit, desk=forms.desk_arg(), with_units=with_units)


@bp.get("/kpis")
@allowed(permissions.can_view_kpis)
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
    # Direct answers by knowledge article (issue 21): for the knowledge editors.
    figures = knowledge.figures(user(), since=datetime.combine(report.start, time(), SHANGHAI)) \
        if permissions.is_knowledge_editor(user()) else None
    return render_template(
        "console/kpis.html", report=report, charts=chart, desks=list(Desk), figures=figures,
        units=queries.unit_tree(root=root), units_by_code=queries.units_by_code(),
        form=forms.FormState(values=request.args, errors=errors),
    ), 200 if not errors else 422


@bp.get("/kpis/export")
@allowed(permissions.can_view_kpis)
def kpi_export():
    fmt = request.args.get("format", "csv")
    if fmt not in exports.FORMATS:
        abort(404)
    report = _report(with_units=True)
    return exports.download(fmt, exports.kpi_filename(report), exports.KPI_COLUMNS,
                            exports.kpi_rows(report, unit_names()), sheet=gettext("统计指标"))


TICKET_COLUMNS = [
    exports.Column(_l("工单编号"), 24), exports.Column(_l("受理时间"), 17, "datetime"),
    exports.Column(_l("状态"), 10), exports.Column(_l("专席"), 14), exports.Column(_l("渠道"), 8),
    exports.Column(_l("类别"), 10), exports.Column(_l("紧急程度"), 9), exports.Column(_l("标题"), 30),
    exports.Column(_l("来电人姓名"), 12), exports.Column(_l("来电号码"), 16),
    exports.Column(_l("未成年人"), 9), exports.Column(_l("所在区域"), 14),
    exports.Column(_l("承办单位"), 14), exports.Column(_l("协办单位"), 20),
    exports.Column(_l("受理人"), 10), exports.Column(_l("办结方式"), 14),
    exports.Column(_l("办结时间"), 17, "datetime"), exports.Column(_l("超期"), 6),
]
EXPORT_CHUNK = 200


def _ticket_rows(viewer, filters: dict):
    """Every ticket of the filtered list, a chunk at a time, masked as the API masks them, with
    names for codes and Shanghai times.

    Each chunk's reads of children's tickets are committed to the read audit before its rows
    are handed out: a CSV is written while the response streams, after the request's own
    commit, so this generator is the only boundary those rows pass."""
    schema = TicketOut(viewer=viewer)
    units, people = unit_names(), display_names()
    page_number = 1
    while True:
        page = service.list_tickets(viewer, {**filters, "page": page_number,
                                             "per_page": EXPORT_CHUNK}, view="export",
                                    exact_total=True)
        db.session.commit()
        for ticket in page.items:
            caller = schema.dump_caller(ticket)
            yield [ticket.number, exports.local(ticket.created_at),
                   labels.label(labels.STATES, ticket.state), labels.label(labels.DESKS, ticket.desk),
                   labels.label(labels.CHANNELS, ticket.channel),
                   labels.label(labels.CATEGORIES, ticket.category),
                   labels.label(labels.PRIORITIES, ticket.priority), ticket.subject,
                   caller["name"] or "", caller["phone"] or "", exports.yes_no(ticket.caller_is_minor),
                   ticket.location_unit.name if ticket.location_unit else "",
                   ticket.lead_unit.name if ticket.lead_unit else "",
                   "、".join(units.get(unit.code, unit.code) for unit in ticket.co_units),
                   people.get(ticket.created_by_id, ""),
                   labels.label(labels.RESOLUTIONS, ticket.resolution),
                   exports.local(ticket.closed_at),
                   exports.yes_no(any(timer.state == TimerState.OVERDUE and timer.referral_id is None
                                      for timer in ticket.timers))]
        if page_number * EXPORT_CHUNK >= page.total:
            return
        page_number += 1


def ticket_export(viewer, fmt: str, filters: dict):
    """The ticket list as a CSV or XLSX download, for the console and the API alike: only for
    an exporting role (403), masked as `viewer` sees it, every child's row in the read audit
    and the export itself audited (who, filter, row count)."""
    permissions.check_export_allowed(viewer)
    # Bad filters fail before streaming.
    first = service.list_tickets(viewer, {**filters, "page": 1, "per_page": 1}, view="export",
                                 exact_total=True)
    audit.record_export(viewer, fmt, filters, first.total)
    db.session.commit()
    return exports.download(fmt, "tickets", TICKET_COLUMNS, _ticket_rows(viewer, filters),
                            sheet=gettext("工单"))


@bp.get("/tickets/export")
@login_required
def tickets_export():
    fmt = request.args.get("format", "csv")
    if fmt not in exports.FORMATS:
        abort(404)
    if not permissions.may_export(user()):
        abort(403)
    return ticket_export(user(), fmt, list_filters(request.args))
