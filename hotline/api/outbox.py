"""GET /api/v1/outbox: what the service sent or could not send (centre staff)."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from hotline import outbox, permissions
from hotline.api import route
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


@route(blp, "", query=OutboxArgs(), out=MessageOut(many=True))
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


ADMIN_ONLY = {403: "Not an admin", 404: "No such message"}


class CancelIn(ma.Schema):
    reason = fields.String(load_default=None, validate=validate.Length(max=200))


@route(blp, "/<int:message_id>/resend", "POST", out=MessageOut, commit=True, refusals={
    **ADMIN_ONLY, 409: "Queued, sent, delivered or cancelled: only what has not gone is resent"})
def resend(message_id):
    """Queue again a message that has not gone (not sent, failed or undelivered); contact
    safety and quiet hours decide again at delivery (admin, an audited change)."""
    return outbox.resend(current_user(), message_id)


@route(blp, "/<int:message_id>/cancel", "POST", body=CancelIn, out=MessageOut, commit=True,
       refusals={**ADMIN_ONLY, 409: "It went already"})
def cancel(body, message_id):
    """Stop a queued message from going (admin, an audited change; a ticket's is also on its timeline)."""
    return outbox.cancel_queued(current_user(), message_id, body["reason"])
