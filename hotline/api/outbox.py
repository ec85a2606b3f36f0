"""GET /api/v1/outbox: what the service sent or could not send (centre staff)."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from hotline.auth import current_user
from hotline.errors import Forbidden
from hotline.extensions import db
from hotline.outbox import MessageStatus, OutboxMessage
from hotline.tickets.schemas import MessageOut
from hotline.users import Role

blp = Blueprint("outbox", __name__, url_prefix="/api/v1/outbox",
                description="Outbound SMS and calls (kept here when Twilio is not configured)")


class OutboxArgs(ma.Schema):
    status = fields.Enum(MessageStatus, by_value=True, load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


@blp.route("", methods=["GET"])
@blp.arguments(OutboxArgs(), location="query")
@blp.response(200, MessageOut(many=True))
@blp.doc(security=[{"bearer": []}])
def list_outbox(args):
    """Newest first; for the centre's supervisors, dispatchers and admins."""
    if current_user().role not in (Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN):
        raise Forbidden(error="outbox.forbidden")
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(args["limit"])
    if args["status"]:
        stmt = stmt.where(OutboxMessage.status == args["status"])
    return list(db.session.scalars(stmt))
