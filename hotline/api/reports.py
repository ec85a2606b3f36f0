"""GET /api/v1/reports/kpis: each KPI with numerator, denominator and rate (or a CSV/XLSX file)."""

import marshmallow as ma
from flask_babel import gettext
from flask_smorest import Blueprint
from marshmallow import fields, validate

from hotline import kpis
from hotline.auth import current_user
from hotline.tickets.models import Desk
from hotline.units import names

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports", description="KPIs (统计指标)")
SECURITY = [{"bearer": []}]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KPI_ANSWER = "The KPIs as JSON; with `format=csv` or `format=xlsx` the same table as a file download"


class KpiArgs(ma.Schema):
    from_ = fields.Date(data_key="from", load_default=None, metadata={
        "description": "First day (default: 30 days before `to`). A period longer than 366 days, "
                       "or `from` after `to`, is refused with 422."})
    to = fields.Date(load_default=None, metadata={"description": "Last day (default: today)."})
    unit = fields.String(load_default=None, validate=validate.Length(max=64), metadata={
        "description": "A unit code: its subtree. An unknown code is refused with 422; a unit "
                       "handler may only name its own unit or one below it (403)."})
    desk = fields.Enum(Desk, by_value=True, load_default=None)
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "xlsx"]))


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


@blp.route("/kpis", methods=["GET"])
@blp.arguments(KpiArgs(), location="query")
@blp.response(200, KpiReportOut, description=KPI_ANSWER)
@blp.alt_response(403, description="Role may not see KPIs, or a unit outside the caller's own")
@blp.alt_response(200, schema={"type": "string", "description": "UTF-8 CSV, one header row"},
                  content_type="text/csv", description=KPI_ANSWER)
@blp.alt_response(200, schema={"type": "string", "format": "binary"}, content_type=XLSX,
                  description=KPI_ANSWER)
@blp.doc(security=SECURITY)
def kpi_report(args):
    """KPIs of a period (default: the last 30 days), a unit's subtree and a desk.

    Centre staff see any unit; a unit handler only its own unit and those below it.
    Each KPI's formula is documented in `hotline/kpis.py`. `format=csv|xlsx` downloads
    the same table.
    """
    from hotline.console import exports

    viewer = current_user()
    start, end = kpis.check_period(args["from_"], args["to"])
    unit = kpis.scope_for(viewer, args["unit"])
    desk = args["desk"].value if args["desk"] else None
    report = kpis.compute(start, end, unit=unit, desk=desk, with_units=args["format"] != "json")
    if args["format"] in exports.FORMATS:
        return exports.download(args["format"], exports.kpi_filename(report), exports.KPI_COLUMNS,
                                exports.kpi_rows(report, names()), sheet=gettext("统计指标"))
    return report
