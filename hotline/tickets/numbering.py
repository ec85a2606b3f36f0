"""Ticket numbers like 12345-20261123-000042: a per-day counter, safe under concurrency."""

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite

from hotline.clocks.calendar import SHANGHAI
from hotline.extensions import db
from hotline.tickets.models import TicketCounter


def next_number(now: datetime) -> str:
    """Atomically take the next number of `now`'s Shanghai calendar day."""
    day = now.astimezone(SHANGHAI).strftime("%Y%m%d")
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(TicketCounter).values(day=day, last=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[TicketCounter.day], set_={"last": TicketCounter.last + 1}
    ).returning(TicketCounter.last)
    last = db.session.execute(stmt).scalar_one()
    return f"12345-{day}-{last:06d}"
