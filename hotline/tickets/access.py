"""Who sees which tickets and who may do which action: the one place scoping lives.

Every list and lookup of tickets goes through `visible_tickets`, so a unit
handler never sees (404) a ticket outside its unit's subtree, whatever the view.
"""

import functools

from flask import current_app
from sqlalchemy import Select, and_, delete, false, select, true
from sqlalchemy.orm import aliased, joinedload

from hotline.errors import Forbidden, NotFound
from hotline.extensions import db
from hotline.tickets.models import Ticket, TicketScope
from hotline.units import Unit
from hotline.users import Role, User

SEES_EVERYTHING = {Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}

# action -> (roles allowed, relation of a handler's unit to the ticket)
LEAD, CO_UNIT, LEAD_OR_CO = "lead", "co_unit", "lead_or_co_unit"
_SEAT = {Role.SEAT, Role.ADMIN}
_DISPATCHER = {Role.DISPATCHER, Role.ADMIN}
_HANDLER = {Role.HANDLER}
# Who sees the jobs that failed for good (citizens' texts and survey keys waiting on a cause).
SEES_FAILED_JOBS = {Role.SUPERVISOR, Role.ADMIN}
ACTION_RULES: dict[str, tuple[frozenset[Role], str | None]] = {
    "answer": (frozenset(_SEAT), None),
    "transfer_out": (frozenset(_SEAT), None),
    "reject": (frozenset(_SEAT), None),
    "merge": (frozenset(_SEAT | _DISPATCHER), None),
    "submit": (frozenset(_SEAT), None),
    "dispatch": (frozenset(_DISPATCHER), None),
    "acknowledge": (frozenset(_HANDLER), LEAD_OR_CO),
    "return": (frozenset(_HANDLER), LEAD),
    "approve_return": (frozenset(_DISPATCHER), None),
    "deny_return": (frozenset(_DISPATCHER), None),
    "forward": (frozenset(_HANDLER), LEAD),
    "contact_caller": (frozenset(_HANDLER), LEAD),
    "submit_opinion": (frozenset(_HANDLER), CO_UNIT),
    "request_extension": (frozenset(_HANDLER), LEAD),
    "approve_extension": (frozenset(_DISPATCHER), None),
    "deny_extension": (frozenset(_DISPATCHER), None),
    "reply": (frozenset(_HANDLER), LEAD),
    "approve_reply": (frozenset(_DISPATCHER), None),
    "send_back": (frozenset(_DISPATCHER), None),
    "record_callback": (frozenset(_SEAT), None),
    "reopen": (frozenset(_SEAT | {Role.SUPERVISOR}), None),
    "supervise": (frozenset({Role.SUPERVISOR, Role.ADMIN}), None),
    "consult": (frozenset(_DISPATCHER | _HANDLER | {Role.SUPERVISOR}), LEAD),
    "add_note": (frozenset(Role), None),
    "refer": (frozenset(_SEAT | _HANDLER | {Role.SUPERVISOR}), LEAD),
    "flag_crisis": (frozenset(_SEAT | _DISPATCHER | {Role.SUPERVISOR}), None),
    "mandatory_report": (frozenset(_SEAT | _HANDLER | {Role.SUPERVISOR}), LEAD),
    "assess_risk": (frozenset(_SEAT | {Role.SUPERVISOR}), None),
    "call_emergency": (frozenset(_SEAT | _DISPATCHER | {Role.SUPERVISOR}), None),
    "move_to_children_desk": (frozenset(_SEAT | _DISPATCHER | {Role.SUPERVISOR}), None),
}

# Contact safety (hotline/contact_safety.py): who may say whether a caller may be texted, and
# who may cancel an automatic text before it goes (the safe direction: any centre role).
SETS_CONTACT_SAFETY = frozenset({Role.SEAT, Role.SUPERVISOR, Role.ADMIN})
CANCELS_TEXTS = frozenset({Role.SEAT, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})

def visible_tickets(user: User, stmt: Select | None = None) -> Select:
    """`stmt` (default: all tickets) narrowed to what `user` may see."""
    stmt = stmt if stmt is not None else select(Ticket)
    if user.role in SEES_EVERYTHING:
        return stmt
    if user.role == Role.SEAT:
        return stmt.where(Ticket.desk.in_(user.desks or [])) if user.desks else stmt.where(false())
    if user.role == Role.HANDLER and user.unit is not None:
        return within(stmt, user.unit)
    return stmt.where(false())


