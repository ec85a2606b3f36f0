"""GET /api/v1/audit/reads: who read, exported or revealed which child's data (docs/integration.md
Additions; supervisors and admins). The console's page is /console/audit."""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from hotline import audit
from hotline.api import route
from hotline.auth import current_user

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit",
                description="The read audit (访问审计): reads, exports and break-glass reveals")


class ReadAuditArgs(ma.Schema):
    ticket = fields.Integer(load_default=None, validate=validate.Range(1, 2147483647))
    user = fields.String(load_default=None, validate=validate.Length(max=80))
    kind = fields.String(load_default=None, validate=validate.OneOf(audit.AUDIT_KINDS))
    from_ = fields.Date(data_key="from", load_default=None,
                        metadata={"description": "first Shanghai day (included)"})
    to = fields.Date(load_default=None, metadata={"description": "last Shanghai day (included)"})
    limit = fields.Integer(load_default=200, validate=validate.Range(1, 1000))


class ReadAuditOut(ma.Schema):
    id = fields.Function(lambda pair: pair[0].id)
    at = fields.Function(lambda pair: pair[0].at.isoformat())
    user = fields.Function(lambda pair: pair[1].username)
    kind = fields.Function(lambda pair: pair[0].kind)
    subject = fields.Function(lambda pair: pair[0].subject)
    subject_id = fields.Function(lambda pair: pair[0].subject_id)
    view = fields.Function(lambda pair: pair[0].view)
    reason = fields.Function(lambda pair: pair[0].reason)
    detail = fields.Function(lambda pair: pair[0].detail)
    hash = fields.Function(lambda pair: pair[0].hash)


@route(blp, "/reads", query=ReadAuditArgs(), out=ReadAuditOut(many=True),
       refusals={403: "Supervisors and admins only"})
def read_audit(args):
    """The read audit, newest first (filters: ticket, user, kind, from, to)."""
    return audit.read_audits(current_user(), ticket=args["ticket"], username=args["user"],
                             kind=args["kind"], start=args["from_"], end=args["to"],
                             limit=args["limit"])
