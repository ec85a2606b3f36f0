"""Saved views (issue 21): `GET|POST /api/v1/views`, `DELETE /api/v1/views/{id}`; a view's
tickets are `GET /api/v1/tickets?view=<id>`."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from hotline import saved_views
from hotline.api import route
from hotline.auth import current_user

blp = Blueprint("views", __name__, url_prefix="/api/v1/views",
                description="Each user's saved views of the ticket list (filters, words and sort)")


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


@route(blp, "", out=ViewOut(many=True))
def list_views():
    """The caller's own views, by name."""
    return saved_views.list_views(current_user())


@route(blp, "", "POST", body=ViewIn, out=ViewOut, status=201, commit=True)
def save_view(body):
    """A new view, or new filters for the caller's view of that name."""
    return saved_views.save_view(current_user(), body["name"], body["filters"])


@route(blp, "/<int(max=2147483647):view_id>", "DELETE", status=204, commit=True)
def delete_view(view_id):
    saved_views.delete_view(current_user(), view_id)
