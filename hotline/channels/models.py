"""What Twilio tells us: calls, their status reports, and the SMS citizens send.

Each row is keyed by Twilio's Sid (a status report by Sid and status), and webhooks
write them with `insert_or_ignore`, so a retried or duplicated webhook is a no-op.
"""

import enum
import functools
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.extensions import db
from hotline.tickets.models import Desk, Ticket
from hotline.types import UTCDateTime, enum_column, utcnow


class CallState(enum.StrEnum):
    """Where an inbound call is, as the seats see it (moves forward only)."""

    RINGING = "ringing"            # arrived, the caller is in the menu
    QUEUED = "queued"              # a desk was chosen, waiting for a seat
    IN_PROGRESS = "in-progress"    # a seat has the caller
    COMPLETED = "completed"        # over, however it ended


CALL_STATE_ORDER = {state: rank for rank, state in enumerate(CallState)}
LIVE_CALL_STATES = (CallState.RINGING, CallState.QUEUED, CallState.IN_PROGRESS)


class SmsOutcome(enum.StrEnum):
    """What an inbound SMS became."""

    TICKET = "ticket"                  # a new intake ticket
    NOTE = "note"                      # a note on the sender's open ticket
    SURVEY_ANSWER = "survey_answer"    # the rating of a callback survey
    OPTED_OUT = "opted_out"            # 退订/TD/STOP...: no ticket (hotline.contact_safety)
    OPTED_IN = "opted_in"              # START/订阅 back


class Call(db.Model):
    """An inbound call to the hotline number."""

    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_state_id", "state", "id"),
        Index("ix_calls_from_number", "from_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str] = mapped_column(String(32), default="")
    to_number: Mapped[str] = mapped_column(String(32), default="")
    state: Mapped[CallState] = mapped_column(enum_column(CallState, 16), default=CallState.RINGING)
    # Twilio's own CallStatus (ringing, in-progress, completed, busy, no-answer...), forward only.
    twilio_status: Mapped[str | None] = mapped_column(String(20))
    desk: Mapped[Desk | None] = mapped_column(enum_column(Desk))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ticket: Mapped[Ticket | None] = relationship()


class StatusEvent(db.Model):
    """One status report Twilio posted for a call or a message we sent; replays are ignored."""

    __tablename__ = "twilio_status_events"
    __table_args__ = (UniqueConstraint("sid", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(8))     # "call" or "message"
    detail: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboundSms(db.Model):
    """A text a citizen sent to the hotline number, and what it became."""

    __tablename__ = "inbound_sms"
    __table_args__ = (Index("ix_inbound_sms_processed_at", "processed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str] = mapped_column(String(32), default="")
    to_number: Mapped[str] = mapped_column(String(32), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    num_media: Mapped[int] = mapped_column(default=0)
    # An MMS's media as Twilio listed them: [{"url", "content_type"}], fetched by a job into
    # the ticket's attachments (hotline.attachments.mms).
    media: Mapped[list | None] = mapped_column(JSON)
    media_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[SmsOutcome | None] = mapped_column(enum_column(SmsOutcome, 16))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ticket: Mapped[Ticket | None] = relationship()


class SurveyKey(db.Model):
    """A key a citizen pressed on a survey call (回访), stored before anything is done with it.

    One per call (a retried webhook is a no-op); `tasks.process_survey_key` applies it to the
    ticket once and sets `processed_at`, so a key whose processing keeps failing stays here,
    unprocessed, until the sweep retries it successfully.
    """

    __tablename__ = "survey_keys"
    __table_args__ = (Index("ix_survey_keys_ticket_cycle", "ticket_id", "cycle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    cycle: Mapped[int] = mapped_column(default=0)
    digits: Mapped[str] = mapped_column(String(8))
    outcome: Mapped[str | None] = mapped_column(String(16))     # recorded / ignored
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


def insert_or_ignore(model: type[db.Model], values: dict, *unique: str) -> int | None:
    """INSERT … ON CONFLICT (unique) DO NOTHING; the new row's id, or None when it existed.

    A Core statement on the table, built once per shape and dialect (the webhooks run it on
    every request, and the ORM's bulk-insert path costs more than the insert itself).
    """
    dialect = db.session.get_bind().dialect.name
    stmt = _insert_statement(model.__table__, tuple(sorted(values)), unique, dialect)
    return db.session.execute(stmt, values).scalar_one_or_none()


@functools.cache
def _insert_statement(table, columns: tuple[str, ...], unique: tuple[str, ...], dialect: str):
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (insert(table).values({name: bindparam(name, type_=table.c[name].type) for name in columns})
            .on_conflict_do_nothing(index_elements=list(unique))
            .returning(table.c.id))


def single_statement() -> None:
    """This request writes one row with one INSERT, atomic on its own: run it in autocommit
    and save the BEGIN and COMMIT round trips (the webhooks' latency budget is tight).

    Call it before the request's first statement; the pool restores the isolation level
    when the connection is returned. `session.commit()` still fires the after-commit hooks.
    """
    db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
