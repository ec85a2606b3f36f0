"""Referral endpoints: /api/v1/referrals, /api/v1/partners, /api/v1/mandatory-reports and
partner KPIs. A partner sees only its own referrals (404 otherwise)."""

from datetime import UTC, datetime, time

from flask_smorest import Blueprint

from hotline import permissions
from hotline.admin import partners
from hotline.api import action_routes, committed
from hotline.auth import current_user
from hotline.clocks.calendar import SHANGHAI
from hotline.errors import Forbidden
from referrals import service
from referrals.schemas import (
    PartnerArgs,
    PartnerIn,
    PartnerKpiOut,
    PartnerOut,
    PeriodArgs,
    ReceiptIn,
    ReferralEventOut,
    ReferralListArgs,
    ReferralOut,
    ReportArgs,
    ReportIn,
    ReportOut,
)
from referrals.workflow import ACTION_BODIES

SECURITY = [{"bearer": []}]
blp = Blueprint("referrals", __name__, url_prefix="/api/v1", description="Referrals (转介) and partners")


@blp.route("/referrals", methods=["GET"])
@blp.arguments(ReferralListArgs(), location="query")
@blp.response(200, ReferralOut(many=True))
@blp.doc(security=SECURITY)
@committed
def list_referrals(args):
    """Referrals the caller may see (a partner: its own), newest first."""
    return service.list_referrals(current_user(), args["state"])


@blp.route("/referrals/<int(max=2147483647):referral_id>", methods=["GET"])
@blp.response(200, ReferralOut)
@blp.doc(security=SECURITY)
@committed
def get_referral(referral_id):
    """One referral (the partner's minimal view for partners)."""
    return service.get_referral(current_user(), referral_id)


@blp.route("/referrals/<int(max=2147483647):referral_id>/events", methods=["GET"])
@blp.response(200, ReferralEventOut(many=True))
@blp.doc(security=SECURITY)
@committed
def referral_events(referral_id):
    """The referral's own timeline, oldest first."""
    return service.referral_events(current_user(), referral_id)


action_routes(
    blp, "/referrals/<int(max=2147483647):referral_id>", ACTION_BODIES, ReferralOut, prefix="referral_",
    perform=lambda body, referral_id, action: service.act(current_user(), referral_id, action, body),
)


@blp.route("/partners", methods=["GET"])
@blp.arguments(PartnerArgs(), location="query")
@blp.response(200, PartnerOut(many=True))
@blp.doc(security=SECURITY)
def list_partners(args):
    """The partner directory."""
    current_user()
    return service.partners(args["kind"].value if args["kind"] else None, args["service"])


class PartnerPatch(PartnerIn):
    """Any of PartnerIn's fields (its own name in the OpenAPI document)."""


@blp.route("/partners", methods=["POST"])
@blp.arguments(PartnerIn())
@blp.response(201, PartnerOut)
@blp.doc(security=SECURITY)
@committed
def create_partner(body):
    """Add a partner (admin)."""
    return partners.create(current_user(), body)


@blp.route("/partners/<string:code>", methods=["PUT"])
@blp.arguments(PartnerIn())
@blp.response(200, PartnerOut)
@blp.doc(security=SECURITY)
@committed
def update_partner(body, code):
    """Edit a partner: services, area, hours, capacity, active (admin)."""
    return partners.update(current_user(), code, body)


@blp.route("/partners/<string:code>", methods=["PATCH"])
@blp.arguments(PartnerPatch(partial=True))
@blp.response(200, PartnerOut)
@blp.doc(security=SECURITY)
@committed
def patch_partner(body, code):
    """Change some of a partner's fields, e.g. `{"active": false}` (admin)."""
    return partners.update(current_user(), code, body)


@blp.route("/mandatory-reports", methods=["GET"])
@blp.arguments(ReportArgs(), location="query")
@blp.response(200, ReportOut(many=True))
@blp.doc(security=SECURITY)
def list_reports(args):
    """强制报告 records (centre staff), open ones first when asked."""
    return service.mandatory_reports(current_user(), args["open"])


@blp.route("/mandatory-reports/<int(max=2147483647):report_id>/actions/report", methods=["POST"])
@blp.arguments(ReportIn())
@blp.response(200, ReportOut)
@blp.doc(security=SECURITY)
@committed
def report_made(body, report_id):
    """The report was made to public security."""
    return service.advance_mandatory_report(current_user(), report_id, "report", body)


@blp.route("/mandatory-reports/<int(max=2147483647):report_id>/actions/record_receipt", methods=["POST"])
@blp.arguments(ReceiptIn())
@blp.response(200, ReportOut)
@blp.doc(security=SECURITY)
@committed
def receipt(body, report_id):
    """Public security's receipt (回执) recorded: the report is done."""
    return service.advance_mandatory_report(current_user(), report_id, "record_receipt", body)


@blp.route("/reports/partners", methods=["GET"])
@blp.arguments(PeriodArgs(), location="query")
@blp.response(200, PartnerKpiOut(many=True))
@blp.doc(security=SECURITY)
def partner_kpis(args):
    """Per partner: acceptance rate, completion rate, median hours to accept and to first contact."""
    if not permissions.can_view_centre_figures(current_user()):
        raise Forbidden(error="referral.centre_only")
    start = datetime.combine(args["start"], time(0), SHANGHAI).astimezone(UTC)
    end = datetime.combine(args["end"], time(23, 59, 59), SHANGHAI).astimezone(UTC)
    return service.partner_kpis(start, end)

