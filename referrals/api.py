"""Referral endpoints: /api/v1/referrals, /api/v1/partners, /api/v1/mandatory-reports and
partner KPIs. A partner sees only its own referrals (404 otherwise)."""

from datetime import UTC, datetime, time

from flask_smorest import Blueprint

from hotline import permissions
from hotline.admin import partners
from hotline.api import action_routes, route
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

blp = Blueprint("referrals", __name__, url_prefix="/api/v1", description="Referrals (转介) and partners")
REFERRAL = "/referrals/<int(max=2147483647):referral_id>"
REPORT = "/mandatory-reports/<int(max=2147483647):report_id>"


@route(blp, "/referrals", query=ReferralListArgs(), out=ReferralOut(many=True), commit=True)
def list_referrals(args):
    """Referrals the caller may see (a partner: its own), newest first."""
    return service.list_referrals(current_user(), args["state"])


@route(blp, REFERRAL, out=ReferralOut, commit=True)
def get_referral(referral_id):
    """One referral (the partner's minimal view for partners)."""
    return service.get_referral(current_user(), referral_id)


@route(blp, f"{REFERRAL}/events", out=ReferralEventOut(many=True), commit=True)
def referral_events(referral_id):
    """The referral's own timeline, oldest first."""
    return service.referral_events(current_user(), referral_id)


action_routes(
    blp, REFERRAL, ACTION_BODIES, ReferralOut, prefix="referral_",
    perform=lambda body, referral_id, action: service.act(current_user(), referral_id, action, body),
)


@route(blp, "/partners", query=PartnerArgs(), out=PartnerOut(many=True))
def list_partners(args):
    """The partner directory."""
    current_user()
    return service.partners(args["kind"].value if args["kind"] else None, args["service"])


class PartnerPatch(PartnerIn):
    """Any of PartnerIn's fields (its own name in the OpenAPI document)."""


@route(blp, "/partners", "POST", body=PartnerIn(), out=PartnerOut, status=201, commit=True)
def create_partner(body):
    """Add a partner (admin)."""
    return partners.create(current_user(), body)


@route(blp, "/partners/<string:code>", "PUT", body=PartnerIn(), out=PartnerOut, commit=True)
def update_partner(body, code):
    """Edit a partner: services, area, hours, capacity, active (admin)."""
    return partners.update(current_user(), code, body)


@route(blp, "/partners/<string:code>", "PATCH", body=PartnerPatch(partial=True), out=PartnerOut, commit=True)
def patch_partner(body, code):
    """Change some of a partner's fields, e.g. `{"active": false}` (admin)."""
    return partners.update(current_user(), code, body)


@route(blp, "/mandatory-reports", query=ReportArgs(), out=ReportOut(many=True))
def list_reports(args):
    """强制报告 records (centre staff), open ones first when asked."""
    return service.mandatory_reports(current_user(), args["open"])


def _report_action(action: str, body_schema, summary: str) -> None:
    def view(body, report_id):
        return service.advance_mandatory_report(current_user(), report_id, action, body)

    view.__doc__ = summary
    route(blp, f"{REPORT}/actions/{action}", "POST", body=body_schema(), out=ReportOut, commit=True,
          endpoint=action)(view)


_report_action("report", ReportIn, "The report was made to public security.")
_report_action("record_receipt", ReceiptIn, "Public security's receipt (回执) recorded: the report is done.")


@route(blp, "/reports/partners", query=PeriodArgs(), out=PartnerKpiOut(many=True))
def partner_kpis(args):
    """Per partner: acceptance rate, completion rate, median hours to accept and to first contact."""
    if not permissions.can_view_centre_figures(current_user()):
        raise Forbidden(error="referral.centre_only")
    start = datetime.combine(args["start"], time(0), SHANGHAI).astimezone(UTC)
    end = datetime.combine(args["end"], time(23, 59, 59), SHANGHAI).astimezone(UTC)
    return service.partner_kpis(start, end)
