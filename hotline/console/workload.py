"""A dispatcher's view of each unit's load: open tickets, due soon and overdue (issue 22).

Counted per lead unit in three grouped queries and rolled up to the units a dispatcher sends
to (counties and city departments): a ticket a county forwarded to one of its towns still
counts for the county. Read-only; the dispatch page shows it beside the queue.
"""

from dataclasses import dataclass

from sqlalchemy import func, select

from hotline.clocks.models import OPEN_TIMER_STATES, Timer
from hotline.console.queries import OPEN_HANDLING, UNIT_CLOCKS, all_units
from hotline.extensions import db
from hotline.tickets.models import Ticket
from hotline.types import utcnow
from hotline.units import Unit, UnitKind

TARGETS = (UnitKind.COUNTY, UnitKind.DEPARTMENT)


@dataclass
class Load:
    unit: Unit
    open: int = 0
    due_soon: int = 0
    overdue: int = 0


def unit_loads() -> list[Load]:
    """Every active county and city department with its open, due-soon and overdue tickets,
    the busiest (most overdue, then most open) first."""
    now = utcnow()
    handling = select(Ticket.lead_unit_id, func.count(func.distinct(Ticket.id))).where(
        Ticket.state.in_(OPEN_HANDLING), Ticket.lead_unit_id.is_not(None))
    clocks = handling.join(Timer, Timer.ticket_id == Ticket.id).where(
        Timer.state.in_(OPEN_TIMER_STATES), Timer.kind.in_(UNIT_CLOCKS), Timer.referral_id.is_(None))
    counted = {
        "open": handling,
        "due_soon": clocks.where(Timer.warn_at <= now, Timer.due_at > now),
        "overdue": clocks.where(Timer.due_at <= now),
    }
    units = [unit for unit in all_units() if unit.active]
    targets = {unit.code: Load(unit) for unit in units if unit.kind in TARGETS}
    target_of = {unit.id: _target(unit, targets) for unit in units}
    for name, stmt in counted.items():
        for unit_id, count in db.session.execute(stmt.group_by(Ticket.lead_unit_id)):
            load = target_of.get(unit_id)
            if load is not None:
                setattr(load, name, getattr(load, name) + count)
    return sorted(targets.values(), key=lambda load: (-load.overdue, -load.open, load.unit.id))


def _target(unit: Unit, targets: dict[str, Load]) -> Load | None:
    """The county or department `unit` belongs to (the first one on its path)."""
    return next((targets[code] for code in unit.path.split("/") if code in targets), None)
