"""Referral services: partner directory, referring, partner actions, clocks, reports.

Services write and flush; the request or job commits once.
"""

import re
from datetime import datetime, timedelta

from sqlalchemy import false, func, select
from sqlalchemy.orm import selectinload

from hotline import audit, notices
from hotline.clocks import service as clocks
from hotline.clocks.calendar import NOTICE_DEADLINE, format_deadline
from hotline.clocks.models import TimerKind, TimerState
from hotline.errors import Forbidden, Invalid, NotFound
from hotline.extensions import db
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
from referrals.workflow import PARTNER_ACTIONS, REFERRER_ACTIONS, ReferralWorkflow

CONSENT_AGE = 14          # guardian consent for a child under 14
CENTRE = {Role.SEAT, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}


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
    if user.role == Role.PARTNER:
        return stmt.where(Referral.partner_id == (user.partner_id or -1))
    if user.role in CENTRE or user.role == Role.HANDLER:
        from hotline.tickets import access
        from hotline.tickets.models import Ticket

        # The referrals of the tickets this user may see (a seat: its desks; a unit: its subtree).
        return stmt.where(Referral.ticket_id.in_(access.visible_tickets(user, select(Ticket.id))))
    return stmt.where(false())


def get_referral(user: User, referral_id: int, view: str = "referral") -> Referral:
    referral = db.session.scalar(visible_referrals(user).where(Referral.id == referral_id))
    if referral is None:
        raise NotFound(error="referral.not_found", params={"referral": referral_id})
    audit_read(user, "referral", referral.id, view)
    return referral


def list_referrals(user: User, state: str | None = None, limit: int = 100) -> list[Referral]:
    from hotline.tickets.models import Ticket

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
    if action in PARTNER_ACTIONS and user.role != Role.PARTNER:
        raise Forbidden(error="referral.partner_only", params={"referral_action": action})
    if action in REFERRER_ACTIONS and user.role not in (Role.SEAT, Role.SUPERVISOR, Role.ADMIN, Role.HANDLER):
        raise Forbidden(error="referral.referrer_only", params={"referral_action": action})
    if action in REFERRER_ACTIONS and user.role == Role.HANDLER:
        from hotline.tickets.models import Ticket

        ticket = db.session.get(Ticket, referral.ticket_id)
        if ticket.lead_unit_id != user.unit_id:
            raise Forbidden(error="referral.lead_unit_only")
    return _transition(referral, user, action, data)


def _transition(referral: Referral, user: User | None, action: str, data: dict) -> Referral:
    from hotline.tickets.models import Ticket

    ticket = db.session.scalar(select(Ticket).where(Ticket.id == referral.ticket_id).with_for_update())
    from_state = referral.state
    ReferralWorkflow(referral).run(action)
    now = utcnow()
    if action == "accept":
        referral.accepted_at = now
        clocks.stop_referral_timers(ticket, referral, TimerKind.ACCEPT)
        clocks.start_referral_timer(ticket, referral, TimerKind.FIRST_CONTACT, now)
    elif action == "decline":
        referral.decline_reason = data["reason"]
        clocks.stop_referral_timers(ticket, referral, state=TimerState.CANCELLED)
        if ticket.lead_unit is not None:
            notices.notify_unit(ticket.lead_unit, ticket, "referral_declined",
                                f"转介被拒：{referral.partner.name}：{data['reason']}，请另行转介")
        notices.notify_role(Role.SEAT, ticket, "referral_declined",
                            f"工单 {ticket.number} 的转介被 {referral.partner.name} 拒绝，请另行转介")
    elif action == "first_contact":
        referral.first_contact_at = now
        clocks.stop_referral_timers(ticket, referral, TimerKind.FIRST_CONTACT)
        clocks.start_referral_timer(ticket, referral, TimerKind.OUTCOME, now)
    elif action == "report_outcome":
        referral.outcome, referral.follow_up = data["outcome"], data["follow_up"]
        referral.completed_at = now
        clocks.stop_referral_timers(ticket, referral, TimerKind.OUTCOME)
    elif action == "close":
        referral.closed_at = now
    elif action == "revoke":
        referral.revoke_reason = data["reason"]
        clocks.stop_referral_timers(ticket, referral, state=TimerState.CANCELLED)
    elif action == "rename_child":
        data = {"child_alias": data["child_alias"], "previous": referral.child_alias}
        referral.child_alias = data["child_alias"]
    _log(referral, user, action, from_state, referral.state, to_json(data), ticket=ticket)
    db.session.flush()
    return referral


