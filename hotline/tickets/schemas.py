"""Marshmallow schemas of the ticket API: bodies in, tickets and events out.

Depends on: the ticket models, visibility and event log, contact safety, risk, routing, the
outbox (a ticket's messages) and `hotline.signals` (the partners a crisis ticket is offered
come from whoever answers `signals.crisis_partners`: referrals).
"""

import functools
import re
from datetime import UTC, date, datetime

import marshmallow as ma
from flask import g
from marshmallow import fields, validate, validates_schema
from sqlalchemy import select
from webargs.fields import DelimitedList

from hotline import contact_safety, phones, risk, routing, signals
from hotline.clocks.models import TimerState
from hotline.errors import Problem
from hotline.extensions import db
from hotline.outbox import messages_for_ticket
from hotline.parsing import StrictBoolean
from hotline.permissions import can_see_caller
from hotline.tickets import ordering
from hotline.tickets.events import timeline_entries
from hotline.tickets.models import Category, Channel, Desk, Priority, Ticket, TicketState
from hotline.types import utcnow

TEXT_MAX = 10_000  # hard ceiling; CONTENT_MAX_LENGTH in config may be lower


class PhoneNumber(fields.String):
    """A phone number however it was typed ("139 1234 5678", "0516-88880000", "+86 139..."),
    stored and shown in E.164 (docs/integration.md, the Additions); 422 when it is none."""

    default_error_messages = {"phone": Problem("field.phone", text="not a phone number")}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text.strip():
            return None
        e164 = phones.to_e164(text)
        if e164 is None:
            raise self.make_error("phone")
        return e164

Text = fields.String


def required_text(**kwargs):
    return fields.String(required=True, validate=validate.Length(min=1, max=TEXT_MAX), **kwargs)


def optional_text(**kwargs):
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(max=TEXT_MAX),
                         **kwargs)


class CallerIn(ma.Schema):
    phone = PhoneNumber(load_default=None, allow_none=True)     # blank: none given
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    is_minor = StrictBoolean(load_default=False)
    age = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(0, 130))


class LocationIn(ma.Schema):
    unit = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ContactIn(ma.Schema):
    """Contact safety (docs/integration.md Additions): may the caller be texted automatically, and when."""

    safe_to_text = fields.Boolean(load_default=None, allow_none=True,
                                  metadata={"description": "null: the defaults (children's desk, "
                                                           "crisis and suspected abuse are not)"})
    safe_times = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                               metadata={"description": "e.g. 工作日 16:00-18:00"})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000),
                         metadata={"description": "e.g. 母亲的手机，父亲不能知道"})


class ContactPatchIn(ma.Schema):
    """PATCH of contact safety: only the keys sent change."""

    safe_to_text = fields.Boolean(allow_none=True)
    safe_times = fields.String(allow_none=True, validate=validate.Length(max=200))
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ma.ValidationError(
                Problem("contact.nothing_to_change", text="send safe_to_text, safe_times or note"), "_schema")


class CancelMessageIn(ma.Schema):
    reason = optional_text()


class TicketIn(ma.Schema):
    desk = fields.Enum(Desk, by_value=True, required=True)
    channel = fields.Enum(Channel, by_value=True, required=True)
    category = fields.Enum(Category, by_value=True, required=True)
    priority = fields.Enum(Priority, by_value=True, load_default=Priority.NORMAL)
    content = required_text()
    subject = fields.String(load_default="", validate=validate.Length(max=200))
    caller = fields.Nested(CallerIn, load_default=dict)
    location = fields.Nested(LocationIn, load_default=dict)
    contact = fields.Nested(ContactIn, load_default=None, allow_none=True)
    call_sid = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64),
                             metadata={"description": "Twilio CallSid of the call this ticket came from"})


# The days a list's date range may name (a year 598 or 9999 is a typing slip, not a range).
EARLIEST, LATEST = date(2000, 1, 1), date(2199, 12, 31)


