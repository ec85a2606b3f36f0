"""Tickets: intake, lookups, the audit timeline and one route per action."""

import json

from flask_smorest import Blueprint

from hotline import audit
from hotline.api import action_routes, committed
from hotline.auth import current_user
from hotline.console import reports
from hotline.console.exports import XLSX_MIME
from hotline.errors import NotFound
from hotline.extensions import db
from hotline.tickets import service
from hotline.tickets.registry import ACTION_BODIES
from hotline.tickets.schemas import (
    EventOut,
    RevealIn,
    RevealOut,
    RoutingOut,
    TicketDetailOut,
    TicketExportArgs,
    TicketIn,
    TicketListArgs,
    TicketOut,
    TicketWriteOut,
)

blp = Blueprint("tickets", __name__, url_prefix="/api/v1/tickets", description="Tickets (工单)")
SECURITY = [{"bearer": []}]


@blp.route("", methods=["POST"])
@blp.arguments(TicketIn())
@blp.response(201, TicketWriteOut)
@blp.doc(security=SECURITY)
@committed
def create_ticket(body):
    """受理: open a ticket (seats)."""
    return service.create_ticket(current_user(), body)


@blp.route("", methods=["GET"])
@blp.arguments(TicketListArgs(), location="query")
@blp.response(200, TicketOut(many=True))
@blp.doc(security=SECURITY)
@committed
def list_tickets(args):
    """Tickets the caller may see, crisis first then the nearest deadline (`sort=priority`, the
    default), or `sort=due` / `sort=newest`; paging in the X-Pagination header."""
    page = service.list_tickets(current_user(), args)
    pages = max(1, -(-page.total // page.per_page))
    header = {"total": page.total, "total_pages": pages, "page": page.page,
              "per_page": page.per_page, "total_capped": page.capped}
    return page.items, 200, {"X-Pagination": json.dumps(header), "X-Total-Count": str(page.total)}


@blp.route("/export", methods=["GET"])
@blp.arguments(TicketExportArgs(), location="query")
@blp.doc(security=SECURITY, responses={"200": {
    "description": "The filtered list as a file (exporting roles only: config EXPORT_ROLES); "
                   "callers masked as for the viewer; the export and each child's row are audited",
    "content": {"text/csv": {"schema": {"type": "string"}},
                XLSX_MIME: {"schema": {"type": "string", "format": "binary"}}}}})
@blp.alt_response(403, description="This role may not export")
def export_tickets(args):
    """The ticket list as CSV or XLSX (supervisors, admins, dispatchers by default)."""
    fmt = args.pop("format")
    return reports.ticket_export(current_user(), fmt, {**args, "page": 1, "per_page": 1})


@blp.route("/<int(max=2147483647):ticket_id>", methods=["GET"])
@blp.response(200, TicketDetailOut)
@blp.doc(security=SECURITY)
@committed
def get_ticket(ticket_id):
    """One ticket (404 when the caller may not see it)."""
    return service.get_ticket(current_user(), ticket_id)


@blp.route("/<int(max=2147483647):ticket_id>/routing", methods=["GET"])
@blp.response(200, RoutingOut)
@blp.alt_response(404, description="No ticket, or the catalogue has no suggestion")
@blp.doc(security=SECURITY)
@committed
def routing_suggestion(ticket_id):
    """The routing catalogue's suggested lead unit (派单建议); the dispatcher may override it."""
    suggestion = service.routing_suggestion(current_user(), ticket_id)
    if suggestion is None:
        db.session.commit()   # the read of a child's ticket is audited even without a suggestion
        raise NotFound(error="ticket.no_routing_suggestion")
    return suggestion


@blp.route("/<int(max=2147483647):ticket_id>/events", methods=["GET"])
@blp.response(200, EventOut(many=True))
@blp.doc(security=SECURITY)
@committed
def ticket_events(ticket_id):
    """The audit timeline, oldest first."""
    return service.ticket_events(current_user(), ticket_id)


@blp.route("/<int(max=2147483647):ticket_id>/reveal", methods=["POST"])
@blp.arguments(RevealIn())
@blp.response(200, RevealOut)
@blp.doc(security=SECURITY)
@committed
def reveal(body, ticket_id):
    """Break-glass: the full caller contact for a viewer who sees it masked, with a reason
    (audited; the supervisor on duty is notified)."""
    return audit.reveal(current_user(), ticket_id, body["reason"])


action_routes(
    blp, "/<int(max=2147483647):ticket_id>", ACTION_BODIES, TicketWriteOut, prefix="action_",
    perform=lambda body, ticket_id, action: service.perform(current_user(), ticket_id, action, body),
)
