"""Sign-in: `POST /api/v1/auth/token`, `/logout`, `/password` (docs/integration.md, Additions "Sign-in")."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from hotline import accounts, auth, signin
from hotline.api import route
from hotline.passwords import MAX_LENGTH, MIN_LENGTH

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Bearer tokens")
NO_TOKEN = "No valid token"


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


@route(blp, "/token", "POST", body=Credentials(), out=TokenOut, public=True, commit=True, refusals={
    401: "Wrong credentials (the same answer, after the same time, for an unknown user)",
    429: "Too many failed sign-ins for this account or from this address, at either door (API or "
         "console); see Retry-After"})
def token(credentials):
    """Exchange a username and password for a bearer token."""
    user = signin.authenticate(credentials["username"], credentials["password"])
    return {"token": auth.start_session(user)}


@route(blp, "/logout", "POST", status=204, commit=True, refusals={401: NO_TOKEN})
def logout():
    """End this bearer token at once."""
    auth.current_user()
    auth.end_session(auth.bearer_token())


@route(blp, "/password", "POST", body=PasswordChange(), status=204, commit=True,
       refusals={401: NO_TOKEN, 422: "Wrong current password, or the new one breaks the policy"})
def change_password(body):
    """Change one's own password; every session and token of the user ends (sign in again)."""
    accounts.change_password(auth.current_user(), body["old"], body["new"])