@functools.cache
def _scope(purpose: str):
    """`ticket_scopes` aliased for one purpose, built once: a fresh alias re-adapts its columns
    on every use, which costs more than running the query."""
    return aliased(TicketScope, name=f"{purpose}_scope")


def within(stmt: Select, unit: Unit, purpose: str = "visible") -> Select:
    """Narrow `stmt` to tickets whose lead or a co-unit is `unit` or below it.

    One join on `ticket_scopes` (at most one row per ticket and unit), whose
    (unit_id, ticket_id) index also serves "newest first" paging. `purpose` names the join, so
    that what a handler may see and a list's unit filter can both apply to one query.
    """
    scope = _scope(purpose)
    return stmt.join(scope, and_(scope.ticket_id == Ticket.id, scope.unit_id == unit.id))


def unit_signature(ticket: Ticket) -> tuple:
    """What `rescope` depends on: the lead unit and the co-units."""
    co_units = sorted(link.unit.id for link in ticket.co_unit_links)
    return ticket.lead_unit.id if ticket.lead_unit else None, tuple(co_units)


def rescope(ticket: Ticket) -> None:
    """Rewrite the ticket's scope rows after its lead or co-units changed."""
    codes: set[str] = set()
    for unit in filter(None, [ticket.lead_unit, *ticket.co_units]):
        codes.update(code for code in unit.path.split("/") if code)
    wanted = set(db.session.scalars(select(Unit.id).where(Unit.code.in_(codes)))) if codes else set()
    current = set(db.session.scalars(
        select(TicketScope.unit_id).where(TicketScope.ticket_id == ticket.id)
    ))
    if current - wanted:
        db.session.execute(delete(TicketScope).where(
            TicketScope.ticket_id == ticket.id, TicketScope.unit_id.in_(current - wanted)
        ))
    db.session.add_all(TicketScope(ticket_id=ticket.id, unit_id=uid) for uid in wanted - current)


def get_visible_ticket(user: User, ticket_id: int, *, for_update: bool = False) -> Ticket:
    """The ticket, or 404 when `user` may not see it.

    `for_update` locks the row (PostgreSQL) so a concurrent action waits and then
    sees the new state instead of deadlocking; the version column still guards
    against anything that slips past.
    """
    stmt = visible_tickets(user).where(Ticket.id == ticket_id)
    if for_update:
        # An action reads the co-units (who may act), the clocks and the referrals (the
        # answer): fetched with the lock, in one round trip instead of three.
        stmt = stmt.with_for_update(of=Ticket).options(
            joinedload(Ticket.co_unit_links), joinedload(Ticket.timers),
            joinedload(Ticket.referrals))
    ticket = db.session.scalars(stmt).unique().one_or_none()
    if ticket is None:
        raise NotFound(error="ticket.not_found", params={"ticket": ticket_id})
    return ticket


def check_action_allowed(user: User, ticket: Ticket, action: str) -> None:
    """403 unless `user`'s role (and, for handlers, unit) may do `action` on `ticket`."""
    roles, relation = ACTION_RULES[action]
    if user.role not in roles:
        raise Forbidden(error="ticket.role_may_not", params={"role": user.role, "action": action})
    if relation is None or user.role != Role.HANDLER:
        return
    is_lead = user.unit_id is not None and user.unit_id == ticket.lead_unit_id
    is_co = ticket.co_unit_link(user.unit) is not None
    allowed = {LEAD: is_lead, CO_UNIT: is_co, LEAD_OR_CO: is_lead or is_co}[relation]
    if not allowed:
        raise Forbidden(error="ticket.only_relation", params={"relation": relation, "action": action})


def can_see_caller(user: User, ticket: Ticket) -> bool:
    """Full caller details for the centre and the lead unit; masked for everyone else."""
    if user.role in SEES_EVERYTHING or user.role == Role.SEAT:
        return True
    return user.role == Role.HANDLER and user.unit_id == ticket.lead_unit_id


def caller_visible(user: User):
    """`can_see_caller` as SQL: the condition on tickets whose caller `user` sees unmasked
    (None: no ticket's). Searching by phone digits or name keeps to it."""
    if user.role in SEES_EVERYTHING or user.role == Role.SEAT:
        return true()
    if user.role == Role.HANDLER and user.unit_id is not None:
        return Ticket.lead_unit_id == user.unit_id
    return None


DEFAULT_EXPORT_ROLES = ("supervisor", "admin", "dispatcher")


