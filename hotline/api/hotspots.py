"""Hotspots (热点诉求, issue 21): `GET /api/v1/hotspots?period=day|week` (the board: each hotspot
with its tickets, and the counts by district and category), `GET /api/v1/hotspots/{id}`, and
`POST /api/v1/hotspots/{id}/dispatch` `{unit, note}` (one matter to one unit)."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from hotline import hotspots
from hotline.api import route
from hotline.auth import current_user
from hotline.tickets.schemas import TicketOut

blp = Blueprint("hotspots", __name__, url_prefix="/api/v1/hotspots",
                description="Hotspots: many callers about one matter in one place (supervisors, dispatchers)")
HOTSPOT = "/<int(max=2147483647):hotspot_id>"


class BoardArgs(ma.Schema):
    period = fields.String(load_default="day", validate=validate.OneOf(list(hotspots.PERIODS)),
                           metadata={"description": "day (since today's start, Beijing time) or week "
                                                    "(the last 7 days)"})


# A hotspot's tickets in brief: the ticket's own schema, fewer fields.
HOTSPOT_TICKETS = TicketOut(only=("id", "number", "state", "subject", "content", "created_at"), many=True)


class HotspotOut(ma.Schema):
    id = fields.Integer()
    keyword = fields.String()
    place = fields.Function(lambda h: h.place.code)
    place_name = fields.Function(lambda h: h.place.name)
    district = fields.Function(hotspots.district_of)
    category = fields.String()
    state = fields.String()
    count = fields.Function(lambda h: len(h.links))
    first_at = fields.DateTime()
    last_at = fields.DateTime()
    primary_ticket = fields.Integer(attribute="primary_ticket_id", allow_none=True)
    dispatched_to = fields.Function(lambda h: h.dispatched_unit.code if h.dispatched_unit else None)
    dispatched_at = fields.DateTime(allow_none=True)
    tickets = fields.Function(lambda h: HOTSPOT_TICKETS.dump(h.tickets))


class CellOut(ma.Schema):
    district = fields.String()
    category = fields.String()
    hotspots = fields.Integer()
    tickets = fields.Integer()


class BoardOut(ma.Schema):
    since = fields.DateTime()
    items = fields.List(fields.Nested(HotspotOut))
    by_district_and_category = fields.List(fields.Nested(CellOut))


class HotspotDispatchIn(ma.Schema):
    unit = fields.String(required=True, validate=validate.Length(min=1, max=64),
                         metadata={"description": "the lead unit's code (a county or city department)"})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class DispatchedOut(ma.Schema):
    hotspot = fields.Nested(HotspotOut)
    primary = fields.Nested(TicketOut)
    merged = fields.List(fields.Nested(TicketOut))
    left = fields.List(fields.Nested(TicketOut), metadata={
        "description": "tickets of the hotspot already with a unit or closed: left as they are"})


@route(blp, "", query=BoardArgs, out=BoardOut)
def board(args):
    """The day's or the week's hotspots, newest first, and their tickets by district and category."""
    since = hotspots.board_since(args["period"])
    found = hotspots.board(current_user(), since)
    return {"since": since, "items": found, "by_district_and_category": hotspots.summary(found)}


@route(blp, HOTSPOT, out=HotspotOut)
def get_hotspot(hotspot_id):
    return hotspots.get(current_user(), hotspot_id)


@route(blp, f"{HOTSPOT}/dispatch", "POST", body=HotspotDispatchIn, out=DispatchedOut, commit=True,
       refusals={409: "No ticket of the hotspot waits for dispatch"})
def dispatch(body, hotspot_id):
    """The hotspot as one matter: its first ticket waiting for dispatch goes to `unit`, the
    others still at the centre are merged into it (their requests show on it)."""
    return hotspots.dispatch(current_user(), hotspot_id, body["unit"], body.get("note"))
