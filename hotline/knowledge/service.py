"""Knowledge services: write articles through their workflow, search them, count their use.

Services write and flush; the request that calls them commits once.

Depends on: the knowledge models and workflow, search, ticket visibility and models (an
article's use is read from the ticket events), units and users.
"""

import math
from collections import Counter
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import delete, func, insert, or_, select

from hotline import kpis, notices, permissions, search
from hotline.clocks.calendar import SHANGHAI
from hotline.errors import Conflict, Invalid, NotFound
from hotline.extensions import db
from hotline.knowledge.models import (
    Article,
    ArticleFlag,
    ArticleNotice,
    ArticleSearch,
    ArticleState,
    ArticleVersion,
    SearchMiss,
)
from hotline.knowledge.workflow import ArticleWorkflow
from hotline.tickets.models import Event, Resolution, Ticket
from hotline.types import to_json, utcnow
from hotline.units import get_by_code
from hotline.users import Role, User

FIELDS = ("title", "questions", "answer", "category", "units", "areas", "keywords", "source",
          "valid_from", "valid_to")
# Candidates read from the engine per search, then ranked here (BM25 with the words' rarity).
CANDIDATES = 300
BM25_K1, BM25_B = 1.2, 0.75
SINGLE_CHARACTER = 0.5
WIDEN_BELOW = 20      # fewer candidates than this by whole words: ask for the characters too


def create_article(actor: User, data: dict) -> Article:
    """A draft, by anyone who may use the knowledge base (units propose, editors publish)."""
    permissions.check_knowledge_author(actor)
    article = Article(created_by=actor, state=ArticleState.DRAFT, version=1, created_at=utcnow(),
                      updated_at=utcnow())
    _apply(article, data, owner=data.get("owner_unit") or (actor.unit.code if actor.unit else None))
    db.session.add(article)
    db.session.flush()
    _record(article, actor, "create")
    _index([article])
    return article


def get_article(actor: User, article_id: int) -> Article:
    permissions.check_knowledge_author(actor)
    article = db.session.get(Article, article_id)
    if article is None:
        raise NotFound(error="knowledge.not_found", params={"article": article_id})
    return article


def list_articles(actor: User, state: str | None = None) -> list[Article]:
    permissions.check_knowledge_author(actor)
    stmt = select(Article).order_by(Article.id.desc())
    if state:
        stmt = stmt.where(Article.state == ArticleState(state))
    return list(db.session.scalars(stmt))


def update_article(actor: User, article_id: int, data: dict) -> Article:
    """Edit: drafts and submitted articles by their author or an editor; a published article by
    an editor only (a new version, still published; the old text stays in the history)."""
    article = get_article(actor, article_id)
    if article.state == ArticleState.RETIRED:
        raise Conflict(error="knowledge.wrong_state",
                       params={"article_state": article.state, "article_action": "edit"})
    if article.state == ArticleState.PUBLISHED or article.created_by_id != actor.id:
        permissions.check_knowledge_editor(actor)
    _apply(article, data, owner=data.get("owner_unit"))
    article.version += 1
    article.updated_at = utcnow()
    db.session.flush()
    _record(article, actor, "edit")
    _index([article])
    return article


def perform(actor: User, article_id: int, action: str) -> Article:
    """submit (the author or an editor), publish and retire (editors)."""
    article = get_article(actor, article_id)
    if action != "submit" or article.created_by_id != actor.id:
        permissions.check_knowledge_editor(actor)
    ArticleWorkflow(article, actor).run(action)
    article.updated_at = utcnow()
    db.session.flush()
    _record(article, actor, action)
    return article


def _apply(article: Article, data: dict, owner: str | None) -> None:
    for field in FIELDS:
        if field in data and data[field] is not None:
            setattr(article, field, data[field])
    if "question" in data and data["question"] and not data.get("questions"):
        article.questions = data["question"]    # API.md's singular name
    check_units({"units": article.units})
    if owner:
        unit = get_by_code(owner)
        if unit is None:
            raise Invalid(errors={"owner_unit": ["unknown unit"]}, error="unit.unknown",
                          params={"unit": owner})
        article.owner_unit = unit
    if article.valid_from and article.valid_to and article.valid_to < article.valid_from:
        raise Invalid(errors={"valid_to": ["before valid_from"]}, error="knowledge.valid_to_before_from")


