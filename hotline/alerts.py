"""Crisis alerts: a notice of kind `crisis` to the dispatchers and supervisors, which every one
of them sees as a banner (with a sound) on any console page until they acknowledge it. A
hotspot alert (kind `hotspot`, hotline.hotspots) is the supervisors' banner the same way.

The notice is the centre's (one per role, see `notices`); the acknowledgement is each user's
own (`AlertAcknowledgement`: who, when, which notice and so which ticket), so one
dispatcher's click does not silence the alert for the others.

Depends on: notices and the ticket models only; raised by the crisis path
(`hotline.tickets.crisis_path`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ForeignKey, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from hotline import notices
from hotline.errors import NotFound
from hotline.extensions import db
from hotline.notices import Notice
from hotline.tickets.models import TERMINAL_STATES, Ticket
from hotline.types import UTCDateTime, utcnow
from hotline.users import Role, User

KIND = "crisis"
# A hotspot (hotline.hotspots): many callers about one matter in one place; the supervisors'.
HOTSPOT = "hotspot"
KINDS = (KIND, HOTSPOT)
# Who is alerted: the centre's staff who act on a crisis at once.
ALERTED = (Role.DISPATCHER, Role.SUPERVISOR)
# An alert older than this (a past shift) is no longer raised on a page; it stays a notice.
DEFAULT_HOURS = 12
SHOWN_AT_MOST = 5


class AlertAcknowledgement(db.Model):
    """One user's click on one crisis alert: it is not shown to that user again."""

    __tablename__ = "alert_acknowledgements"
    __table_args__ = (UniqueConstraint("notice_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass
class Alert:
    id: int
    ticket_id: int | None
    number: str | None
    message: str
    created_at: datetime
    kind: str = KIND


def raise_crisis(ticket: Ticket, message: str) -> None:
    """A new crisis ticket or a crisis escalation: every dispatcher and supervisor is alerted."""
    for role in ALERTED:
        notices.notify_role(role, ticket, KIND, message)


def raise_hotspot(first: Ticket, message: str) -> None:
    """A new hotspot: the supervisors are alerted, the message listing its tickets."""
    notices.notify_role(Role.SUPERVISOR, first, HOTSPOT, message)


def _window_start() -> datetime:
    return utcnow() - timedelta(hours=current_app.config.get("CONSOLE_ALERT_HOURS", DEFAULT_HOURS))


def pending(user: User) -> list[Alert]:
    """The crisis alerts `user` has not acknowledged, newest first: of the last shift, on
    tickets still open."""
    if user.role not in ALERTED:
        return []
    acknowledged = select(AlertAcknowledgement.notice_id).where(AlertAcknowledgement.user_id == user.id)
    stmt = (select(Notice, Ticket.number)
            .join(Ticket, Ticket.id == Notice.ticket_id)
            .where(Notice.role == user.role.value, Notice.kind.in_(KINDS),
                   Notice.created_at >= _window_start(),
                   Ticket.state.not_in([state.value for state in TERMINAL_STATES]),
                   Notice.id.not_in(acknowledged))
            .order_by(Notice.id.desc()).limit(SHOWN_AT_MOST))
    return [Alert(notice.id, notice.ticket_id, number, notice.message, notice.created_at, notice.kind)
            for notice, number in db.session.execute(stmt)]


def acknowledge(user: User, notice_id: int) -> AlertAcknowledgement:
    """Record `user`'s acknowledgement (once; a second click returns the first)."""
    notice = db.session.get(Notice, notice_id)
    if (notice is None or user.role not in ALERTED or notice.kind not in KINDS
            or notice.role != user.role.value):
        raise NotFound(error="alert.not_found", params={"notice": notice_id})
    existing = db.session.scalar(select(AlertAcknowledgement).where(
        AlertAcknowledgement.notice_id == notice.id, AlertAcknowledgement.user_id == user.id))
    if existing is not None:
        return existing
    ack = AlertAcknowledgement(notice_id=notice.id, user_id=user.id, ticket_id=notice.ticket_id,
                               acknowledged_at=utcnow())
    db.session.add(ack)
    db.session.flush()
    return ack
