"""Referral services: partner directory, referring, partner actions, clocks, reports.

Services write and flush; the request or job commits once.

Depends on: the referral models and machine, and on `hotline` through a small interface:
the ticket models, event log and visibility (`hotline.tickets.models`, `events`,
`hotline.permissions`, `clock_events`), the clocks, notices and the read audit. The tickets
never import this module: the ticket actions `refer` and `mandatory_report`, the refusal of a
reply while a crisis referral is unanswered, the 强制报告 on abuse words and the crisis offer are
receivers of `hotline.signals`, and a referral clock's firing is a handler of
`hotline.clocks.firing`; `hotline.receivers` connects them all.
"""

import re
from datetime import datetime, timedelta

from sqlalchemy import false, func, select
from sqlalchemy.orm import selectinload

from hotline import audit, notices, permissions
from hotline.clocks import service as clocks
from hotline.clocks.calendar import NOTICE_DEADLINE, format_deadline
from hotline.clocks.models import TimerKind
from hotline.errors import Conflict, Forbidden, Invalid, NotFound
from hotline.extensions import db
from hotline.tickets.clock_events import record_firing, ticket_of
from hotline.tickets.events import record_event
from hotline.tickets.models import Ticket
from hotline.types import to_json, utcnow
from hotline.users import Role, User
from referrals.models import (
    MandatoryReport,
    Partner,
    Referral,
    ReferralEvent,
    ReferralState,
    ReportState,
    Urgency,
)
from referrals.workflow import PARTNER_ACTIONS, REFERRER_ACTIONS, ReferralWorkflow, ReportWorkflow

CONSENT_AGE = 14          # guardian consent for a child under 14


# --- the interface tickets use ---------------------------------------------------------

def open_referral(ticket, actor: User | None, data: dict) -> Referral:
    """The ticket action `refer`: check partner, service and consent, send, start the clock."""
    partner = _partner_or_invalid(data["partner"])
    if data["service"] not in partner.services:
        raise Invalid(errors={"service": [f"offered: {', '.join(partner.services)}"]},
                      error="referral.service_not_offered",
                      params={"partner": partner.name, "service": data["service"],
                              "offered": partner.services})
    consent = data.get("consent") or {}
    needs_consent = ticket.caller_is_minor and (ticket.caller_age is None or ticket.caller_age < CONSENT_AGE)
    has_consent = bool(consent.get("by") and consent.get("how"))
    override = consent.get("override_reason")
    if needs_consent and not has_consent and not override:
        raise Invalid(errors={"consent": ["guardian consent (by, how) or override_reason required"]},
                      error="referral.consent_required")
    now = utcnow()
    referral = Referral(
        ticket=ticket, partner=partner, service=data["service"], urgency=Urgency(data["urgency"]),
        state=ReferralState.SENT, need=data.get("need") or ticket.subject or ticket.content[:200],
        child_alias=data.get("child_alias") or child_alias(ticket.caller_name),
        child_age=ticket.caller_age, contact_route=data.get("contact_route"), note=data.get("note"),
        consent_by=consent.get("by"), consent_how=consent.get("how"),
        consent_at=consent.get("at") or (now if has_consent else None),
        consent_covers_contact=bool(consent.get("covers_contact")),
        override_reason=override if not has_consent else None,
        created_by_id=actor.id if actor else None, created_at=now, updated_at=now,
    )
    db.session.add(referral)
    db.session.flush()
    _log(referral, actor, "sent", None, ReferralState.SENT, {
        "partner": partner.code, "service": referral.service, "urgency": referral.urgency.value,
        "consent": "guardian" if has_consent else ("override" if override else "not needed"),
    })
    clocks.start_referral_timer(ticket, referral, TimerKind.ACCEPT, now)
    if override and not has_consent:
        notices.notify_role(Role.SUPERVISOR, ticket, "consent_override",
                            f"工单 {ticket.number} 转介未取得监护人同意：{override}")
    return referral


def refer_from_ticket(_action: str, *, ticket, actor: User | None, data: dict, record: dict,
                      **_kwargs) -> None:
    """Receives `signals.action_performed` for the ticket action `refer`."""
    record["referral"] = open_referral(ticket, actor, data).id


def report_from_ticket(_action: str, *, ticket, actor: User | None, data: dict, record: dict,
                       **_kwargs) -> None:
    """Receives `signals.action_performed` for the ticket action `mandatory_report`."""
    record["report"] = open_mandatory_report(ticket, actor, data["suspected"], data["what"]).id


