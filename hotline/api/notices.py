"""GET /api/v1/notices and POST /api/v1/notices/{id}/read: a unit's or a role's inbox."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields

from hotline import notices
from hotline.api import route
from hotline.auth import current_user

blp = Blueprint("notices", __name__, url_prefix="/api/v1/notices",
                description="Notices to units and centre roles (督办, overdue)")


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


@route(blp, "", query=NoticeArgs(), out=NoticeOut(many=True))
def list_notices(args):
    """Newest first; a handler sees its unit's, centre staff their role's."""
    return notices.notices_for(current_user(), unread_only=args["unread"])


@route(blp, "/<int(max=2147483647):notice_id>/read", "POST", out=NoticeOut, commit=True)
def read_notice(notice_id):
    """Mark one notice read."""
    return notices.mark_read(current_user(), notice_id)
