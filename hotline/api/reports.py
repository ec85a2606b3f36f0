"""The centre's reports: GET /api/v1/reports/kpis (each KPI with numerator, denominator and rate,
or a CSV/XLSX file), /volumes (tickets by category, area, channel, desk and day) and /rankings
(the scope's units on every KPI). All from hotline/reports.py and hotline/kpis.py."""

import marshmallow as ma
from flask_babel import gettext
from flask_smorest import Blueprint
from marshmallow import fields, validate

from hotline import kpis, reports
from hotline.api import route
from hotline.auth import current_user
from hotline.console import exports, labels
from hotline.tickets.models import Desk
from hotline.units import names

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports", description="KPIs (统计指标)")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORT_REFUSALS = {403: "Role may not see reports, or a unit outside the caller's own"}
KPI_ANSWER = "The KPIs as JSON; with `format=csv` or `format=xlsx` the same table as a file download"


class PeriodArgs(ma.Schema):
    from_ = fields.Date(data_key="from", load_default=None, metadata={
        "description": "First day (default: 30 days before `to`). A period longer than 366 days, "
                       "or `from` after `to`, is refused with 422."})
    to = fields.Date(load_default=None, metadata={"description": "Last day (default: today)."})
    unit = fields.String(load_default=None, validate=validate.Length(max=64), metadata={
        "description": "A unit code: its subtree. An unknown code is refused with 422; a unit "
                       "handler may only name its own unit or one below it (403)."})
    desk = fields.Enum(Desk, by_value=True, load_default=None)


class KpiArgs(PeriodArgs):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "xlsx"]))


class RankingArgs(PeriodArgs):
    sort = fields.String(load_default="replied_on_time",
                         validate=validate.OneOf([*kpis.KPI_KEYS, "unit"]),
                         metadata={"description": "The KPI to rank on (or `unit`: the tree's order)."})
    order = fields.String(load_default="desc", validate=validate.OneOf(["desc", "asc"]))


class KpiOut(ma.Schema):
    key = fields.String()
    name = fields.String()
    numerator = fields.Integer()
    denominator = fields.Integer()
    rate = fields.Float(allow_none=True)


class KpiReportOut(ma.Schema):
    from_ = fields.Date(data_key="from", attribute="start")
    to = fields.Date(attribute="end")
    unit = fields.String(allow_none=True)
    desk = fields.String(allow_none=True)
    kpis = fields.List(fields.Nested(KpiOut))


class CountOut(ma.Schema):
    code = fields.String(metadata={"description": "A category, channel or desk code; a unit code "
                                                 "for an area (empty: no area given)."})
    name = fields.String()
    count = fields.Integer()


class DayCountOut(ma.Schema):
    day = fields.Date()
    count = fields.Integer()


class ScopedOut(ma.Schema):
    """The period and the scope a report is of."""

    from_ = fields.Date(data_key="from")
    to = fields.Date()
    unit = fields.String(allow_none=True)
    desk = fields.String(allow_none=True)


class VolumesOut(ScopedOut):
    total = fields.Integer()
    by = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(CountOut)), metadata={
        "description": "`category`, `area` (the scope's branches: the centre's counties and "
                       "departments, a county's towns), `channel` and `desk`, the most first."})
    by_day = fields.List(fields.Nested(DayCountOut))


class RankedOut(ma.Schema):
    unit = fields.String()
    name = fields.String()
    kpis = fields.List(fields.Nested(KpiOut))


class RankingsOut(ScopedOut):
    sort = fields.String()
    order = fields.String()
    items = fields.List(fields.Nested(RankedOut))


@route(blp, "/kpis", query=KpiArgs(), out=KpiReportOut, description=KPI_ANSWER,
       refusals={403: "Role may not see KPIs, or a unit outside the caller's own"})
@blp.alt_response(200, schema={"type": "string", "description": "UTF-8 CSV, one header row"},
                  content_type="text/csv", description=KPI_ANSWER)
@blp.alt_response(200, schema={"type": "string", "format": "binary"}, content_type=XLSX,
                  description=KPI_ANSWER)
def kpi_report(args):
    """KPIs of a period (default: the last 30 days), a unit's subtree and a desk.

    Centre staff see any unit; a unit handler only its own unit and those below it.
    Each KPI's formula is documented in `hotline/kpis.py`. `format=csv|xlsx` downloads
    the same table.
    """
    viewer = current_user()
    start, end = kpis.check_period(args["from_"], args["to"])
    unit = kpis.scope_for(viewer, args["unit"])
    desk = args["desk"].value if args["desk"] else None
    report = kpis.compute(start, end, unit=unit, desk=desk, with_units=args["format"] != "json")
    if args["format"] in exports.FORMATS:
        return exports.download(args["format"], exports.kpi_filename(report), exports.KPI_COLUMNS,
                                exports.kpi_rows(report, names()), sheet=gettext("统计指标"))
    return report


def _period_scope(args: dict) -> tuple[reports.Period, reports.Scope]:
    start, end = kpis.check_period(args["from_"], args["to"])
    unit = kpis.scope_for(current_user(), args["unit"])
    return reports.Period(start, end), reports.Scope(unit, args["desk"].value if args["desk"] else None)


@route(blp, "/volumes", query=PeriodArgs(), out=VolumesOut, refusals=REPORT_REFUSALS)
def volume_report(args):
    """Tickets created in a period (default: the last 30 days), counted by category, area,
    channel, desk and Shanghai day; for a unit, the tickets it or a unit below it leads or
    co-handles. Who may ask for which unit: as for the KPIs."""
    period, scope = _period_scope(args)
    volumes = reports.volumes(period, scope)
    unit_names = names()
    return {"from_": period.start, "to": period.end, "unit": scope.unit, "desk": scope.desk,
            "total": volumes.total,
            "by": {dimension: [{"code": code, "name": labels.code_name(dimension, code, unit_names),
                                "count": count} for code, count in volumes.by[dimension].most_common()]
                   for dimension in reports.DIMENSIONS},
            "by_day": [{"day": day, "count": count} for day, count in volumes.by_day.items()]}


@route(blp, "/rankings", query=RankingArgs(), out=RankingsOut, refusals=REPORT_REFUSALS)
def ranking_report(args):
    """The scope's units (the centre's counties and city departments; a county's towns) with
    every KPI and the counts behind it, ranked on `sort`: units without a denominator last."""
    period, scope = _period_scope(args)
    ranked = reports.rankings(period, scope, args["sort"], args["order"] == "desc")
    unit_names = names()
    return {"from_": period.start, "to": period.end, "unit": scope.unit, "desk": scope.desk,
            "sort": args["sort"], "order": args["order"],
            "items": [{"unit": row.unit, "name": unit_names.get(row.unit, row.unit),
                       "kpis": [row.kpis[key] for key in kpis.KPI_KEYS]} for row in ranked]}
