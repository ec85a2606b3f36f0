"""The ticket and what hangs off it: co-units, the audit events, the daily number counter.

Depends on: the clock models (a ticket's timers), units and users; a ticket's referrals are
named by string (`referrals.models` maps them): `referrals` is imported for type checking only.
"""

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, select, text
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from hotline.clocks.models import Timer
from hotline.extensions import db
from hotline.types import UTCDateTime, enum_column, utcnow
from hotline.units import Unit
from hotline.users import User

if TYPE_CHECKING:
    from referrals.models import Referral


class Desk(enum.StrEnum):
    GENERAL = "general"
    CHILDREN = "children"
    HARD_CASE = "hard_case"


class Channel(enum.StrEnum):
    VOICE = "voice"
    SMS = "sms"
    WEB = "web"
    WALK_IN = "walk_in"


class Category(enum.StrEnum):
    CONSULTATION = "consultation"
    HELP = "help"
    COMPLAINT = "complaint"
    REPORT = "report"
    SUGGESTION = "suggestion"
    PSYCH_SUPPORT = "psych_support"
    LEGAL = "legal"
    RIGHTS_VIOLATION = "rights_violation"


class Priority(enum.StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    CRISIS = "crisis"


class TicketState(enum.StrEnum):
    INTAKE = "intake"
    PENDING_DISPATCH = "pending_dispatch"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RETURN_REQUESTED = "return_requested"
    REPLIED = "replied"
    CALLBACK_PENDING = "callback_pending"
    CLOSED = "closed"
    TRANSFERRED = "transferred"
    REJECTED = "rejected"
    MERGED = "merged"


TERMINAL_STATES = frozenset(
    {TicketState.CLOSED, TicketState.TRANSFERRED, TicketState.REJECTED, TicketState.MERGED}
)
# A unit holds the ticket: dispatched to it, in its hands, or its return asked for.
OPEN_HANDLING = (TicketState.DISPATCHED, TicketState.IN_PROGRESS, TicketState.RETURN_REQUESTED)
NOT_TERMINAL = tuple(state for state in TicketState if state not in TERMINAL_STATES)


class Resolution(enum.StrEnum):
    ANSWERED = "answered"          # 直接答复
    TRANSFERRED = "transferred"    # 转出 110/119/120/122
    REJECTED = "rejected"          # 不予受理
    MERGED = "merged"              # 并单
    SATISFIED = "satisfied"        # closed after a satisfied, resolved callback
    UNREACHABLE = "unreachable"    # closed after the last failed callback attempt


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        # List paging is newest first by id, within a state, desk or lead unit.
        Index("ix_tickets_state_id", "state", "id"),
        Index("ix_tickets_lead_unit_id", "lead_unit_id", "id"),
        # A unit's inbox: what it leads in one state (to acknowledge, in progress).
        Index("ix_tickets_lead_unit_state", "lead_unit_id", "state"),
        Index("ix_tickets_desk_id", "desk", "id"),
        Index("ix_tickets_caller_phone", "caller_phone"),
        # The tickets of the last hours (hotspots, every minute); a report's volumes read from
        # the index alone on PostgreSQL (a week of a province is 200,000 tickets).
        Index("ix_tickets_created_at", "created_at",
              postgresql_include=["category", "channel", "desk", "location_unit_id"]),
        # The reports' crisis lists: the few crisis tickets, newest first.
        # The queue order: the crisis and urgent tickets without a clock, newest first.
        Index("ix_tickets_high_priority_id", "priority", "id",
              postgresql_where=text("priority IN ('crisis', 'urgent')"),
              sqlite_where=text("priority IN ('crisis', 'urgent')")),
        Index("ix_tickets_crisis_created_at", "created_at", postgresql_where=text("priority = 'crisis'"),
              sqlite_where=text("priority = 'crisis'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    desk: Mapped[Desk] = mapped_column(enum_column(Desk))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    category: Mapped[Category] = mapped_column(enum_column(Category))
    priority: Mapped[Priority] = mapped_column(enum_column(Priority))
    state: Mapped[TicketState] = mapped_column(enum_column(TicketState), default=TicketState.INTAKE)
    subject: Mapped[str] = mapped_column(String(200), default="")
    content: Mapped[str] = mapped_column(Text)

    caller_phone: Mapped[str | None] = mapped_column(String(32))
    caller_name: Mapped[str | None] = mapped_column(String(100))
    caller_is_minor: Mapped[bool] = mapped_column(default=False)
    caller_age: Mapped[int | None] = mapped_column(Integer)

    location_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    address: Mapped[str | None] = mapped_column(String(500))
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))

    resolution: Mapped[Resolution | None] = mapped_column(enum_column(Resolution))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    transfer_to: Mapped[str | None] = mapped_column(String(8))
    reply_result: Mapped[str | None] = mapped_column(Text)
    reply_resolved: Mapped[bool | None] = mapped_column()
    callback_attempts: Mapped[int] = mapped_column(default=0)
    callback_reached: Mapped[bool | None] = mapped_column()
    callback_resolved: Mapped[bool | None] = mapped_column()
    callback_satisfied: Mapped[bool | None] = mapped_column()
    callback_rating: Mapped[int | None] = mapped_column()  # 1 满意, 2 基本满意, 3 不满意
    rework_count: Mapped[int] = mapped_column(default=0)       # 重办 cycles
    return_count: Mapped[int] = mapped_column(default=0)       # 退单 requests approved
    pending_extension_days: Mapped[int | None] = mapped_column()
    pending_extension_reason: Mapped[str | None] = mapped_column(Text)
    extended_days: Mapped[int] = mapped_column(default=0)
    dispatch_note: Mapped[str | None] = mapped_column(Text)
    supervise_count: Mapped[int] = mapped_column(default=0)    # 督办

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)   # data retention
    # The last event's seq; bumped with every action so events stay gapless.
    event_seq: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)
    # The hash of the event numbered `event_seq`, when a query asked for it with the row
    # (`permissions.get_visible_ticket` for an action): the next event chains to it unread.
    last_event_hash: Mapped[str | None] = query_expression()

    __mapper_args__ = {"version_id_col": version}

    location_unit: Mapped[Unit | None] = relationship(foreign_keys=[location_unit_id])
    lead_unit: Mapped[Unit | None] = relationship(foreign_keys=[lead_unit_id])
    created_by: Mapped[User | None] = relationship()
    merged_into: Mapped["Ticket | None"] = relationship(remote_side=[id])
    co_unit_links: Mapped[list["TicketCoUnit"]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TicketCoUnit.unit_id"
    )
    timers: Mapped[list[Timer]] = relationship(cascade="all, delete-orphan", order_by=Timer.id)
    referrals: Mapped[list["Referral"]] = relationship(back_populates="ticket", order_by="Referral.id")

    def __repr__(self) -> str:
        return f"<Ticket {self.number} {self.state}>"

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def co_units(self) -> list[Unit]:
        return [link.unit for link in self.co_unit_links]

    def co_unit_link(self, unit: Unit | None) -> "TicketCoUnit | None":
        return next((link for link in self.co_unit_links if unit and link.unit_id == unit.id), None)


