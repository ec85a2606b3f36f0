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
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache

from flask import g, has_request_context
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
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


@dataclass
class Sums:
    """The selected facts of a view added up: per (key, day), and per (key, unit) when asked."""

    days: dict[str, dict[date, list[int]]] = field(default_factory=lambda: defaultdict(dict))
    units: dict[str, dict[str | None, list[int]]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, key: str, day: date | None, unit: str | None, hits: int, total: int,
            per_unit: bool = True) -> None:
        """Count hits/total on `day` (None: not per day) and, with `per_unit`, on `unit`."""
        if day is not None:
            _plus(self.days[key], day, hits, total)
        if per_unit:
            _plus(self.units[key], unit, hits, total)


def _plus(counts: dict, at, hits: int, total: int) -> None:
    value = counts.setdefault(at, [0, 0])
    value[0] += hits
    value[1] += total


class Selection:
    """Which facts a view adds up: of some keys, of a unit subtree (`units`: its codes; None:
    every fact, with a unit or not), of one desk (None: every desk)."""

    def __init__(self, keys: Collection[str], units: Collection[str] | None = None,
                 desk: str | None = None, per_unit: bool = False) -> None:
        self.keys, self.desk, self.per_unit = frozenset(keys), desk, per_unit
        self.units = None if units is None else frozenset(units)

    def __contains__(self, fact: tuple[str, str | None, str]) -> bool:
        key, unit, desk = fact
        return (key in self.keys and (self.desk is None or desk == self.desk)
                and (self.units is None or unit in self.units))


SumSource = Callable[[date, date, datetime, Selection], Sums]
_source: list[SumSource] = []


def summed(tallies: dict[str, list[Tally]], selection: Selection) -> Sums:
    """`tallies` of `selection` added up (the reference path: a `TallySource`'s lists)."""
    found = Sums()
    for key in selection.keys:
        for t in tallies[key]:
            if (key, t.unit, t.desk) in selection:
                found.add(key, t.day, t.unit, t.hits, t.total, selection.per_unit)
    return found


def reference_sums(start: date, end: date, now: datetime, selection: Selection) -> Sums:
    return summed(collect_tallies(start, end, now), selection)


def sums_from(source: SumSource) -> None:
    """Where `compute` takes its sums from: `hotline.kpi_rollups.sums` once create_app has
    connected it (hotline.receivers); the reference SQL, `collect_tallies`, until then."""
    _source[:] = [source]


def compute(start: date, end: date, unit: str | None = None, desk: str | None = None,
            now: datetime | None = None, with_units: bool = False,
            source: TallySource | None = None) -> Report:
    """The KPIs of [start, end] (Shanghai days, both included) for a unit subtree and a desk;
    `source` overrides where the facts come from (the tests compare with the reference)."""
    paths = {row.code: row.path for row in db.session.execute(select(Unit.code, Unit.path))}
    prefix = paths.get(unit) if unit else None
    if unit and prefix is None:
        raise Invalid(errors={"unit": [f"unknown unit {unit}"]}, error="unit.unknown", params={"unit": unit})
    within = None if prefix is None else [code for code, path in paths.items() if path.startswith(prefix)]
    selection = Selection(KPI_KEYS, within, desk, per_unit=with_units)
    if source is not None:
        sums = summed(source(start, end, now or moment()), selection)
    else:
        sums = (_source[0] if _source else reference_sums)(start, end, now or moment(), selection)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    series = {key: [(day, *sums.days[key].get(day, (0, 0))) for day in days] for key in KPI_KEYS}
    report = Report(start, end, unit, desk, [_kpi(key, sums.days[key].values()) for key in KPI_KEYS],
                    series)
    if with_units:
        report.by_unit = _by_branch(sums.units, paths, prefix)
    return report


def moment() -> datetime:
    """Now, the same for every KPI read of a request: a page's figures (the KPIs, the knowledge
    figures, a report's comparisons) are of one moment, and the rollups' live part is counted
    once for them (`kpi_rollups.sums`)."""
    if has_request_context():
        return g.setdefault("kpi_moment", utcnow())
    return utcnow()


def facts(start: date, end: date, keys: Collection[str], now: datetime | None = None) -> Sums:
    """The facts of `keys` of [start, end] added up per day and per unit, from where `compute`
    takes them."""
    return (_source[0] if _source else reference_sums)(start, end, now or moment(),
                                                   Selection(keys, per_unit=True))


def _kpi(key: str, counted: Iterable[list[int]]) -> Kpi:
    values = list(counted)
    return Kpi(key, sum(hits for hits, _ in values), sum(total for _, total in values))