class TicketListArgs(ma.Schema):
    state = DelimitedList(fields.Enum(TicketState, by_value=True))
    desk = fields.Enum(Desk, by_value=True, load_default=None)
    unit = fields.String(load_default=None)
    overdue = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    sort = fields.String(load_default=None,
                         validate=validate.OneOf([s.value for s in ordering.Sort], error=ordering.SORT_ERROR),
                         metadata={"description": "priority (crisis first, then nearest due; default), "
                                                  "due (nearest due first) or newest; with `q` and no "
                                                  "sort: the best matches first"})
    q = fields.String(load_default=None, validate=validate.Length(max=100), metadata={
        "description": "a ticket number, 4+ digits of the caller's phone, the caller's name, or words "
                       "of the subject, content, address, notes, answer and reply (Chinese is cut into "
                       "words); phone and name only where the viewer sees the caller unmasked"})
    created_from = fields.Date(load_default=None, validate=validate.Range(min=EARLIEST, max=LATEST),
                               metadata={"description": "opened on or after this day (Beijing time)"})
    created_to = fields.Date(load_default=None, validate=validate.Range(min=EARLIEST, max=LATEST),
                             metadata={"description": "opened on or before this day"})
    view = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2_147_483_647), metadata={
        "description": "one of the caller's saved views (GET /api/v1/views): its filters and sort "
                       "replace the others given; paging stays"})


class TicketExportArgs(TicketListArgs):
    """The list's filters (no paging: the whole list) and the file format."""

    class Meta:
        exclude = ("page", "per_page")

    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "xlsx"]))


# --- action bodies -----------------------------------------------------------

class Empty(ma.Schema):
    pass


class NoteIn(ma.Schema):
    note = optional_text()


class RequiredNoteIn(ma.Schema):
    note = required_text()


class AnswerIn(ma.Schema):
    answer = required_text()
    article = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1), metadata={
        "description": "the published knowledge article the answer was read from (the event keeps "
                       "its id and version)"})


class TransferIn(ma.Schema):
    to = fields.String(required=True, validate=validate.OneOf(["110", "119", "120", "122"]))
    note = optional_text()


class ReasonIn(ma.Schema):
    reason = required_text()


class TicketRef(fields.Field):
    """A ticket by its id (an integer) or its number (12345-20261123-000042), as seats say it."""

    NUMBER = re.compile(r"^\d{5}-\d{8}-\d{6}$")
    default_error_messages = {"invalid": "a ticket id or number (12345-20261123-000042)"}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 2_147_483_647:
            return value
        if isinstance(value, str):
            value = value.strip()
            if value.isdigit() and 1 <= int(value) <= 2_147_483_647:
                return int(value)
            if self.NUMBER.match(value):
                return value
        raise self.make_error("invalid")


class MergeIn(ma.Schema):
    into = TicketRef(required=True, metadata={
        "description": "the ticket to merge into: its id, or its number (12345-20261123-000042)",
        "oneOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]})


class DispatchIn(ma.Schema):
    unit = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "Lead unit code; an unknown code is refused with 422 naming `unit`."})
    co_units = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                           load_default=list, validate=validate.Length(max=20), metadata={
                               "description": "Co-unit codes; unknown, duplicate or the lead unit "
                                              "itself: 422 naming `co_units`."})
    note = optional_text()


class ForwardIn(ma.Schema):
    unit = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "A unit strictly below the lead unit (its subtree) that is not already a "
                       "co-unit; an unknown unit, or one outside the subtree, is refused with 422."})
    note = optional_text()


class ConsultIn(ma.Schema):
    """会商记录: what was agreed, and which units took part."""

    note = required_text()
    units = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                        load_default=list, validate=validate.Length(max=20))


class ConsentIn(ma.Schema):
    """Guardian consent for a child under 14, or the emergency override."""

    by = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100),
                       metadata={"description": "who consented, e.g. 母亲 王某"})
    how = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=50),
                        metadata={"description": "phone, in_person, sms..."})
    at = fields.AwareDateTime(load_default=None, allow_none=True)
    covers_contact = StrictBoolean(load_default=False,
                                    metadata={"description": "the partner may see the phone number"})
    override_reason = fields.String(load_default=None, allow_none=True,
                                    validate=validate.Length(max=2000))


class ReferIn(ma.Schema):
    partner = fields.String(required=True, validate=validate.Length(min=1, max=64))
    service = fields.String(required=True, validate=validate.Length(min=1, max=40))
    urgency = fields.String(load_default="normal", validate=validate.OneOf(["normal", "crisis"]))
    consent = fields.Nested(ConsentIn, load_default=dict)
    need = optional_text()
    child_alias = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=50))
    contact_route = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    note = optional_text()


