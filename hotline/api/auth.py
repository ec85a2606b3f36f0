"""POST /api/v1/auth/token."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from hotline import auth
from hotline.api import committed

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Bearer tokens")


class Credentials(ma.Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TokenOut(ma.Schema):
    token = fields.String()


@blp.route("/token", methods=["POST"])
@blp.arguments(Credentials())
@blp.response(200, TokenOut)
@blp.alt_response(401, description="Wrong credentials")
@committed
def token(credentials):
    """Exchange a username and password for a bearer token."""
    return {"token": auth.issue_token(credentials["username"], credentials["password"])}
