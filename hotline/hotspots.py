"""Hotspots (热点诉求): many callers about one matter in one place within a short time.

The minute sweep (`tasks.sweep`) calls `detect`: the tickets opened in the last window
(HOTSPOT_WINDOW_MINUTES, default 120) are grouped by their place (the location unit); within a
place, the word of the matter that most of them share (停水, 噪音...: their search words, less
the place's own words, the caller tokens and HOTSPOT_GENERIC_WORDS) makes a cluster once at
least HOTSPOT_MIN_TICKETS (default 5) hold it. A new cluster is a `Hotspot` and the supervisors
get an alert listing its tickets (`alerts.raise_hotspot`); a ticket of the same place and word
arriving while the hotspot is fresh (its last ticket within the window) joins it. A ticket is in
at most one hotspot (the primary key of `hotspot_tickets`), so running `detect` again, or twice
at once, finds nothing new.

Children's-desk tickets are never part of a hotspot (their callers' matters are their own).

`dispatch` sends a hotspot to one unit as one matter: its first ticket waiting for dispatch is
dispatched, the others still at the centre are merged into it (their requests show on it), and
those already with a unit are left as they are.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline import alerts, permissions, search
from hotline.clocks.calendar import SHANGHAI
from hotline.errors import Conflict, Forbidden, NotFound
from hotline.extensions import db
from hotline.tickets import service as tickets
from hotline.tickets.models import Desk, Ticket, TicketState
from hotline.types import UTCDateTime, utcnow
from hotline.units import Unit
from hotline.users import User

DEFAULT_MIN_TICKETS = 5
DEFAULT_WINDOW_MINUTES = 120
# Words any caller in any place says: never the matter of a hotspot.
DEFAULT_GENERIC_WORDS = frozenset([
    "小区", "居民", "反映", "问题", "市民", "业主", "家里", "家", "情况", "希望", "处理",
    "解决", "部门", "相关", "投诉", "咨询", "求助", "举报", "今天", "昨天", "明天",
    "早上", "上午", "中午", "下午", "晚上", "半夜", "现在", "附近", "地方", "这边",
    "那边", "号楼", "单元", "栋", "楼", "号", "区", "街道", "社区", "村", "路",
    "还是", "一直", "时候", "没人", "没有人", "不能", "不行", "严重", "影响", "生活",
    "导致", "发现", "出现", "造成", "已经", "联系", "电话", "物业", "要求", "尽快"
])
OPEN, DISPATCHED = "open", "dispatched"
AT_THE_CENTRE = (TicketState.INTAKE, TicketState.PENDING_DISPATCH)


class Hotspot(db.Model):
    __tablename__ = "hotspots"
    __table_args__ = (Index("ix_hotspots_place_keyword_last", "place_unit_id", "keyword", "last_at"),
                      Index("ix_hotspots_last_at", "last_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    place_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    keyword: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(32))      # the most common among its tickets
    state: Mapped[str] = mapped_column(String(16), default=OPEN)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    primary_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    dispatched_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    place: Mapped[Unit] = relationship(foreign_keys=[place_unit_id], lazy="joined")
    dispatched_unit: Mapped[Unit | None] = relationship(foreign_keys=[dispatched_unit_id])
    links: Mapped[list["HotspotTicket"]] = relationship(
        back_populates="hotspot", order_by="HotspotTicket.ticket_id", cascade="all, delete-orphan")

    @property
    def tickets(self) -> list[Ticket]:
        return [link.ticket for link in self.links]


class HotspotTicket(db.Model):
    """A ticket's place in a hotspot (at most one hotspot per ticket)."""

    __tablename__ = "hotspot_tickets"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    hotspot_id: Mapped[int] = mapped_column(ForeignKey("hotspots.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    hotspot: Mapped[Hotspot] = relationship(back_populates="links")
    ticket: Mapped[Ticket] = relationship()


def _config() -> tuple[int, timedelta, frozenset[str]]:
    config = current_app.config
    generic = config.get("HOTSPOT_GENERIC_WORDS")
    return (int(config.get("HOTSPOT_MIN_TICKETS", DEFAULT_MIN_TICKETS)),
            timedelta(minutes=int(config.get("HOTSPOT_WINDOW_MINUTES", DEFAULT_WINDOW_MINUTES))),
            frozenset(generic) if generic is not None else DEFAULT_GENERIC_WORDS)


@dataclass
class _Recent:
    ticket: Ticket
    words: set[str] = field(default_factory=set)


def detect(now: datetime | None = None) -> int:
    """Find new hotspots and grow fresh ones from the tickets of the last window; how many
    hotspots were made or grew. Idempotent."""
    now = now or utcnow()
    minimum, window, generic = _config()
    since = now - window
    rows = db.session.execute(
        select(Ticket, search.TicketSearch.body)
        .join(search.TicketSearch, search.TicketSearch.ticket_id == Ticket.id)
        .outerjoin(HotspotTicket, HotspotTicket.ticket_id == Ticket.id)
        .where(Ticket.created_at > since, Ticket.created_at <= now, Ticket.location_unit_id.is_not(None),
               Ticket.state != TicketState.MERGED, Ticket.desk != Desk.CHILDREN,
               HotspotTicket.ticket_id.is_(None))
        .order_by(Ticket.id)).all()
    by_place: dict[int, list[_Recent]] = defaultdict(list)
    for ticket, body in rows:
        by_place[ticket.location_unit_id].append(_Recent(ticket, _matter_words(ticket, body, generic)))
    changed = 0
    for place_id, recent in by_place.items():
        changed += _grow(place_id, recent, since)
        changed += _cluster(place_id, recent, minimum)
    if changed:
        db.session.flush()
    return changed


def _matter_words(ticket: Ticket, body: str, generic: frozenset[str]) -> set[str]:
    place = set(search.words(ticket.address, for_index=True))
    if ticket.location_unit is not None:
        place |= set(search.words(ticket.location_unit.name, for_index=True))
    return {word for word in body.split() if len(word) > 1 and not word.isdigit()
            and not search.is_caller_token(word) and word not in place and word not in generic}


def _grow(place_id: int, recent: list[_Recent], since: datetime) -> int:
    """Fresh hotspots of this place take the new tickets that say their word."""
    fresh = db.session.scalars(select(Hotspot).where(
        Hotspot.place_unit_id == place_id, Hotspot.last_at > since).order_by(Hotspot.id)).all()
    grown = 0
    for hotspot in fresh:
        joining = [item for item in recent if hotspot.keyword in item.words]
        if joining:
            _add(hotspot, [item.ticket for item in joining])
            recent[:] = [item for item in recent if item not in joining]
            grown += 1
    return grown


def _cluster(place_id: int, recent: list[_Recent], minimum: int) -> int:
    made = 0
    while len(recent) >= minimum:
        counts = Counter(word for item in recent for word in item.words)
        # The word most of them share; among equals the longer (more specific), then any fixed one.
        word, count = min(counts.items(), key=lambda kv: (-kv[1], -len(kv[0]), kv[0]), default=("", 0))
        if count < minimum:
            break
        members = [item.ticket for item in recent if word in item.words]
        category = Counter(t.category.value for t in members).most_common(1)[0][0]
        hotspot = Hotspot(place_unit_id=place_id, keyword=word, category=category, state=OPEN,
                          first_at=members[0].created_at, last_at=members[0].created_at,
                          created_at=utcnow(), links=[])
        db.session.add(hotspot)
        _add(hotspot, members)
        db.session.flush()
        alerts.raise_hotspot(members[0], _message(hotspot, members))
        recent[:] = [item for item in recent if word not in item.words]
        made += 1
    return made


def _add(hotspot: Hotspot, members: list[Ticket]) -> None:
    for ticket in members:
        hotspot.links.append(HotspotTicket(ticket=ticket, added_at=utcnow()))
        hotspot.first_at = min(hotspot.first_at, ticket.created_at)
        hotspot.last_at = max(hotspot.last_at, ticket.created_at)


def _message(hotspot: Hotspot, members: list[Ticket]) -> str:
    numbers = "、".join(t.number for t in members)
    return (f"热点诉求：{hotspot.place.name}“{hotspot.keyword}”{len(members)} 件"
            f"（{numbers}），可合并派单")


# --- reading and acting ----------------------------------------------------------------------


def check_manager(user: User) -> None:
    if not permissions.sees_boards(user):      # the boards' readers (hotline.permissions)
        raise Forbidden(error="hotspot.forbidden", params={"role": user.role})


PERIODS = {"day": 0, "week": 6}      # the board's periods: days before today's start (Beijing)


def board_since(period: str) -> datetime:
    today = datetime.now(SHANGHAI).date()
    return datetime.combine(today - timedelta(days=PERIODS[period]), time(), SHANGHAI)


def board(user: User, since: datetime) -> list[Hotspot]:
    """The hotspots whose last ticket came after `since`, newest first."""
    check_manager(user)
    return list(db.session.scalars(select(Hotspot).where(Hotspot.last_at >= since)
                                   .order_by(Hotspot.last_at.desc(), Hotspot.id.desc())))


def summary(hotspots: list[Hotspot]) -> list[dict]:
    """Hotspots and their tickets by district and category (the board's table)."""
    districts = _districts({h.place_unit_id: h.place for h in hotspots})
    cells: dict[tuple[str, str], dict] = {}
    for hotspot in hotspots:
        key = (districts[hotspot.place_unit_id], hotspot.category)
        cell = cells.setdefault(key, {"district": key[0], "category": key[1], "hotspots": 0, "tickets": 0})
        cell["hotspots"] += 1
        cell["tickets"] += len(hotspot.links)
    return sorted(cells.values(), key=lambda c: (-c["tickets"], c["district"], c["category"]))


def district_of(hotspot: Hotspot) -> str:
    return _districts({hotspot.place_unit_id: hotspot.place})[hotspot.place_unit_id]


def _districts(places: dict[int, Unit]) -> dict[int, str]:
    """Each place's county or district (the second level of the tree: /xz/gulou/...)."""
    codes = {uid: ([c for c in unit.path.split("/") if c][1:2] or [unit.code])[0]
             for uid, unit in places.items()}
    names = dict(db.session.execute(
        select(Unit.code, Unit.name).where(Unit.code.in_(set(codes.values())))).all())
    return {uid: names.get(code, code) for uid, code in codes.items()}


def get(user: User, hotspot_id: int) -> Hotspot:
    check_manager(user)
    hotspot = db.session.get(Hotspot, hotspot_id)
    if hotspot is None:
        raise NotFound(error="hotspot.not_found", params={"hotspot": hotspot_id})
    return hotspot


@dataclass
class Dispatched:
    hotspot: Hotspot
    primary: Ticket
    merged: list[Ticket]
    left: list[Ticket]      # already with a unit or closed: left as they are


def dispatch(user: User, hotspot_id: int, unit: str, note: str | None = None) -> Dispatched:
    """One matter to one unit: the first ticket waiting for dispatch (or the one dispatched
    before) takes the others still at the centre, merged in; it is dispatched to `unit`."""
    hotspot = get(user, hotspot_id)
    members = sorted(hotspot.tickets, key=lambda t: t.id)
    primary = next((t for t in members if t.id == hotspot.primary_ticket_id and not t.is_terminal), None) \
        or next((t for t in members if t.state == TicketState.PENDING_DISPATCH), None)
    if primary is None:
        raise Conflict(error="hotspot.nothing_to_dispatch")
    if primary.state == TicketState.PENDING_DISPATCH:
        primary = tickets.perform(user, primary.id, "dispatch", {
            "unit": unit, "co_units": [], "note": note or f"热点诉求“{hotspot.keyword}”合并派单"})
    merged, left = [], []
    for ticket in members:
        if ticket.id == primary.id:
            continue
        if ticket.state in AT_THE_CENTRE:
            merged.append(tickets.perform(user, ticket.id, "merge", {"into": primary.id}))
        else:
            left.append(ticket)
    hotspot.primary_ticket_id = primary.id
    hotspot.state = DISPATCHED
    hotspot.dispatched_unit = primary.lead_unit
    hotspot.dispatched_at = utcnow()
    hotspot.dispatched_by_id = user.id
    db.session.flush()
    return Dispatched(hotspot, primary, merged, left)