class AppendIn(ma.Schema):
    """A repeat caller's new request, added to this open ticket instead of opening another."""

    content = required_text()
    channel = fields.Enum(Channel, by_value=True, load_default=Channel.VOICE)


class FlagCrisisIn(ma.Schema):
    reason = required_text()


ANSWER = {"load_default": "unknown", "validate": validate.OneOf(["yes", "no", "unknown"])}


class AssessRiskIn(ma.Schema):
    """风险评估: each question yes / no / unknown (hotline.risk documents the level rule)."""

    immediate_danger = fields.String(**ANSWER)
    self_harm_thoughts = fields.String(**ANSWER)
    self_harm_plan = fields.String(**ANSWER)
    self_harm_means = fields.String(**ANSWER)
    violence_or_abuse = fields.String(**ANSWER)
    safe_adult = fields.String(**ANSWER)
    location_known = fields.String(**ANSWER)
    note = optional_text()


class EmergencyCallIn(ma.Schema):
    """The seat put the child through to 110 (police) or 120 (ambulance)."""

    to = fields.String(required=True, validate=validate.OneOf(["110", "120"]))
    note = optional_text()


class MandatoryReportIn(ma.Schema):
    suspected = fields.String(required=True, validate=validate.OneOf(
        ["abuse", "sexual_abuse", "neglect", "violence", "trafficking", "other"]))
    what = required_text()


class OpinionIn(ma.Schema):
    opinion = required_text()


class ExtensionIn(ma.Schema):
    days = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=60))
    reason = required_text()


class ReplyIn(ma.Schema):
    result = required_text()
    resolved = StrictBoolean(required=True)


# The survey's answers (1 满意, 2 基本满意, 3 不满意) that count as satisfied.
SATISFIED_RATINGS = (1, 2)


class CallbackIn(ma.Schema):
    """With `reached: true`, `resolved` is required, and how satisfied the caller is: `rating`
    or `satisfied`. Satisfaction is one question (issue 22): `satisfied` follows from the rating
    (1 and 2 are satisfied, 3 is not) when it is not sent, and a `satisfied` that contradicts
    the rating is refused with 422 naming both, so that no record says "rated 满意, not
    satisfied"."""

    reached = StrictBoolean(required=True)
    resolved = StrictBoolean(load_default=None, allow_none=True,
                             metadata={"description": "Required (not null) when `reached` is true."})
    rating = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 3),
                            metadata={"description": "1 满意, 2 基本满意, 3 不满意; gives `satisfied` "
                                                     "(1, 2: true; 3: false)", "widget": "rating"})
    satisfied = StrictBoolean(load_default=None, allow_none=True, metadata={
        "description": "Required when `reached` is true and no `rating` is given; must agree with "
                       "`rating` when both are.", "derived_from": "rating"})
    note = optional_text()

    @validates_schema
    def _outcome_when_reached(self, data, **kwargs):
        if not data.get("reached"):
            return
        errors = {}
        if data.get("resolved") is None:
            errors["resolved"] = [Problem("field.required_when_reached",
                                          text="required when the caller was reached")]
        rating, satisfied = data.get("rating"), data.get("satisfied")
        if rating is None and satisfied is None:
            errors["satisfied"] = errors["rating"] = [
                "接通回访时必填：满意度评价 (required when the caller was reached: rating or satisfied)"]
        elif rating is not None and satisfied is not None and satisfied != (rating in SATISFIED_RATINGS):
            errors["satisfied"] = errors["rating"] = [
                "满意度评价与“是否满意”矛盾：评价 1、2 为满意，3 为不满意 "
                "(contradicts the rating: 1 and 2 are satisfied, 3 is not)"]
        if errors:
            raise ma.ValidationError(errors)

    @ma.post_load
    def _satisfied_from_rating(self, data, **kwargs):
        if data.get("reached") and data.get("satisfied") is None and data.get("rating") is not None:
            data["satisfied"] = data["rating"] in SATISFIED_RATINGS
        return data


# --- output --------------------------------------------------------------------

def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    return phone[:3] + "*" * max(len(phone) - 7, 1) + phone[-4:] if len(phone) > 7 else "****"