def refuse_reply_while_crisis_unanswered(_action: str, *, ticket, **_kwargs) -> None:
    """Receives `signals.action_checking` for `reply`: 409 while a crisis referral waits."""
    waiting = unanswered_crisis(ticket)
    if waiting:
        raise Conflict(error="ticket.crisis_referral_unanswered",
                       params={"partners": [r.partner.name for r in waiting]})


def report_suspected_abuse(ticket, *, actor: User | None, signal, **_kwargs) -> None:
    """Receives `signals.crisis_flagged`: words of abuse about a minor open a 强制报告."""
    if signal.suggests_abuse and ticket.caller_is_minor:
        open_mandatory_report(ticket, actor, "abuse", f"疑似侵害未成年人：{'、'.join(signal.words)}")


def crisis_partners(ticket) -> list[Partner]:
    """Answers `signals.crisis_partners`: crisis-intervention partners for the ticket's place."""
    return suitable_partners("crisis_intervention", ticket.location_unit)


def unanswered_crisis(ticket) -> list[Referral]:
    """Crisis referrals the partner has not answered yet (the ticket may not be replied)."""
    return [r for r in referrals_of(ticket)
            if r.urgency == Urgency.CRISIS and r.state in (ReferralState.SENT, ReferralState.ESCALATED)]


def referrals_of(ticket) -> list[Referral]:
    """The ticket's referrals, oldest first (loaded once per ticket and session)."""
    return list(ticket.referrals)


# --- partner directory -----------------------------------------------------------------

def partners(kind: str | None = None, service: str | None = None) -> list[Partner]:
    stmt = select(Partner).where(Partner.active.is_(True)).order_by(Partner.code)
    rows = list(db.session.scalars(stmt))
    return [p for p in rows if (kind is None or p.kind.value == kind)
            and (service is None or service in p.services)]


def suitable_partners(service: str, location_unit, *, exclude: set[int] | frozenset[int] = frozenset(),
                      now: datetime | None = None) -> list[Partner]:
    """Partners offering `service` whose area covers the location, with capacity left this week,
    the least loaded first."""
    now = now or utcnow()
    week_start = now - timedelta(days=7)
    load = dict(db.session.execute(
        select(Referral.partner_id, func.count()).where(Referral.created_at >= week_start)
        .group_by(Referral.partner_id)).all())
    fitting = []
    for partner in partners(service=service):
        if partner.id in exclude:
            continue
        if partner.area and not (location_unit and any(
                f"/{code}/" in location_unit.path for code in partner.area)):
            continue
        if load.get(partner.id, 0) >= partner.capacity_per_week:
            continue
        fitting.append(partner)
    return sorted(fitting, key=lambda p: (load.get(p.id, 0) / max(p.capacity_per_week, 1), p.code))


# --- reading ---------------------------------------------------------------------------

def visible_referrals(user: User):
    stmt = select(Referral)
    if permissions.is_partner(user):
        return stmt.where(Referral.partner_id == (user.partner_id or -1))
    if permissions.is_centre(user) or permissions.is_handler(user):

        # The referrals of the tickets this user may see (a seat: its desks; a unit: its subtree).
        return stmt.where(Referral.ticket_id.in_(permissions.visible_tickets(user, select(Ticket.id))))
    return stmt.where(false())


def get_referral(user: User, referral_id: int, view: str = "referral") -> Referral:
    referral = db.session.scalar(visible_referrals(user).where(Referral.id == referral_id))
    if referral is None:
        raise NotFound(error="referral.not_found", params={"referral": referral_id})
    audit_read(user, "referral", referral.id, view)
    return referral


def list_referrals(user: User, state: str | None = None, limit: int = 100) -> list[Referral]:

    stmt = visible_referrals(user).order_by(Referral.id.desc()).limit(limit).options(
        selectinload(Referral.ticket).selectinload(Ticket.timers))
    if state:
        stmt = stmt.where(Referral.state == state)
    rows = list(db.session.scalars(stmt))
    for referral in rows:
        audit_read(user, "referral", referral.id, "list")
    return rows


def referral_events(user: User, referral_id: int) -> list[ReferralEvent]:
    referral = get_referral(user, referral_id, "events")
    stmt = select(ReferralEvent).where(ReferralEvent.referral_id == referral.id)
    return list(db.session.scalars(stmt.order_by(ReferralEvent.seq)))


