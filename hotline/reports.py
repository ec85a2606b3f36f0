"""Reports a centre hands in: volumes, hotspots, unit rankings, the overdue list, crisis cases
and KPI changes of a period, for a scope (a unit's subtree and a desk, or the whole centre).

Every report query lives here, behind functions taking a `Period` and a `Scope`, so that their
source (today the live tables, through `hotline.kpis` for the rates) can be swapped for rollups
without touching a page or an export. Who may ask for which scope is `kpis.scope_for`.

Words used below:

* **volume** (受理量): tickets created in the period (every channel, whatever became of them).
* **area** (区域): where a ticket's matter is (its location unit), as the branch of the scope
  it lies on: for the centre its county or city department, for a county its towns; for a
  place outside the scope's unit (a city department's tickets), its county.
* **overdue at the period's end**: a ticket clock (not a referral's) that was open and past its
  due time at the end of the period (or now, for a period not over yet).
* **crisis case**: a ticket of crisis priority created in the period or put on the crisis path
  during it (`crisis_flagged`).
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Select, and_, exists, func, or_, select, union_all
from sqlalchemy.orm import joinedload

from hotline import audit, kpis, permissions
from hotline.clocks.models import Timer, open_states
from hotline.extensions import db
from hotline.tickets.models import Event, Priority, Ticket
from hotline.types import utcnow
from hotline.units import Unit, branch, get_by_code
from hotline.users import User

DIMENSIONS = ("category", "area", "channel", "desk")
HOTSPOT_DIMENSIONS = ("category", "area")
TOP = 5
LIST_LIMIT = 200   # rows of the overdue and crisis lists on a page (the XLSX has them all)
CRISIS_ACTIONS = ("crisis_flagged",)


@dataclass(frozen=True)
class Period:
    """Shanghai calendar days, both ends included."""

    start: date
    end: date

    @classmethod
    def day(cls, day: date) -> "Period":
        return cls(day, day)

    @classmethod
    def week(cls, day: date) -> "Period":
        """The Monday-to-Sunday week `day` falls in."""
        monday = day - timedelta(days=day.weekday())
        return cls(monday, monday + timedelta(days=6))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        """The period of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def window(self) -> tuple[datetime, datetime]:
        """[first, last) in UTC."""
        return kpis.window(self.start, self.end)


@dataclass(frozen=True)
class Scope:
    """What part of the centre: a unit's subtree (None: all of it) and a desk (None: all)."""

    unit: str | None = None
    desk: str | None = None


@dataclass
class Volumes:
    total: int
    # dimension -> code -> tickets; an area's code is a unit code ("" where none is known)
    by: dict[str, Counter]
    by_day: dict[date, int]


