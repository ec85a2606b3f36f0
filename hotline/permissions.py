"""Who may see what and who may do what: the one place every rule lives.

The API, the console and the services ask the predicates here (`can_refer(user, ticket)`,
`can_handle_mandatory_reports(user)`, `is_admin(user)`...) and never restate a role list.

- The role groups below are defined once; a rule is written with them.
- A `Rule` is who may take a ticket action: the roles, and for a unit handler the relation its
  unit must have to the ticket (lead, co-unit, either). Each ticket action carries its rule in
  the action registry (`hotline/tickets/actions.py`); the rules other modules need by name
  (`REFER`, `MANDATORY_REPORT`) are named here.
- Ticket visibility: every list and lookup of tickets goes through `visible_tickets`, so a
  unit handler never sees (404) a ticket outside its unit's subtree, whatever the view.
- The console's pages ask a predicate of one argument (the user) through
  `hotline.console.guard.allowed`; `tests/console/test_authorization_table.py` holds every
  console route against every role, as `tests/test_authorization_table.py` does for the API.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Select, and_, delete, false, select, true
from sqlalchemy.orm import aliased, joinedload, with_expression

from hotline.errors import Forbidden, NotFound
from hotline.extensions import db
from hotline.tickets.models import LAST_EVENT_HASH, Ticket, TicketScope
from hotline.units import Unit
from hotline.users import Role, User

# --- the role groups -----------------------------------------------------------------------

# The hotline centre's own staff (not the units, the partners or a county's unit admin).
CENTRE = frozenset({Role.SEAT, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})
# The centre's staff who see every ticket, whichever desk or unit.
SEES_EVERYTHING = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})
# Who does the seats' work (intake, direct answers, callbacks): the seats and the admins.
SEATS = frozenset({Role.SEAT, Role.ADMIN})
# Who does the dispatchers' work (dispatch, approve returns, extensions and replies).
DISPATCHERS = frozenset({Role.DISPATCHER, Role.ADMIN})
HANDLERS = frozenset({Role.HANDLER})
SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})
# The supervisor's boards (crisis, overdue, escalated referrals) and mandatory reports: the
# supervisors, with the dispatchers who see every ticket anyway.
BOARD_VIEWERS = frozenset({Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN})
# KPIs: the centre's staff who see everything, and a unit handler for its own subtree.
KPI_VIEWERS = BOARD_VIEWERS | HANDLERS
# Inbound calls: the centre's staff; the full number for those who take calls and supervise.
CALL_VIEWERS = CENTRE
SEES_FULL_NUMBER = frozenset({Role.SEAT, Role.SUPERVISOR, Role.ADMIN})
# Who sees the jobs that failed for good (citizens' texts and survey keys waiting on a cause).
SEES_FAILED_JOBS = SUPERVISORS
# Contact safety (hotline/contact_safety.py): who may say whether a caller may be texted, and
# who may cancel an automatic text before it goes (the safe direction: any centre role).
SETS_CONTACT_SAFETY = frozenset({Role.SEAT, Role.SUPERVISOR, Role.ADMIN})
CANCELS_TEXTS = CENTRE
# Who is told on every page that next year's holidays are missing (only an admin enters them).
CALENDAR_WATCHERS = BOARD_VIEWERS
PARTNERS = frozenset({Role.PARTNER})
# The read audit (who read, exported or revealed a child's data): the supervisor on duty, admins.
AUDIT_VIEWERS = SUPERVISORS
# Listing and ending another user's sessions and tokens; the webhook subscriptions centre-wide.
# A unit admin manages those of its subtree's users (hotline.accounts checks the user).
SESSION_MANAGERS = frozenset({Role.ADMIN, Role.UNIT_ADMIN})
SUBSCRIPTION_MANAGERS = ADMINS
# Users and the unit tree: admins, supervisors (read only), a county's unit admin (its subtree).
ADMIN_READERS = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.UNIT_ADMIN})
ADMIN_WRITERS = frozenset({Role.ADMIN, Role.UNIT_ADMIN})

ROLE_NAMES = {
    Role.SEAT: "坐席", Role.DISPATCHER: "派单员", Role.SUPERVISOR: "值班长",
    Role.HANDLER: "承办单位", Role.PARTNER: "合作机构", Role.ADMIN: "管理员",
    Role.UNIT_ADMIN: "单位管理员",
}


Predicate = Callable[[User], bool]


def in_roles(*groups: frozenset[Role]) -> Predicate:
    """A predicate of one user: its role is in one of `groups`."""
    roles = frozenset().union(*groups)

    def predicate(user: User) -> bool:
        return user.role in roles

    return predicate


# --- what a role may do, whatever the ticket (the console's pages ask these too) -------------

is_admin = in_roles(ADMINS)
is_centre = in_roles(CENTRE)                 # one of the centre's own staff
is_partner = in_roles(PARTNERS)
is_handler = in_roles(HANDLERS)
is_supervisor = in_roles(SUPERVISORS)        # a supervisor, or an admin (who may do as much)
does_seat_work = in_roles(SEATS)             # intake, the callbacks queue
does_dispatch_work = in_roles(DISPATCHERS)   # the review of returns, extensions, replies
# The dispatch queue: the dispatchers, and the duty supervisor (an overdue crisis ticket waits
# for no one, issue 22).
can_dispatch = in_roles(DISPATCHERS | SUPERVISORS)
# Works tickets day to day: the unit picker, bulk actions (each row still asks its action's rule).
works_tickets = in_roles(CENTRE | HANDLERS)
sees_boards = in_roles(BOARD_VIEWERS)        # the crisis, overdue and escalated-referral boards
can_view_calls = in_roles(CALL_VIEWERS)
sees_failed_job_list = in_roles(SEES_FAILED_JOBS)
can_view_audit = in_roles(AUDIT_VIEWERS)
can_read_admin = in_roles(ADMIN_READERS)     # the users and the unit tree (a unit admin: its subtree)
can_write_admin = in_roles(ADMIN_WRITERS)    # changes there (`check_administers` says where)
can_manage_sessions = in_roles(SESSION_MANAGERS)
can_take_intake = in_roles(SEATS)            # open a ticket (a seat: on its own desks)
can_take_partner_step = is_partner           # accept, decline, first contact, outcome, close
can_view_kpis = in_roles(KPI_VIEWERS)        # a unit handler: its own subtree (hotline.kpis)
can_view_centre_figures = in_roles(BOARD_VIEWERS)   # the outbox, the partners' KPIs
# 强制报告: see every one and record that it was made to public security, and its receipt. The
# list is not narrowed to a desk and says what the child suffered, so it is for those who see
# every ticket; a seat files the report on the ticket (`can_file_mandatory_report`) and the
# supervisor on duty is told.
can_handle_mandatory_reports = in_roles(BOARD_VIEWERS)


# --- ticket actions ----------------------------------------------------------------------

LEAD, CO_UNIT, LEAD_OR_CO = "lead", "co_unit", "lead_or_co_unit"
_RELATION_NAMES = {LEAD: "主办单位", CO_UNIT: "协办单位", LEAD_OR_CO: "主办或协办单位"}


class ActionForbidden(Forbidden):
    """`role` may not take `action` (or, for a handler, its unit is not `relation` to the ticket).
    Carries both so a page can say it in words (console/dispatch_pages.refusal_message)."""

    error_code = "ticket.role_may_not"

    def __init__(self, role: Role, action: str, relation: str | None = None):
        if relation is None:
            super().__init__(error="ticket.role_may_not", params={"role": role, "action": action})
        else:
            super().__init__(error="ticket.only_relation", params={"relation": relation, "action": action})
        self.role, self.action, self.relation = role, action, relation


@dataclass(frozen=True)
class Rule:
    """Who may take an action on a ticket: `roles`, and for a unit handler the `relation` its
    unit must have to the ticket (None: any ticket the handler sees)."""

    roles: frozenset[Role]
    relation: str | None = None

    def allows(self, user: User, ticket: Ticket) -> bool:
        return user.role in self.roles and self._relation_holds(user, ticket)

    def check(self, user: User, ticket: Ticket, action: str) -> None:
        """403 unless `user`'s role (and, for handlers, unit) may do `action` on `ticket`."""
        if user.role not in self.roles:
            raise ActionForbidden(user.role, action)
        if not self._relation_holds(user, ticket):
            raise ActionForbidden(user.role, action, self.relation or LEAD)

    def _relation_holds(self, user: User, ticket: Ticket) -> bool:
        if self.relation is None or user.role != Role.HANDLER:
            return True
        is_lead = user.unit_id is not None and user.unit_id == ticket.lead_unit_id
        is_co = ticket.co_unit_link(user.unit) is not None
        return {LEAD: is_lead, CO_UNIT: is_co, LEAD_OR_CO: is_lead or is_co}[self.relation]


