"""Read-only lookups the console's queues need beyond `service.list_tickets`.

Every one starts from `permissions.visible_tickets(user)`, so a queue can never list a
ticket its viewer may not open. Nothing here writes.
"""

import re

from flask import g
from sqlalchemy import and_, select, union

from hotline import permissions, phones
from hotline.clocks.models import UNIT_CLOCKS
from hotline.extensions import db
from hotline.tickets.models import OPEN_HANDLING, TERMINAL_STATES, Priority, Ticket, TicketCoUnit, TicketState
from hotline.tickets.service import OpenClocks, count_tickets, newest_first
from hotline.types import utcnow
from hotline.units import Unit, UnitKind
from hotline.users import User


def phone_variants(phone: str) -> list[str]:
    """The ways one number is written: 138..., +86138..., 86138..."""
    digits = re.sub(r"[\s\-()]", "", phone or "")
    if not re.fullmatch(r"\+?\d{3,20}", digits):
        return []
    bare = digits.lstrip("+")
    national = bare[2:] if bare.startswith("86") and len(bare) > 11 else bare
    # Stored numbers are E.164 (hotline.phones): a landline typed with its 0 is +86 without it.
    e164 = phones.to_e164(phone)
    return sorted({digits, bare, national, "+86" + national, "86" + national} | ({e164} if e164 else set()))


def caller_history(user: User, phone: str, limit: int = 10) -> list[Ticket]:
    """The caller's earlier tickets that `user` may see, newest first."""
    variants = phone_variants(phone)
    if not variants:
        return []
    stmt = permissions.visible_tickets(user).where(Ticket.caller_phone.in_(variants))
    return list(db.session.scalars(newest_first(stmt).limit(limit)))


def with_open_clock(stmt, *, overdue: bool, kinds=None):
    """Tickets with an open clock past its due (overdue) or past its warning, not yet due
    (the clocks read first when they are few: `OpenClocks`)."""
    return stmt.where(OpenClocks(utcnow(), overdue=overdue, kinds=kinds).condition)


def unit_inbox(user: User, tab: str):
    """A unit handler's inbox tabs (the handler's unit; due soon / overdue: its whole subtree)."""
    unit_id = user.unit_id
    visible = permissions.visible_tickets(user)
    if tab == "acknowledge":
        return visible.where(_led_or_joined(
            unit_id, [TicketState.DISPATCHED], TicketCoUnit.acknowledged_at.is_(None)))
    if tab == "in_progress":
        return visible.where(_led_or_joined(
            unit_id, [TicketState.IN_PROGRESS, TicketState.RETURN_REQUESTED],
            and_(TicketCoUnit.acknowledged_at.is_not(None), TicketCoUnit.opinion_at.is_(None))))
    if tab == "due_soon":
        return with_open_clock(visible, overdue=False, kinds=UNIT_CLOCKS)
    if tab == "overdue":
        return with_open_clock(visible, overdue=True, kinds=UNIT_CLOCKS)
    raise ValueError(tab)


def _led_or_joined(unit_id: int, lead_states, co_unit_condition):
    """Tickets `unit_id` leads in `lead_states`, or joins as a co-unit (meeting
    `co_unit_condition`) while the ticket is being handled.

    As ids from the two indexes (lead unit; co-unit), not as an OR over every ticket the
    unit may see: a county sees thousands and waits on a few dozen (36 -> 2 ms a count).
    """
    led = select(Ticket.id).where(Ticket.lead_unit_id == unit_id, Ticket.state.in_(lead_states))
    joined = (select(TicketCoUnit.ticket_id)
              .join(Ticket, Ticket.id == TicketCoUnit.ticket_id)
              .where(TicketCoUnit.unit_id == unit_id, Ticket.state.in_(OPEN_HANDLING),
                     co_unit_condition))
    return Ticket.id.in_(union(led, joined))


def crisis_open(user: User):
    return permissions.visible_tickets(user).where(
        Ticket.priority == Priority.CRISIS, Ticket.state.not_in(list(TERMINAL_STATES))
    )


def pending_extensions(user: User):
    return permissions.visible_tickets(user).where(Ticket.pending_extension_days.is_not(None))


def in_states(user: User, *states: TicketState):
    return permissions.visible_tickets(user).where(Ticket.state.in_(states))


def counts(user: User, queries: dict) -> dict[str, int]:
    """Row counts of several queues in one round trip each (for tab badges)."""
    return {name: count_tickets(stmt) for name, stmt in queries.items()}


# --- units ---------------------------------------------------------------------------

def all_units() -> list[Unit]:
    """Every unit, parents before children (cached for the request)."""
    if "console_units" not in g:
        g.console_units = list(db.session.scalars(select(Unit).order_by(Unit.path)))
    return g.console_units


def units_by_code() -> dict[str, Unit]:
    return {unit.code: unit for unit in all_units()}


def unit_tree(root: Unit | None = None, kinds=None,
              active_only: bool = False) -> list[tuple[str, list[tuple[Unit, int]]]]:
    """Units grouped for a picker: one group per county (with its sub-units indented),
    one group of city departments. `root` keeps only that unit's subtree; `active_only` leaves
    out deactivated units (they take no new work)."""
    units = [u for u in all_units() if (root is None or u.path.startswith(root.path))
             and (u.active or not active_only)]
    if kinds is not None:
        units = [u for u in units if u.kind in kinds]
    groups: dict[str, list[tuple[Unit, int]]] = {}
    names: dict[str, str] = {}
    for unit in units:
        parts = [p for p in unit.path.split("/") if p]
        if unit.kind == UnitKind.CITY:
            continue
        if unit.kind == UnitKind.DEPARTMENT and len(parts) == 2:
            key = "_departments"
        else:
            key = parts[1] if len(parts) > 1 else unit.code
        groups.setdefault(key, []).append((unit, max(len(parts) - 2, 0)))
        if len(parts) == 2 and unit.kind == UnitKind.COUNTY:
            names[key] = unit.name
    # Groups in the order the units were set up (the seed's order), each a subtree in path order.
    keys = sorted((key for key in groups if key != "_departments"),
                  key=lambda key: min(unit.id for unit, _depth in groups[key]))
    ordered = [(names.get(key, ""), groups[key]) for key in keys]
    if "_departments" in groups:
        ordered.append(("_departments", sorted(groups["_departments"], key=lambda row: row[0].id)))
    return ordered
