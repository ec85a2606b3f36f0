"""The ticket's event log: appending an event, reading some kinds back.

Depends on: the ticket models, the session and `hotline.signals` only, so every domain that
writes on a ticket's timeline (clocks, callbacks, referrals, channels, contact safety,
retention) imports it without importing the ticket services. Each event joins the ticket's
audit hash chain as it is inserted (`hotline.audit`) and is announced with
`signals.event_recorded` (outgoing webhooks).
"""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.orm.exc import StaleDataError

from hotline import signals
from hotline.extensions import db
from hotline.tickets.models import Event, Ticket
from hotline.types import utcnow
from hotline.users import User


def record_event(ticket: Ticket, actor: User | None, action: str, from_state, to_state,
                 data: dict | None = None, at: datetime | None = None) -> Event:
    """Append one audit row; bumps the ticket so concurrent writers collide (409)."""
    ticket.event_seq += 1
    ticket.updated_at = at or utcnow()
    event = Event(
        ticket=ticket, seq=ticket.event_seq, at=at or utcnow(),
        actor_id=actor.id if actor else None, unit_id=actor.unit_id if actor else None,
        action=action, from_state=_value(from_state), to_state=_value(to_state), data=data or {},
    )
    db.session.add(event)
    signals.event_recorded.send(action, event=event)
    return event


# What `record_event` changes on its ticket (with the version the ORM bumps on any change).
_COUNTERS = ("event_seq", "updated_at")


def write_counters(tickets: Iterable[Ticket]) -> None:
    """Write the event counters of many tickets whose rows this transaction has locked, in one
    executemany, instead of the ORM's one versioned UPDATE (one round trip) per ticket.

    Only tickets whose sole changes are `record_event`'s are written (anything else is left to
    the flush); each still gets its next version, so a writer holding the old one gets a 409."""
    rows, written = [], []
    for ticket in tickets:
        changed = set(inspect(ticket).committed_state)     # the attributes set since loaded
        if not changed or not changed <= set(_COUNTERS):
            continue
        rows.append({"id_": ticket.id, "old": ticket.version, "version": ticket.version + 1,
                     **{name: getattr(ticket, name) for name in _COUNTERS}})
        written.append(ticket)
    if not rows:
        return
    tickets_table = Ticket.__table__
    stmt = (update(tickets_table)
            .where(tickets_table.c.id == bindparam("id_"), tickets_table.c.version == bindparam("old"))
            .values(**{name: bindparam(name) for name in (*_COUNTERS, "version")}))
    matched = db.session.connection().execute(stmt, rows).rowcount
    if matched != len(rows):
        raise StaleDataError(f"{len(rows) - matched} of {len(rows)} tickets changed meanwhile")
    for ticket, row in zip(written, rows, strict=True):
        ticket.version = row["version"]
        # Written: the ticket is as loaded again, so the flush does not look at its attributes
        # and relationships one by one (a tenth of a batch's time). SQLAlchemy's own call after
        # a flush; the public `set_committed_value` leaves the object among the dirty.
        state = inspect(ticket)
        state._commit_all(state.dict, db.session.identity_map)


def timeline_entries(ticket: Ticket, *actions: str) -> list[Event]:
    """Events of some kinds on a ticket, oldest first (supervisions, consultations...)."""
    stmt = select(Event).where(Event.ticket_id == ticket.id, Event.action.in_(actions))
    return list(db.session.scalars(stmt.order_by(Event.seq)))


def _value(state) -> str | None:
    return state.value if state is not None else None