def check_units(data: dict) -> None:
    """422 naming the first unknown unit code of `data["units"]`."""
    for code in data.get("units") or []:
        if get_by_code(code) is None:
            raise Invalid(errors={"units": [f"unknown unit {code}"]}, error="unit.unknown",
                          params={"unit": code})


def snapshot(article: Article) -> dict:
    return to_json({field: getattr(article, field) for field in FIELDS})


def _record(article: Article, actor: User | None, action: str) -> None:
    db.session.add(ArticleVersion(article_id=article.id, version=article.version, action=action,
                                  state=article.state.value, snapshot=snapshot(article),
                                  by_id=actor.id if actor else None, at=utcnow()))


def article_document(article: Article) -> str:
    """Title, the callers' questions and the keywords count twice: they say what it is about."""
    about = [article.title, article.questions, " ".join(article.keywords or [])]
    return search.document(*about, *about, article.category, article.answer, characters=True)


def _index(articles: list[Article]) -> None:
    ids = [a.id for a in articles]
    db.session.execute(delete(ArticleSearch).where(ArticleSearch.article_id.in_(ids)))
    db.session.execute(insert(ArticleSearch), [
        {"article_id": a.id, "body": article_document(a)} for a in articles])


def reindex_all() -> int:
    articles = list(db.session.scalars(select(Article)))
    if articles:
        _index(articles)
    return len(articles)


# --- search -----------------------------------------------------------------------


def today() -> date:
    return datetime.now(SHANGHAI).date()


def _in_force(day: date):
    return (Article.state == ArticleState.PUBLISHED,
            or_(Article.valid_from.is_(None), Article.valid_from <= day),
            or_(Article.valid_to.is_(None), Article.valid_to >= day))


def search_articles(actor: User, q: str, unit: str | None = None, limit: int = 5,
                    record_miss: bool = True) -> list[tuple[Article, float, list[str]]]:
    """The published articles in force that best answer `q`: (article, score, matched words),
    best first. `unit`: those for that unit (or for all units). A search that finds nothing
    is kept for the editors (the gaps list)."""
    permissions.check_knowledge_author(actor)
    terms = search.loose_words(q)
    found = _ranked(terms, unit, limit) if terms else []
    if not found and record_miss and q.strip():
        db.session.add(SearchMiss(q=q.strip()[:200], at=utcnow(), user_id=actor.id))
    return found


def _candidates(terms: list[str]) -> list[tuple[Article, list[str]]]:
    """The in-force articles holding any of `terms`, the engine's best first, with their words."""
    hits = search.matches("knowledge_search_fts", "knowledge_search.article_id", "knowledge_search.tsv",
                          terms, any_word=True)
    stmt = (select(Article, ArticleSearch.body).join(hits, hits.c.key == Article.id)
            .join(ArticleSearch, ArticleSearch.article_id == Article.id)
            .where(*_in_force(today())).order_by(hits.c.rank).limit(CANDIDATES))
    return [(a, body.split()) for a, body in db.session.execute(stmt)]