@dataclass
class Change:
    """A count (or a rate) now and in the previous period."""

    code: str
    current: float | None
    previous: float | None

    @property
    def delta(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous


@dataclass
class KpiChange:
    current: kpis.Kpi
    previous: kpis.Kpi

    @property
    def key(self) -> str:
        return self.current.key

    @property
    def delta(self) -> float | None:
        if self.current.rate is None or self.previous.rate is None:
            return None
        return self.current.rate - self.previous.rate


@dataclass
class Ranked:
    unit: str
    kpis: dict[str, kpis.Kpi]


@dataclass
class OverdueClock:
    ticket: Ticket
    timer: Timer


@dataclass
class PeriodReport:
    """Everything a daily or weekly report shows."""

    period: Period
    scope: Scope
    volumes: Volumes
    previous_volumes: Volumes
    hotspots: dict[str, list[Change]]
    kpi_changes: list[KpiChange]
    overdue: list[OverdueClock]
    crisis: list[Ticket]
    rankings: list[Ranked] = field(default_factory=list)


def _unit(scope: Scope) -> Unit | None:
    return get_by_code(scope.unit) if scope.unit else None


def _scoped(stmt: Select, scope: Scope) -> Select:
    """Tickets of the scope: led or co-handled by the unit or one below it (what its handlers
    see), of the desk."""
    unit = _unit(scope)
    if unit is not None:
        stmt = permissions.within(stmt, unit, purpose="report")
    if scope.desk:
        stmt = stmt.where(Ticket.desk == scope.desk)
    return stmt


def volumes(period: Period, scope: Scope) -> Volumes:
    """Tickets created in the period, counted by category, area, channel, desk and day."""
    first, last = period.window()
    day = kpis.shanghai_day(Ticket.created_at).label("day")
    stmt = _scoped(select(Ticket.category, Ticket.channel, Ticket.desk, Ticket.location_unit_id,
                          day, func.count().label("n")), scope)
    stmt = stmt.where(Ticket.created_at >= first, Ticket.created_at < last).group_by(
        Ticket.category, Ticket.channel, Ticket.desk, Ticket.location_unit_id, day)
    unit = _unit(scope)
    paths = dict(db.session.execute(select(Unit.id, Unit.path)).all())
    by: dict[str, Counter] = {dimension: Counter() for dimension in DIMENSIONS}
    by_day: Counter = Counter()
    for category, channel, desk, location, when, count in db.session.execute(stmt):
        area = _area(paths.get(location), unit)
        for dimension, code in (("category", category), ("channel", channel), ("desk", desk),
                                ("area", area or "")):
            by[dimension][str(getattr(code, "value", code))] += count
        by_day[_as_date(when)] += count
    days = [period.start + timedelta(days=n) for n in range(period.days)]
    return Volumes(sum(by_day.values()), by, {d: by_day.get(d, 0) for d in days})


def _area(path: str | None, unit: Unit | None) -> str | None:
    """Where a ticket's matter is, as a branch of the scope's unit; for a place outside it (a
    city department's ticket in a county) the centre's branch: the county."""
    if path is None:
        return None
    return (branch(path, unit.path) if unit else None) or branch(path, None)


def _as_date(value) -> date:
    """SQLite answers the day as text, PostgreSQL as a date."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def hotspots(current: Volumes, previous: Volumes, top: int = TOP) -> dict[str, list[Change]]:
    """The `top` categories and areas of the period by tickets, each with the previous count."""
    return {dimension: [Change(code, count, previous.by[dimension].get(code, 0))
                        for code, count in current.by[dimension].most_common(top)]
            for dimension in HOTSPOT_DIMENSIONS}


def kpi_changes(period: Period, scope: Scope, now: datetime | None = None) -> list[KpiChange]:
    now = now or utcnow()
    current = kpis.compute(period.start, period.end, unit=scope.unit, desk=scope.desk, now=now)
    before = period.previous()
    previous = kpis.compute(before.start, before.end, unit=scope.unit, desk=scope.desk, now=now)
    return [KpiChange(c, p) for c, p in zip(current.kpis, previous.kpis, strict=True)]


def rankings(period: Period, scope: Scope, sort: str = "replied_on_time",
             descending: bool = True, now: datetime | None = None) -> list[Ranked]:
    """The scope's branches (the centre's counties and departments, a county's towns) with
    every KPI, ranked on `sort`: units without a denominator last, ties by the larger count."""
    report = kpis.compute(period.start, period.end, unit=scope.unit, desk=scope.desk,
                          now=now or utcnow(), with_units=True)
    rows = [Ranked(code, {k.key: k for k in values}) for code, values in report.by_unit.items()]
    if sort == "unit":
        return rows if not descending else rows[::-1]

    def order(row: Ranked):
        kpi = row.kpis[sort]
        rate = kpi.rate
        return (rate is None, -(rate or 0) if descending else (rate or 0), -kpi.denominator)

    return sorted(rows, key=order)


def overdue(period: Period, scope: Scope, now: datetime | None = None,
            limit: int | None = LIST_LIMIT) -> list[OverdueClock]:
    """The ticket clocks open and past due at the period's end (or now, if sooner), the
    longest overdue first."""
    moment = min(period.window()[1], now or utcnow())
    # Two parts, each read from a partial index and cut at `limit`: the clocks still open (the
    # open clocks by due), and those stopped after the moment though due before it (the clocks
    # stopped late, by stop), instead of every clock of every year with either.
    states = open_states()

    def part(*conditions) -> Select:
        clocks = select(Timer.id, Timer.due_at).join(Ticket, Timer.ticket_id == Ticket.id)
        stmt = _scoped(clocks, scope).where(
            Timer.referral_id.is_(None), Timer.started_at < moment, Timer.due_at <= moment, *conditions,
        ).order_by(Timer.due_at, Timer.id)
        return stmt.limit(limit) if limit is not None else stmt

    parts = union_all(select(part(Timer.state.in_(states)).subquery()),
                      select(part(Timer.state.not_in(states), Timer.stopped_at > moment,
                                  Timer.stopped_at > Timer.due_at).subquery())).subquery()
    stmt = (select(Ticket, Timer).join(Timer, Timer.ticket_id == Ticket.id)
            .where(Timer.id.in_(select(parts.c.id)))
            .options(joinedload(Ticket.lead_unit)).order_by(Timer.due_at, Timer.id))
    if limit is not None:
        stmt = stmt.limit(limit)
    return [OverdueClock(ticket, timer) for ticket, timer in db.session.execute(stmt)]


def crisis_query(period: Period, scope: Scope) -> Select:
    """Crisis tickets opened or flagged in the period, newest first: read from the few crisis
    tickets (`ix_tickets_crisis_created_at`), each looked up for a flag in the period."""
    first, last = period.window()
    flagged = exists().where(Event.ticket_id == Ticket.id, Event.action.in_(CRISIS_ACTIONS),
                             Event.at >= first, Event.at < last)
    return _scoped(select(Ticket), scope).where(
        Ticket.priority == Priority.CRISIS,
        or_(and_(Ticket.created_at >= first, Ticket.created_at < last), flagged),
    ).order_by(Ticket.created_at.desc(), Ticket.id.desc())


def crisis_cases(viewer: User, period: Period, scope: Scope,
                 limit: int | None = LIST_LIMIT) -> list[Ticket]:
    """Crisis tickets opened or flagged in the period, newest first. Reading a child's case
    here is a read like any other: logged in the read audit."""
    stmt = crisis_query(period, scope).options(joinedload(Ticket.lead_unit))
    if limit is not None:
        stmt = stmt.limit(limit)
    tickets = list(db.session.scalars(stmt).unique())
    audit.audit_children(viewer, tickets, "report")
    return tickets


def period_report(viewer: User, period: Period, scope: Scope, now: datetime | None = None,
                  limit: int | None = LIST_LIMIT) -> PeriodReport:
    """The daily (one day) or weekly (Monday to Sunday) report of `scope`."""
    now = now or utcnow()
    current = volumes(period, scope)
    previous = volumes(period.previous(), scope)
    return PeriodReport(
        period=period, scope=scope, volumes=current, previous_volumes=previous,
        hotspots=hotspots(current, previous), kpi_changes=kpi_changes(period, scope, now),
        overdue=overdue(period, scope, now, limit), crisis=crisis_cases(viewer, period, scope, limit),
    )
