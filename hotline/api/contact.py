"""Contact safety of a ticket and its outgoing texts: PATCH the safety, cancel a queued text."""

from flask_smorest import Blueprint

from hotline import contact_safety, outbox
from hotline.api import committed
from hotline.auth import current_user
from hotline.tickets.schemas import CancelMessageIn, ContactPatchIn, MessageOut, TicketDetailOut

blp = Blueprint("contact", __name__, url_prefix="/api/v1/tickets",
                description="Contact safety (may the caller be texted) and outgoing texts")
SECURITY = [{"bearer": []}]
TICKET = "/<int(max=2147483647):ticket_id>"


@blp.route(f"{TICKET}/contact", methods=["PATCH"])
@blp.arguments(ContactPatchIn())
@blp.response(200, TicketDetailOut)
@blp.alt_response(403, description="Only seats and supervisors set contact safety")
@blp.doc(security=SECURITY)
@committed
def patch_contact(body, ticket_id):
    """Say whether and when the caller may be texted, with a note for whoever calls back."""
    return contact_safety.set_contact(current_user(), ticket_id, body)


@blp.route(f"{TICKET}/messages/<int(max=2147483647):message_id>/cancel", methods=["POST"])
@blp.arguments(CancelMessageIn())
@blp.response(200, MessageOut)
@blp.alt_response(409, description="The message has gone already (or was cancelled)")
@blp.doc(security=SECURITY)
@committed
def cancel_message(body, ticket_id, message_id):
    """Stop an automatic text or call of this ticket that has not gone yet."""
    return outbox.cancel(current_user(), ticket_id, message_id, body.get("reason"))
