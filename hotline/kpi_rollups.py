"""KPI rollups (issue 24): every KPI's facts counted per (Shanghai day, unit, desk), kept in
`kpi_rollups` so that a month's dashboard adds up a few thousand rows instead of counting
hundreds of thousands of clocks and events.

The counts are those of the reference SQL, `hotline.kpis.collect_tallies`, stored per day:
a day's rows are only ever replaced whole, by recomputing that day with the reference SQL.

* **Fold** (the minute sweep, `fold`): the days whose facts may have changed since the last
  fold are recomputed in the sweep's transaction, and the fold's time is the new mark. A fact
  of a day changes when an event is added to its ticket (a dispatch is returned days later, a
  reply is reopened, a clock is met, extended or cancelled: every action writes an event), or
  when an open clock falls due (it becomes decided with no event). So the dirty days are every
  day with an event or a clock start of a ticket that has an event since the mark, and the
  start day of every open clock that fell due since the mark. The mark lags by `LAG`, so an
  event written in a transaction that commits late (its `at` is its flush time) is still seen.
  Folds take the mark's row lock (PostgreSQL), so two workers' sweeps do not interleave.
* **Rebuild** (`hotline kpis rebuild`, `rebuild`): every day from the first event to today.
* **Reading** (`tallies`, what `kpis.compute` uses): the stored rows of the period's days, except
  today and the days dirty since the last fold, which are counted live by the reference SQL.
  The figures are therefore exactly the reference's at any moment, fresh folds or not.

Idempotent: folding or rebuilding twice leaves the same rows.
"""

from datetime import date, datetime, timedelta

from sqlalchemy import Date, Integer, Select, String, case, delete, func, insert, null, select, union
from sqlalchemy.orm import Mapped, mapped_column

from hotline import kpis
from hotline.clocks.calendar import SHANGHAI
from hotline.clocks.models import OPEN_TIMER_STATES, UNIT_CLOCKS, Timer, TimerKind
from hotline.extensions import db
from hotline.tickets.models import Event, Ticket
from hotline.types import UTCDateTime, utcnow

LAG = timedelta(minutes=5)   # the longest a transaction writing events may take to commit
MARK_ID = 1
RUN_DAYS = 31


class KpiRollup(db.Model):
    """One KPI's facts of one day, unit and desk: `total` in the denominator, `hits` in the
    numerator (as `kpis.Tally`)."""

    __tablename__ = "kpi_rollups"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    kpi: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(String(64))
    desk: Mapped[str] = mapped_column(String(32))
    hits: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)


class KpiRollupMark(db.Model):
    """The high-water mark: when the rollups were last brought up to date (one row)."""

    __tablename__ = "kpi_rollup_marks"

    id: Mapped[int] = mapped_column(primary_key=True)
    folded_at: Mapped[datetime] = mapped_column(UTCDateTime)


def _day(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def _touched_days(since: datetime) -> Select:
    """The days of every event and clock start of the tickets with an event after `since`."""
    touched = select(Event.ticket_id).where(Event.at > since).distinct().scalar_subquery()
    return union(
        select(kpis.shanghai_day(Event.at).label("day")).where(Event.ticket_id.in_(touched)),
        select(kpis.shanghai_day(Timer.started_at).label("day")).where(Timer.ticket_id.in_(touched)),
    ).subquery().select()


def _days(stmt: Select) -> set[date]:
    return {_as_date(day) for day in db.session.scalars(stmt)}


def dirty_days(since: datetime, now: datetime) -> set[date]:
    """The days whose facts may have changed after `since` (see the module's notes)."""
    fell_due = select(kpis.shanghai_day(Timer.started_at)).where(
        Timer.state.in_(OPEN_TIMER_STATES), Timer.due_at > since, Timer.due_at <= now)
    return _days(_touched_days(since)) | _days(fell_due)


def _fell_due(folded_at: datetime, now: datetime, live: set[date], start: date,
              end: date) -> dict[str, list[kpis.Tally]]:
    """What the stored rows lack of a settled day: its open clocks that fell due after the fold
    (not decided then, decided now, late). Their tickets have no event since (else the day
    would be live), so nothing else of theirs changed."""
    found: dict[str, list[kpis.Tally]] = {key: [] for key in kpis.KPI_KEYS}
    unit = case((Timer.kind != TimerKind.DISPATCH, kpis.unit_at(Timer.ticket_id, Timer.started_at)),
                else_=null())
    day = kpis.shanghai_day(Timer.started_at)
    first, last = kpis.window(start, end)
    stmt = (select(Timer.kind, day.label("day"), unit.label("unit"), Ticket.desk, func.count())
            .join(Ticket, Ticket.id == Timer.ticket_id)
            .where(Timer.state.in_(OPEN_TIMER_STATES), Timer.due_at > folded_at, Timer.due_at <= now,
                   Timer.kind.in_(list(kpis.ON_TIME_CLOCKS)), Timer.started_at >= first,
                   Timer.started_at < last)
            .group_by(Timer.kind, day, unit, Ticket.desk))
    for kind, when, code, desk, count in db.session.execute(stmt):
        when = _as_date(when)
        if when in live:
            continue
        kind = TimerKind(kind)
        desk = str(getattr(desk, "value", desk))
        found[kpis.ON_TIME_CLOCKS[kind]].append(kpis.Tally(when, code, desk, 0, count))
        if kind in UNIT_CLOCKS:   # late: a hit of `overdue`
            found["overdue"].append(kpis.Tally(when, code, desk, count, count))
    return found


def _as_date(value) -> date:
    """A union loses the column's type on SQLite, which answers the day as text."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def _runs(days: set[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) runs of at most RUN_DAYS, each one query of the
    reference SQL (a rebuild of years would otherwise be one query over all of them)."""
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] + timedelta(days=1) == day and (day - runs[-1][0]).days < RUN_DAYS:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _live(days: set[date], now: datetime) -> dict[str, list[kpis.Tally]]:
    """The reference SQL's facts of `days` only."""
    found: dict[str, list[kpis.Tally]] = {key: [] for key in kpis.KPI_KEYS}
    for first, last in _runs(days):
        for key, tallies in kpis.collect_tallies(first, last, now).items():
            found[key] += [tally for tally in tallies if tally.day in days]
    return found


