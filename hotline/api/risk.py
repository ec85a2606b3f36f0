"""Risk assessment of a child's ticket: `POST` one (the `assess_risk` action), `GET` them all."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields

from hotline.api import committed
from hotline.auth import current_user
from hotline.risk import ticket_assessments
from hotline.tickets import service
from hotline.tickets.schemas import AssessRiskIn, TicketWriteOut

blp = Blueprint("risk", __name__, url_prefix="/api/v1/tickets",
                description="Risk assessment (风险评估) of children's tickets")
SECURITY = [{"bearer": []}]


class RiskAssessmentOut(ma.Schema):
    id = fields.Integer()
    level = fields.Function(lambda a: a.level.value)
    answers = fields.Function(lambda a: a.answers())
    note = fields.String(allow_none=True)
    assessed_by = fields.Function(lambda a: a.assessed_by.username if a.assessed_by else None)
    assessed_at = fields.DateTime()


@blp.route("/<int(max=2147483647):ticket_id>/risk", methods=["POST"])
@blp.arguments(AssessRiskIn())
@blp.response(200, TicketWriteOut)
@blp.alt_response(409, description="Not a children's-desk ticket nor a minor caller (ticket.not_child_case)")
@blp.doc(security=SECURITY)
@committed
def assess(body, ticket_id):
    """风险评估: answers yes/no/unknown; high risk puts the ticket on the crisis path."""
    return service.perform(current_user(), ticket_id, "assess_risk", body)


@blp.route("/<int(max=2147483647):ticket_id>/risk", methods=["GET"])
@blp.response(200, RiskAssessmentOut(many=True))
@blp.doc(security=SECURITY)
@committed
def assessments(ticket_id):
    """Every assessment of the ticket, newest first, with who answered and when."""
    return ticket_assessments(current_user(), ticket_id)
