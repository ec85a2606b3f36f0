"""Risk assessment of a child's ticket: `POST` one (the `assess_risk` action), `GET` them all."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields

from hotline.api import route
from hotline.auth import current_user
from hotline.risk import ticket_assessments
from hotline.tickets import service
from hotline.tickets.schemas import AssessRiskIn, TicketWriteOut

blp = Blueprint("risk", __name__, url_prefix="/api/v1/tickets",
                description="Risk assessment (风险评估) of children's tickets")
TICKET_RISK = "/<int(max=2147483647):ticket_id>/risk"


class RiskAssessmentOut(ma.Schema):
    id = fields.Integer()
    level = fields.Function(lambda a: a.level.value)
    answers = fields.Function(lambda a: a.answers())
    note = fields.String(allow_none=True)
    assessed_by = fields.Function(lambda a: a.assessed_by.username if a.assessed_by else None)
    assessed_at = fields.DateTime()


@route(blp, TICKET_RISK, "POST", body=AssessRiskIn(), out=TicketWriteOut, commit=True,
       refusals={409: "Not a children's-desk ticket nor a minor caller (ticket.not_child_case)"})
def assess(body, ticket_id):
    """风险评估: answers yes/no/unknown; high risk puts the ticket on the crisis path."""
    return service.perform(current_user(), ticket_id, "assess_risk", body)


@route(blp, TICKET_RISK, out=RiskAssessmentOut(many=True), commit=True)
def assessments(ticket_id):
    """Every assessment of the ticket, newest first, with who answered and when."""
    return ticket_assessments(current_user(), ticket_id)
