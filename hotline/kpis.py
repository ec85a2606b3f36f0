"""KPIs of the centre and its units (docs/design.md §8): each a numerator over a denominator.

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

from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, Date, Select, String, and_, case, cast, exists, func, null, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from hotline import permissions
from hotline.clocks.calendar import SHANGHAI
from hotline.clocks.models import OPEN_TIMER_STATES, UNIT_CLOCKS, Timer, TimerKind, TimerState
from hotline.errors import Forbidden, Invalid
from hotline.extensions import db
from hotline.tickets.models import Event, Resolution, Ticket
from hotline.types import utcnow
from hotline.units import Unit, branch, get_by_code
from hotline.users import Role, User

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
# The KPIs where a fall is the good news (a rise of the others is).
LOWER_IS_BETTER = frozenset({"returned", "extended", "overdue", "reworked"})
ON_TIME_CLOCKS = {
    TimerKind.DISPATCH: "dispatch_on_time", TimerKind.ACKNOWLEDGE: "acknowledged_on_time",
    TimerKind.RESPOND: "responded_on_time", TimerKind.HANDLE: "replied_on_time",
}
ASSIGNING = ("dispatch", "forward", "approve_return")   # who is in charge follows these
MAX_DAYS = 366
# Facts counted with the KPIs for the knowledge figures (hotline.knowledge.service.figures):
# `answer` events by article (the article's id as the unit, hits = total = answers) and
# tickets with a resolution by the day they were created (hits: answered directly).
KB_ANSWERS, KB_CLOSED = "kb_answers", "kb_closed"
FACT_KEYS = (*KPI_KEYS, KB_ANSWERS, KB_CLOSED)


@dataclass(frozen=True)
class Tally:
    """The facts of one KPI that share a day, a unit and a desk: how many, how many hit."""

    day: date
    unit: str | None
    desk: str
    hits: int
    total: int
    ticket: int | None = None   # the one ticket of the facts, when counted per ticket


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
    # branch unit code (the centre's counties and departments, a unit's sub-units) -> its KPIs
    by_unit: dict[str, list[Kpi]] = field(default_factory=dict)


def check_period(start: date | None, end: date | None, today: date | None = None) -> tuple[date, date]:
    """Default: the last 30 days up to today; at most MAX_DAYS; `to` not before `from`."""
    today = today or utcnow().astimezone(SHANGHAI).date()
    end = end or today
    start = start or end - timedelta(days=29)
    if end < start:
        raise Invalid(errors={"to": ["before from"]}, error="kpi.period_reversed")
    if (end - start).days >= MAX_DAYS:
        raise Invalid(errors={"from": [f"at most {MAX_DAYS} days"]}, error="kpi.period_too_long",
                      params={"days": MAX_DAYS})
    return start, end


def scope_for(viewer: User, unit: str | None) -> str | None:
    """The unit filter `viewer` may use: centre staff any, a unit handler its own subtree."""
    if viewer.role in permissions.CENTRE_REPORT_READERS:
        if unit and get_by_code(unit) is None:
            raise Invalid(errors={"unit": [f"unknown unit {unit}"]}, error="unit.unknown",
                          params={"unit": unit})
        return unit or None
    if viewer.role == Role.HANDLER and viewer.unit is not None:
        if not unit:
            return viewer.unit.code
        wanted = get_by_code(unit)
        if wanted is None or not wanted.is_within(viewer.unit):
            raise Forbidden(error="kpi.outside_unit")
        return unit
    raise Forbidden(error="kpi.forbidden", params={"role": viewer.role})


TallySource = Callable[[date, date, datetime], dict[str, list[Tally]]]
_source: list[TallySource] = []


def tallies_from(source: TallySource) -> None:
    """Where `compute` takes its facts from: `hotline.kpi_rollups.tallies` once create_app has
    connected it (hotline.receivers); the reference SQL, `collect_tallies`, until then."""
    _source[:] = [source]


def compute(start: date, end: date, unit: str | None = None, desk: str | None = None,
            now: datetime | None = None, with_units: bool = False,
            source: TallySource | None = None) -> Report:
    """The KPIs of [start, end] (Shanghai days, both included) for a unit subtree and a desk;
    `source` overrides where the facts come from (the tests compare with the reference)."""
    source = source or (_source[0] if _source else collect_tallies)
    tallies = source(start, end, now or utcnow())
    paths = {row.code: row.path for row in db.session.execute(select(Unit.code, Unit.path))}
    prefix = paths.get(unit) if unit else None
    if unit and prefix is None:
        raise Invalid(errors={"unit": [f"unknown unit {unit}"]}, error="unit.unknown", params={"unit": unit})

    def selected(tally: Tally) -> bool:
        if desk and tally.desk != desk:
            return False
        if prefix is not None:
            return tally.unit is not None and paths.get(tally.unit, "").startswith(prefix)
        return True

    chosen = {key: [t for t in tallies[key] if selected(t)] for key in KPI_KEYS}
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    series = {}
    for key in KPI_KEYS:
        hits, totals = defaultdict(int), defaultdict(int)
        for tally in chosen[key]:
            totals[tally.day] += tally.total
            hits[tally.day] += tally.hits
        series[key] = [(day, hits[day], totals[day]) for day in days]
    report = Report(start, end, unit, desk, [_kpi(key, chosen[key]) for key in KPI_KEYS], series)
    if with_units:
        report.by_unit = _by_branch(chosen, paths, prefix)
    return report


def facts(start: date, end: date, now: datetime | None = None) -> dict[str, list[Tally]]:
    """Every fact of [start, end] (FACT_KEYS) from where `compute` takes them."""
    return (_source[0] if _source else collect_tallies)(start, end, now or utcnow())


def _kpi(key: str, tallies: list[Tally]) -> Kpi:
    return Kpi(key, sum(t.hits for t in tallies), sum(t.total for t in tallies))


def _by_branch(chosen: dict[str, list[Tally]], paths: dict[str, str],
              root: str | None) -> dict[str, list[Kpi]]:
    """Facts grouped by the branch of `root` (a unit's path; None: the centre) their unit lies
    on: the centre's counties and city departments, a county's towns and its own row."""
    top = {code: branch(path, root) for code, path in paths.items()}
    grouped: dict[str, dict[str, list[Tally]]] = defaultdict(lambda: defaultdict(list))
    for key, tallies in chosen.items():
        for tally in tallies:
            if tally.unit and top.get(tally.unit):
                grouped[top[tally.unit]][key].append(tally)
    order = sorted(grouped, key=lambda code: paths.get(code, ""))
    return {code: [_kpi(key, grouped[code][key]) for key in KPI_KEYS] for code in order}


# --- facts, counted in SQL ---------------------------------------------------------------
#
# A month of a busy centre is hundreds of thousands of clocks and events: the database counts
# the facts per (day, unit, desk), and Python adds up the groups a view selects.


class shanghai_day(FunctionElement):
    """The Shanghai calendar day of a UTC timestamp. China has kept UTC+8 without daylight
    saving since 1991, so the fixed offset is exact for every date this service will see."""

    type = Date()
    inherit_cache = True
    name = "shanghai_day"


@compiles(shanghai_day)
def _shanghai_day(element, compiler, **kw):
    return f"CAST(timezone('Asia/Shanghai', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(shanghai_day, "sqlite")
def _shanghai_day_sqlite(element, compiler, **kw):
    # SQLite keeps UTC without an offset (hotline.types.UTCDateTime).
    return f"date({compiler.process(element.clauses, **kw)}, '+8 hours')"


def window(start: date, end: date) -> tuple[datetime, datetime]:
    first = datetime(start.year, start.month, start.day, tzinfo=SHANGHAI).astimezone(UTC)
    after = end + timedelta(days=1)
    last = datetime(after.year, after.month, after.day, tzinfo=SHANGHAI).astimezone(UTC)
    return first, last


def unit_at(ticket_id, moment) -> ColumnElement:
    """The unit in charge of a ticket at `moment`: the one its last `dispatch` or `forward` at
    or before then named; none after an `approve_return`."""
    assigning = aliased(Event, name="assigning")
    return (
        select(case((assigning.action == "approve_return", null()),
                    else_=assigning.data["unit"].as_string()))
        .where(assigning.ticket_id == ticket_id, assigning.action.in_(ASSIGNING),
               assigning.at <= moment)
        .order_by(assigning.seq.desc()).limit(1).scalar_subquery()
    )


def _next_action(event, matching) -> ColumnElement:
    """The action of the ticket's first event after `event` for which `matching(later)` holds."""
    later = aliased(Event, name="later")
    return (select(later.action)
            .where(later.ticket_id == event.ticket_id, later.seq > event.seq, matching(later))
            .order_by(later.seq).limit(1).scalar_subquery())


def _flag(condition) -> ColumnElement:
    return case((condition, 1), else_=0)


def _count(columns: dict[str, ColumnElement], flags: dict[str, ColumnElement], stmt: Select) -> list:
    """`stmt`'s rows counted per value of `columns`: each group's `n` and the sum of each flag."""
    inner = stmt.add_columns(*(column.label(name) for name, column in {**columns, **flags}.items()))
    inner = inner.subquery()
    keys = [inner.c[name] for name in columns]
    return db.session.connection().execute(
        select(*keys, func.count().label("n"), *(func.sum(inner.c[name]).label(name) for name in flags))
        .group_by(*keys)
    ).all()


def collect_tallies(start: date, end: date, now: datetime, tickets: Collection[int] | None = None,
                    by_ticket: bool = False) -> dict[str, list[Tally]]:
    """Every KPI's facts of [start, end], counted per (day, unit, desk); per (ticket, day, unit,
    desk) for `by_ticket` or when `tickets` names the only tickets to count."""
    first, last = window(start, end)
    per_ticket = by_ticket or tickets is not None
    ids = None if tickets is None else sorted(tickets)
    tallies: dict[str, list[Tally]] = {key: [] for key in FACT_KEYS}
    if db.session.get_bind().dialect.name == "postgresql":
        # The planner prices each correlated lookup far above its ~1 µs and compiles the clocks'
        # query with JIT: ~230 ms of compiling for ~60 ms of work. Only for this transaction.
        db.session.execute(sql_text("SET LOCAL jit = off"))

    def add(key: str, row, hits, total) -> None:
        if total:
            # a rebuild adds millions: no getattr defaults (a Row raises for them), StrEnum's str
            tallies[key].append(Tally(row.day, row.unit, str(row.desk), int(hits or 0), int(total),
                                      row.ticket if per_ticket else None))

    def per(columns: dict[str, ColumnElement], ticket_id) -> dict[str, ColumnElement]:
        return {**columns, "ticket": ticket_id} if per_ticket else columns

    # Clocks started in the period (cancelled ones count nowhere).
    met = Timer.state == TimerState.MET
    decided = or_(met, and_(Timer.state.in_(OPEN_TIMER_STATES), Timer.due_at <= now))
    on_time = and_(met, Timer.stopped_at.is_not(None), Timer.stopped_at <= Timer.due_at)
    ending = aliased(Event, name="ending")
    dispatch_unit = (   # the unit of the dispatch that met a dispatch clock
        select(ending.data["unit"].as_string())
        .where(ending.ticket_id == Timer.ticket_id, ending.action == "dispatch",
               ending.at >= Timer.started_at, ending.at <= Timer.stopped_at)
        .order_by(ending.seq).limit(1).scalar_subquery()
    )
    unit = case((Timer.kind != TimerKind.DISPATCH, unit_at(Timer.ticket_id, Timer.started_at)),
                (met, dispatch_unit), else_=null())
    clocks = (select().select_from(Timer).join(Ticket, Ticket.id == Timer.ticket_id)
              .where(Timer.started_at >= first, Timer.started_at < last,
                     Timer.kind.in_([*ON_TIME_CLOCKS, TimerKind.HANDLE]),
                     Timer.state != TimerState.CANCELLED))
    if ids is not None:
        clocks = clocks.where(Timer.ticket_id.in_(ids))
    for row in _count(
        per({"kind": Timer.kind, "day": shanghai_day(Timer.started_at), "unit": unit, "desk": Ticket.desk},
            Timer.ticket_id),
        {"decided": _flag(decided), "on_time": _flag(and_(decided, on_time)),
         "extended": _flag(Timer.due_at > Timer.original_due_at)},
        clocks,
    ):
        kind = TimerKind(row.kind)
        if kind in ON_TIME_CLOCKS:
            add(ON_TIME_CLOCKS[kind], row, row.on_time, row.decided)
        if kind in UNIT_CLOCKS:
            add("overdue", row, (row.decided or 0) - (row.on_time or 0), row.decided)
        if kind == TimerKind.HANDLE:
            add("extended", row, row.extended, row.n)

    # Events of the period.
    def events(action: str) -> Select:
        stmt = (select().select_from(Event).join(Ticket, Ticket.id == Event.ticket_id)
                .where(Event.at >= first, Event.at < last, Event.action == action))
        return stmt if ids is None else stmt.where(Event.ticket_id.in_(ids))

    day, desk, ticket = shanghai_day(Event.at), Ticket.desk, Event.ticket_id
    later_answer = aliased(Event, name="answered")
    answered = exists().where(later_answer.ticket_id == Event.ticket_id, later_answer.seq > Event.seq,
                              later_answer.action == "answer")
    for row in _count(per({"day": day, "unit": Unit.code, "desk": desk}, ticket), {"hit": _flag(answered)},
                      events("create").outerjoin(Unit, Unit.id == Ticket.location_unit_id)):
        add("answered_directly", row, row.hit, row.n)

    returned = _next_action(Event, lambda later: later.action.in_(("dispatch", "approve_return")))
    for row in _count(per({"day": day, "unit": Event.data["unit"].as_string(), "desk": desk}, ticket),
                      {"hit": _flag(returned == "approve_return")}, events("dispatch")):
        add("returned", row, row.hit, row.n)

    for row in _count(per({"day": day, "unit": unit_at(Event.ticket_id, Event.at), "desk": desk}, ticket),
                      {"resolved": _flag(Event.data["resolved"].as_boolean()),
                       "satisfied": _flag(Event.data["satisfied"].as_boolean())},
                      events("record_callback").where(Event.data["reached"].as_boolean())):
        add("resolved", row, row.resolved, row.n)
        add("satisfied", row, row.satisfied, row.n)

    # A reply is reworked when a reopen or a dissatisfied callback comes before the next reply.
    ends_reply = _next_action(Event, lambda later: or_(
        later.action.in_(("reply", "reopen")),
        and_(later.action == "record_callback", later.to_state == "in_progress")))
    for row in _count(per({"day": day, "unit": unit_at(Event.ticket_id, Event.at), "desk": desk}, ticket),
                      {"hit": _flag(ends_reply != "reply")}, events("reply")):
        add("reworked", row, row.hit, row.n)

    article = cast(Event.data["article"].as_integer(), String)
    for row in _count(per({"day": day, "unit": article, "desk": desk}, ticket), {}, events("answer")):
        add(KB_ANSWERS, row, row.n, row.n)
    closed = (select().select_from(Ticket).where(Ticket.created_at >= first, Ticket.created_at < last,
                                                 Ticket.resolution.is_not(None)))
    if ids is not None:
        closed = closed.where(Ticket.id.in_(ids))
    no_unit = cast(null(), String)
    for row in _count(per({"day": shanghai_day(Ticket.created_at), "unit": no_unit, "desk": Ticket.desk},
                          Ticket.id),
                      {"hit": _flag(Ticket.resolution == Resolution.ANSWERED)}, closed):
        add(KB_CLOSED, row, row.hit, row.n)
    return tallies
