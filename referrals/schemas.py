"""Referral API schemas: the partner's minimal view, the centre's full view, bodies.

Depends on: the referral models, the ticket schemas' masking and fields, ticket visibility
(`can_see_caller`), risk summaries and users' roles.
"""

import marshmallow as ma
from flask import g
from marshmallow import fields, validate

from hotline import risk
from hotline.parsing import StrictBoolean
from hotline.permissions import can_see_caller
from hotline.tickets.schemas import TimerOut, mask_name, mask_phone, optional_text, required_text
from hotline.users import Role
from referrals.models import ALL_SERVICES, PartnerKind


class PartnerOut(ma.Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.Function(lambda p: p.kind.value)
    services = fields.List(fields.String())
    area = fields.List(fields.String())
    hours = fields.String()
    capacity_per_week = fields.Integer()


class PartnerIn(ma.Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,63}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.Enum(PartnerKind, by_value=True, required=True)
    services = fields.List(fields.String(validate=validate.OneOf(ALL_SERVICES)), required=True,
                           validate=validate.Length(min=1))
    area = fields.List(fields.String(validate=validate.Length(max=64)), load_default=list)
    hours = fields.String(load_default="", validate=validate.Length(max=200))
    capacity_per_week = fields.Integer(load_default=10, validate=validate.Range(0, 10_000))
    contact = fields.String(load_default="", validate=validate.Length(max=200))
    active = StrictBoolean(load_default=True)


class PartnerArgs(ma.Schema):
    kind = fields.Enum(PartnerKind, by_value=True, load_default=None)
    service = fields.String(load_default=None)


class ReferralOut(ma.Schema):
    """What a partner may see: the child's alias and age, the need, the agreed contact route,
    the referring note, and the phone only when consent covers contact. The centre and the
    ticket's units also see the consent record."""

    id = fields.Integer()
    ticket = fields.Method("dump_ticket")
    partner = fields.Function(lambda r: r.partner.code)
    service = fields.String()
    urgency = fields.Function(lambda r: r.urgency.value)
    state = fields.Function(lambda r: r.state.value)
    timers = fields.Method("dump_timers")
    child = fields.Method("dump_child")
    need = fields.String()
    contact_route = fields.Method("dump_contact_route", allow_none=True)
    note = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    follow_up = fields.Boolean(allow_none=True)
    decline_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    accepted_at = fields.DateTime(allow_none=True)
    first_contact_at = fields.DateTime(allow_none=True)
    consent = fields.Method("dump_consent")
    proposed_partner = fields.Method("dump_proposal")
    risk = fields.Method("dump_risk")

    def _full(self) -> bool:
        user = g.get("user")
        return user is not None and user.role != Role.PARTNER

    def _ticket(self, referral):
        # Through the relationship, which keeps the ticket (and its loaded clocks) alive for
        # the three fields that read it; a bare session.get() let it be collected in between,
        # and a list of referrals re-read each ticket three times.
        return referral.ticket

    def dump_ticket(self, referral) -> dict:
        ticket = self._ticket(referral)
        return {"id": ticket.id, "number": ticket.number}

    def dump_timers(self, referral) -> list:
        ticket = self._ticket(referral)
        return TimerOut(many=True).dump([t for t in ticket.timers if t.referral_id == referral.id])

    def dump_child(self, referral) -> dict:
        ticket = self._ticket(referral)
        child = {"alias": referral.child_alias, "age": referral.child_age}
        if not self._full():          # the partner: the phone only when consent covers contact
            child["phone"] = ticket.caller_phone if referral.consent_covers_contact else None
            return child
        # No more than the ticket itself shows this viewer (a co-unit sees the caller masked).
        if can_see_caller(g.user, ticket):
            child["phone"], child["name"] = ticket.caller_phone, ticket.caller_name
        else:
            child["phone"], child["name"] = mask_phone(ticket.caller_phone), mask_name(ticket.caller_name)
        return child

    def _sees_caller(self, referral) -> bool:
        """The guardian and the contact route are the child's data: shown to whoever sees the
        caller unmasked on the ticket, masked for the others (hotline.permissions)."""
        return can_see_caller(g.user, self._ticket(referral))

    def dump_contact_route(self, referral) -> str | None:
        route = referral.contact_route
        if not self._full():           # the partner: only when consent covers contact
            return route if referral.consent_covers_contact else None
        return route if self._sees_caller(referral) else mask_name(route)

    def dump_consent(self, referral) -> dict | None:
        if not self._full():
            return None
        by = referral.consent_by if self._sees_caller(referral) else mask_name(referral.consent_by)
        return {"by": by, "how": referral.consent_how,
                "at": referral.consent_at.isoformat() if referral.consent_at else None,
                "covers_contact": referral.consent_covers_contact,
                "override_reason": referral.override_reason}

    def dump_risk(self, referral) -> dict | None:
        """The child's latest risk assessment. A partner always sees the level (how urgent the
        need is); the answers (self-harm plan, abuse at home...) only when guardian consent was
        recorded or was not needed (14 or older) — not under an emergency override."""
        answers = self._full() or referral.override_reason is None
        return risk.summary(risk.latest(referral.ticket_id), answers=answers)

    def dump_proposal(self, referral) -> dict | None:
        if not self._full() or referral.proposed_partner is None:
            return None
        return {"code": referral.proposed_partner.code, "name": referral.proposed_partner.name}


class ReferralListArgs(ma.Schema):
    state = fields.String(load_default=None, validate=validate.OneOf(
        ["sent", "accepted", "declined", "in_service", "completed", "closed", "escalated", "revoked"]))


class ReferralEventOut(ma.Schema):
    seq = fields.Integer()
    at = fields.DateTime()
    action = fields.String()
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    data = fields.Dict()


class DeclineIn(ma.Schema):
    reason = required_text()


class FirstContactIn(ma.Schema):
    note = optional_text()


class OutcomeIn(ma.Schema):
    outcome = required_text()
    follow_up = StrictBoolean(required=True)


class AliasIn(ma.Schema):
    """How the partner addresses the child (儿童称呼), as the seat corrects it."""

    child_alias = fields.String(required=True, validate=validate.Length(min=1, max=50))


class ReportOut(ma.Schema):
    id = fields.Integer()
    ticket = fields.Integer(attribute="ticket_id")
    suspected = fields.String()
    what = fields.String()
    reported_to = fields.String()
    state = fields.Function(lambda r: r.state.value)
    due_at = fields.DateTime()
    reported_at = fields.DateTime(allow_none=True)
    receipt_number = fields.String(allow_none=True)
    receipt_at = fields.DateTime(allow_none=True)


class ReportArgs(ma.Schema):
    open = fields.Boolean(load_default=False)


class ReportIn(ma.Schema):
    to = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    note = optional_text()


class ReceiptIn(ma.Schema):
    receipt_number = fields.String(required=True, validate=validate.Length(min=1, max=100))


class PeriodArgs(ma.Schema):
    start = fields.Date(data_key="from", required=True)
    end = fields.Date(data_key="to", required=True)


class PartnerKpiOut(ma.Schema):
    partner = fields.String()
    name = fields.String()
    sent = fields.Integer()
    acceptance = fields.Float(allow_none=True)
    completion = fields.Float(allow_none=True)
    median_hours_to_accept = fields.Float(allow_none=True)
    median_hours_to_first_contact = fields.Float(allow_none=True)


__all__ = ["mask_phone"]
