"""Sign-in: `POST /api/v1/auth/token`, `/logout`, `/password` (docs/integration.md, Additions "Sign-in")."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from hotline import accounts, auth, signin
from hotline.api import committed
from hotline.passwords import MAX_LENGTH, MIN_LENGTH

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Bearer tokens")


class Credentials(ma.Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TokenOut(ma.Schema):
    token = fields.String()


class PasswordChange(ma.Schema):
    old = fields.String(required=True, validate=validate.Length(min=1, max=MAX_LENGTH))
    new = fields.String(required=True, validate=validate.Length(min=1, max=MAX_LENGTH), metadata={
        "description": f"At least {MIN_LENGTH} characters, not containing the username, not a "
                       "common password (422 otherwise)."})


@blp.route("/token", methods=["POST"])
@blp.arguments(Credentials())
@blp.response(200, TokenOut)
@blp.alt_response(401, description="Wrong credentials (the same answer, after the same time, "
                                    "for an unknown user)")
@blp.alt_response(429, description="Too many failed sign-ins for this account or from this "
                                   "address, at either door (API or console); see Retry-After")
@committed
def token(credentials):
    """Exchange a username and password for a bearer token."""
    user = signin.authenticate(credentials["username"], credentials["password"])
    return {"token": auth.start_session(user)}


@blp.route("/logout", methods=["POST"])
@blp.response(204)
@blp.alt_response(401, description="No valid token")
@blp.doc(security=[{"bearer": []}])
@committed
def logout():
    """End this bearer token at once."""
    auth.current_user()
    auth.end_session(auth.bearer_token())


@blp.route("/password", methods=["POST"])
@blp.arguments(PasswordChange())
@blp.response(204)
@blp.alt_response(401, description="No valid token")
@blp.alt_response(422, description="Wrong current password, or the new one breaks the policy")
@blp.doc(security=[{"bearer": []}])
@committed
def change_password(body):
    """Change one's own password; every session and token of the user ends (sign in again)."""
    accounts.change_password(auth.current_user(), body["old"], body["new"])