def _ranked(terms: list[str], unit: str | None, limit: int) -> list[tuple[Article, float, list[str]]]:
    # Whole words first: single characters match most of a large base and make the engine rank
    # it all. Only when words find few articles are the characters asked too (黄 for 发黄).
    words = [term for term in terms if len(term) > 1]
    rows = _candidates(words) if words else []
    if len(rows) < WIDEN_BELOW and len(words) < len(terms):
        rows = _candidates(terms)
    if unit:
        rows = [(a, words) for a, words in rows if not a.units or unit in a.units]
    if not rows:
        return []
    total = db.session.scalar(select(func.count()).select_from(Article).where(*_in_force(today())))
    counts = [Counter(words) for _, words in rows]
    average = sum(len(words) for _, words in rows) / len(rows) or 1
    rarity = {}
    for term in terms:
        having = sum(1 for c in counts if term in c)
        rarity[term] = math.log(1 + (max(total, len(rows)) - having + 0.5) / (having + 0.5))
    scored = []
    for (article, words), count in zip(rows, counts, strict=True):
        score, matched = 0.0, []
        for term in terms:
            tf = count.get(term, 0)
            if tf:
                matched.append(term)
                norm = BM25_K1 * (1 - BM25_B + BM25_B * len(words) / average)
                # One character says less than a word (用, 掉, 水): it counts half.
                weight = SINGLE_CHARACTER if len(term) == 1 else 1.0
                score += weight * rarity[term] * tf * (BM25_K1 + 1) / (tf + norm)
        scored.append((article, round(score, 4), matched))
    scored.sort(key=lambda item: (-item[1], -item[0].id))
    return scored[:limit]


# --- use and figures --------------------------------------------------------------


def article_for_answer(actor: User, article_id: int) -> Article:
    """The published article a direct answer was read from (422 when there is none)."""
    article = db.session.get(Article, article_id)
    if article is None or article.state != ArticleState.PUBLISHED:
        raise Invalid(errors={"article": ["unknown or not published"]}, error="knowledge.not_published",
                      params={"article": article_id})
    return article


def _answers(since: datetime | None) -> tuple[int, Counter, int, int]:
    """Direct answers since `since` (all, by article) and tickets with a resolution created
    since (all, answered directly). From the KPI facts (`kpis.facts`: the rollups) when `since`
    is the start of a Shanghai day, as on the KPI page; else counted here."""
    by_article: Counter = Counter()
    local = since.astimezone(SHANGHAI) if since is not None else None
    if local is not None and local.time() == time():
        found = kpis.facts(local.date(), today(), (kpis.KB_ANSWERS, kpis.KB_CLOSED))
        answers = 0
        for unit, (_, total) in found.units[kpis.KB_ANSWERS].items():
            answers += total
            if unit and int(unit) and total:
                by_article[int(unit)] += total
        closed = found.units[kpis.KB_CLOSED].values()
        return answers, by_article, sum(total for _, total in closed), sum(hits for hits, _ in closed)
    article = Event.data["article"].as_integer()
    stmt = select(article, func.count()).where(Event.action == "answer").group_by(article)
    resolved = select(func.count(), func.count().filter(Ticket.resolution == Resolution.ANSWERED)).where(
        Ticket.resolution.is_not(None))
    if since is not None:
        stmt = stmt.where(Event.at >= since)
        resolved = resolved.where(Ticket.created_at >= since)
    answers = 0
    for article_id, count in db.session.execute(stmt):   # a row per article, counted there
        answers += count
        if article_id:
            by_article[int(article_id)] += count
    tickets, direct = db.session.execute(resolved).one()
    return answers, by_article, tickets, direct


def figures(actor: User, since: datetime | None = None) -> dict:
    """For editors: direct answers by article, published articles never used, the searches that
    found nothing, and the direct-answer rate with and without an article."""
    permissions.check_knowledge_editor(actor)
    misses = select(SearchMiss.q, func.count().label("n"), func.max(SearchMiss.at).label("last"))
    if since is not None:
        misses = misses.where(SearchMiss.at >= since)
    answers, by_article, tickets, direct = _answers(since)
    articles = {a.id: a for a in db.session.scalars(select(Article))}
    with_article = sum(by_article.values())
    return {
        "answers": answers,
        "with_article": with_article,
        "without_article": answers - with_article,
        "closed_tickets": tickets or 0,
        "direct_rate": round(direct / tickets, 3) if tickets else None,
        "direct_rate_with_article": round(with_article / tickets, 3) if tickets else None,
        "direct_rate_without_article":
            round(((direct or 0) - with_article) / tickets, 3) if tickets else None,
        "by_article": [{"id": aid, "title": articles[aid].title if aid in articles else "?", "answers": n}
                       for aid, n in by_article.most_common()],
        "never_used": [{"id": a.id, "title": a.title} for a in articles.values()
                       if a.state == ArticleState.PUBLISHED and a.id not in by_article],
        "misses": [{"q": q, "count": n, "last": last} for q, n, last in db.session.execute(
            misses.group_by(SearchMiss.q).order_by(func.count().desc(), SearchMiss.q).limit(100))],
    }


