"""Reports a centre hands in (hotline/reports.py): the daily report (日报), the weekly report
(周报) and the period overview (volumes and unit rankings), each as a page that prints on A4
and as an XLSX a supervisor can sort and pivot.

Supervisors, dispatchers and admins see the whole centre (or any unit they pick); a unit's
handler its own subtree (`kpis.scope_for`). Crisis cases are masked as the viewer sees them
anywhere else (`TicketOut`), and reading a child's case here is in the read audit.
"""

from datetime import date, timedelta

from flask import abort, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from hotline import audit, kpis, permissions, reports
from hotline.clocks.calendar import SHANGHAI
from hotline.console import bp, exports, forms, labels, queries
from hotline.console.filters import percent
from hotline.console.guard import allowed
from hotline.console.helpers import user
from hotline.extensions import db
from hotline.tickets.models import Desk
from hotline.tickets.schemas import TicketOut
from hotline.types import utcnow
from hotline.units import names as unit_names
from hotline.users import Role

REPORT_ROLES = tuple(permissions.REPORT_READERS)
DIMENSION_TITLES = {"category": _l("类别"), "area": _l("区域"), "channel": _l("渠道"),
                    "desk": _l("专席")}
KINDS = {"daily": _l("日报"), "weekly": _l("周报")}


def _today() -> date:
    return utcnow().astimezone(SHANGHAI).date()


def _scope() -> reports.Scope:
    return reports.Scope(unit=kpis.scope_for(user(), request.args.get("unit") or None),
                         desk=forms.desk_arg())


def _period(kind: str) -> reports.Period:
    """日报: `day` (default yesterday, the last whole day); 周报: the week of `week` (default
    last week, Monday to Sunday)."""
    if kind == "daily":
        return reports.Period.day(forms.date_arg("day") or _today() - timedelta(days=1))
    return reports.Period.week(forms.date_arg("week") or _today() - timedelta(days=7))


def volume_rows(report: reports.PeriodReport, names: dict[str, str]) -> dict[str, list[list]]:
    """Per dimension: [name, tickets now, tickets in the previous period, change], most first."""
    table = {}
    for dimension in reports.DIMENSIONS:
        now, before = report.volumes.by[dimension], report.previous_volumes.by[dimension]
        codes = sorted(set(now) | set(before), key=lambda code: (-now.get(code, 0), -before.get(code, 0)))
        table[dimension] = [[labels.code_name(dimension, code, names), now.get(code, 0),
                             before.get(code, 0), now.get(code, 0) - before.get(code, 0)]
                            for code in codes]
    return table


def hotspot_rows(report: reports.PeriodReport, names: dict[str, str]) -> dict[str, list[list]]:
    """Per dimension: ["1. name", tickets now, before, change], the most first."""
    return {dimension: [[f"{place}. {labels.code_name(dimension, spot.code, names)}", spot.current,
                         spot.previous, spot.delta] for place, spot in enumerate(spots, start=1)]
            for dimension, spots in report.hotspots.items()}


def _title(kind: str, period: reports.Period, scope: reports.Scope, names: dict[str, str]) -> str:
    where = names.get(scope.unit, scope.unit) if scope.unit else gettext("12345 热线")
    if scope.desk:
        where = f"{where} · {labels.label(labels.DESKS, scope.desk)}"
    when = (period.start.isoformat() if kind == "daily"
            else f"{period.start.isoformat()} — {period.end.isoformat()}")
    return f"{where} {KINDS[kind]} {when}"


@bp.get("/reports/daily")
@allowed(permissions.can_read_reports)
def daily_report():
    return _period_page("daily")


@bp.get("/reports/weekly")
@allowed(permissions.can_read_reports)
def weekly_report():
    return _period_page("weekly")


def _period_page(kind: str):
    period, scope, fmt = _period(kind), _scope(), request.args.get("format")
    if fmt not in (None, "", "xlsx"):
        abort(404)
    report = reports.period_report(user(), period, scope, limit=None if fmt else reports.LIST_LIMIT)
    names = unit_names()
    title = _title(kind, period, scope, names)
    crisis = TicketOut(many=True, viewer=user()).dump(report.crisis)
    if fmt == "xlsx":
        # The file carries callers' details out of the console: the export itself is audited.
        audit.record_export(user(), fmt, {"day": period.start.isoformat(), "unit": scope.unit,
                                          "desk": scope.desk}, len(report.overdue) + len(crisis),
                            view=f"{kind}_report")
        db.session.commit()
        return exports.workbook(_period_sheets(report, names, crisis),
                                f"{kind}_{period.start.isoformat()}{'_' + scope.unit if scope.unit else ''}")
    root = current_user.unit if current_user.role == Role.HANDLER else None
    return render_template(
        "console/period_report.html", kind=kind, title=title, report=report, names=names,
        volumes=volume_rows(report, names), hotspots=hotspot_rows(report, names),
        dimensions=DIMENSION_TITLES, crisis=crisis, lower_is_better=kpis.LOWER_IS_BETTER,
        units=queries.unit_tree(root=root), desks=list(Desk),
        generated=utcnow(), previous=report.period.previous(),
        args={"day" if kind == "daily" else "week": period.start.isoformat(),
              "unit": scope.unit or "", "desk": scope.desk or ""},
        form=forms.FormState(values=request.args),
    )


VOLUME_COLUMNS = [exports.Column(_l("维度"), 8), exports.Column(_l("名称"), 18),
                  exports.Column(_l("本期"), 8, "int"), exports.Column(_l("上期"), 8, "int"),
                  exports.Column(_l("变化"), 8, "int")]