def _by_branch(units: dict[str, dict[str | None, list[int]]], paths: dict[str, str],
               root: str | None) -> dict[str, list[Kpi]]:
    """Facts grouped by the branch of `root` (a unit's path; None: the centre) their unit lies
    on: the centre's counties and city departments, a county's towns and its own row."""
    top = {code: branch(path, root) for code, path in paths.items()}
    grouped: dict[str, dict[str, list[list[int]]]] = defaultdict(lambda: defaultdict(list))
    for key, counted in units.items():
        for code, value in counted.items():
            if code and top.get(code) and value[1]:   # a unit whose facts went elsewhere since
                grouped[top[code]][key].append(value)
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
    or before then named; none after an `approve_return`. The ticket's creation (the outer
    query joins `tickets`) bounds the search below: every event of a ticket is at or after its
    creation, and on PostgreSQL's month-partitioned log the bound skips the earlier months
    instead of probing every partition's index for each lookup."""
    assigning = aliased(Event, name="assigning")
    return (
        select(case((assigning.action == "approve_return", null()),
                    else_=assigning.data["unit"].as_string()))
        .where(assigning.ticket_id == ticket_id, assigning.action.in_(ASSIGNING),
               assigning.at >= Ticket.created_at, assigning.at <= moment)
        .order_by(assigning.seq.desc()).limit(1).scalar_subquery()
    )


def _next_action(event, matching) -> ColumnElement:
    """The action of the ticket's first event after `event` for which `matching(later)` holds
    (bounded by the ticket's creation, as in `unit_at`)."""
    later = aliased(Event, name="later")
    return (select(later.action)
            .where(later.ticket_id == event.ticket_id, later.seq > event.seq, later.at >= Ticket.created_at,
                   matching(later))
            .order_by(later.seq).limit(1).scalar_subquery())


def _flag(condition) -> ColumnElement:
    return case((condition, 1), else_=0)


FLAGS = ("a", "b", "c")   # the flag sums of a part of `collect_tallies`' one statement


def _count(part: str, columns: dict[str, ColumnElement], flags: dict[str, ColumnElement],
           stmt: Select) -> Select:
    """`stmt`'s rows counted per value of `columns` (kind, day, unit, desk and maybe ticket):
    each group's `n` and the sum of each flag, as the FLAGS columns, in `part`'s rows."""
    inner = stmt.add_columns(*(column.label(name) for name, column in columns.items()),
                             *(flag.label(name) for name, flag in zip(FLAGS, flags.values(), strict=False)))
    inner = inner.subquery()
    keys = [inner.c[name] for name in columns]
    sums = [func.sum(inner.c[name]) if n < len(flags) else literal(0) for n, name in enumerate(FLAGS)]
    return (select(literal(part).label("part"), *keys, func.count().label("n"),
                   *(value.label(name) for name, value in zip(FLAGS, sums, strict=True)))
            .group_by(*keys))


def collect_tallies(start: date, end: date, now: datetime, tickets: Collection[int] | None = None,
                    by_ticket: bool = False) -> dict[str, list[Tally]]:
    """Every KPI's facts of [start, end], counted per (day, unit, desk); per (ticket, day, unit,
    desk) for `by_ticket` or when `tickets` names the only tickets to count."""
    first, last = window(start, end)
    per_ticket = by_ticket or tickets is not None
    dialect = db.session.get_bind().dialect.name
    params: dict = {"first": first, "last": last, "now": now}
    if tickets is not None:
        params["ids"] = sorted(tickets)
    tallies: dict[str, list[Tally]] = {key: [] for key in FACT_KEYS}
    if dialect == "postgresql":
        # The planner prices each correlated lookup far above its ~1 µs and compiles the clocks'
        # query with JIT: ~230 ms of compiling for ~60 ms of work, and for a read's few hundred
        # changed tickets over a year's period 1.3 s for 250 ms. Only for this transaction.
        db.session.execute(sql_text("SET LOCAL jit = off"))

    def add(key: str, row, hits, total) -> None:
        if total:
            # a rebuild adds millions: no getattr defaults (a Row raises for them), StrEnum's str
            tallies[key].append(Tally(row.day, row.unit, str(row.desk), int(hits or 0), int(total),
                                      row.ticket if per_ticket else None))

    # One statement, one round trip: a read recounts a few tickets' facts with it on every request.
    for row in db.session.connection().execute(_tallies_statement(per_ticket, tickets is not None, dialect),
                                               params):
        if row.part == "clocks":
            kind = TimerKind(row.kind)   # a: decided, b: on time, c: extended
            if kind in ON_TIME_CLOCKS:
                add(ON_TIME_CLOCKS[kind], row, row.b, row.a)
            if kind in UNIT_CLOCKS:
                add("overdue", row, (row.a or 0) - (row.b or 0), row.a)
            if kind == TimerKind.HANDLE:
                add("extended", row, row.c, row.n)
        elif row.part == "callbacks":   # a: resolved, b: satisfied
            add("resolved", row, row.a, row.n)
            add("satisfied", row, row.b, row.n)
        elif row.part == KB_ANSWERS:
            add(KB_ANSWERS, row, row.n, row.n)
        else:   # a: hit
            add(row.part, row, row.a, row.n)
    return tallies


