"""GET /api/v1/calls: inbound calls for the seats' screen, with the caller's open tickets.

Also registers the Twilio webhooks (/twilio/*, hotline/channels/webhooks.py) on the app.
"""

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint
from marshmallow import fields, validate
from webargs.fields import DelimitedList

from hotline.api import route
from hotline.auth import current_user
from hotline.channels import calls, webhooks
from hotline.channels.models import CallState
from hotline.extensions import api
from hotline.tickets.models import Desk
from hotline.tickets.schemas import TicketOut, mask_phone

blp = Blueprint("calls", __name__, url_prefix="/api/v1/calls",
                description="Inbound calls (来电): queues per desk and the caller's open tickets")


class CallListArgs(ma.Schema):
    state = DelimitedList(fields.Enum(CallState, by_value=True),
                          metadata={"description": "ringing, queued, in-progress, completed "
                                                   "(comma-separated; default: all but completed)"})
    desk = fields.Enum(Desk, by_value=True, load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


# The caller's tickets in brief: the ticket's own schema, fewer fields.
OPEN_TICKETS = TicketOut(only=("id", "number", "state", "desk", "created_at"), many=True)
LINKED_TICKET = TicketOut(only=("id", "number"))


class CallOut(ma.Schema):
    sid = fields.Function(lambda v: v.call.call_sid)
    from_ = fields.Function(lambda v: v.call.from_number if v.full_number else mask_phone(v.call.from_number),
                            data_key="from")
    from_masked = fields.Function(lambda v: not v.full_number)
    to = fields.Function(lambda v: v.call.to_number)
    state = fields.Function(lambda v: v.call.state.value)
    twilio_status = fields.Function(lambda v: v.call.twilio_status)
    desk = fields.Function(lambda v: v.call.desk.value if v.call.desk else None)
    ticket = fields.Function(lambda v: LINKED_TICKET.dump(v.call.ticket) if v.call.ticket else None)
    open_tickets = fields.Function(lambda v: OPEN_TICKETS.dump(v.open_tickets))
    created_at = fields.Function(lambda v: _iso(v.call.created_at))
    queued_at = fields.Function(lambda v: _iso(v.call.queued_at))
    answered_at = fields.Function(lambda v: _iso(v.call.answered_at))
    ended_at = fields.Function(lambda v: _iso(v.call.ended_at))


def _iso(value):
    return value.isoformat() if value else None


@route(blp, "", query=CallListArgs(), out=CallOut(many=True), commit=True)
def list_calls(args):
    """Calls by state, newest first (seats: the menu and their desks; supervisors: all)."""
    return calls.list_calls(current_user(), args.get("state"), args["desk"], args["limit"])


@route(blp, "/<string:call_sid>", out=CallOut, commit=True)
def get_call(call_sid):
    """One call, with the ticket opened from it and the caller's open tickets."""
    return calls.get_call(current_user(), call_sid)


def register() -> None:
    """The calls API on the flask-smorest Api, the Twilio webhooks on the app."""
    api.register_blueprint(blp)
    webhooks.init_app(current_app, api.spec)
