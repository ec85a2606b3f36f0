"""An admin lists and ends a user's sessions and tokens: /api/v1/users/{username}/sessions."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields

from hotline import accounts
from hotline.api import committed
from hotline.auth import current_user

blp = Blueprint("sessions", __name__, url_prefix="/api/v1/users",
                description="A user's sessions and tokens (admin)")


class SessionOut(ma.Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "`api` (bearer token) or `console` (signed-in browser)"})
    address = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime()


@blp.route("/<string:username>/sessions", methods=["GET"])
@blp.response(200, SessionOut(many=True))
@blp.alt_response(403, description="Not an admin")
@blp.alt_response(404, description="No such user")
@blp.doc(security=[{"bearer": []}])
def list_sessions(username):
    """The user's live sessions and tokens, newest first."""
    return accounts.list_sessions(current_user(), username)


@blp.route("/<string:username>/sessions", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(403, description="Not an admin")
@blp.alt_response(404, description="No such user")
@blp.doc(security=[{"bearer": []}])
@committed
def end_all(username):
    """End every session and token of the user at once."""
    accounts.end_sessions(current_user(), username)


@blp.route("/<string:username>/sessions/<int:session_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(403, description="Not an admin")
@blp.alt_response(404, description="No such user or session")
@blp.doc(security=[{"bearer": []}])
@committed
def end_one(username, session_id):
    """End one session or token of the user."""
    accounts.end_sessions(current_user(), username, session_id)