@cache
def _tallies_statement(per_ticket: bool, by_ids: bool, dialect: str) -> Select:
    """`collect_tallies`' statement, built once (a read runs it on every request): every part
    of it grouped alike, its window, moment and tickets as parameters (`first`, `last`, `now`,
    `ids`). On PostgreSQL the tickets are one array (`= ANY`), so the text is the same for any
    number of them and the connection's prepared statement is planned once, not each time."""
    first, last, now = bindparam("first"), bindparam("last"), bindparam("now")

    def among(column) -> ColumnElement:
        if dialect == "postgresql":
            return column == any_(bindparam("ids", type_=ARRAY(Integer)))
        return column.in_(bindparam("ids", expanding=True))

    no_kind = cast(null(), String)

    def per(columns: dict[str, ColumnElement], ticket_id, kind=no_kind) -> dict:
        """A part's grouping columns, the same in every part (kind, day, unit, desk, ticket)."""
        return {"kind": kind, **columns, **({"ticket": ticket_id} if per_ticket else {})}

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
    if by_ids:
        clocks = clocks.where(among(Timer.ticket_id))
    parts = [_count("clocks", per({"day": shanghai_day(Timer.started_at), "unit": unit, "desk": Ticket.desk},
                                  Timer.ticket_id, Timer.kind),
                    {"decided": _flag(decided), "on_time": _flag(and_(decided, on_time)),
                     "extended": _flag(Timer.due_at > Timer.original_due_at)},
                    clocks)]

    # Events of the period.
    def events(action: str) -> Select:
        stmt = (select().select_from(Event).join(Ticket, Ticket.id == Event.ticket_id)
                .where(Event.at >= first, Event.at < last, Event.action == action))
        return stmt.where(among(Event.ticket_id)) if by_ids else stmt

    day, desk, ticket = shanghai_day(Event.at), Ticket.desk, Event.ticket_id
    later_answer = aliased(Event, name="answered")
    answered = exists().where(later_answer.ticket_id == Event.ticket_id, later_answer.seq > Event.seq,
                              later_answer.at >= Ticket.created_at, later_answer.action == "answer")
    parts.append(_count("answered_directly", per({"day": day, "unit": Unit.code, "desk": desk}, ticket),
                        {"hit": _flag(answered)},
                        events("create").outerjoin(Unit, Unit.id == Ticket.location_unit_id)))

    returned = _next_action(Event, lambda later: later.action.in_(("dispatch", "approve_return")))
    dispatched_to = Event.data["unit"].as_string()
    parts.append(_count("returned", per({"day": day, "unit": dispatched_to, "desk": desk}, ticket),
                        {"hit": _flag(returned == "approve_return")}, events("dispatch")))

    in_charge = per({"day": day, "unit": unit_at(Event.ticket_id, Event.at), "desk": desk}, ticket)
    parts.append(_count("callbacks", in_charge,
                        {"resolved": _flag(Event.data["resolved"].as_boolean()),
                         "satisfied": _flag(Event.data["satisfied"].as_boolean())},
                        events("record_callback").where(Event.data["reached"].as_boolean())))

    # A reply is reworked when a reopen or a dissatisfied callback comes before the next reply.
    ends_reply = _next_action(Event, lambda later: or_(
        later.action.in_(("reply", "reopen")),
        and_(later.action == "record_callback", later.to_state == "in_progress")))
    parts.append(_count("reworked", in_charge, {"hit": _flag(ends_reply != "reply")}, events("reply")))

    article = cast(Event.data["article"].as_integer(), String)
    parts.append(_count(KB_ANSWERS, per({"day": day, "unit": article, "desk": desk}, ticket), {},
                        events("answer")))
    closed = (select().select_from(Ticket).where(Ticket.created_at >= first, Ticket.created_at < last,
                                                 Ticket.resolution.is_not(None)))
    if by_ids:
        closed = closed.where(among(Ticket.id))
    created = shanghai_day(Ticket.created_at)
    parts.append(_count(KB_CLOSED, per({"day": created, "unit": no_kind, "desk": Ticket.desk}, Ticket.id),
                        {"hit": _flag(Ticket.resolution == Resolution.ANSWERED)}, closed))

    return union_all(*parts)
