"""The working-day calendar over the API: read by anyone signed in, edited by admins."""

from datetime import date

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from hotline.api import committed
from hotline.auth import current_user
from hotline.clocks import overrides
from hotline.errors import Forbidden
from hotline.parsing import StrictBoolean
from hotline.users import Role

blp = Blueprint("calendar", __name__, url_prefix="/api/v1/calendar",
                description="Working days: statutory calendar plus local overrides")
SECURITY = [{"bearer": []}]


class DayIn(ma.Schema):
    is_workday = StrictBoolean(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=200))


class YearIn(ma.Schema):
    note = fields.String(load_default="", validate=validate.Length(max=200))


class DayOut(ma.Schema):
    day = fields.Date()
    is_workday = fields.Boolean()
    note = fields.String()


class YearOut(ma.Schema):
    year = fields.Integer()
    source = fields.String(metadata={
        "description": "statutory, declared or provisional (computed from the law until declared)"})
    overrides = fields.List(fields.Nested(DayOut))
    recomputed = fields.Integer(metadata={"description": "on declaration: provisional clocks that moved"})


def _admin():
    user = current_user()
    if user.role != Role.ADMIN:
        raise Forbidden(error="calendar.forbidden")
    return user


def _year(year: int) -> dict:
    return {**overrides.year_status(year), "overrides": overrides.overrides_in(year)}


@blp.route("/<int(fixed_digits=4):year>", methods=["GET"])
@blp.response(200, YearOut)
@blp.doc(security=SECURITY)
def get_year(year):
    """Where a year's working days come from, with its overrides."""
    current_user()
    return _year(year)


@blp.route("/days/<isodate:day>", methods=["PUT"])
@blp.arguments(DayIn())
@blp.response(200, DayOut)
@blp.doc(security=SECURITY)
@committed
def put_day(body, day: date):
    """Make one day a working day or a rest day (admin)."""
    return overrides.set_day(day, body["is_workday"], body["note"], by=_admin().username)


@blp.route("/days/<isodate:day>", methods=["DELETE"])
@blp.response(204)
@blp.doc(security=SECURITY)
@committed
def delete_day(day: date):
    """Remove an override (admin)."""
    _admin()
    overrides.clear_day(day)


@blp.route("/years/<int(fixed_digits=4):year>", methods=["POST"])
@blp.arguments(YearIn())
@blp.response(200, YearOut)
@blp.doc(security=SECURITY)
@committed
def declare_year(body, year):
    """Declare a year's holidays entered as overrides (admin)."""
    moved = overrides.declare_year(year, body["note"], by=_admin().username)
    return {**_year(year), "recomputed": moved}