# The rules other modules ask by name (the registry's entries use them too).
# 转介 and 强制报告 on a child's case: the seat who heard it, the supervisor, and the lead unit.
REFER = Rule(SEATS | HANDLERS | {Role.SUPERVISOR}, LEAD)
MANDATORY_REPORT = Rule(SEATS | HANDLERS | {Role.SUPERVISOR}, LEAD)


def can_refer(user: User, ticket: Ticket) -> bool:
    """Refer the ticket's child to a partner, and revoke or correct its referrals."""
    return REFER.allows(user, ticket)


def check_referring_side(user: User, ticket: Ticket, action: str) -> None:
    """The referring side's steps on a referral (revoke, correct the child's alias) follow the
    ticket's `refer` rule: 403 for the other roles, and for a unit other than the lead."""
    if user.role not in REFER.roles:
        raise Forbidden(error="referral.not_referring_side", params={"referral_action": action})
    if not REFER.allows(user, ticket):
        raise Forbidden(error="referral.not_lead_unit")


def can_file_mandatory_report(user: User, ticket: Ticket) -> bool:
    """Open a 强制报告 on the ticket (the `mandatory_report` action)."""
    return MANDATORY_REPORT.allows(user, ticket)




def check_takes_intake(user: User) -> None:
    if not can_take_intake(user):
        raise Forbidden(error="ticket.only_seats_open")




