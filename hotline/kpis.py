"""KPIs of the centre and its units (DESIGN §8): each a numerator over a denominator.

Every KPI is computed from *facts*: one fact per thing counted in the denominator,
with the Shanghai calendar day it belongs to, the unit and desk it is attributed to,
and whether it also counts in the numerator (`hit`). A period, a unit (the unit and
everything below it) and a desk select facts; the rate is numerator / denominator,
None when the denominator is 0.

Sources: the `timers` table (each clock of a ticket: kind, started_at, due_at,
original_due_at, stopped_at, state), the `ticket_events` audit log and the `tickets`
table (desk, location unit). Words used below:

* A clock is **decided** when it was met (state `met`) or when its due time has passed
  while it is still open (`running`/`warned`/`overdue` with due_at <= now). Cancelled
  clocks (the step became moot: a return was approved, the ticket closed) count nowhere.
* A decided clock is **on time** when it was met no later than its due_at (after any
  approved extension); otherwise it is **late**.
* A clock's day is the Shanghai day it started; an event's day is the day it happened.
* The **unit in charge** of a ticket at a moment is the unit named by the last
  `dispatch` or `forward` event at or before that moment (none after an
  `approve_return`). Handling clocks and callbacks are attributed to it.

The KPIs (keys as in the API and the exports):

``dispatch_on_time`` 派单及时率
    numerator: decided `dispatch` clocks met on time;
    denominator: decided `dispatch` clocks.
    Unit: the unit the dispatch that met the clock sent the ticket to (a dispatch
    clock still open past due has no unit and counts only without a unit filter).
``acknowledged_on_time`` 及时签收率
    numerator: decided `acknowledge` clocks met on time; denominator: decided
    `acknowledge` clocks. Unit: the unit in charge when the clock started.
``responded_on_time`` 响应率
    the same for `respond` clocks (first contact with the caller).
``replied_on_time`` 按时办结率
    the same for `handle` clocks (every handling cycle: after dispatch, after a
    send-back, after a dissatisfied callback, after a reopen).
``resolved`` 解决率
    numerator: `record_callback` events with reached=true and resolved=true;
    denominator: `record_callback` events with reached=true. Unit: unit in charge.
``satisfied`` 满意率
    numerator: `record_callback` events with reached=true and satisfied=true;
    denominator: as for ``resolved``.
``answered_directly`` 直接答复率
    numerator: tickets created in the period that have an `answer` event;
    denominator: tickets created in the period (`create` events). Unit: the
    ticket's location unit (where the matter is; no unit handled it).
``returned`` 退单率
    numerator: `dispatch` events whose dispatch was returned — an `approve_return`
    follows it before the ticket's next `dispatch`; denominator: `dispatch` events.
    Unit: the unit dispatched to.
``extended`` 延期率
    numerator: `handle` clocks that were extended (due_at later than
    original_due_at); denominator: `handle` clocks not cancelled. Unit: unit in charge.
``overdue`` 超期率
    numerator: late clocks of the units (`acknowledge`, `respond`, `handle`);
    denominator: decided clocks of those kinds. Unit: unit in charge.
``reworked`` 重办率
    numerator: `reply` events followed, before the ticket's next `reply`, by a
    dissatisfied callback (a `record_callback` event into `in_progress`) or a
    `reopen`; denominator: `reply` events. Unit: the unit in charge (who replied).

Facts whose outcome is still open (a reply not yet called back) count in the
denominator as not hit; rates of recent days settle as the work completes.
"""

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import case, select, union

from hotline.clocks.models import OPEN_TIMER_STATES, Timer, TimerKind, TimerState
from hotline.errors import Forbidden, Invalid
from hotline.extensions import db
from hotline.tickets.models import Event, Ticket
from hotline.types import utcnow
from hotline.units import Unit, get_by_code
from hotline.users import Role, User

