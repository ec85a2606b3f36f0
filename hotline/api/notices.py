"""GET /api/v1/notices and POST /api/v1/notices/{id}/read: a unit's or a role's inbox."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields

from hotline import notices
from hotline.api import committed
from hotline.auth import current_user

blp = Blueprint("notices", __name__, url_prefix="/api/v1/notices",
                description="Notices to units and centre roles (督办, overdue)")
SECURITY = [{"bearer": []}]


class NoticeArgs(ma.Schema):
    unread = fields.Boolean(load_default=False)


class NoticeOut(ma.Schema):
    id = fields.Integer()
    unit = fields.Function(lambda n: n.unit.code if n.unit else None)
    role = fields.String(allow_none=True)
    ticket = fields.Integer(attribute="ticket_id", allow_none=True)
    kind = fields.String()
    message = fields.String()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


@blp.route("", methods=["GET"])
@blp.arguments(NoticeArgs(), location="query")
@blp.response(200, NoticeOut(many=True))
@blp.doc(security=SECURITY)
def list_notices(args):
    """Newest first; a handler sees its unit's, centre staff their role's."""
    return notices.notices_for(current_user(), unread_only=args["unread"])


@blp.route("/<int(max=2147483647):notice_id>/read", methods=["POST"])
@blp.response(200, NoticeOut)
@blp.doc(security=SECURITY)
@committed
def read_notice(notice_id):
    """Mark one notice read."""
    return notices.mark_read(current_user(), notice_id)
