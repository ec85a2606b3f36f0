"""Search that understands Chinese: words cut by rjieba, indexed by the database's own engine.

Chinese is written without spaces, so neither PostgreSQL's parser nor SQLite's tokenizer can
find "停水" in "小区停水三天". Text is cut into words here (rjieba: the maintained Rust port of
jieba, its dictionary built into the wheel, no download at run time) and stored space-joined in
a plain table (`ticket_search`); the database indexes that:

- PostgreSQL: a generated `tsvector` column (`to_tsvector('simple', body)`) with a GIN index;
- SQLite: an FTS5 virtual table over the same rows (external content), kept in step by
  triggers.

Both are made by the migration only: they are the engine's, not the models', and
`include_object` keeps them out of the models-vs-migrations comparison. A ticket's document is
rewritten after every flush that touched the ticket or added a note, so it is always one query
with the list's scoping. Phone numbers and names are not in the document: they are matched
apart, only where the viewer sees the caller unmasked.

Depends on: the ticket models and visibility, the read audit, rjieba. The flush listeners
that keep the documents current are registered by `listen` (from `hotline.receivers`), not
as a side effect of importing this module.
"""

import re
from collections.abc import Iterable
from datetime import timedelta

import rjieba
from markupsafe import Markup, escape
from sqlalchemy import (
    ForeignKey,
    Select,
    Text,
    bindparam,
    case,
    delete,
    event,
    func,
    insert,
    inspect,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql import table

from hotline import audit, permissions
from hotline.extensions import db
from hotline.tickets.models import TERMINAL_STATES, Event, Ticket
from hotline.users import User

# What the engines index that the models do not describe (see `include_object`).
ENGINE_TABLES = ("ticket_search_fts", "knowledge_search_fts")
ENGINE_COLUMNS = ("tsv",)
ENGINE_INDEXES = ("ix_ticket_search_tsv", "ix_knowledge_search_tsv")

# Words that say nothing about the matter; dropped from documents and queries alike.
_STOPWORDS_TEXT = """
的 了 吗 呢 啊 吧 呀 嘛 哦 么 着 过 和 与 及 或 就 都 也 还 又 很 太 是 在 有 被 把 给 让 向 从 到 对
我 你 他 她 它 我们 你们 他们 咱 咱们 俺 这 那 这个 那个 这里 那里 这样 那样 怎么 怎么办 怎样 如何 什么
啥 哪 哪里 哪儿 为什么 为啥 多少 几 请问 想 想问 问 问下 问一下 一下 一个 要 能 能不能 可以 可不可以
会 应该 需要 得 请 您 好 你好 喂 那么 这么 现在 已经 没有 不 没 上 下 里 个 家 说 去 来 办 弄 搞
一直 老是 总是 天天 怎么样 如果 的话 但是 可是 所以 因为 然后 知道 告诉 帮 帮忙 一般 哪些
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d")
_NUMBER_START = re.compile(r"^\d{5}-\d{6,8}")     # a ticket number's start: 12345-20261123
_HAN = re.compile(r"[\u4e00-\u9fff]+")
MIN_PHONE_DIGITS = 4


def words(text: str | None, *, for_index: bool = False) -> list[str]:
    """The words of `text`, lower-cased, without punctuation and stopwords.

    Documents are cut finely too (`cut_for_search`: 社保卡 gives 社保 and 社保卡), so a query
    cut plainly finds a longer or a shorter word."""
    if not text:
        return []
    cut = rjieba.cut_for_search(text, hmm=True) if for_index else rjieba.cut(text, hmm=True)
    out = []
    for token in cut:
        for word in _WORD.findall(token.lower()):
            if word not in STOPWORDS and word != "_":
                out.append(word)
    return out


def document(*texts: str | None, characters: bool = False) -> str:
    """The space-joined words of `texts`: what the engines index (with `characters`, each Chinese
    word's characters too, so 黄 finds 发黄: for ranked searches that weigh them low)."""
    found = [word for text in texts for word in words(text, for_index=True)]
    if characters:
        found += _characters(found)
    return " ".join(found)


def _characters(found: list[str]) -> list[str]:
    return [char for word in found if len(word) > 1 and _HAN.fullmatch(word)
            for char in word if char not in STOPWORDS]


def query_words(q: str) -> list[str]:
    """The distinct words of a query, in order."""
    return list(dict.fromkeys(words(q)))


def loose_words(q: str) -> list[str]:
    """A caller's words, cut finely too (垃圾堆 gives 垃圾 and 垃圾堆; 香港旅游 gives 香港 and
    旅游): for searches where any word may match and the best matches come first."""
    found = words(q) + words(q, for_index=True)
    return list(dict.fromkeys(found + _characters(found)))


# --- the engines ----------------------------------------------------------------


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _tsquery_text(terms: list[str], *, any_word: bool = False) -> str:
    """PostgreSQL's tsquery of `terms`: all of them (or any). Terms are \\w+ only (see `words`);
    quoted all the same."""
    return (" | " if any_word else " & ").join("'" + t.replace("'", "''") + "'" for t in terms)


def matches(fts_table: str, key: str, tsv_of: str, terms: list[str], *, any_word: bool, name: str = "hits"):
    """A subquery (`key`, `rank`: lower is better) of the documents that hold all of `terms`
    (or, with `any_word`, any of them)."""
    if _dialect() == "postgresql":
        joined = _tsquery_text(terms, any_word=any_word)
        tsquery = func.to_tsquery(literal_column("'simple'::regconfig"), bindparam(f"{name}_tsq", joined))
        tsv = literal_column(tsv_of)
        return (select(literal_column(key).label("key"), (-func.ts_rank(tsv, tsquery)).label("rank"))
                .select_from(table(tsv_of.split(".")[0]))
                .where(tsv.op("@@")(tsquery)).subquery(name))
    joined = (" OR " if any_word else " AND ").join('"' + t.replace('"', '""') + '"' for t in terms)
    fts = literal_column(fts_table)
    return (select(literal_column("rowid").label("key"), func.bm25(fts).label("rank"))
            .select_from(table(fts_table)).where(fts.op("MATCH")(bindparam(f"{name}_fts", joined)))
            .subquery(name))


# --- tickets --------------------------------------------------------------------


class TicketSearch(db.Model):
    """One ticket's words (subject, content, address, notes, answer and reply), space-joined."""

    __tablename__ = "ticket_search"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    body: Mapped[str] = mapped_column(Text, default="")


def ticket_document(ticket: Ticket, notes: Iterable[str]) -> str:
    return " ".join(filter(None, [
        document(ticket.subject, ticket.content, ticket.address, ticket.resolution_note,
                 ticket.dispatch_note, ticket.reply_result, *notes),
        caller_tokens(ticket.caller_phone, ticket.caller_name)]))


# The caller's phone and name are indexed as tokens of their own (ph<digits>, nm<name>), so a
# search by them is an index lookup too; they are only ever matched apart from the words, under
# the condition that the viewer sees the caller unmasked, and never as words.
_CALLER_TOKEN = re.compile(r"^(ph\d|nm)")


def is_caller_token(word: str) -> bool:
    """A document's phone or name token (ph1391, nm张三), not a word of the matter."""
    return bool(_CALLER_TOKEN.match(word))


def caller_tokens(phone: str | None, name: str | None) -> str:
    """Each run of 4 digits of the phone (any 4+ digits hold them all), and the name and its
    parts of 2+ characters."""
    digits = "".join(_DIGITS.findall(phone or ""))
    grams = {f"ph{digits[i:i + MIN_PHONE_DIGITS]}" for i in range(len(digits) - MIN_PHONE_DIGITS + 1)}
    name = "".join(_WORD.findall((name or "").lower()))
    grams |= {f"nm{name[i:j]}" for i in range(len(name)) for j in range(i + 2, len(name) + 1)}
    return " ".join(sorted(grams))


def _caller_query(q: str) -> tuple[list[str], str | None]:
    """The caller tokens `q` stands for (4+ digits, spaces and dashes aside; or a name), and the
    digits themselves (the tokens find the phones that hold every run of 4, the digits
    confirm they hold them in a row)."""
    bare = re.sub(r"[\s\-]", "", q)
    digits = "".join(_DIGITS.findall(bare))
    if len(digits) >= MIN_PHONE_DIGITS and len(digits) >= len(bare.lstrip("+")) - 1:
        if digits[0] == "0" and digits[:2] != "00" and len(digits) > MIN_PHONE_DIGITS:
            digits = digits[1:]    # a landline's trunk 0: numbers are stored as +86 516...
        return sorted(set(caller_tokens(digits, None).split())), digits
    name = "".join(_WORD.findall(bare.lower()))
    return ([f"nm{name}"] if not digits and 2 <= len(name) <= 20 else []), None


# Events whose words are part of the ticket's document: notes, and the requests of repeat
# callers (appended) and of the tickets merged into it.
INDEXED_EVENTS = ("add_note", "append", "merged_in")


def _note(data: dict | None) -> str:
    data = data or {}
    return " ".join(filter(None, [data.get("note"), data.get("subject"), data.get("content")]))


def reindex(session: Session, tickets: list[Ticket]) -> None:
    """Rewrite the documents of `tickets` (their notes and added requests read from the events)."""
    if not tickets:
        return
    ids = [t.id for t in tickets]
    notes: dict[int, list[str]] = {}
    rows = session.execute(select(Event.ticket_id, Event.data).where(
        Event.ticket_id.in_(ids), Event.action.in_(INDEXED_EVENTS)))
    for ticket_id, data in rows:
        notes.setdefault(ticket_id, []).append(_note(data))
    session.execute(delete(TicketSearch).where(TicketSearch.ticket_id.in_(ids)))
    _insert_documents(session, tickets, notes)


def _insert_documents(session: Session, tickets: list[Ticket], notes: dict[int, list[str]]) -> None:
    if tickets:
        session.execute(insert(TicketSearch), [
            {"ticket_id": t.id, "body": ticket_document(t, notes.get(t.id, []))} for t in tickets])


_TOUCHED = "search.touched"
# Tickets inserted by the flush, with the notes of their events in it: they have no document
# to replace and no earlier events to read (an intake writes its document in one INSERT).
_NEW = "search.new"


def listen() -> None:
    """Reindex the tickets each flush touched (registered once, by `hotline.receivers`)."""
    if not event.contains(Session, "after_flush", _note_touched):
        event.listen(Session, "after_flush", _note_touched)
        event.listen(Session, "after_flush_postexec", _reindex_touched)


# The ticket's columns its document is made of: an action that changes none of them (most do
# not: they move the state and bump the event counter) leaves the document as it is.
SEARCHED = ("subject", "content", "address", "resolution_note", "dispatch_note", "reply_result",
            "caller_phone", "caller_name")


def _note_touched(session: Session, _context) -> None:
    touched = session.info.setdefault(_TOUCHED, {})
    new = session.info.setdefault(_NEW, {})
    for obj in session.new:
        if isinstance(obj, Ticket):
            touched[id(obj)] = obj
            new.setdefault(id(obj), [])
    for obj in session.new:
        if isinstance(obj, Event) and obj.action in INDEXED_EVENTS and obj.ticket is not None:
            touched[id(obj.ticket)] = obj.ticket
            if id(obj.ticket) in new:
                new[id(obj.ticket)].append(_note(obj.data))
    for obj in session.dirty:
        if isinstance(obj, Ticket) and _changed(obj, SEARCHED):
            touched[id(obj)] = obj


def _changed(ticket: Ticket, names: tuple[str, ...]) -> bool:
    """Whether any of `names` has changed; only attributes set since loading are looked at (a
    batch of clocks dirties hundreds of tickets, setting none of the searched columns)."""
    state = inspect(ticket)
    return any(state.attrs[name].history.has_changes() for name in names if name in state.committed_state)


def _reindex_touched(session: Session, _context) -> None:
    touched = session.info.pop(_TOUCHED, None)
    new = session.info.pop(_NEW, None) or {}
    if touched:
        tickets = [t for t in touched.values() if t.id is not None]
        with session.no_autoflush:
            reindex(session, [t for t in tickets if id(t) not in new])
            _insert_documents(session, [t for t in tickets if id(t) in new],
                              {t.id: new[id(t)] for t in tickets if id(t) in new})


def ticket_filter(stmt: Select, viewer: User, q: str) -> tuple[Select, list]:
    """`stmt` narrowed to the tickets `q` finds, and the ORDER BY of relevance.

    `q` finds a ticket by its number (whole, or its start: 12345-20261123), by 4+ digits of the
    caller's phone or the caller's name (only where `viewer` sees the caller unmasked: masked
    digits find nothing), or by all of its words. Each is an index lookup; their union, best
    rank per ticket, is joined to the list, so its scoping and sorts apply as always."""
    q = q.strip()
    by_number = Ticket.number == q
    if _NUMBER_START.match(q):
        by_number = or_(by_number, Ticket.number.startswith(q, autoescape=True))
    # Ranks: lower is better; the number itself first, then the caller, then the words' rank.
    found = [select(Ticket.id.label("key"), literal(-1e9).label("rank")).where(by_number)]
    caller = permissions.caller_visible(viewer)
    caller_terms, digits = _caller_query(q)
    if caller_terms and caller is not None:
        by_caller = matches("ticket_search_fts", "ticket_search.ticket_id", "ticket_search.tsv", caller_terms,
                            any_word=False, name="caller")
        confirm = Ticket.caller_phone.contains(digits, autoescape=True) if digits else true()
        found.append(select(by_caller.c.key, literal(-1e6).label("rank"))
                     .join(Ticket, Ticket.id == by_caller.c.key).where(caller, confirm))
    terms = [t for t in query_words(q) if not _CALLER_TOKEN.match(t)]
    if terms:
        hits = matches("ticket_search_fts", "ticket_search.ticket_id", "ticket_search.tsv", terms,
                       any_word=False, name="words")
        found.append(select(hits.c.key, hits.c.rank))
    union = union_all(*found).subquery("found")
    best = (select(union.c.key, func.min(union.c.rank).label("rank"))
            .group_by(union.c.key).subquery("best"))
    return stmt.join(best, best.c.key == Ticket.id), [best.c.rank]


def very_common(q: str, cap: int) -> bool:
    """Whether more than `cap` tickets of the whole centre hold all the words of `q` (PostgreSQL;
    False on SQLite or without words). PostgreSQL's estimate answers first (one planning, no
    reading); words that go together (电梯 坏 没人修: the estimate multiplies their shares as if
    they did not) are then counted, at most cap + 1 of them."""
    terms = [t for t in query_words(q) if not _CALLER_TOKEN.match(t)]
    if not terms or _dialect() != "postgresql":
        return False
    params = {"q": _tsquery_text(terms), "cap": cap + 1}
    plan = db.session.execute(text(f"EXPLAIN (FORMAT JSON) {_MATCHING}"), params).scalar()
    if int(plan[0]["Plan"]["Plan Rows"]) > cap:
        return True
    return db.session.scalar(text(f"SELECT count(*) FROM ({_MATCHING} LIMIT :cap) AS found"), params) > cap


_MATCHING = "SELECT 1 FROM ticket_search WHERE tsv @@ to_tsquery('simple', :q)"


def common_words_filter(stmt: Select, q: str) -> Select:
    """`stmt` narrowed to the tickets holding all the words of `q` (PostgreSQL, see
    `very_common`), as a condition on each ticket (EXISTS) rather than a join: for words
    found in very many tickets, a list newest first then walks the tickets (or a unit's scope
    rows) from the newest, probes each one's document and stops at the page (10-40 ms at
    1,000,000 tickets), instead of reading every match.

    The match is wrapped in a CASE on purpose: PostgreSQL would estimate `tsv @@ q` from each
    word's share as if the words were independent (118 tickets for 电梯 坏 没人修, which 49,552
    hold), read every match through the GIN index and sort them (2 s). A CASE it cannot see
    into gets the default third: it then walks."""
    terms = [t for t in query_words(q) if not _CALLER_TOKEN.match(t)]
    joined = _tsquery_text(terms)
    tsquery = func.to_tsquery(literal_column("'simple'::regconfig"), bindparam("common_tsq", joined))
    holds = case((literal_column("ticket_search.tsv").op("@@")(tsquery), 1), else_=0) > 0
    probe = select(TicketSearch.ticket_id).where(TicketSearch.ticket_id == Ticket.id, holds)
    return stmt.where(probe.exists())


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic: leave the search engines' own objects (FTS5 tables and their shadow tables, the
    generated tsvector columns and their GIN indexes) out of the models comparison."""
    if type_ == "table" and name and name.startswith(ENGINE_TABLES):
        return False
    if type_ == "column" and reflected and name in ENGINE_COLUMNS:
        return False
    return not (type_ == "index" and reflected and name in ENGINE_INDEXES)


# --- showing what was found -------------------------------------------------------


def highlight(text: str | None, q: str, *, width: int | None = None) -> Markup:
    """`text` escaped, with the words of `q` (and `q` itself) in <mark>; with `width`, only
    about that many characters around the first match."""
    text = text or ""
    terms = sorted({*query_words(q), q.strip()} - {""}, key=len, reverse=True)
    # Adjacent words are one mark: 幸福小区, not 幸福 and 小区.
    alternatives = "|".join(re.escape(t) for t in terms)
    pattern = re.compile(f"(?:{alternatives})+", re.IGNORECASE) if terms else None
    if width is not None and len(text) > width:
        first = pattern.search(text) if pattern else None
        start = max(0, (first.start() if first else 0) - width // 3)
        text = ("…" if start else "") + text[start:start + width] + ("…" if start + width < len(text) else "")
    if pattern is None:
        return escape(text)
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last:match.start()]))
        out.append(Markup("<mark>%s</mark>") % match.group(0))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


# --- the same matter ---------------------------------------------------------------

SIMILAR_DAYS = 7        # how far apart in time two calls about one matter usually are
SIMILAR_WORDS = 12      # the ticket's longest words asked for


def similar_tickets(viewer: User, ticket_id: int, limit: int = 10) -> list[Ticket]:
    """Open tickets `viewer` may see that are likely about the same matter as this one: opened
    within SIMILAR_DAYS of it, in the same area (its location unit) or at the same address, with
    words of its subject and content; the most alike first."""
    ticket = permissions.get_visible_ticket(viewer, ticket_id)
    # The matter's words, not the place's: the place is matched apart (a lamp and a leak on one
    # estate are two matters).
    place = set(words(ticket.address, for_index=True))
    matter = {t for t in words(f"{ticket.subject} {ticket.content}")
              if t not in place and not _CALLER_TOKEN.match(t)}
    terms = sorted(matter, key=lambda t: (-len(t), t))[:SIMILAR_WORDS]
    same_place = [Ticket.address == ticket.address] if ticket.address else []
    if ticket.location_unit_id is not None:
        same_place.append(Ticket.location_unit_id == ticket.location_unit_id)
    if not terms and not same_place:
        return []
    window = timedelta(days=SIMILAR_DAYS)
    stmt = permissions.visible_tickets(viewer).where(
        Ticket.id != ticket.id, Ticket.state.not_in(TERMINAL_STATES),
        Ticket.created_at.between(ticket.created_at - window, ticket.created_at + window))
    if same_place:
        stmt = stmt.where(or_(*same_place))
    if terms:
        hits = matches("ticket_search_fts", "ticket_search.ticket_id", "ticket_search.tsv", terms,
                       any_word=True, name="alike")
        stmt = stmt.join(hits, hits.c.key == Ticket.id).order_by(hits.c.rank)
    found = list(db.session.scalars(stmt.order_by(Ticket.id.desc()).limit(limit)))
    audit.audit_children(viewer, [ticket, *found], "similar")
    return found