def clock_fired(ticket, timer, level: str) -> None:
    """A referral clock fired (called by the clock machinery under the ticket's lock)."""
    referral = db.session.get(Referral, timer.referral_id)
    if referral is None:
        return
    if level == "overdue" and timer.kind == TimerKind.ACCEPT and referral.state == ReferralState.SENT:
        tried = {referral.partner_id} | {r.partner_id for r in referrals_of(ticket)}
        proposal = next(iter(suitable_partners(referral.service, ticket.location_unit, exclude=tried)), None)
        referral.proposed_partner = proposal
        from_state = referral.state
        ReferralWorkflow(referral).run("escalate")
        _log(referral, None, "escalate", from_state, referral.state,
             {"proposed_partner": proposal.code if proposal else None}, ticket=ticket)
        notices.notify_role(Role.SUPERVISOR, ticket, "referral_escalated",
                            f"工单 {ticket.number} 转介 {referral.partner.name} 超时未接收；"
                            + (f"建议转介 {proposal.name}" if proposal else "暂无其他合适机构"))
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
    from hotline.tickets.service import record_event

    record_event(ticket, actor, "mandatory_report", ticket.state, ticket.state,
                 {"report": report.id, "suspected": suspected, "due_at": due.isoformat()})
    notices.notify_role(Role.SUPERVISOR, ticket, "mandatory_report",
                        f"工单 {ticket.number} 疑似侵害未成年人，"
                        f"须于 {format_deadline(due, NOTICE_DEADLINE)} 前向公安机关强制报告")
    return report


def mandatory_reports(user: User, open_only: bool = False) -> list[MandatoryReport]:
    if user.role not in CENTRE:
        raise Forbidden(error="report.forbidden")
    stmt = select(MandatoryReport).order_by(MandatoryReport.id.desc())
    if open_only:
        stmt = stmt.where(MandatoryReport.state != ReportState.RECEIPTED)
    return list(db.session.scalars(stmt))


def advance_mandatory_report(user: User, report_id: int, action: str, data: dict) -> MandatoryReport:
    if user.role not in CENTRE:
        raise Forbidden(error="report.forbidden")
    report = db.session.scalar(select(MandatoryReport).where(MandatoryReport.id == report_id)
                               .with_for_update())
    if report is None:
        raise NotFound(error="report.not_found", params={"report": report_id})
    from hotline.tickets.models import Ticket
    from hotline.tickets.service import record_event

    now = utcnow()
    if action == "report" and report.state == ReportState.OPEN:
        report.state, report.reported_at, report.reported_by_id = ReportState.REPORTED, now, user.id
        report.reported_to = data.get("to") or report.reported_to
        report.report_note = data.get("note")
    elif action == "record_receipt" and report.state == ReportState.REPORTED:
        report.state, report.receipt_number, report.receipt_at = (
            ReportState.RECEIPTED, data["receipt_number"], now)
    else:
        from hotline.errors import Conflict

        raise Conflict(error="report.wrong_state",
                       params={"report_state": report.state, "report_action": action})
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
    from hotline.tickets.models import Ticket
    from hotline.tickets.service import record_event

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


# The interface the rest of the product uses (hotline.tickets, the clocks, the console, the API).
__all__ = [
    "CONSENT_AGE", "act", "advance_mandatory_report", "audit_read", "child_alias", "clock_fired",
    "get_referral", "list_referrals", "mandatory_reports", "open_mandatory_report", "open_referral",
    "partner_kpis", "partners", "referral_events", "referrals_of", "suitable_partners",
    "unanswered_crisis", "visible_referrals",
]