# --- telling the owner ------------------------------------------------------------
#
# An article's owner unit hears when its article nears its valid-to date (the minute sweep,
# once per article version) and whenever someone flags it as wrong. An article without an
# owner unit tells the editors (the supervisors' notices) instead.

EXPIRING = "expiring"
DEFAULT_EXPIRY_NOTICE_DAYS = 14


def _tell_owner(article: Article, kind: str, message: str, actor: User | None = None) -> notices.Notice:
    if article.owner_unit is not None:
        notice = notices.notify_unit(article.owner_unit, None, kind, message, actor)
    else:
        notice = notices.notify_role(Role.SUPERVISOR, None, kind, message)
    db.session.flush()
    return notice


def notify_expiring(day: date | None = None) -> int:
    """Published articles whose valid-to date falls within KNOWLEDGE_EXPIRY_NOTICE_DAYS (or has
    passed): one notice to the owner per article and version (a new version, e.g. with a later
    date, is told again if it too is near its end). How many notices were sent."""
    day = day or today()
    ahead = int(current_app.config.get("KNOWLEDGE_EXPIRY_NOTICE_DAYS", DEFAULT_EXPIRY_NOTICE_DAYS))
    told = select(ArticleNotice.id).where(ArticleNotice.article_id == Article.id,
                                          ArticleNotice.version == Article.version,
                                          ArticleNotice.kind == EXPIRING)
    due = db.session.scalars(select(Article).where(
        Article.state == ArticleState.PUBLISHED, Article.valid_to.is_not(None),
        Article.valid_to <= day + timedelta(days=ahead), ~told.exists()).order_by(Article.id)).all()
    for article in due:
        left = (article.valid_to - day).days
        when = f"{left} 天后到期" if left > 0 else ("今天到期" if left == 0 else f"已过期 {-left} 天")
        notice = _tell_owner(article, "knowledge_expiring",
                             f"知识条目 #{article.id}“{article.title}”（第 {article.version} 版）有效期至 "
                             f"{article.valid_to.isoformat()}，{when}，请更新或停用")
        db.session.add(ArticleNotice(article_id=article.id, version=article.version, kind=EXPIRING,
                                     notice_id=notice.id, at=utcnow()))
    db.session.flush()
    return len(due)


def flag_article(actor: User, article_id: int, reason: str, ticket_id: int | None = None) -> ArticleFlag:
    """A seat says the article is wrong (out of date, a wrong answer...): kept with the version
    it saw, and its owner unit is notified."""
    article = get_article(actor, article_id)
    if article.state != ArticleState.PUBLISHED:
        raise Conflict(error="knowledge.flag_unpublished")
    if ticket_id is not None:
        ticket_id = permissions.get_visible_ticket(actor, ticket_id).id
    notice = _tell_owner(article, "knowledge_flagged",
                         f"知识条目 #{article.id}“{article.title}”（第 {article.version} 版）被报告有误："
                         f"{reason}", actor)
    flag = ArticleFlag(article_id=article.id, version=article.version, reason=reason, ticket_id=ticket_id,
                       by_id=actor.id, at=utcnow(), notice_id=notice.id)
    db.session.add(flag)
    db.session.flush()
    return flag


def flags(actor: User, article_id: int | None = None) -> list[ArticleFlag]:
    permissions.check_knowledge_author(actor)
    stmt = select(ArticleFlag).order_by(ArticleFlag.id.desc()).limit(200)
    if article_id is not None:
        stmt = stmt.where(ArticleFlag.article_id == article_id)
    return list(db.session.scalars(stmt))