def audit_read(user: User, subject: str, subject_id: int, view: str) -> None:
    """Log a read of a child's data (once per request and subject): `hotline.audit.log_read`."""
    audit.log_read(user, subject, subject_id, view)


# --- actions ---------------------------------------------------------------------------

def act(user: User, referral_id: int, action: str, data: dict) -> Referral:
    """A partner's step, or the referring side's revoke: 404 hidden, 403 wrong side, 409 state."""
    referral = db.session.scalar(
        visible_referrals(user).where(Referral.id == referral_id).with_for_update(of=Referral))
    if referral is None:
        raise NotFound(error="referral.not_found", params={"referral": referral_id})
    if action in PARTNER_ACTIONS and not permissions.can_take_partner_step(user):
        raise Forbidden(error="referral.partner_only", params={"referral_action": action})

    ticket = db.session.scalar(select(Ticket).where(Ticket.id == referral.ticket_id).with_for_update())
    if action in REFERRER_ACTIONS:
        permissions.check_referring_side(user, ticket, action)
    return _step(referral, ticket, user, action, data)


def _step(referral: Referral, ticket, user: User | None, action: str, data: dict,
          related: dict | None = None) -> Referral:
    """One step on the referral's machine (refusals and effects there), then its event."""
    from_state = referral.state
    workflow = ReferralWorkflow(referral, ticket, user, data, related=related)
    workflow.fire(action)
    _log(referral, user, action, from_state, referral.state, to_json(workflow.record), ticket=ticket)
    db.session.flush()
    return referral


def clock_fired(timer, level: str, now: datetime) -> None:
    """A referral clock fired: registered with `hotline.clocks.firing.on_fire` for the referral
    kinds, called under the ticket's lock. The event on the ticket; an overdue accept clock
    escalates the referral."""
    ticket = ticket_of(timer)
    record_firing(ticket, timer, level, now)
    referral = db.session.get(Referral, timer.referral_id)
    if referral is None:
        return
    if level == "overdue" and timer.kind == TimerKind.ACCEPT and referral.state == ReferralState.SENT:
        tried = {referral.partner_id} | {r.partner_id for r in referrals_of(ticket)}
        proposal = next(iter(suitable_partners(referral.service, ticket.location_unit, exclude=tried)), None)
        _step(referral, ticket, None, "escalate", {}, related={"proposal": proposal})
    elif level == "overdue":
        notices.notify_role(Role.SUPERVISOR, ticket, "referral_overdue",
                            f"工单 {ticket.number} 转介 {referral.partner.name} {timer.kind.value} 超期")


# --- mandatory reports -----------------------------------------------------------------

def open_mandatory_report(ticket, actor: User | None, suspected: str, what: str) -> MandatoryReport:
    """强制报告: suspected abuse or neglect of a minor, due to public security in time."""
    existing = db.session.scalar(select(MandatoryReport).where(
        MandatoryReport.ticket_id == ticket.id, MandatoryReport.suspected == suspected))
    if existing is not None:
        return existing
    now = utcnow()
    due = clocks.deadline(now, clocks.time_limits().mandatory_report)
    report = MandatoryReport(ticket_id=ticket.id, suspected=suspected, what=what, due_at=due,
                             created_at=now, created_by_id=actor.id if actor else None)
    db.session.add(report)
    db.session.flush()

    record_event(ticket, actor, "mandatory_report", ticket.state, ticket.state,
                 {"report": report.id, "suspected": suspected, "due_at": due.isoformat()})
    notices.notify_role(Role.SUPERVISOR, ticket, "mandatory_report",
                        f"工单 {ticket.number} 疑似侵害未成年人，"
                        f"须于 {format_deadline(due, NOTICE_DEADLINE)} 前向公安机关强制报告")
    return report


def mandatory_reports(user: User, open_only: bool = False) -> list[MandatoryReport]:
    permissions.check_handles_mandatory_reports(user)
    stmt = select(MandatoryReport).order_by(MandatoryReport.id.desc())
    if open_only:
        stmt = stmt.where(MandatoryReport.state != ReportState.RECEIPTED)
    return list(db.session.scalars(stmt))


def advance_mandatory_report(user: User, report_id: int, action: str, data: dict) -> MandatoryReport:
    permissions.check_handles_mandatory_reports(user)
    report = db.session.scalar(select(MandatoryReport).where(MandatoryReport.id == report_id)
                               .with_for_update())
    if report is None:
        raise NotFound(error="report.not_found", params={"report": report_id})

    ReportWorkflow(report, user, data).fire(action)
    ticket = db.session.get(Ticket, report.ticket_id)
    record_event(ticket, user, f"mandatory_report_{action}", ticket.state, ticket.state,
                 {"report": report.id, **to_json(data)})
    db.session.flush()
    return report


