"""The ticket's event log: appending an event, reading some kinds back.

Depends on: the ticket models, the session, the audit chain and `hotline.signals` only, so
every domain that writes on a ticket's timeline (clocks, callbacks, referrals, channels,
contact safety, retention) imports it without importing the ticket services. Each event joins
the ticket's audit hash chain as it is inserted (`hotline.audit`) and is announced with
`signals.event_recorded` (outgoing webhooks).
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.orm.exc import StaleDataError

from hotline import audit, bulk, signals
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


# The events of a `held` block, written as it ends.
_HELD = "events.held"


@dataclass(eq=False)
class HeldEvent:
    """An event a `held` block writes as a row: what the hash chain and the outbox (the
    `signals.event_recorded` receivers) read of an `Event`."""

    ticket: Ticket
    seq: int
    at: datetime
    action: str
    from_state: str | None
    to_state: str | None
    data: dict = field(default_factory=dict)
    prev_hash: str | None = None
    hash: str | None = None
    id: int | None = None           # given back by the write
    actor_id = None                 # the system's events: no actor, no unit
    unit_id = None
    unit = None

    @property
    def ticket_id(self) -> int:
        return self.ticket.id

    def row(self) -> dict:
        return {"ticket_id": self.ticket.id, "seq": self.seq, "at": self.at, "actor_id": None,
                "unit_id": None, "action": self.action, "from_state": self.from_state,
                "to_state": self.to_state, "data": self.data, "prev_hash": self.prev_hash,
                "hash": self.hash}


@contextmanager
def held() -> Iterator[None]:
    """Events recorded inside with `record_held` are written as the block ends, in one
    statement, chained as they are recorded (`audit.chain_next`): no ORM object to construct,
    flush and give its id back (a batch of clocks records hundreds). Each is announced once
    written, with its id. None is written on an error."""
    with bulk.gathering(_HELD) as events:
        yield
    if not events:
        return
    table = Event.__table__
    written = bulk.insert_rows(table, [event.row() for event in events],
                               returning=[table.c.id, table.c.ticket_id, table.c.seq])
    ids = {(ticket_id, seq): event_id for event_id, ticket_id, seq in written or ()}
    for event in events:
        event.id = ids[(event.ticket.id, event.seq)]
        signals.event_recorded.send(event.action, event=event)


def record_held(ticket: Ticket, action: str, from_state, to_state, data: dict, at: datetime) -> None:
    """`record_event` of the system (no actor), inside a `held` block one row of its write.

    Outside one, or when the ticket's chain head is not known here (an ORM event of the
    ticket waits for the flush), it is `record_event`, whose flush reads the head."""
    events = db.session.info.get(_HELD)
    event = HeldEvent(ticket=ticket, seq=ticket.event_seq + 1, at=at, action=action,
                      from_state=_value(from_state), to_state=_value(to_state), data=data)
    if events is None or not audit.chain_next(event):
        record_event(ticket, None, action, from_state, to_state, data, at=at)
        return
    ticket.event_seq = event.seq
    ticket.updated_at = at
    events.append(event)


# What `record_event` changes on its ticket (with the version the ORM bumps on any change).
_COUNTERS = ("event_seq", "updated_at")


def write_counters(tickets: Iterable[Ticket]) -> None:
    """Write the event counters of many tickets whose rows this transaction has locked, in one
    statement, instead of the ORM's one versioned UPDATE (one round trip) per ticket.

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
    if bulk.arrays():
        given = bulk.rows_of(tickets_table, rows, list(rows[0]))
        stmt = (update(tickets_table)
                .where(tickets_table.c.id == given.c.id_, tickets_table.c.version == given.c.old)
                .values(**{name: given.c[name] for name in (*_COUNTERS, "version")}))
        matched = db.session.connection().execute(stmt).rowcount
    else:
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
