"""GET /api/v1/reports/kpis: each KPI with numerator, denominator and rate (or a CSV/XLSX file)."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from hotline import kpis
from hotline.auth import current_user
from hotline.tickets.models import Desk

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports", description="KPIs (统计指标)")
SECURITY = [{"bearer": []}]


class KpiArgs(ma.Schema):
    from_ = fields.Date(data_key="from", load_default=None)
    to = fields.Date(load_default=None)
    unit = fields.String(load_default=None, validate=validate.Length(max=64))
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
@blp.response(200, KpiReportOut)
@blp.alt_response(403, description="Role may not see KPIs, or a unit outside the caller's own")
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
    report = kpis.compute(start, end, unit=unit, desk=desk)
    if args["format"] in exports.FORMATS:
        return exports.download(args["format"], exports.kpi_filename(report), exports.KPI_HEADER,
                                exports.kpi_rows(report), sheet="KPIs")
    return report
