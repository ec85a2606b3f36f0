"""The ticket's event log: appending an event, reading some kinds back.

Depends on: the ticket models, the session and `hotline.signals` only, so every domain that
writes on a ticket's timeline (clocks, callbacks, referrals, channels, contact safety,
retention) imports it without importing the ticket services. Each event joins the ticket's
audit hash chain as it is inserted (`hotline.audit`) and is announced with
`signals.event_recorded` (outgoing webhooks).
"""

from datetime import datetime

from sqlalchemy import select

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


def timeline_entries(ticket: Ticket, *actions: str) -> list[Event]:
    """Events of some kinds on a ticket, oldest first (supervisions, consultations...)."""
    stmt = select(Event).where(Event.ticket_id == ticket.id, Event.action.in_(actions))
    return list(db.session.scalars(stmt.order_by(Event.seq)))


def _value(state) -> str | None:
    return state.value if state is not None else None
