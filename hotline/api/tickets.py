"""Tickets: intake, lookups, the audit timeline and one route per action."""

import json

from flask_smorest import Blueprint

from hotline import audit
from hotline.api import action_routes, route
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
TICKET = "/<int(max=2147483647):ticket_id>"


@route(blp, "", "POST", body=TicketIn(), out=TicketWriteOut, status=201, commit=True)
def create_ticket(body):
    """受理: open a ticket (seats)."""
    return service.create_ticket(current_user(), body)


@route(blp, "", query=TicketListArgs(), out=TicketOut(many=True), commit=True)
def list_tickets(args):
    """Tickets the caller may see, crisis first then the nearest deadline (`sort=priority`, the
    default), or `sort=due` / `sort=newest`; paging in the X-Pagination header."""
    page = service.list_tickets(current_user(), args)
    header = {"total": page.total, "total_pages": page.pages, "page": page.page,
              "per_page": page.per_page, "total_capped": page.capped}
    return page.items, 200, {"X-Pagination": json.dumps(header), "X-Total-Count": str(page.total)}


@route(blp, "/export", query=TicketExportArgs(), status=None, refusals={403: "This role may not export"},
       responses={"200": {
           "description": "The filtered list as a file (exporting roles only: config EXPORT_ROLES); "
                          "callers masked as for the viewer; the export and each child's row are audited",
           "content": {"text/csv": {"schema": {"type": "string"}},
                       XLSX_MIME: {"schema": {"type": "string", "format": "binary"}}}}})
def export_tickets(args):
    """The ticket list as CSV or XLSX (supervisors, admins, dispatchers by default)."""
    fmt = args.pop("format")
    return reports.ticket_export(current_user(), fmt, {**args, "page": 1, "per_page": 1})


@route(blp, TICKET, out=TicketDetailOut, commit=True)
def get_ticket(ticket_id):
    """One ticket (404 when the caller may not see it)."""
    return service.get_ticket(current_user(), ticket_id)


@route(blp, f"{TICKET}/routing", out=RoutingOut, commit=True,
       refusals={404: "No ticket, or the catalogue has no suggestion"})
def routing_suggestion(ticket_id):
    """The routing catalogue's suggested lead unit (派单建议); the dispatcher may override it."""
    suggestion = service.routing_suggestion(current_user(), ticket_id)
    if suggestion is None:
        db.session.commit()   # the read of a child's ticket is audited even without a suggestion
        raise NotFound(error="ticket.no_routing_suggestion")
    return suggestion


@route(blp, f"{TICKET}/events", out=EventOut(many=True), commit=True)
def ticket_events(ticket_id):
    """The audit timeline, oldest first."""
    return service.ticket_events(current_user(), ticket_id)


@route(blp, f"{TICKET}/reveal", "POST", body=RevealIn(), out=RevealOut, commit=True)
def reveal(body, ticket_id):
    """Break-glass: the full caller contact for a viewer who sees it masked, with a reason
    (audited; the supervisor on duty is notified)."""
    return audit.reveal(current_user(), ticket_id, body["reason"])


action_routes(
    blp, TICKET, ACTION_BODIES, TicketWriteOut, prefix="action_",
    perform=lambda body, ticket_id, action: service.perform(current_user(), ticket_id, action, body),
)
