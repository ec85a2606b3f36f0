"""GET /api/v1/outbox: what the service sent or could not send (centre staff)."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from hotline import outbox, permissions
from hotline.api import committed
from hotline.auth import current_user
from hotline.errors import Forbidden
from hotline.extensions import db
from hotline.outbox import MessageStatus, OutboxMessage
from hotline.tickets.schemas import MessageOut

blp = Blueprint("outbox", __name__, url_prefix="/api/v1/outbox",
                description="Outbound SMS and calls (kept here when Twilio is not configured)")


class OutboxArgs(ma.Schema):
    q = fields.String(load_default="", validate=validate.Length(max=64), metadata={
        "description": "a ticket number, a ticket id, or 4+ digits of the number texted"})
    status = fields.Enum(MessageStatus, by_value=True, load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


@blp.route("", methods=["GET"])
@blp.arguments(OutboxArgs(), location="query")
@blp.response(200, MessageOut(many=True))
@blp.doc(security=[{"bearer": []}])
def list_outbox(args):
    """Newest first; for the centre's supervisors, dispatchers and admins."""
    user = current_user()
    if not permissions.can_view_centre_figures(user):
        raise Forbidden(error="outbox.forbidden")
    if args["q"]:
        permissions.check_reads_outbox(user)
        return outbox.search(user, args["q"], args["status"], args["limit"])
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(args["limit"])
    if args["status"]:
        stmt = stmt.where(OutboxMessage.status == args["status"])
    return list(db.session.scalars(stmt))


class CancelIn(ma.Schema):
    reason = fields.String(load_default=None, validate=validate.Length(max=200))


@blp.route("/<int:message_id>/resend", methods=["POST"])
@blp.response(200, MessageOut)
@blp.alt_response(403, description="Not an admin")
@blp.alt_response(404, description="No such message")
@blp.alt_response(409, description="Queued, sent, delivered or cancelled: only what has not gone is resent")
@blp.doc(security=[{"bearer": []}])
@committed
def resend(message_id):
    """Queue again a message that has not gone (not sent, failed or undelivered); contact
    safety and quiet hours decide again at delivery (admin, an audited change)."""
    return outbox.resend(current_user(), message_id)


@blp.route("/<int:message_id>/cancel", methods=["POST"])
@blp.arguments(CancelIn)
@blp.response(200, MessageOut)
@blp.alt_response(403, description="Not an admin")
@blp.alt_response(404, description="No such message")
@blp.alt_response(409, description="It went already")
@blp.doc(security=[{"bearer": []}])
@committed
def cancel(body, message_id):
    """Stop a queued message from going (admin, an audited change; a ticket's is also on its timeline)."""
    return outbox.cancel_queued(current_user(), message_id, body["reason"])
