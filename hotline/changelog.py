"""The administration change log: who created, changed, reset, moved or imported what, when.

Each service that changes what a centre administers (hotline.admin, the calendar, the rules,
the outbox, sessions) records its change here in the same transaction, so a change and its
record commit (or roll back) together. Reading it, as each role may, is
`hotline.admin.changes.visible`.

Depends on: the session, types and users only, so any layer may record a change.
"""

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from hotline.extensions import db
from hotline.types import UTCDateTime, to_json, utcnow
from hotline.users import User


class Subject(enum.StrEnum):
    USER = "user"
    UNIT = "unit"
    PARTNER = "partner"
    # The rules a centre edits (hotline.rulebook: time_limits, routing, crisis_words).
    RULES = "rules"
    CALENDAR = "calendar"
    OUTBOX = "outbox"
    SESSION = "session"


class AdminEvent(db.Model):
    __tablename__ = "admin_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Who did it: a user, or the operator at the terminal (no user, actor "(cli)").
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(80), index=True)
    action: Mapped[str] = mapped_column(String(32))
    # What changed: {field: [before, after]} for an edit, the new values for a creation.
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


def record(actor: User | None, subject: Subject, key: str, action: str, detail: dict | None = None) -> None:
    """Record a change by `actor` (None: the operator at the terminal)."""
    db.session.add(AdminEvent(actor_id=actor.id if actor else None,
                              actor=actor.username if actor else "(cli)", subject=subject.value, key=key,
                              action=action, detail=to_json(detail or {})))


def diff(before: dict, after: dict) -> dict:
    """{field: [before, after]} of the fields whose value changed."""
    return {name: [before.get(name), value] for name, value in after.items() if before.get(name) != value}


def edit_action(before: dict, after: dict, default: str = "update") -> str:
    """`deactivate` or `reactivate` when `active` flipped, else `default`."""
    flips = {(True, False): "deactivate", (False, True): "reactivate"}
    return flips.get((before.get("active"), after.get("active")), default)


def recent(subject: Subject | None = None, key: str | None = None, limit: int = 200) -> list[AdminEvent]:
    stmt = select(AdminEvent).order_by(AdminEvent.at.desc(), AdminEvent.id.desc()).limit(limit)
    if subject is not None:
        stmt = stmt.where(AdminEvent.subject == subject.value)
    if key:
        stmt = stmt.where(AdminEvent.key == key)
    return list(db.session.scalars(stmt))