KPI_CHANGE_COLUMNS = [
    exports.Column(_l("指标"), 14), exports.Column(_l("本期分子"), 9, "int"),
    exports.Column(_l("本期分母"), 9, "int"), exports.Column(_l("本期比率"), 9, "rate"),
    exports.Column(_l("上期分子"), 9, "int"), exports.Column(_l("上期分母"), 9, "int"),
    exports.Column(_l("上期比率"), 9, "rate"), exports.Column(_l("变化"), 9, "rate"),
]
OVERDUE_COLUMNS = [
    exports.Column(_l("工单编号"), 24), exports.Column(_l("标题"), 30), exports.Column(_l("时限"), 10),
    exports.Column(_l("到期时间"), 17, "datetime"), exports.Column(_l("承办单位"), 14),
    exports.Column(_l("状态"), 10),
]
CRISIS_COLUMNS = [
    exports.Column(_l("工单编号"), 24), exports.Column(_l("受理时间"), 17, "datetime"),
    exports.Column(_l("专席"), 14), exports.Column(_l("类别"), 10), exports.Column(_l("标题"), 30),
    exports.Column(_l("来电人姓名"), 12), exports.Column(_l("来电号码"), 16),
    exports.Column(_l("状态"), 10), exports.Column(_l("承办单位"), 14),
]


def _period_sheets(report: reports.PeriodReport, names: dict[str, str],
                   crisis: list[dict]) -> list[exports.Sheet]:
    volumes = [[str(DIMENSION_TITLES[dimension]), *row]
               for dimension, rows in volume_rows(report, names).items() for row in rows]
    changes = [[labels.label(labels.KPIS, c.key), c.current.numerator, c.current.denominator,
                c.current.rate, c.previous.numerator, c.previous.denominator, c.previous.rate,
                c.delta] for c in report.kpi_changes]
    overdue = [[row.ticket.number, row.ticket.subject, labels.label(labels.TIMERS, row.timer.kind),
                exports.local(row.timer.due_at),
                row.ticket.lead_unit.name if row.ticket.lead_unit else "",
                labels.label(labels.STATES, row.ticket.state)] for row in report.overdue]
    tickets = {ticket.id: ticket for ticket in report.crisis}
    cases = [[row["number"], exports.local(tickets[row["id"]].created_at),
              labels.label(labels.DESKS, row["desk"]), labels.label(labels.CATEGORIES, row["category"]),
              row["subject"], row["caller"]["name"] or "", row["caller"]["phone"] or "",
              labels.label(labels.STATES, row["state"]), names.get(row["lead_unit"] or "", "")]
             for row in crisis]
    return [exports.Sheet(gettext("受理量"), VOLUME_COLUMNS, volumes),
            exports.Sheet(gettext("指标变化"), KPI_CHANGE_COLUMNS, changes),
            exports.Sheet(gettext("超期工单"), OVERDUE_COLUMNS, overdue),
            exports.Sheet(gettext("危机工单"), CRISIS_COLUMNS, cases)]


# --- the period overview: volumes by dimension and unit rankings ---------------------------

RANK_ORDERS = ("desc", "asc")


@bp.get("/reports")
@allowed(permissions.can_read_reports)
def reports_overview():
    start, end = kpis.check_period(forms.date_arg("from"), forms.date_arg("to"))
    period, scope = reports.Period(start, end), _scope()
    sort = request.args.get("sort") or "replied_on_time"
    order = request.args.get("order") or "desc"
    if sort not in (*kpis.KPI_KEYS, "unit") or order not in RANK_ORDERS:
        raise forms.FormInvalid({"sort": [gettext("请从列表中选择")]})
    fmt = request.args.get("format")
    if fmt not in (None, "", "xlsx"):
        abort(404)
    volumes = reports.volumes(period, scope)
    ranked = reports.rankings(period, scope, sort, order == "desc")
    names = unit_names()
    if fmt == "xlsx":
        return exports.workbook(_overview_sheets(volumes, ranked, names),
                                f"reports_{start.isoformat()}_{end.isoformat()}")
    root = current_user.unit if current_user.role == Role.HANDLER else None
    table = {dimension: [(labels.code_name(dimension, code, names), count, percent(count / volumes.total))
                         for code, count in volumes.by[dimension].most_common()]
             for dimension in reports.DIMENSIONS}
    return render_template(
        "console/reports.html", period=period, scope=scope, volumes=volumes, table=table,
        dimensions=DIMENSION_TITLES, ranked=ranked, names=names, sort=sort, order=order,
        keys=kpis.KPI_KEYS, units=queries.unit_tree(root=root), desks=list(Desk),
    )


def _overview_sheets(volumes: reports.Volumes, ranked: list[reports.Ranked],
                     names: dict[str, str]) -> list[exports.Sheet]:
    counts = [[str(DIMENSION_TITLES[dimension]), labels.code_name(dimension, code, names), count]
              for dimension in reports.DIMENSIONS
              for code, count in volumes.by[dimension].most_common()]
    columns = [exports.Column(_l("名次"), 6, "int"), exports.Column(_l("单位"), 18)]
    for key in kpis.KPI_KEYS:
        name = labels.label(labels.KPIS, key)
        columns += [exports.Column(name, 10, "rate"),
                    exports.Column(f"{name} {gettext('分子')}", 8, "int"),
                    exports.Column(f"{name} {gettext('分母')}", 8, "int")]
    ranking = [[place, names.get(row.unit, row.unit),
                *(value for key in kpis.KPI_KEYS
                  for value in (row.kpis[key].rate, row.kpis[key].numerator, row.kpis[key].denominator))]
               for place, row in enumerate(ranked, start=1)]
    return [exports.Sheet(gettext("受理量"), [*VOLUME_COLUMNS[:2], exports.Column(_l("受理量"), 8, "int")],
                          counts),
            exports.Sheet(gettext("单位排名"), columns, ranking)]
