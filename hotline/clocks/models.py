"""Timers: one row per running clock of a ticket, with its absolute `due_at`.

Depends on: the session and column types only. A timer names its ticket and referral by
foreign key (`tickets.id`, `referrals.id`); the clocks import neither.
"""

import enum
from datetime import date, datetime

from sqlalchemy import BindParameter, Date, ForeignKey, Index, String, UniqueConstraint, bindparam, text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.extensions import db
from hotline.types import UTCDateTime, enum_column, utcnow


class TimerKind(enum.StrEnum):
    DISPATCH = "dispatch"
    ACKNOWLEDGE = "acknowledge"
    RESPOND = "respond"
    HANDLE = "handle"
    REVIEW = "review"
    CALLBACK = "callback"
    # Referral clocks (referrals package) run on the same machinery.
    ACCEPT = "accept"
    FIRST_CONTACT = "first_contact"
    OUTCOME = "outcome"


# The clocks a unit runs against (the centre's own are dispatch, review and callback).
UNIT_CLOCKS = (TimerKind.ACKNOWLEDGE, TimerKind.RESPOND, TimerKind.HANDLE)

class TimerState(enum.StrEnum):
    RUNNING = "running"
    WARNED = "warned"
    OVERDUE = "overdue"
    MET = "met"
    CANCELLED = "cancelled"


OPEN_TIMER_STATES = (TimerState.RUNNING, TimerState.WARNED, TimerState.OVERDUE)
# The same as SQL, for the partial index of open clocks (a query using it names the states
# as literals, so that PostgreSQL and SQLite can tell the index covers it).
OPEN_TIMER_STATES_SQL = "state IN ({})".format(", ".join(f"'{state.value}'" for state in OPEN_TIMER_STATES))
STOPPED_LATE_SQL = "stopped_at > due_at"


def open_states(name: str = "open_states") -> BindParameter:
    """The open states for `Timer.state.in_(...)`, written into the SQL as literals (not sent as
    parameters), so that PostgreSQL and SQLite can tell the partial indexes of open clocks cover
    the query."""
    return bindparam(name, [state.value for state in OPEN_TIMER_STATES], expanding=True,
                     literal_execute=True)


class Timer(db.Model):
    __tablename__ = "timers"
    __table_args__ = (
        Index("ix_timers_ticket_kind", "ticket_id", "kind"),
        Index("ix_timers_state_due", "state", "due_at"),
        Index("ix_timers_state_warn", "state", "warn_at"),
        # Open clocks only, whatever the history of met ones: "which tickets are overdue"
        # (the ticket list's overdue filter) without reading a timer row.
        Index("ix_timers_open_ticket_due", "ticket_id", "due_at",
              postgresql_where=text(OPEN_TIMER_STATES_SQL), sqlite_where=text(OPEN_TIMER_STATES_SQL)),
        Index("ix_timers_started_at", "started_at"),   # KPIs: the clocks started in a period
        # The queue order: open clocks by due, walked until a page is full (ordering.priority_segments).
        Index("ix_timers_open_due", "due_at", "ticket_id",
              postgresql_where=text(OPEN_TIMER_STATES_SQL), sqlite_where=text(OPEN_TIMER_STATES_SQL)),
        # The clocks stopped late, by stop: a report's overdue list of a past day (due before
        # its end, stopped after it) without reading every met clock of every year.
        Index("ix_timers_stopped_late", "stopped_at",
              postgresql_where=text(STOPPED_LATE_SQL), sqlite_where=text(STOPPED_LATE_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    # Set for a referral's clocks (accept, first contact, outcome); they live on its ticket.
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"), index=True)
    kind: Mapped[TimerKind] = mapped_column(enum_column(TimerKind))
    state: Mapped[TimerState] = mapped_column(enum_column(TimerState), default=TimerState.RUNNING)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The due before any extension, kept for KPIs.
    original_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The due was computed on a year the official calendar does not know yet (the law's
    # holidays only): recomputed when an admin declares the year.
    provisional: Mapped[bool] = mapped_column(default=False, server_default=text("false"))

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_TIMER_STATES


class CalendarDay(db.Model):
    """A local override of the statutory calendar: this date is (or is not) a working day."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column()
    note: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(80))


class CalendarYear(db.Model):
    """A year whose holidays an admin entered as overrides (chinesecalendar lacks it yet)."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(String(200), default="")
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    declared_by: Mapped[str | None] = mapped_column(String(80))


class TimerFiring(db.Model):
    """One row per fired level of a timer and due time: the exactly-once guarantee."""

    __tablename__ = "timer_firings"
    __table_args__ = (UniqueConstraint("timer_id", "level", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    timer_id: Mapped[int] = mapped_column(ForeignKey("timers.id"))
    level: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