def mask_name(name: str | None) -> str | None:
    return name[0] + "*" * (len(name) - 1) if name else name


def effective_timer_state(timer, now: datetime) -> TimerState:
    """The stored state, or what firing will make of it once due (shown without waiting)."""
    if timer.state in (TimerState.RUNNING, TimerState.WARNED):
        if now >= timer.due_at:
            return TimerState.OVERDUE
        if now >= timer.warn_at:
            return TimerState.WARNED
    return timer.state


class TimerOut(ma.Schema):
    kind = fields.Function(lambda t: t.kind.value)
    state = fields.Function(lambda t: effective_timer_state(t, utcnow()).value)
    started_at = fields.DateTime()
    warn_at = fields.DateTime()
    due_at = fields.DateTime()
    original_due_at = fields.DateTime()
    stopped_at = fields.DateTime(allow_none=True)
    provisional = fields.Boolean(metadata={
        "description": "the due was computed on a year whose holidays are not declared yet"})


class CoUnitOut(ma.Schema):
    unit = fields.Function(lambda link: link.unit.code)
    name = fields.Function(lambda link: link.unit.name)
    acknowledged_at = fields.DateTime(allow_none=True)
    opinion = fields.String(allow_none=True)
    opinion_at = fields.DateTime(allow_none=True)


