"""Referral pages (docs/design.md §5, §7): the partner's inbox and referral page, the ticket page's
referrals with the refer form and revoke, and the supervisor's boards of escalated
referrals and mandatory reports (强制报告).

What a partner sees is `referrals.schemas.ReferralOut` dumped for the partner, exactly as
`GET /api/v1/referrals/{id}` shows it: the template renders that dict and nothing else.
Which steps are offered comes from `referrals.workflow.TRANSITIONS` (the state), its
PARTNER_ACTIONS / REFERRER_ACTIONS (the side), and for the referring side the ticket's
`refer` rule in `permissions.ACTION_RULES`, the same rule `referrals.service.act` applies to revoke.
The service decides on submit; the console only chooses which forms to show.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import abort, g, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from sqlalchemy import func, select

from hotline import permissions
from hotline.console import bp, forms, labels
from hotline.console.guard import allowed
from hotline.console.helpers import post_action, tab_arg, user
from hotline.console.widgets import field_spec
from hotline.errors import NotFound
from hotline.extensions import db
from hotline.tickets import service as ticket_service
from hotline.tickets.models import Category, Priority, Ticket
from hotline.tickets.schemas import TimerOut
from hotline.types import utcnow
from hotline.users import Role, User
from referrals import service as referral_service
from referrals.models import ALL_SERVICES, Partner, Referral, ReportState, Urgency
from referrals.models import ReferralState as R
from referrals.schemas import ReferralEventOut, ReferralOut, ReportOut
from referrals.workflow import ACTION_BODIES as REFERRAL_BODIES
from referrals.workflow import NEXT_REPORT_STEP, PARTNER_ACTIONS, REFERRER_ACTIONS, REPORT_BODIES, TRANSITIONS

CONSENT_AGE = referral_service.CONSENT_AGE

# The partner's inbox: tab -> (title, referral states), in the order of the road.
INBOX_TABS = {
    "new": (_l("新转介"), (R.SENT, R.ESCALATED)),
    "accepted": (_l("已接收"), (R.ACCEPTED,)),
    "in_service": (_l("服务中"), (R.IN_SERVICE,)),
    "done": (_l("已完成/已关闭"), (R.COMPLETED, R.CLOSED)),
    "ended": (_l("已拒绝/已撤回"), (R.DECLINED, R.REVOKED)),
}


# --- the minimal view ---------------------------------------------------------------------

@contextmanager
def viewing_as(viewer: User):
    """ReferralOut decides between the partner's and the centre's view from `g.user`, as the
    API sets it; the console sets it for the dump only."""
    had, previous = "user" in g, g.get("user")
    g.user = viewer
    try:
        yield
    finally:
        if had:
            g.user = previous
        else:
            g.pop("user", None)


def referral_view(viewer: User, referral: Referral) -> dict:
    with viewing_as(viewer):
        return ReferralOut().dump(referral)


def referral_views(viewer: User, referrals: list[Referral]) -> list[dict]:
    with viewing_as(viewer):
        return ReferralOut(many=True).dump(referrals)


def partner_names() -> dict[str, str]:
    """Partner code -> name (every partner, inactive ones too), cached for the request."""
    if "console_partner_names" not in g:
        g.console_partner_names = dict(db.session.execute(select(Partner.code, Partner.name)).all())
    return g.console_partner_names


bp.add_app_template_global(partner_names)


# --- which steps a viewer is offered ---------------------------------------------------------

def _sources(transition: dict) -> list:
    source = transition["source"]
    return list(source) if isinstance(source, list | tuple) else [source]


def offered_steps(viewer: User, referral: Referral) -> list[str]:
    """The referral steps `viewer` may take now: the state from TRANSITIONS, the side from
    PARTNER_ACTIONS / REFERRER_ACTIONS, the referring side's roles from the ticket's `refer` rule."""
    side = PARTNER_ACTIONS if viewer.role == Role.PARTNER else REFERRER_ACTIONS
    steps: list[str] = []
    for transition in TRANSITIONS:
        action = transition["trigger"]
        if action in side and action in REFERRAL_BODIES and referral.state in _sources(transition) \
                and action not in steps:
            steps.append(action)
    if steps and not permissions.is_partner(viewer) \
            and not permissions.can_refer(viewer, db.session.get(Ticket, referral.ticket_id)):
        return []
    return steps


def step_specs(steps: list[str]) -> dict[str, list[dict]]:
    return {step: [field_spec(name, schema_field)
                   for name, schema_field in REFERRAL_BODIES[step]().fields.items()]
            for step in steps}


# --- the partner's inbox ----------------------------------------------------------------------

def _counts(viewer: User) -> dict[str, int]:
    """Referrals per state the viewer may see (a count reads no child's data: not audited)."""
    visible = referral_service.visible_referrals(viewer).subquery()
    rows = db.session.execute(select(visible.c.state, func.count()).group_by(visible.c.state)).all()
    return {getattr(state, "value", state): count for state, count in rows}


@bp.get("/referrals")
@allowed(permissions.is_partner)
def referral_inbox():
    tab = tab_arg(INBOX_TABS, "new")
    viewer = user()
    rows = [referral for state in INBOX_TABS[tab][1]
            for referral in referral_service.list_referrals(viewer, state.value)]
    # Crisis first (red, at the top), then the newest.
    rows.sort(key=lambda r: (r.urgency != Urgency.CRISIS, -r.id))
    by_state = _counts(viewer)
    tabs = [(name, str(title), sum(by_state.get(s.value, 0) for s in states))
            for name, (title, states) in INBOX_TABS.items()]
    waiting_crisis = db.session.scalar(
        select(func.count()).select_from(referral_service.visible_referrals(viewer).where(
            Referral.urgency == Urgency.CRISIS, Referral.state.in_([R.SENT, R.ESCALATED])
        ).subquery()))
    return render_template("console/referral_inbox.html", rows=referral_views(viewer, rows),
                           tabs=tabs, tab=tab, waiting_crisis=waiting_crisis)


# --- one referral -----------------------------------------------------------------------------

def render_referral(referral_id: int, failed: str | None = None,
                    state: forms.FormState | None = None, status: int = 200):
    viewer = user()
    try:
        referral = referral_service.get_referral(viewer, referral_id, "console")
        events = referral_service.referral_events(viewer, referral_id)
    except NotFound:
        abort(404)
    steps = offered_steps(viewer, referral)
    if failed and failed not in steps and failed in REFERRAL_BODIES:
        steps.append(failed)  # keep the form the user typed into on screen
    return render_template(
        "console/referral.html", r=referral_view(viewer, referral),
        events=ReferralEventOut(many=True).dump(events), steps=steps, specs=step_specs(steps),
        forms_state={failed: state} if failed and state else {}, failed=failed,
        partner_view=viewer.role == Role.PARTNER,
    ), status


@bp.get("/referrals/<int(max=2147483647):referral_id>")
@login_required
def referral_page(referral_id: int):
    return render_referral(referral_id)


@bp.post("/referrals/<int(max=2147483647):referral_id>/actions/<action>")
@login_required
def referral_action(referral_id: int, action: str):
    if action not in REFERRAL_BODIES:
        abort(404)
    return post_action(
        action, labels.label(labels.REFERRAL_ACTIONS, action),
        url_for("console.referral_page", referral_id=referral_id),
        lambda: referral_service.act(user(), referral_id, action,
                                     forms.schema_body(REFERRAL_BODIES[action](), request.form)),
        lambda failed, state, status: render_referral(referral_id, failed, state, status),
        stale=gettext("转介已被他人同时修改，请核对后重试。"))


# --- on the ticket page -----------------------------------------------------------------------

@dataclass
class ReferForm:
    """What the ticket page's refer form needs: services, the partners for the chosen one."""

    services: list[str]
    service: str
    suitable: list[Partner] = field(default_factory=list)
    others: list[Partner] = field(default_factory=list)
    crisis: bool = False
    consent_needed: bool = False
    values: dict = field(default_factory=dict)


def default_service(ticket: Ticket) -> str:
    if ticket.priority == Priority.CRISIS:
        return "crisis_intervention"
    if ticket.category in (Category.LEGAL, Category.RIGHTS_VIOLATION):
        return "legal_consultation"
    return "counselling"


def default_urgency(ticket: Ticket, service_code: str) -> str:
    """Crisis urgency (a 15-minute accept clock) only for crisis intervention on a crisis ticket:
    a legal-aid (12348), counselling or social-work referral is normal even then."""
    crisis = ticket.priority == Priority.CRISIS and service_code == "crisis_intervention"
    return Urgency.CRISIS.value if crisis else Urgency.NORMAL.value


def partner_choices(ticket: Ticket, service_code: str) -> tuple[list[Partner], list[Partner]]:
    """Partners for `service_code`: the suitable ones (area, capacity; least loaded first), then
    the others offering it. On a crisis ticket crisis-intervention partners come first."""
    suitable = referral_service.suitable_partners(service_code, ticket.location_unit)
    chosen = {p.id for p in suitable}
    others = [p for p in referral_service.partners(service=service_code) if p.id not in chosen]
    if ticket.priority == Priority.CRISIS:
        suitable.sort(key=lambda p: "crisis_intervention" not in p.services)  # stable
        others.sort(key=lambda p: "crisis_intervention" not in p.services)
    return suitable, others


def refer_form(viewer: User, ticket: Ticket, values) -> ReferForm:
    """`values`: what was typed (a failed post), else a prefill (`?service=`, `?from_referral=`)."""
    values = dict(values.items()) if values is not None else {}
    if not values:
        values = _prefill(viewer, ticket)
    service_code = values.get("service") if values.get("service") in ALL_SERVICES \
        else default_service(ticket)
    values.setdefault("urgency", default_urgency(ticket, service_code))
    values.setdefault("child_alias", referral_service.child_alias(ticket.caller_name))
    suitable, others = partner_choices(ticket, service_code)
    return ReferForm(
        services=list(ALL_SERVICES), service=service_code, suitable=suitable, others=others,
        crisis=ticket.priority == Priority.CRISIS,
        consent_needed=bool(ticket.caller_is_minor and (ticket.caller_age is None
                                                        or ticket.caller_age < CONSENT_AGE)),
        values=values,
    )


def _prefill(viewer: User, ticket: Ticket) -> dict:
    """Refer again after an escalation: the proposed partner, and the old referral's details."""
    values: dict = {}
    if request.args.get("service") in ALL_SERVICES:
        values["service"] = request.args["service"]
    try:
        previous_id = int(request.args.get("from_referral", ""))
    except ValueError:
        return values
    try:
        previous = referral_service.get_referral(viewer, previous_id, "console")
    except NotFound:
        return values
    if previous.ticket_id != ticket.id:
        return values
    view = referral_view(viewer, previous)
    consent = view.get("consent") or {}
    values.update({
        "service": previous.service, "urgency": previous.urgency.value,
        "partner": previous.proposed_partner.code if previous.proposed_partner else "",
        "need": view.get("need") or "", "child_alias": (view.get("child") or {}).get("alias") or "",
        "contact_route": view.get("contact_route") or "", "note": view.get("note") or "",
        "consent_by": consent.get("by") or "", "consent_how": consent.get("how") or "",
        "consent_covers_contact": "true" if consent.get("covers_contact") else "",
        "consent_override_reason": consent.get("override_reason") or "",
    })
    return values


def ticket_referrals(viewer: User, ticket: Ticket, detail: dict) -> list[dict]:
    """The ticket's referrals as the ticket page lists them, each with its open clocks and the
    steps the viewer may take (revoke for the referring side)."""
    listed = {row["id"] for row in detail.get("referrals") or []}
    if not listed:
        return []
    referrals = {r.id: r for r in referral_service.referrals_of(ticket) if r.id in listed}
    rows = []
    for row in detail["referrals"]:
        referral = referrals.get(row["id"])
        if referral is None:
            continue
        timers = TimerOut(many=True).dump([t for t in ticket.timers if t.referral_id == referral.id])
        rows.append({**row, "timers": timers, "steps": offered_steps(viewer, referral),
                     "proposed_partner": referral.proposed_partner.code
                     if referral.proposed_partner else None})
    return rows


@bp.get("/tickets/<int:ticket_id>/refer/partners")
@login_required
def refer_partner_options(ticket_id: int):
    """The partner <option>s for a service (the refer form swaps them in when the service changes)."""
    try:
        ticket = ticket_service.get_ticket(user(), ticket_id)
    except NotFound:
        abort(404)
    service_code = request.args.get("service")
    if service_code not in ALL_SERVICES:
        service_code = default_service(ticket)
    suitable, others = partner_choices(ticket, service_code)
    form = ReferForm(services=list(ALL_SERVICES), service=service_code, suitable=suitable,
                     others=others, crisis=ticket.priority == Priority.CRISIS,
                     values={"partner": request.args.get("partner", "")})
    return render_template("console/_partner_options.html", refer=form)


# --- the supervisor's boards ------------------------------------------------------------------

@bp.get("/boards/referrals")
@allowed(permissions.sees_boards)
def referral_board():
    """Escalated referrals: the accept clock ran out; the service proposed the next partner."""
    viewer = user()
    rows = referral_service.list_referrals(viewer, R.ESCALATED.value)
    rows.sort(key=lambda r: (r.urgency != Urgency.CRISIS, r.id))
    return render_template("console/referral_board.html", rows=referral_views(viewer, rows))


def render_reports(failed: tuple[int, str] | None = None, state: forms.FormState | None = None,
                   status: int = 200):
    viewer = user()
    show_all = request.values.get("all") in ("1", "true")
    reports = referral_service.mandatory_reports(viewer, open_only=not show_all)
    rows = ReportOut(many=True).dump(reports)
    ids = {row["ticket"] for row in rows}
    numbers = dict(db.session.execute(
        select(Ticket.id, Ticket.number).where(Ticket.id.in_(ids))).all()) if ids else {}
    now = utcnow()
    for row, report in zip(rows, reports, strict=True):
        row["number"] = numbers.get(row["ticket"], row["ticket"])
        row["overdue"] = report.state == ReportState.OPEN and report.due_at <= now
        row["step"] = NEXT_REPORT_STEP.get(report.state)
        row["specs"] = [field_spec(name, schema_field) for name, schema_field in
                        REPORT_BODIES[row["step"]]().fields.items()] if row["step"] else []
    # Open and overdue first, then by due time.
    rows.sort(key=lambda row: (row["state"] != "open", not row["overdue"], row["due_at"]))
    return render_template("console/mandatory_reports.html", rows=rows, show_all=show_all,
                           failed=failed, failed_state=state), status


@bp.get("/boards/mandatory-reports")
@allowed(permissions.can_handle_mandatory_reports)
def mandatory_reports_board():
    return render_reports()


@bp.post("/mandatory-reports/<int(max=2147483647):report_id>/actions/<action>")
@allowed(permissions.can_handle_mandatory_reports)
def mandatory_report_action(report_id: int, action: str):
    if action not in REPORT_BODIES:
        abort(404)
    return post_action(
        action, labels.label(labels.REPORT_ACTIONS, action), url_for("console.mandatory_reports_board"),
        lambda: referral_service.advance_mandatory_report(
            user(), report_id, action, forms.schema_body(REPORT_BODIES[action](), request.form)),
        lambda failed, state, status: render_reports((report_id, failed), state, status))
