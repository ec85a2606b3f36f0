"""The working-day calendar over the API: read by anyone signed in, edited by admins."""

from datetime import date

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from hotline import permissions
from hotline.api import route
from hotline.auth import current_user
from hotline.clocks import overrides
from hotline.errors import Forbidden
from hotline.parsing import StrictBoolean

blp = Blueprint("calendar", __name__, url_prefix="/api/v1/calendar",
                description="Working days: statutory calendar plus local overrides")


class DayIn(ma.Schema):
    is_workday = StrictBoolean(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=200))


class YearIn(ma.Schema):
    note = fields.String(load_default="", validate=validate.Length(max=200), metadata={
        "description": "The State Council notice, e.g. 国办发明电〔2026〕7号"})
    rest_days = fields.List(fields.Date(), validate=validate.Length(max=200), metadata={
        "description": "The notice's 放假 days. With work_days, they replace the year's overrides."})
    work_days = fields.List(fields.Date(), validate=validate.Length(max=60), metadata={
        "description": "The notice's 调休上班 days (weekends that are working days)."})


class DayOut(ma.Schema):
    day = fields.Date()
    is_workday = fields.Boolean()
    note = fields.String()


class YearOut(ma.Schema):
    year = fields.Integer()
    note = fields.String()
    declared_by = fields.String(allow_none=True)
    declared_at = fields.DateTime(allow_none=True)
    source = fields.String(metadata={
        "description": "statutory, declared or provisional (computed from the law until declared)"})
    overrides = fields.List(fields.Nested(DayOut))
    recomputed = fields.Integer(metadata={"description": "on declaration: provisional clocks that moved"})


def _admin():
    user = current_user()
    if not permissions.is_admin(user):
        raise Forbidden(error="calendar.forbidden")
    return user


def _year(year: int) -> dict:
    return {**overrides.year_status(year), "overrides": overrides.overrides_in(year)}


@route(blp, "/<int(fixed_digits=4):year>", out=YearOut)
def get_year(year):
    """Where a year's working days come from, with its overrides."""
    current_user()
    return _year(year)


@route(blp, "/days/<isodate:day>", "PUT", body=DayIn(), out=DayOut, commit=True)
def put_day(body, day: date):
    """Make one day a working day or a rest day (admin)."""
    return overrides.set_day(day, body["is_workday"], body["note"], actor=_admin())


@route(blp, "/days/<isodate:day>", "DELETE", status=204, commit=True)
def delete_day(day: date):
    """Remove an override (admin)."""
    overrides.clear_day(day, actor=_admin())


@route(blp, "/years/<int(fixed_digits=4):year>", "POST", body=YearIn(), out=YearOut, commit=True)
def declare_year(body, year):
    """Declare a year (admin): with `rest_days`/`work_days` the notice's days become the year's
    overrides; clocks computed provisionally on the year are recomputed."""
    moved = overrides.declare_year(year, body["note"], _admin(), rest_days=body.get("rest_days"),
                                   work_days=body.get("work_days"))
    return {**_year(year), "recomputed": moved}
