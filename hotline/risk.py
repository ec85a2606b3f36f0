"""Risk assessment (风险评估) of a child's case: a few structured questions, not keywords only.

A seat (or supervisor) answers each question yes / no / unknown; every submission is kept
with who answered and when (the latest one is the ticket's current level). The level:

- high:   immediate danger; or a self-harm plan AND the means at hand; or violence or abuse
          at home or school AND no safe adult to turn to.
- medium: any self-harm thought, plan or means; violence or abuse; no safe adult; or
          immediate danger not known yet (ask again).
- low:    none of the above.

High puts the ticket on the crisis path (`enter_crisis_path`: priority crisis, supervisor
alerted, clocks under crisis limits); medium raises a normal ticket to urgent. An assessment
never lowers a priority: a seat decides that. Whether the child's location is known does not
change the level; unknown, the crisis panel tells the seat to ask it first.

Depends on: ticket visibility, the read audit, users (the crisis path is the machine's effect).
"""

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline import audit, permissions
from hotline.extensions import db
from hotline.types import UTCDateTime, enum_column, utcnow
from hotline.users import User


class Answer(enum.StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class RiskLevel(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


# The questions, in the order they are asked.
QUESTIONS = ("immediate_danger", "self_harm_thoughts", "self_harm_plan", "self_harm_means",
             "violence_or_abuse", "safe_adult", "location_known")


class RiskAssessment(db.Model):
    """One submitted assessment of a ticket: every answer, the level, the seat and the time."""

    __tablename__ = "risk_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    immediate_danger: Mapped[Answer] = mapped_column(enum_column(Answer, 8))
    self_harm_thoughts: Mapped[Answer] = mapped_column(enum_column(Answer, 8))
    self_harm_plan: Mapped[Answer] = mapped_column(enum_column(Answer, 8))
    self_harm_means: Mapped[Answer] = mapped_column(enum_column(Answer, 8))
    violence_or_abuse: Mapped[Answer] = mapped_column(enum_column(Answer, 8))
    safe_adult: Mapped[Answer] = mapped_column(enum_column(Answer, 8))
    location_known: Mapped[Answer] = mapped_column(enum_column(Answer, 8))
    level: Mapped[RiskLevel] = mapped_column(enum_column(RiskLevel, 8))
    note: Mapped[str | None] = mapped_column(Text)
    assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    assessed_by: Mapped[User | None] = relationship(lazy="joined")

    def answers(self) -> dict[str, str]:
        return {question: getattr(self, question).value for question in QUESTIONS}


def level_of(answers: dict[str, Answer]) -> RiskLevel:
    """The documented rule (module docstring) from the answers."""
    yes = {q for q, a in answers.items() if a == Answer.YES}
    no = {q for q, a in answers.items() if a == Answer.NO}
    if ("immediate_danger" in yes or {"self_harm_plan", "self_harm_means"} <= yes
            or ("violence_or_abuse" in yes and "safe_adult" in no)):
        return RiskLevel.HIGH
    if (yes & {"self_harm_thoughts", "self_harm_plan", "self_harm_means", "violence_or_abuse"}
            or "safe_adult" in no or answers.get("immediate_danger") == Answer.UNKNOWN):
        return RiskLevel.MEDIUM
    return RiskLevel.LOW


def record(ticket, actor: User | None, data: dict, now: datetime) -> RiskAssessment:
    """Store one assessment of `ticket` (unanswered questions count as unknown)."""
    answers = {q: Answer(data.get(q) or Answer.UNKNOWN) for q in QUESTIONS}
    assessment = RiskAssessment(ticket_id=ticket.id, **answers, level=level_of(answers),
                                note=data.get("note"), assessed_by_id=actor.id if actor else None,
                                assessed_at=now)
    db.session.add(assessment)
    db.session.flush()
    return assessment


def assessments(ticket_id: int) -> list[RiskAssessment]:
    """Every assessment of a ticket, newest first."""
    return list(db.session.scalars(select(RiskAssessment).where(RiskAssessment.ticket_id == ticket_id)
                                   .order_by(RiskAssessment.id.desc())))


def latest(ticket_id: int) -> RiskAssessment | None:
    return db.session.scalar(select(RiskAssessment).where(RiskAssessment.ticket_id == ticket_id)
                             .order_by(RiskAssessment.id.desc()).limit(1))


def ticket_assessments(actor: User, ticket_id: int) -> list[RiskAssessment]:
    """The assessments of a ticket `actor` may see (404 otherwise), newest first; a read of a
    child's ticket is audited like any other."""
    ticket = permissions.get_visible_ticket(actor, ticket_id)
    audit.log_read(actor, "ticket", ticket.id, "risk")
    return assessments(ticket.id)


def summary(assessment: RiskAssessment | None, *, answers: bool = True) -> dict | None:
    """The latest assessment as the ticket and the partner show it (`answers` when allowed)."""
    if assessment is None:
        return None
    shown = {"level": assessment.level.value, "assessed_at": assessment.assessed_at.isoformat()}
    if answers:
        shown["answers"] = assessment.answers()
    return shown
