"""Partners, referrals with their consent and events, and mandatory reports (强制报告)."""

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.extensions import db
from hotline.types import UTCDateTime, enum_column, utcnow

if TYPE_CHECKING:
    from hotline.tickets.models import Ticket


class PartnerKind(enum.StrEnum):
    PSYCHOLOGY = "psychology"
    LEGAL_AID = "legal_aid"
    SOCIAL_WORK = "social_work"


SERVICES = {
    PartnerKind.PSYCHOLOGY: ("counselling", "therapy", "crisis_intervention"),
    PartnerKind.LEGAL_AID: ("legal_consultation", "legal_aid", "mediation"),
    PartnerKind.SOCIAL_WORK: ("case_management", "family_support", "counselling"),
}
ALL_SERVICES = sorted({service for services in SERVICES.values() for service in services})


class Partner(db.Model):
    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[PartnerKind] = mapped_column(enum_column(PartnerKind))
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Unit codes covered (a unit covers everything below it); empty = the whole city.
    area: Mapped[list[str]] = mapped_column(JSON, default=list)
    hours: Mapped[str] = mapped_column(String(200), default="")
    capacity_per_week: Mapped[int] = mapped_column(default=10)
    contact: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)


class ReferralState(enum.StrEnum):
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    IN_SERVICE = "in_service"
    COMPLETED = "completed"
    CLOSED = "closed"
    ESCALATED = "escalated"
    REVOKED = "revoked"


class Urgency(enum.StrEnum):
    NORMAL = "normal"
    CRISIS = "crisis"


class Referral(db.Model):
    __tablename__ = "referrals"
    __table_args__ = (Index("ix_referrals_partner_state", "partner_id", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    service: Mapped[str] = mapped_column(String(40))
    urgency: Mapped[Urgency] = mapped_column(enum_column(Urgency))
    state: Mapped[ReferralState] = mapped_column(enum_column(ReferralState), default=ReferralState.SENT)
    # What the partner may see (minimal disclosure).
    child_alias: Mapped[str | None] = mapped_column(String(50))
    child_age: Mapped[int | None] = mapped_column()
    need: Mapped[str] = mapped_column(Text)
    contact_route: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    # Guardian consent (a child under 14) or the emergency override.
    consent_by: Mapped[str | None] = mapped_column(String(100))
    consent_how: Mapped[str | None] = mapped_column(String(50))
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_covers_contact: Mapped[bool] = mapped_column(default=False)
    override_reason: Mapped[str | None] = mapped_column(Text)
    # Progress.
    decline_reason: Mapped[str | None] = mapped_column(Text)
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    follow_up: Mapped[bool | None] = mapped_column()
    proposed_partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    event_seq: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    ticket: Mapped["Ticket"] = relationship(back_populates="referrals")
    partner: Mapped[Partner] = relationship(foreign_keys=[partner_id], lazy="joined")
    proposed_partner: Mapped[Partner | None] = relationship(foreign_keys=[proposed_partner_id])


class ReferralEvent(db.Model):
    """One row per step of a referral; the same step is also an event on its ticket."""

    __tablename__ = "referral_events"
    __table_args__ = (UniqueConstraint("referral_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    seq: Mapped[int] = mapped_column()
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    data: Mapped[dict] = mapped_column(JSON, default=dict)


class ReportState(enum.StrEnum):
    OPEN = "open"              # to be reported to public security
    REPORTED = "reported"      # reported, waiting for the receipt
    RECEIPTED = "receipted"    # receipt recorded: done


class MandatoryReport(db.Model):
    """强制报告: suspected abuse or neglect of a minor, reported to public security in time."""

    __tablename__ = "mandatory_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    suspected: Mapped[str] = mapped_column(String(40))      # abuse, neglect, sexual_abuse...
    what: Mapped[str] = mapped_column(Text)
    reported_to: Mapped[str] = mapped_column(String(100), default="公安机关")
    state: Mapped[ReportState] = mapped_column(enum_column(ReportState), default=ReportState.OPEN)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    report_note: Mapped[str | None] = mapped_column(Text)
    receipt_number: Mapped[str | None] = mapped_column(String(100))
    receipt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReadAudit(db.Model):
    """Who read a children's-desk ticket or a referral, when, through which view; also each
    export (subject "export") and each break-glass reveal (kind "reveal", with the reason).
    Append-only in the database and hash-chained per subject (hotline.audit); on PostgreSQL
    partitioned by month of `at`, primary key (id, at) (hotline.history)."""

    __tablename__ = "read_audit"
    __table_args__ = (Index("ix_read_audit_subject", "subject", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    subject: Mapped[str] = mapped_column(String(20))     # ticket, referral
    subject_id: Mapped[int] = mapped_column()
    view: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # read, export or reveal (break-glass, with its reason)
    kind: Mapped[str] = mapped_column(String(20), default="read", server_default="read")
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSON)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