# --- partner KPIs ----------------------------------------------------------------------

def partner_kpis(start: datetime, end: datetime) -> list[dict]:
    """Per partner, for referrals sent in [start, end):
    acceptance rate = accepted (ever) / answered (accepted + declined);
    time to accept = median hours from sent to accepted;
    time to first contact = median hours from accepted to first contact;
    completion rate = completed or closed / accepted (ever)."""
    rows = list(db.session.scalars(select(Referral).where(
        Referral.created_at >= start, Referral.created_at < end)))
    result = []
    for partner in partners():
        mine = [r for r in rows if r.partner_id == partner.id]
        accepted = [r for r in mine if r.accepted_at is not None]
        declined = [r for r in mine if r.state == ReferralState.DECLINED]
        completed = [r for r in accepted if r.completed_at is not None]
        to_accept = [(r.accepted_at - r.created_at).total_seconds() / 3600 for r in accepted]
        to_contact = [(r.first_contact_at - r.accepted_at).total_seconds() / 3600
                      for r in accepted if r.first_contact_at]
        result.append({
            "partner": partner.code, "name": partner.name, "sent": len(mine),
            "acceptance": _rate(len(accepted), len(accepted) + len(declined)),
            "completion": _rate(len(completed), len(accepted)),
            "median_hours_to_accept": _median(to_accept),
            "median_hours_to_first_contact": _median(to_contact),
        })
    return result


# --- helpers ---------------------------------------------------------------------------

def _log(referral: Referral, actor: User | None, action: str, from_state, to_state, data: dict,
         ticket=None) -> None:
    """A referral event, and the same step on the ticket's timeline."""

    referral.event_seq += 1
    referral.updated_at = utcnow()
    db.session.add(ReferralEvent(
        referral_id=referral.id, seq=referral.event_seq, at=utcnow(),
        actor_id=actor.id if actor else None, action=action,
        from_state=from_state.value if from_state else None, to_state=to_state.value, data=data))
    ticket = ticket or db.session.get(Ticket, referral.ticket_id)
    record_event(ticket, actor, f"referral_{action}", ticket.state, ticket.state,
                 {"referral": referral.id, "partner": referral.partner.code,
                  "to_state": to_state.value, **data})


def _partner_or_invalid(code: str) -> Partner:
    partner = db.session.scalar(select(Partner).where(Partner.code == code, Partner.active.is_(True)))
    if partner is None:
        raise Invalid(errors={"partner": [f"unknown partner {code}"]}, error="partner.unknown",
                      params={"partner": code})
    return partner


# What callers give instead of a name: no alias can be made from these.
NOT_A_NAME = ("匿名", "无名", "不详", "未知", "不愿透露", "保密", "小朋友", "孩子", "学生", "同学", "无")
HAN = re.compile(r"^[\u4e00-\u9fff]{1,4}$")


def child_alias(name: str | None) -> str:
    """How a partner addresses the child: the last character of a Chinese name + 同学
    (张小明 → 明同学, 小明 → 明同学), else plain 同学 (匿名, empty, 张某, not a Chinese name).

    The last character: it is not the surname (the first character of a full name) nor the
    common first given-name characters (小, 子, 文...) that made 小同学; it is also how
    families call a child (明明), so the child recognises it without it identifying them."""
    name = (name or "").strip()
    if not HAN.match(name) or "某" in name or name in NOT_A_NAME:
        return "同学"
    return name[-1] + "同学"


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    values = sorted(values)
    middle = len(values) // 2
    return round(values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2, 2)


# The interface the rest of the product uses (the console, the API, the admin pages), and the
# receivers and timer handler `hotline.receivers` connects (the tickets never import this module).
__all__ = [
    "CONSENT_AGE", "act", "advance_mandatory_report", "audit_read", "child_alias", "clock_fired",
    "crisis_partners", "get_referral", "list_referrals", "mandatory_reports", "open_mandatory_report",
    "open_referral", "partner_kpis", "partners", "refer_from_ticket", "referral_events", "referrals_of",
    "refuse_reply_while_crisis_unanswered", "report_from_ticket", "report_suspected_abuse",
    "suitable_partners", "unanswered_crisis", "visible_referrals",
]