class TicketOut(ma.Schema):
    """A ticket as the viewer may see it (`caller` masked otherwise); pass `viewer` in."""

    id = fields.Integer()
    number = fields.String()
    state = fields.Function(lambda t: t.state.value)
    desk = fields.Function(lambda t: t.desk.value)
    channel = fields.Function(lambda t: t.channel.value)
    category = fields.Function(lambda t: t.category.value)
    priority = fields.Function(lambda t: t.priority.value)
    subject = fields.String()
    content = fields.String()
    caller = fields.Method("dump_caller")
    location = fields.Method("dump_location")
    lead_unit = fields.Function(lambda t: t.lead_unit.code if t.lead_unit else None)
    co_units = fields.Function(lambda t: [u.code for u in t.co_units])
    co_unit_status = fields.List(fields.Nested(CoUnitOut), attribute="co_unit_links")
    resolution = fields.Function(lambda t: t.resolution.value if t.resolution else None)
    resolution_note = fields.String(allow_none=True)
    transfer_to = fields.String(allow_none=True)
    merged_into = fields.Integer(attribute="merged_into_id", allow_none=True)
    reply = fields.Method("dump_reply")
    callback = fields.Method("dump_callback")
    rework_count = fields.Integer()
    return_count = fields.Integer()
    pending_extension = fields.Method("dump_extension")
    extended_days = fields.Integer()
    dispatch_note = fields.String(allow_none=True)
    supervise_count = fields.Integer()
    timers = fields.Method("dump_timers")
    referrals = fields.Method("dump_referrals")
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    dispatched_at = fields.DateTime(allow_none=True)
    replied_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    version = fields.Integer()

    def __init__(self, *args, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.viewer = viewer

    def dump_caller(self, ticket: Ticket) -> dict:
        viewer = self.viewer or g.get("user")
        full = viewer is not None and can_see_caller(viewer, ticket)
        phone, name = ticket.caller_phone, ticket.caller_name
        return {
            "phone": phone if full else mask_phone(phone),
            "name": name if full else mask_name(name),
            "is_minor": ticket.caller_is_minor,
            "age": ticket.caller_age,
            "masked": not full,
        }

    def dump_location(self, ticket: Ticket) -> dict:
        return {"unit": ticket.location_unit.code if ticket.location_unit else None,
                "address": ticket.address}

    def dump_reply(self, ticket: Ticket) -> dict | None:
        if ticket.reply_result is None:
            return None
        return {"result": ticket.reply_result, "resolved": ticket.reply_resolved,
                "at": ticket.replied_at.astimezone(UTC).isoformat() if ticket.replied_at else None}

    def dump_callback(self, ticket: Ticket) -> dict:
        return {"attempts": ticket.callback_attempts, "reached": ticket.callback_reached,
                "rating": ticket.callback_rating,
                "resolved": ticket.callback_resolved, "satisfied": ticket.callback_satisfied}

    def dump_extension(self, ticket: Ticket) -> dict | None:
        if not ticket.pending_extension_days:
            return None
        return {"days": ticket.pending_extension_days, "reason": ticket.pending_extension_reason}

    def dump_timers(self, ticket: Ticket) -> list:
        """The ticket's own clocks; a referral's clocks show on the referral."""
        return _many(TimerOut).dump([t for t in ticket.timers if t.referral_id is None])

    def dump_referrals(self, ticket: Ticket) -> list:
        return [{"id": r.id, "partner": r.partner.code, "service": r.service,
                 "urgency": r.urgency.value, "state": r.state.value}
                for r in ticket.referrals]


class TimelineEntryOut(ma.Schema):
    at = fields.DateTime()
    actor = fields.Function(lambda e: e.actor.username if e.actor else None)
    unit = fields.Function(lambda e: e.unit.code if e.unit else None)
    note = fields.Function(lambda e: e.data.get("note"))
    units = fields.Function(lambda e: e.data.get("units") or e.data.get("notified") or [])


class TicketWriteOut(TicketOut):
    """What an intake or an action returns: the ticket and what to do next (the crisis offer,
    the routing suggestion). The histories (督办, 会商, messages) cost reads of their own and
    are not changed by most writes; `GET /tickets/{id}` adds them (`TicketDetailOut`)."""

    crisis = fields.Method("dump_crisis")
    routing_suggestion = fields.Method("dump_routing")
    risk = fields.Method("dump_risk")
    contact = fields.Method("dump_contact")

    def dump_contact(self, ticket: Ticket) -> dict:
        return contact_safety.describe(ticket)

    def dump_crisis(self, ticket: Ticket) -> dict | None:
        """On the crisis path: what the seat is offered (110 and crisis-intervention partners)."""
        if ticket.priority != Priority.CRISIS:
            return None
        partners = [partner for _receiver, offered in signals.crisis_partners.send(ticket)
                    for partner in offered]
        return {"transfer_to": "110",
                "partners": [{"code": p.code, "name": p.name} for p in partners[:3]]}

    def dump_risk(self, ticket: Ticket) -> dict | None:
        """The latest risk assessment of a child's case (hotline.risk), None otherwise."""
        if ticket.desk != Desk.CHILDREN and not ticket.caller_is_minor:
            return None
        return risk.summary(risk.latest(ticket.id))

    def dump_routing(self, ticket: Ticket) -> dict | None:
        if ticket.state != TicketState.PENDING_DISPATCH:
            return None
        suggestion = routing.suggest(ticket)
        return RoutingOut().dump(suggestion) if suggestion else None


class TicketDetailOut(TicketWriteOut):
    """One ticket with what a single view needs beyond the list: 督办, 会商 and messages too."""

    supervisions = fields.Method("dump_supervisions")
    messages = fields.Method("dump_messages")
    consultations = fields.Method("dump_consultations")
    merged_in = fields.Method("dump_merged_in", metadata={
        "description": "the tickets merged into this one, with what their callers asked (issue 21)"})
    appended = fields.Method("dump_appended", metadata={
        "description": "repeat callers' requests added to this ticket (`append`), oldest first"})

    def dump_supervisions(self, ticket: Ticket) -> list:
        return _many(TimelineEntryOut).dump(_detail_entries(ticket, "supervise"))

    def dump_consultations(self, ticket: Ticket) -> list:
        return _many(TimelineEntryOut).dump(_detail_entries(ticket, "consult"))

    def dump_merged_in(self, ticket: Ticket) -> list:
        return merged_in(_detail_entries(ticket, "merged_in"))

    def dump_appended(self, ticket: Ticket) -> list:
        return [{"at": _iso(e.at), "actor": e.actor.username if e.actor else None,
                 "channel": e.data.get("channel"), "content": e.data.get("content")}
                for e in _detail_entries(ticket, "append")]

    def dump_messages(self, ticket: Ticket) -> list:
        return _many(MessageOut).dump(messages_for_ticket(ticket.id))


class MessageOut(ma.Schema):
    """An outbound SMS or call as the outbox holds it (`not_sent` says why)."""

    id = fields.Integer()
    channel = fields.Function(lambda m: m.channel.value)
    to = fields.Function(lambda m: mask_phone(m.to_number))
    purpose = fields.String()
    body = fields.String()
    status = fields.Function(lambda m: m.status.value)
    status_detail = fields.String(allow_none=True)
    ticket = fields.Integer(attribute="ticket_id", allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    send_after = fields.DateTime(allow_none=True)
    cancellable = fields.Boolean()


class RoutingOut(ma.Schema):
    unit = fields.Function(lambda s: s.unit.code)
    name = fields.Function(lambda s: s.unit.name)
    rule = fields.String()


class EventOut(ma.Schema):
    seq = fields.Integer()
    at = fields.DateTime()
    actor = fields.Function(lambda e: e.actor.username if e.actor else None)
    unit = fields.Function(lambda e: e.unit.code if e.unit else None)
    action = fields.String()
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    data = fields.Method("dump_data")

    def dump_data(self, event) -> dict:
        """A `refer` event logged before the log stopped keeping them still holds the contact
        route and the guardian: masked like the caller for whoever sees the caller masked."""
        data = event.data or {}
        if event.action != "refer" or not any(
                key in data for key in ("contact_route", "child_alias")) and not (
                data.get("consent") or {}).get("by"):
            return data
        viewer = g.get("user")
        if viewer is not None and can_see_caller(viewer, event.ticket):
            return data
        masked = {**data, "contact_route": mask_name(data.get("contact_route")),
                  "child_alias": mask_name(data.get("child_alias"))}
        if isinstance(data.get("consent"), dict):
            masked["consent"] = {**data["consent"], "by": mask_name(data["consent"].get("by")),
                                 "override_reason": None}
        return masked


@functools.cache
def _many(schema_class: type[ma.Schema]) -> ma.Schema:
    """One shared `schema_class(many=True)` for nested dumps: building a schema costs more than
    dumping a few rows with it, and these hold no per-dump state."""
    return schema_class(many=True)


DETAIL_ENTRIES = ("supervise", "consult", "merged_in", "append")


def _detail_entries(ticket: Ticket, action: str) -> list:
    """督办, 会商, merged-in and appended entries of `ticket`: all kinds come from one query per
    ticket and request."""
    loaded = g.setdefault("detail_timeline_entries", {})
    key = (ticket.id, ticket.event_seq)
    if key not in loaded:
        loaded[key] = timeline_entries(ticket, *DETAIL_ENTRIES)
    return [entry for entry in loaded[key] if entry.action == action]


def merged_in(events: list) -> list[dict]:
    """What each `merged_in` event brought: the merged ticket's number and its request. The
    request is part of this ticket's record (the event keeps it); events from before it kept
    them read the merged ticket itself. Its caller stays on the merged ticket."""
    older = [e.data["ticket"] for e in events if "content" not in e.data]
    tickets = {t.id: t for t in db.session.scalars(select(Ticket).where(Ticket.id.in_(older)))} \
        if older else {}
    out = []
    for event in events:
        data = event.data
        if "content" not in data and data.get("ticket") in tickets:
            source = tickets[data["ticket"]]
            data = {**data, **merged_summary(source)}
        out.append({"at": _iso(event.at), "ticket": data.get("ticket"), "number": data.get("number"),
                    "subject": data.get("subject"), "content": data.get("content"),
                    "channel": data.get("channel"), "created_at": data.get("created_at")})
    return out


def merged_summary(ticket: Ticket) -> dict:
    """What a `merged_in` event keeps of the ticket merged in."""
    return {"ticket": ticket.id, "number": ticket.number, "subject": ticket.subject,
            "content": ticket.content, "channel": ticket.channel.value,
            "created_at": _iso(ticket.created_at)}


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


class RevealIn(ma.Schema):
    """Break-glass: why the masked contact is needed now (kept in the read audit)."""

    reason = fields.String(required=True, validate=validate.Length(min=4, max=2000),
                           metadata={"description": "why the contact is needed now (audited)"})


class RevealedReferralOut(ma.Schema):
    id = fields.Integer()
    partner = fields.String()
    contact_route = fields.String(allow_none=True)
    guardian = fields.String(allow_none=True)


class RevealOut(ma.Schema):
    ticket = fields.Integer()
    caller = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    referrals = fields.List(fields.Nested(RevealedReferralOut))
