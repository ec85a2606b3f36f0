"""GET /api/v1/tickets/{id}/similar: open tickets likely about the same matter (issue 21)."""

from flask_smorest import Blueprint

from hotline import search
from hotline.api import route
from hotline.auth import current_user
from hotline.tickets.schemas import TicketOut

blp = Blueprint("ticket_search", __name__, url_prefix="/api/v1/tickets", description="Tickets (工单)")


@route(blp, "/<int(max=2147483647):ticket_id>/similar", out=TicketOut(many=True), commit=True,
       refusals={404: "Not found, or not visible to the caller"})
def similar(ticket_id):
    """Open tickets the caller may see, opened within 7 days in the same area or at the same
    address, with words of this one's subject and content; the most alike first (at most 10)."""
    return search.similar_tickets(current_user(), ticket_id)