SHANGHAI = ZoneInfo("Asia/Shanghai")
KPI_KEYS = (
    "dispatch_on_time", "acknowledged_on_time", "responded_on_time", "replied_on_time",
    "resolved", "satisfied", "answered_directly", "returned", "extended", "overdue", "reworked",
)
KPI_NAMES = {
    "dispatch_on_time": "派单及时率", "acknowledged_on_time": "及时签收率",
    "responded_on_time": "响应率", "replied_on_time": "按时办结率", "resolved": "解决率",
    "satisfied": "满意率", "answered_directly": "直接答复率", "returned": "退单率",
    "extended": "延期率", "overdue": "超期率", "reworked": "重办率",
}
ON_TIME_CLOCKS = {
    TimerKind.DISPATCH: "dispatch_on_time", TimerKind.ACKNOWLEDGE: "acknowledged_on_time",
    TimerKind.RESPOND: "responded_on_time", TimerKind.HANDLE: "replied_on_time",
}
UNIT_CLOCKS = (TimerKind.ACKNOWLEDGE, TimerKind.RESPOND, TimerKind.HANDLE)
EVENTS_USED = ("create", "answer", "dispatch", "forward", "approve_return", "reply",
               "record_callback", "reopen")
EVENTS_WITH_DATA = ("dispatch", "forward", "record_callback")   # whose `data` a KPI reads
ASSIGNING = ("dispatch", "forward", "approve_return")           # what _Assignments follows
MAX_DAYS = 366


@dataclass(frozen=True)
class Fact:
    day: date
    unit: str | None
    desk: str
    hit: bool


@dataclass
class Kpi:
    key: str
    numerator: int
    denominator: int

    @property
    def name(self) -> str:
        return KPI_NAMES[self.key]

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass
class Report:
    start: date
    end: date
    unit: str | None
    desk: str | None
    kpis: list[Kpi]
    # key -> [(day, numerator, denominator)] for every day of the period
    series: dict[str, list[tuple[date, int, int]]]
    # top-level unit code (county or city department) -> its KPIs
    by_unit: dict[str, list[Kpi]] = field(default_factory=dict)


def check_period(start: date | None, end: date | None, today: date | None = None) -> tuple[date, date]:
    """Default: the last 30 days up to today; at most MAX_DAYS; `to` not before `from`."""
    today = today or utcnow().astimezone(SHANGHAI).date()
    end = end or today
    start = start or end - timedelta(days=29)
    if end < start:
        raise Invalid("结束日期早于开始日期 (to is before from)", {"to": ["before from"]})
    if (end - start).days >= MAX_DAYS:
        raise Invalid(f"统计区间不能超过 {MAX_DAYS} 天 (at most {MAX_DAYS} days)",
                      {"from": [f"at most {MAX_DAYS} days"]})
    return start, end


def scope_for(viewer: User, unit: str | None) -> str | None:
    """The unit filter `viewer` may use: centre staff any, a unit handler its own subtree."""
    if viewer.role in (Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN):
        if unit and get_by_code(unit) is None:
            raise Invalid(f"单位 {unit} 不存在 (unknown unit {unit})", {"unit": [f"unknown unit {unit}"]})
        return unit or None
    if viewer.role == Role.HANDLER and viewer.unit is not None:
        if not unit:
            return viewer.unit.code
        wanted = get_by_code(unit)
        if wanted is None or not wanted.is_within(viewer.unit):
            raise Forbidden("只能查看本单位及下级单位的指标 (only your unit and the units below it)")
        return unit
    raise Forbidden("无权查看统计指标 (this role may not see KPIs)")