def check_handles_mandatory_reports(user: User) -> None:
    if not can_handle_mandatory_reports(user):
        raise Forbidden(error="mandatory_report.forbidden")








# --- which tickets a user sees -------------------------------------------------------------

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
        # answer), and chains its event to the last one's hash: fetched with the lock, in
        # one round trip instead of four.
        stmt = stmt.with_for_update(of=Ticket).options(
            joinedload(Ticket.co_unit_links), joinedload(Ticket.timers),
            joinedload(Ticket.referrals), with_expression(Ticket.last_event_hash, LAST_EVENT_HASH))
    ticket = db.session.scalars(stmt).unique().one_or_none()
    if ticket is None:
        raise NotFound(error="ticket.not_found", params={"ticket": ticket_id})
    return ticket


def can_see_caller(user: User, ticket: Ticket) -> bool:
    """Full caller details for the centre and the lead unit; masked for everyone else."""
    if user.role in CENTRE:
        return True
    return user.role == Role.HANDLER and user.unit_id == ticket.lead_unit_id


def caller_visible(user: User):
    """`can_see_caller` as SQL: the condition on tickets whose caller `user` sees unmasked
    (None: no ticket's). Searching by phone digits or name keeps to it."""
    if user.role in CENTRE:
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




def check_audit_viewer(user: User) -> None:
    """The read audit (who read, exported or revealed a child's data) is for the supervisor
    on duty and the admins."""
    if user.role not in AUDIT_VIEWERS:
        raise Forbidden(error="audit.forbidden", params={"role": user.role})


# --- accounts ---------------------------------------------------------------------------



def check_manages_sessions(user: User) -> None:
    """Listing and ending another user's sessions and tokens: admins, and unit admins within
    their subtree (403 for the other roles)."""
    if user.role not in SESSION_MANAGERS:
        raise Forbidden(error="admin.sessions_forbidden")


# --- outgoing webhooks (hotline.subscriptions) --------------------------------------------



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

# The roles a county's unit admin may give: its own handlers and sub-unit admins.
UNIT_ADMIN_GRANTS = frozenset({Role.HANDLER, Role.UNIT_ADMIN})


def check_reads_admin(user: User) -> None:
    """The users and the unit tree's administration: admins, supervisors (read), unit admins."""
    if user.role not in ADMIN_READERS:
        raise Forbidden(error="admin.read_forbidden", params={"role": user.role})