def may_export(user: User) -> bool:
    """Exporting the ticket list is a permission of its own (config EXPORT_ROLES): a bulk copy
    of callers' data leaves the building, so by default only the centre's staff, not the seats."""
    roles = current_app.config.get("EXPORT_ROLES", DEFAULT_EXPORT_ROLES)
    return user.role.value in roles


def check_export_allowed(user: User) -> None:
    if not may_export(user):
        raise Forbidden(error="ticket.export_forbidden", params={"role": user.role})


AUDIT_VIEWERS = {Role.SUPERVISOR, Role.ADMIN}


def check_audit_viewer(user: User) -> None:
    """The read audit (who read, exported or revealed a child's data) is for the supervisor
    on duty and the admins."""
    if user.role not in AUDIT_VIEWERS:
        raise Forbidden(error="audit.forbidden", params={"role": user.role})
# --- accounts ---------------------------------------------------------------------------

SESSION_MANAGERS = frozenset({Role.ADMIN})


def check_manages_sessions(user: User) -> None:
    """Listing and ending another user's sessions and tokens is for admins only (403)."""
    if user.role not in SESSION_MANAGERS:
        raise Forbidden(error="session.manage_forbidden")


# --- outgoing webhooks (hotline.subscriptions) --------------------------------------------

SUBSCRIPTION_MANAGERS = frozenset({Role.ADMIN})


def may_manage_subscriptions(user: User, unit: Unit | None) -> bool:
    """Who manages the webhook subscriptions of `unit`'s subtree (None: centre-wide ones):
    the admins, and a county's unit admin for subscriptions within its own subtree."""
    if user.role in SUBSCRIPTION_MANAGERS:
        return True
    return (user.role == Role.UNIT_ADMIN and user.unit is not None and unit is not None
            and unit.is_within(user.unit))


def check_manages_subscriptions(user: User, unit: Unit | None) -> None:
    if not may_manage_subscriptions(user, unit):
        raise Forbidden(error="subscription.forbidden")


# --- administration (users and the unit tree) --------------------------------------------

ADMIN_READERS = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.UNIT_ADMIN})
# The roles a county's unit admin may give: its own handlers and sub-unit admins.
UNIT_ADMIN_GRANTS = frozenset({Role.HANDLER, Role.UNIT_ADMIN})


def check_reads_admin(user: User) -> None:
    """The users and the unit tree's administration: admins, supervisors (read), unit admins."""
    if user.role not in ADMIN_READERS:
        raise Forbidden(error="admin.read_forbidden", params={"role": user.role})


def admin_root(user: User) -> Unit | None:
    """The subtree a user administers: a unit admin's unit; None (everything) for the others."""
    return user.unit if user.role == Role.UNIT_ADMIN else None


def check_administers(user: User, unit: Unit | None) -> None:
    """403 unless `user` may change what lies at `unit` (None: the centre itself, no unit).

    An admin may change anything; a unit admin only what is within its unit's subtree;
    a supervisor reads only."""
    if user.role == Role.ADMIN:
        return
    root = user.unit if user.role == Role.UNIT_ADMIN else None
    if root is not None and unit is not None and unit.is_within(root):
        return
    raise Forbidden(error="admin.outside_subtree")


def check_grants_role(user: User, role: Role) -> None:
    """A unit admin gives only handler and unit admin roles (403 for the centre's roles)."""
    if user.role == Role.UNIT_ADMIN and role not in UNIT_ADMIN_GRANTS:
        raise Forbidden(error="admin.role_not_grantable", params={"role": role})


# --- knowledge base (issue 21) -------------------------------------------------------

DEFAULT_KNOWLEDGE_EDITORS = ("supervisor", "admin")
KNOWLEDGE_AUTHORS = frozenset({Role.SEAT, Role.DISPATCHER, Role.SUPERVISOR, Role.HANDLER, Role.ADMIN})


def is_knowledge_editor(user: User) -> bool:
    """The centre's editors review and publish articles (config KNOWLEDGE_EDITOR_ROLES; by
    default the supervisors and the admins)."""
    roles = current_app.config.get("KNOWLEDGE_EDITOR_ROLES", DEFAULT_KNOWLEDGE_EDITORS)
    return user.role.value in roles


def check_knowledge_editor(user: User) -> None:
    if not is_knowledge_editor(user):
        raise Forbidden(error="knowledge.not_editor", params={"role": user.role})


def check_knowledge_author(user: User) -> None:
    """The centre's staff and the units read the knowledge base and draft articles; partners not."""
    if user.role not in KNOWLEDGE_AUTHORS:
        raise Forbidden(error="knowledge.not_author", params={"role": user.role})