def compute(start: date, end: date, unit: str | None = None, desk: str | None = None,
            now: datetime | None = None, with_units: bool = False) -> Report:
    """The KPIs of [start, end] (Shanghai days, both included) for a unit subtree and a desk."""
    facts = collect_facts(start, end, now or utcnow())
    paths = {row.code: row.path for row in db.session.execute(select(Unit.code, Unit.path))}
    prefix = paths.get(unit) if unit else None
    if unit and prefix is None:
        raise Invalid(f"单位 {unit} 不存在 (unknown unit {unit})", {"unit": [f"unknown unit {unit}"]})

    def selected(fact: Fact) -> bool:
        if desk and fact.desk != desk:
            return False
        if prefix is not None:
            return fact.unit is not None and paths.get(fact.unit, "").startswith(prefix)
        return True

    chosen = {key: [f for f in facts[key] if selected(f)] for key in KPI_KEYS}
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    series = {}
    for key in KPI_KEYS:
        hits, totals = defaultdict(int), defaultdict(int)
        for fact in chosen[key]:
            totals[fact.day] += 1
            hits[fact.day] += fact.hit
        series[key] = [(day, hits[day], totals[day]) for day in days]
    report = Report(start, end, unit, desk, [_kpi(key, chosen[key]) for key in KPI_KEYS], series)
    if with_units:
        report.by_unit = _by_top_unit(chosen, paths)
    return report


def _kpi(key: str, facts: list[Fact]) -> Kpi:
    return Kpi(key, sum(f.hit for f in facts), len(facts))


def _by_top_unit(chosen: dict[str, list[Fact]], paths: dict[str, str]) -> dict[str, list[Kpi]]:
    """Facts grouped by the county or city department their unit belongs to."""
    top = {code: (path.strip("/").split("/") + [None])[1] for code, path in paths.items()}
    grouped: dict[str, dict[str, list[Fact]]] = defaultdict(lambda: defaultdict(list))
    for key, facts in chosen.items():
        for fact in facts:
            if fact.unit and top.get(fact.unit):
                grouped[top[fact.unit]][key].append(fact)
    order = sorted(grouped, key=lambda code: paths.get(code, ""))
    return {code: [_kpi(key, grouped[code][key]) for key in KPI_KEYS] for code in order}


# --- facts ---------------------------------------------------------------------------

def _window(start: date, end: date) -> tuple[datetime, datetime]:
    first = datetime(start.year, start.month, start.day, tzinfo=SHANGHAI).astimezone(UTC)
    after = end + timedelta(days=1)
    last = datetime(after.year, after.month, after.day, tzinfo=SHANGHAI).astimezone(UTC)
    return first, last


# China has kept UTC+8 without daylight saving since 1991: a fixed offset gives the same
# Shanghai day as the zone database, several times faster, for tens of thousands of facts.
_CHINA = timezone(timedelta(hours=8))


def _day(moment: datetime) -> date:
    return moment.astimezone(_CHINA).date()


class _Assignments:
    """Which unit was in charge of a ticket when: from its dispatch/forward/return events."""

    def __init__(self, events: list[Event]):
        self.times: list[datetime] = []
        self.units: list[str | None] = []
        self.dispatches: list[tuple[datetime, str | None]] = []
        for event in events:
            if event.action in ("dispatch", "forward"):
                self.times.append(event.at)
                self.units.append((event.data or {}).get("unit"))
                if event.action == "dispatch":
                    self.dispatches.append((event.at, (event.data or {}).get("unit")))
            elif event.action == "approve_return":
                self.times.append(event.at)
                self.units.append(None)

    def unit_at(self, moment: datetime) -> str | None:
        index = bisect_right(self.times, moment)
        return self.units[index - 1] if index else None

    def dispatch_ending(self, timer: Timer) -> str | None:
        """The unit of the dispatch that met a dispatch clock."""
        if timer.state != TimerState.MET:
            return None
        for at, unit in self.dispatches:
            if timer.started_at <= at <= timer.stopped_at:
                return unit
        return None


