"""Notices to units (督办通知, overdue notices...): what a unit's inbox shows until read.

Depends on: units and users only: any domain may leave a notice.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline import bulk
from hotline.errors import NotFound
from hotline.extensions import db
from hotline.types import UTCDateTime, utcnow
from hotline.units import Unit
from hotline.users import Role, User


class Notice(db.Model):
    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_unit_read", "unit_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # For the centre's boards (supervisor, dispatcher) rather than a unit.
    role: Mapped[str | None] = mapped_column(String(20))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit | None] = relationship(lazy="joined")


def notify_unit(unit: Unit, ticket, kind: str, message: str, actor: User | None = None) -> Notice:
    return _leave(Notice(unit=unit, unit_id=unit.id, ticket_id=ticket.id if ticket else None, kind=kind,
                         message=message, created_by_id=actor.id if actor else None,
                         created_at=utcnow()))


def notify_role(role: Role, ticket, kind: str, message: str) -> Notice:
    return _leave(Notice(role=role.value, ticket_id=ticket.id if ticket else None, kind=kind,
                         message=message, created_at=utcnow()))


def tell_unit(unit: Unit, ticket, kind: str, message: str) -> None:
    """`notify_unit` from the system, when the notice is not wanted back: in a `held` block
    only its row (no ORM object, a batch of clocks leaves hundreds)."""
    if not _tell({"unit_id": unit.id, "role": None}, ticket, kind, message):
        notify_unit(unit, ticket, kind, message)


def tell_role(role: Role, ticket, kind: str, message: str) -> None:
    """`notify_role` when the notice is not wanted back (see `tell_unit`)."""
    if not _tell({"unit_id": None, "role": role.value}, ticket, kind, message):
        notify_role(role, ticket, kind, message)


# The notices of a `held` block, written as it ends.
_HELD = "notices.held"
_COLUMNS = ("unit_id", "role", "ticket_id", "kind", "message", "created_at", "created_by_id")


@contextmanager
def held() -> Iterator[None]:
    """Notices left inside are written as the block ends, in one statement: no ORM object to
    flush nor id to read back for each (a batch of clocks leaves hundreds). None on an error."""
    with bulk.gathering(_HELD) as rows:
        yield
    bulk.insert_rows(Notice.__table__, rows)


def _tell(to: dict, ticket, kind: str, message: str) -> bool:
    """In a `held` block, keep the notice's row and say True."""
    rows = db.session.info.get(_HELD)
    if rows is None:
        return False
    rows.append({**to, "ticket_id": ticket.id if ticket else None, "kind": kind, "message": message,
                 "created_at": utcnow(), "created_by_id": None})
    return True


def _leave(notice: Notice) -> Notice:
    """Add the notice, or (in a `held` block) keep its row for the block's one write."""
    rows = db.session.info.get(_HELD)
    if rows is None:
        db.session.add(notice)
    else:
        rows.append({name: getattr(notice, name) for name in _COLUMNS})
    return notice


def notices_for(user: User, unread_only: bool = False, limit: int = 100) -> list[Notice]:
    """A handler's unit notices, or the notices addressed to the user's role."""
    stmt = select(Notice).order_by(Notice.id.desc()).limit(limit)
    if user.role == Role.HANDLER:
        stmt = stmt.where(Notice.unit_id == user.unit_id)
    else:
        stmt = stmt.where(Notice.role == user.role.value)
    if unread_only:
        stmt = stmt.where(Notice.read_at.is_(None))
    return list(db.session.scalars(stmt))


def mark_read(user: User, notice_id: int) -> Notice:
    notice = next((n for n in notices_for(user, limit=10_000) if n.id == notice_id), None)
    if notice is None:
        raise NotFound(error="notice.not_found", params={"notice": notice_id})
    if notice.read_at is None:
        db.session.execute(update(Notice).where(Notice.id == notice.id).values(read_at=utcnow()))
        notice.read_at = utcnow()
    return notice
