"""GET /api/v1/units: the organisation tree."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields
from sqlalchemy import select

from hotline.api import route
from hotline.auth import current_user
from hotline.extensions import db
from hotline.units import Unit

blp = Blueprint("units", __name__, url_prefix="/api/v1/units", description="Units")


class UnitOut(ma.Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.Function(lambda u: u.kind.value)
    parent = fields.Function(lambda u: u.parent.code if u.parent else None)


@route(blp, "", out=UnitOut(many=True))
def list_units():
    """Every unit, parents before children."""
    current_user()
    return db.session.scalars(select(Unit).order_by(Unit.path)).all()
