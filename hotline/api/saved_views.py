"""Saved views (issue 21): `GET|POST /api/v1/views`, `DELETE /api/v1/views/{id}`; a view's
tickets are `GET /api/v1/tickets?view=<id>`."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from hotline import saved_views
from hotline.api import committed
from hotline.auth import current_user

blp = Blueprint("views", __name__, url_prefix="/api/v1/views",
                description="Each user's saved views of the ticket list (filters, words and sort)")
SECURITY = [{"bearer": []}]


class ViewIn(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    filters = fields.Dict(keys=fields.String(), load_default=dict, metadata={
        "description": "the list's arguments: state (a list), desk, unit, overdue, q, created_from, "
                       "created_to, sort; checked as the list checks them"})


class ViewOut(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    filters = fields.Dict()
    query = fields.String(metadata={"description": "the same as list arguments: GET /api/v1/tickets?<query>"})
    created_at = fields.DateTime()


@blp.route("", methods=["GET"])
@blp.response(200, ViewOut(many=True))
@blp.doc(security=SECURITY)
def list_views():
    """The caller's own views, by name."""
    return saved_views.list_views(current_user())


@blp.route("", methods=["POST"])
@blp.arguments(ViewIn)
@blp.response(201, ViewOut)
@blp.doc(security=SECURITY)
@committed
def save_view(body):
    """A new view, or new filters for the caller's view of that name."""
    return saved_views.save_view(current_user(), body["name"], body["filters"])


@blp.route("/<int(max=2147483647):view_id>", methods=["DELETE"])
@blp.response(204)
@blp.doc(security=SECURITY)
@committed
def delete_view(view_id):
    saved_views.delete_view(current_user(), view_id)
