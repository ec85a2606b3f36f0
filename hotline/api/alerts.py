"""GET /api/v1/alerts and POST /api/v1/alerts/{id}/acknowledge: the caller's crisis alerts.

The same alerts the console raises as a banner (see `hotline.alerts`), for a wallboard or a
desk application: those the caller (a dispatcher or supervisor) has not acknowledged.
"""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields

from hotline import alerts
from hotline.api import route
from hotline.auth import current_user

blp = Blueprint("alerts", __name__, url_prefix="/api/v1/alerts",
                description="Crisis alerts to dispatchers and supervisors, acknowledged per user")


class AlertOut(ma.Schema):
    id = fields.Integer()
    ticket = fields.Integer(attribute="ticket_id", allow_none=True)
    number = fields.String(allow_none=True)
    message = fields.String()
    created_at = fields.DateTime()
    kind = fields.String(metadata={"description": "crisis, or hotspot (热点诉求, supervisors)"})


class AcknowledgementOut(ma.Schema):
    alert = fields.Integer(attribute="notice_id")
    ticket = fields.Integer(attribute="ticket_id", allow_none=True)
    acknowledged_at = fields.DateTime()


@route(blp, "", out=AlertOut(many=True))
def list_alerts():
    """Newest first: the crisis alerts of the last shift, on open tickets, not yet acknowledged."""
    return alerts.pending(current_user())


@route(blp, "/<int(max=2147483647):alert_id>/acknowledge", "POST", out=AcknowledgementOut,
       commit=True)
def acknowledge(alert_id):
    """Record that the caller saw it (once; again returns the first acknowledgement)."""
    return alerts.acknowledge(current_user(), alert_id)