def _recompute(days: set[date], now: datetime) -> None:
    if not days:
        return
    db.session.execute(delete(KpiRollup).where(KpiRollup.day.in_(sorted(days))))
    rows = [{"day": t.day, "kpi": key, "unit": t.unit, "desk": t.desk, "hits": t.hits, "total": t.total}
            for key, tallies in _live(days, now).items() for t in tallies]
    if rows:
        db.session.execute(insert(KpiRollup), rows)


def _mark() -> KpiRollupMark | None:
    return db.session.scalars(select(KpiRollupMark).where(KpiRollupMark.id == MARK_ID)
                              .with_for_update()).first()


def fold(now: datetime | None = None) -> int:
    """Recompute the days dirty since the mark and move the mark; how many days. Flushes."""
    now = now or utcnow()
    mark = _mark()
    if mark is None:
        return rebuild(now)
    if now < mark.folded_at:   # a clock set back: the rows already count a later moment
        return 0
    days = dirty_days(mark.folded_at - LAG, now)
    _recompute(days, now)
    mark.folded_at = now
    db.session.flush()
    return len(days)


def rebuild(now: datetime | None = None) -> int:
    """Recompute every day from the first event to today; how many days. Flushes."""
    now = now or utcnow()
    mark = _mark()
    db.session.execute(delete(KpiRollup))
    first = db.session.scalar(select(func.min(Event.at)))
    days = 0
    if first is not None:
        start, today = _day(first), _day(now)
        days = (today - start).days + 1
        _recompute({start + timedelta(days=n) for n in range(days)}, now)
    if mark is None:
        db.session.add(KpiRollupMark(id=MARK_ID, folded_at=now))
    else:
        mark.folded_at = now
    db.session.flush()
    return days


def tallies(start: date, end: date, now: datetime) -> dict[str, list[kpis.Tally]]:
    """Every KPI's facts of [start, end] as the reference SQL counts them at `now`: stored
    rows for the settled days (with their clocks that fell due since the fold), live counts
    for today and the days of tickets with events since the last fold."""
    mark = db.session.scalars(select(KpiRollupMark).where(KpiRollupMark.id == MARK_ID)).first()
    if mark is None or now < mark.folded_at:   # never folded, or a question about the past
        return kpis.collect_tallies(start, end, now)
    live = {day for day in _days(_touched_days(mark.folded_at - LAG)) | {_day(now)} if start <= day <= end}
    found = _live(live, now)
    for key, extra in _fell_due(mark.folded_at, now, live, start, end).items():
        found[key] += extra
    stored = (select(KpiRollup.kpi, KpiRollup.day, KpiRollup.unit, KpiRollup.desk, KpiRollup.hits,
                     KpiRollup.total)
              .where(KpiRollup.day >= start, KpiRollup.day <= end))
    for key, day, unit, desk, hits, total in db.session.execute(stored):   # rows, not objects
        if day not in live:
            found[key].append(kpis.Tally(day, unit, desk, hits, total))
    return found
