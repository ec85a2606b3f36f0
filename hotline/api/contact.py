"""Contact safety of a ticket and its outgoing texts: PATCH the safety, cancel a queued text."""

from flask_smorest import Blueprint

from hotline import contact_safety, outbox
from hotline.api import route
from hotline.auth import current_user
from hotline.tickets.schemas import CancelMessageIn, ContactPatchIn, MessageOut, TicketDetailOut

blp = Blueprint("contact", __name__, url_prefix="/api/v1/tickets",
                description="Contact safety (may the caller be texted) and outgoing texts")
TICKET = "/<int(max=2147483647):ticket_id>"


@route(blp, f"{TICKET}/contact", "PATCH", body=ContactPatchIn(), out=TicketDetailOut, commit=True,
       refusals={403: "Only seats and supervisors set contact safety"})
def patch_contact(body, ticket_id):
    """Say whether and when the caller may be texted, with a note for whoever calls back."""
    return contact_safety.set_contact(current_user(), ticket_id, body)


@route(blp, f"{TICKET}/messages/<int(max=2147483647):message_id>/cancel", "POST", body=CancelMessageIn(),
       out=MessageOut, commit=True, refusals={409: "The message has gone already (or was cancelled)"})
def cancel_message(body, ticket_id, message_id):
    """Stop an automatic text or call of this ticket that has not gone yet."""
    return outbox.cancel(current_user(), ticket_id, message_id, body.get("reason"))
