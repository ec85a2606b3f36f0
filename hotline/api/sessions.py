"""An admin lists and ends a user's sessions and tokens: /api/v1/users/{username}/sessions."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields

from hotline import accounts
from hotline.api import route
from hotline.auth import current_user

blp = Blueprint("sessions", __name__, url_prefix="/api/v1/users",
                description="A user's sessions and tokens (admin)")

SESSIONS = "/<string:username>/sessions"
NOT_ADMIN = {403: "Not an admin", 404: "No such user"}


class SessionOut(ma.Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "`api` (bearer token) or `console` (signed-in browser)"})
    address = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime()


@route(blp, SESSIONS, out=SessionOut(many=True), refusals=NOT_ADMIN)
def list_sessions(username):
    """The user's live sessions and tokens, newest first."""
    return accounts.list_sessions(current_user(), username)


@route(blp, SESSIONS, "DELETE", status=204, refusals=NOT_ADMIN, commit=True)
def end_all(username):
    """End every session and token of the user at once."""
    accounts.end_sessions(current_user(), username)


@route(blp, f"{SESSIONS}/<int:session_id>", "DELETE", status=204, commit=True,
       refusals={**NOT_ADMIN, 404: "No such user or session"})
def end_one(username, session_id):
    """End one session or token of the user."""
    accounts.end_sessions(current_user(), username, session_id)
