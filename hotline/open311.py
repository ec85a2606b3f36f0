"""Open311 GeoReport v2, read only: the general desk's requests as civic-tech tools read them.

`/open311/v2/services.json`, `/open311/v2/requests.json`, `/open311/v2/requests/<id>.json`,
public and unauthenticated, so only what may be published: general-desk tickets of the
public-facing kinds (no children's desk, no caller under 18, no 举报 reports, no
psychological or legal cases), never a caller's phone or name, never the free-text
content or the reply; the place is the community (unit) the ticket is about, not the
street address; long digit runs in the subject (phone or ID numbers) are blanked.
"""

import re
from datetime import UTC, datetime, timedelta

from flask import Blueprint, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from hotline.clocks.models import OPEN_TIMER_STATES, TimerKind
from hotline.extensions import db
from hotline.tickets.models import Category, Desk, Ticket
from hotline.types import utcnow

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

SERVICES = {
    Category.CONSULTATION: ("咨询", "政策、办事流程等咨询"),
    Category.HELP: ("求助", "生活中遇到困难请求帮助"),
    Category.COMPLAINT: ("投诉", "对服务、管理问题的投诉"),
    Category.SUGGESTION: ("建议", "对城市管理和公共服务的意见建议"),
}
DEFAULT_DAYS = 90
MAX_RESULTS = 1000
DIGITS = re.compile(r"\d[\d\- ]{5,}\d")


def _error(status: int, description: str):
    return jsonify([{"code": status, "description": description}]), status


def _public():
    return (select(Ticket).where(Ticket.desk == Desk.GENERAL, Ticket.caller_is_minor.is_(False),
                                 Ticket.category.in_(list(SERVICES)))
            .options(joinedload(Ticket.lead_unit), joinedload(Ticket.location_unit),
                     selectinload(Ticket.timers)))


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def as_request(ticket: Ticket) -> dict:
    """One ticket as a GeoReport service request, with nothing personal in it."""
    handle_due = [t.due_at for t in ticket.timers
                  if t.kind == TimerKind.HANDLE and t.state in OPEN_TIMER_STATES and t.referral_id is None]
    name, _ = SERVICES[ticket.category]
    return {
        "service_request_id": ticket.number,
        "status": "closed" if ticket.is_terminal else "open",
        "status_notes": None,
        "service_name": name,
        "service_code": ticket.category.value,
        "description": DIGITS.sub("***", ticket.subject or ""),
        "agency_responsible": ticket.lead_unit.name if ticket.lead_unit else None,
        "service_notice": None,
        "requested_datetime": _iso(ticket.created_at),
        "updated_datetime": _iso(ticket.updated_at),
        "expected_datetime": _iso(min(handle_due)) if handle_due else None,
        "address": ticket.location_unit.name if ticket.location_unit else None,
        "address_id": ticket.location_unit.code if ticket.location_unit else None,
        "zipcode": None, "lat": None, "long": None, "media_url": None,
    }


@bp.get("/services.json")
def services():
    return jsonify([{"service_code": category.value, "service_name": name, "description": description,
                     "metadata": False, "type": "realtime", "keywords": "", "group": "12345"}
                    for category, (name, description) in SERVICES.items()])


@bp.get("/requests.json")
def requests_list():
    """GeoReport's filters: service_request_id (comma list), service_code, status, start_date,
    end_date (default: the last 90 days), at most 1,000, newest first."""
    stmt = _public()
    args = request.args
    if args.get("service_request_id"):
        stmt = stmt.where(Ticket.number.in_(args["service_request_id"].split(",")[:MAX_RESULTS]))
    else:
        try:
            end = _date(args.get("end_date")) or utcnow()
            start = _date(args.get("start_date")) or end - timedelta(days=DEFAULT_DAYS)
        except ValueError:
            return _error(400, "start_date / end_date must be W3C date-times")
        stmt = stmt.where(Ticket.created_at >= start, Ticket.created_at <= end)
    if args.get("service_code"):
        stmt = stmt.where(Ticket.category.in_(
            [c for c in SERVICES if c.value in args["service_code"].split(",")]))
    rows = db.session.scalars(stmt.order_by(Ticket.id.desc()).limit(MAX_RESULTS)).unique()
    wanted = set(args["status"].split(",")) if args.get("status") else {"open", "closed"}
    return jsonify([row for row in map(as_request, rows) if row["status"] in wanted])


@bp.get("/requests/<string:number>.json")
def request_one(number: str):
    ticket = db.session.scalars(_public().where(Ticket.number == number)).unique().one_or_none()
    if ticket is None:
        return _error(404, f"no public service request {number}")
    return jsonify([as_request(ticket)])


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)