class TicketCoUnit(db.Model):
    """A co-unit (协办) of a ticket with its acknowledgement and opinion (协办意见)."""

    __tablename__ = "ticket_co_units"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opinion: Mapped[str | None] = mapped_column(Text)
    opinion_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ticket: Mapped[Ticket] = relationship(back_populates="co_unit_links")
    unit: Mapped[Unit] = relationship(lazy="joined")


class TicketScope(db.Model):
    """One row per unit that may see a ticket: its lead and co-units and their ancestors.

    Kept by `permissions.rescope` whenever the units change, so "tickets of my unit
    and below" is one indexed lookup instead of a tree walk per request.
    """

    __tablename__ = "ticket_scopes"
    __table_args__ = (Index("ix_ticket_scopes_unit_ticket", "unit_id", "ticket_id"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)


class Event(db.Model):
    """One row per action on a ticket, state change or not. Append-only. On PostgreSQL the
    table is partitioned by month of `at` (hotline.history), so its keys hold `at`: the
    primary key is (id, at) there and the uniqueness is (ticket_id, seq, at)."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        UniqueConstraint("ticket_id", "seq", "at"),
        Index("ix_ticket_events_action_at", "action", "at"),   # KPIs: one action's events in a period
        Index("ix_ticket_events_at", "at"),   # KPI rollups: the tickets touched since the mark
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    seq: Mapped[int] = mapped_column()
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # The hash chain of the ticket's log (hotline.audit): sha256 of this row's canonical
    # content and the previous row's hash. Rows are append-only in the database.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    # One way only: adding an event must not load the ticket's whole timeline.
    ticket: Mapped[Ticket] = relationship()
    actor: Mapped[User | None] = relationship(lazy="joined")
    unit: Mapped[Unit | None] = relationship(lazy="joined")


# A ticket's `last_event_hash` (`with_expression`): the hash of its event numbered `event_seq`.
LAST_EVENT_HASH = (select(Event.hash).where(Event.ticket_id == Ticket.id, Event.seq == Ticket.event_seq)
                   .correlate(Ticket).scalar_subquery())


class TicketCounter(db.Model):
    """The last ticket number handed out on one Shanghai calendar day."""

    __tablename__ = "ticket_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)
