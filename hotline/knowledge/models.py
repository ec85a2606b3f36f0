"""Knowledge articles, their versions, their search documents and the searches that found nothing."""

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.extensions import db
from hotline.types import UTCDateTime, enum_column, utcnow
from hotline.units import Unit
from hotline.users import User


class ArticleState(enum.StrEnum):
    DRAFT = "draft"            # written by a unit, a seat or an editor
    SUBMITTED = "submitted"    # waiting for the centre's editor
    PUBLISHED = "published"    # what seats see at intake
    RETIRED = "retired"        # kept, readable in history, never suggested


class Article(db.Model):
    __tablename__ = "knowledge_articles"
    __table_args__ = (Index("ix_knowledge_articles_state", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    # The questions callers actually ask, one phrasing a line.
    questions: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64), default="")
    units: Mapped[list] = mapped_column(JSON, default=list)       # unit codes it applies to ([] = all)
    areas: Mapped[list] = mapped_column(JSON, default=list)       # districts/places it applies to
    keywords: Mapped[list] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(500), default="")  # the policy file and its number
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    owner_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    state: Mapped[ArticleState] = mapped_column(enum_column(ArticleState), default=ArticleState.DRAFT)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    owner_unit: Mapped[Unit | None] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship()
    versions: Mapped[list["ArticleVersion"]] = relationship(
        back_populates="article", order_by="ArticleVersion.id", cascade="all, delete-orphan")


class ArticleVersion(db.Model):
    """What an article said at each version, and who changed its state or text (history)."""

    __tablename__ = "knowledge_article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version", "action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("knowledge_articles.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))     # create, edit, submit, publish, retire
    state: Mapped[str] = mapped_column(String(16))
    snapshot: Mapped[dict] = mapped_column(JSON)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    article: Mapped[Article] = relationship(back_populates="versions")
    by: Mapped[User | None] = relationship()


class ArticleSearch(db.Model):
    """One article's words, space-joined (indexed like `hotline.search.TicketSearch`)."""

    __tablename__ = "knowledge_search"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_articles.id", ondelete="CASCADE"), primary_key=True)
    body: Mapped[str] = mapped_column(Text, default="")


class SearchMiss(db.Model):
    """A knowledge search that found nothing: the gaps list the editors work from."""

    __tablename__ = "knowledge_search_misses"
    __table_args__ = (Index("ix_knowledge_search_misses_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    q: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ArticleFlag(db.Model):
    """A seat (or any author) says an article is wrong: its owner unit is notified."""

    __tablename__ = "knowledge_article_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("knowledge_articles.id", ondelete="CASCADE"),
                                            index=True)
    version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))

    by: Mapped[User | None] = relationship()


class ArticleNotice(db.Model):
    """A notice sent about an article version (its valid-to date is near): one per article,
    version and kind, so the scheduled job may run any number of times."""

    __tablename__ = "knowledge_article_notices"
    __table_args__ = (UniqueConstraint("article_id", "version", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("knowledge_articles.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