def admin_root(user: User) -> Unit | None:
    """The subtree a user administers: a unit admin's unit; None (everything) for the others."""
    return user.unit if user.role == Role.UNIT_ADMIN else None


def can_manage_unit(user: User, unit: Unit | None) -> bool:
    """`user` may change what lies at `unit` (None: the centre itself, no unit).

    An admin may change anything; a unit admin only what is within its unit's subtree;
    a supervisor reads only."""
    if user.role == Role.ADMIN:
        return True
    root = user.unit if user.role == Role.UNIT_ADMIN else None
    return root is not None and unit is not None and unit.is_within(root)


def check_administers(user: User, unit: Unit | None) -> None:
    """403 unless `user` may change what lies at `unit` (`can_manage_unit`)."""
    if not can_manage_unit(user, unit):
        raise Forbidden(error="admin.outside_subtree")


def may_grant(user: User, role: Role) -> bool:
    """A unit admin gives only handler and unit admin roles; an admin any."""
    return user.role != Role.UNIT_ADMIN or role in UNIT_ADMIN_GRANTS


def check_grants_role(user: User, role: Role) -> None:
    """A unit admin gives only handler and unit admin roles (403 for the centre's roles)."""
    if not may_grant(user, role):
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


# --- attachments (hotline.attachments, issue 22) -------------------------------------------

# Who adds files to a ticket they see: the centre and the units (a partner never sees one).
ATTACHERS = frozenset({Role.SEAT, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN, Role.HANDLER})


def check_attaches(user: User, ticket: Ticket) -> None:
    """403 unless `user` may add files to `ticket` (which it sees: the caller checked that)."""
    if user.role not in ATTACHERS:
        raise Forbidden(error="attachment.forbidden", params={"role": user.role})


def may_read_attachment(user: User, ticket: Ticket, from_caller: bool) -> bool:
    """A ticket's files go with the ticket; the caller's own material (what came with the
    intake or an MMS: their photos, their voice) only to those who see the caller unmasked,
    as the caller's phone and name."""
    return not from_caller or can_see_caller(user, ticket)


def check_reads_attachment(user: User, ticket: Ticket, from_caller: bool) -> None:
    if not may_read_attachment(user, ticket, from_caller):
        raise Forbidden(error="attachment.masked")


# --- the rules a centre owns and watching the service (issue 20) ---------------------------

# The working-day calendar, time limits, routing catalogue and crisis lexicon: admins change
# them; the supervisors read them (and the outbox and /readyz warnings).
RULE_EDITORS = ADMINS
RULE_READERS = frozenset({Role.ADMIN, Role.SUPERVISOR})
# The centre-wide outbox: supervisors and admins search it; admins resend or cancel.
OUTBOX_READERS = RULE_READERS
OUTBOX_EDITORS = RULE_EDITORS
can_edit_rules = in_roles(RULE_EDITORS)
can_read_rules = in_roles(RULE_READERS)
can_read_outbox = in_roles(OUTBOX_READERS)
can_edit_outbox = in_roles(OUTBOX_EDITORS)


def check_edits_rules(user: User) -> None:
    if user.role not in RULE_EDITORS:
        raise Forbidden(error="rules.forbidden")


def check_reads_outbox(user: User) -> None:
    if user.role not in OUTBOX_READERS:
        raise Forbidden(error="outbox.forbidden")


def check_edits_outbox(user: User) -> None:
    if user.role not in OUTBOX_EDITORS:
        raise Forbidden(error="outbox.edit_forbidden")


def check_reads_rules(user: User) -> None:
    if user.role not in RULE_READERS:
        raise Forbidden(error="rules.read_forbidden", params={"role": user.role})


def is_knowledge_author(user: User) -> bool:
    """Reads the knowledge base, drafts articles and flags a wrong one (not partners)."""
    return user.role in KNOWLEDGE_AUTHORS


# --- KPIs and reports (hotline/kpis.py, hotline/reports.py) ---------------------------------

# The centre's staff read the reports of the whole centre or of any unit; a unit's handler those
# of its own subtree (kpis.scope_for); the others none.
CENTRE_REPORT_READERS = frozenset({Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN})
REPORT_READERS = CENTRE_REPORT_READERS | {Role.HANDLER}
can_read_reports = in_roles(REPORT_READERS)