def collect_facts(start: date, end: date, now: datetime) -> dict[str, list[Fact]]:
    first, last = _window(start, end)
    # Rows of the columns used, fetched at once on the connection, not ORM objects: a month of
    # a busy centre is tens of thousands of clocks and events, and loading them as entities
    # cost 3-4x as much.
    timers = db.session.connection().execute(
        select(Timer.ticket_id, Timer.kind, Timer.state, Timer.started_at, Timer.stopped_at,
               Timer.due_at, Timer.original_due_at)
        .where(Timer.started_at >= first, Timer.started_at < last).order_by(Timer.id)
    ).all()
    ticket_ids = union(
        select(Timer.ticket_id).where(Timer.started_at >= first, Timer.started_at < last),
        select(Event.ticket_id).where(Event.at >= first, Event.at < last,
                                      Event.action.in_(EVENTS_USED)),
    ).subquery()
    tickets = {
        row.id: row for row in db.session.connection().execute(
            select(Ticket.id, Ticket.desk, Unit.code.label("location"))
            .outerjoin(Unit, Unit.id == Ticket.location_unit_id)
            .where(Ticket.id.in_(select(ticket_ids.c[0])))
        ).all()
    }
    events: dict[int, list[Event]] = defaultdict(list)
    for event in db.session.connection().execute(
        select(Event.ticket_id, Event.at, Event.action, Event.to_state,
               # Only these actions' data is read; most events are creates, not worth parsing.
               case((Event.action.in_(EVENTS_WITH_DATA), Event.data), else_=None).label("data"))
        .where(Event.ticket_id.in_(select(ticket_ids.c[0])), Event.action.in_(EVENTS_USED))
        .order_by(Event.ticket_id, Event.seq)
    ).all():
        events[event.ticket_id].append(event)
    # Most tickets of a period were never dispatched: they share the empty history.
    empty = _Assignments([])
    assignments = {ticket_id: _Assignments(rows) if any(e.action in ASSIGNING for e in rows) else empty
                   for ticket_id, rows in events.items()}
    facts: dict[str, list[Fact]] = {key: [] for key in KPI_KEYS}

    def desk_of(ticket_id: int) -> str:
        return str(getattr(tickets[ticket_id].desk, "value", tickets[ticket_id].desk))

    for timer in timers:
        if timer.state == TimerState.CANCELLED:
            continue
        where = assignments.get(timer.ticket_id, empty)
        day, desk = _day(timer.started_at), desk_of(timer.ticket_id)
        unit = (where.dispatch_ending(timer) if timer.kind == TimerKind.DISPATCH
                else where.unit_at(timer.started_at))
        met = timer.state == TimerState.MET
        decided = met or (timer.state in OPEN_TIMER_STATES and timer.due_at <= now)
        on_time = met and timer.stopped_at is not None and timer.stopped_at <= timer.due_at
        if decided and timer.kind in ON_TIME_CLOCKS:
            facts[ON_TIME_CLOCKS[timer.kind]].append(Fact(day, unit, desk, on_time))
        if decided and timer.kind in UNIT_CLOCKS:
            facts["overdue"].append(Fact(day, unit, desk, not on_time))
        if timer.kind == TimerKind.HANDLE:
            facts["extended"].append(Fact(day, unit, desk, timer.due_at > timer.original_due_at))

    for ticket_id, rows in events.items():
        where, desk = assignments[ticket_id], desk_of(ticket_id)
        for index, event in enumerate(rows):
            if not first <= event.at < last:
                continue
            day, data, later = _day(event.at), event.data or {}, rows[index + 1:]
            if event.action == "create":
                answered = any(e.action == "answer" for e in later)
                facts["answered_directly"].append(
                    Fact(day, tickets[ticket_id].location, desk, answered))
            elif event.action == "dispatch":
                returned = False
                for after in later:
                    if after.action == "dispatch":
                        break
                    if after.action == "approve_return":
                        returned = True
                        break
                facts["returned"].append(Fact(day, data.get("unit"), desk, returned))
            elif event.action == "record_callback" and data.get("reached"):
                unit = where.unit_at(event.at)
                facts["resolved"].append(Fact(day, unit, desk, bool(data.get("resolved"))))
                facts["satisfied"].append(Fact(day, unit, desk, bool(data.get("satisfied"))))
            elif event.action == "reply":
                reworked = False
                for after in later:
                    if after.action == "reply":
                        break
                    if after.action == "reopen" or (
                        after.action == "record_callback" and after.to_state == "in_progress"
                    ):
                        reworked = True
                        break
                facts["reworked"].append(Fact(day, where.unit_at(event.at), desk, reworked))
    return facts
