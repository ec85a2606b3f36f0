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

from sqlalchemy import Date, Integer, String, delete, func, insert, select, union
from sqlalchemy.orm import Mapped, mapped_column

from hotline import kpis
from hotline.clocks.calendar import SHANGHAI
from hotline.clocks.models import OPEN_TIMER_STATES, Timer
from hotline.extensions import db
from hotline.tickets.models import Event
from hotline.types import UTCDateTime, utcnow

LAG = timedelta(minutes=5)   # the longest a transaction writing events may take to commit
MARK_ID = 1


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


def dirty_days(since: datetime, now: datetime) -> set[date]:
    """The days whose facts may have changed after `since` (see the module's notes)."""
    touched = select(Event.ticket_id).where(Event.at > since).distinct().scalar_subquery()
    days = union(
        select(kpis.shanghai_day(Event.at).label("day")).where(Event.ticket_id.in_(touched)),
        select(kpis.shanghai_day(Timer.started_at).label("day")).where(Timer.ticket_id.in_(touched)),
        select(kpis.shanghai_day(Timer.started_at).label("day")).where(
            Timer.state.in_(OPEN_TIMER_STATES), Timer.due_at > since, Timer.due_at <= now),
    )
    return {_as_date(day) for day in db.session.scalars(select(days.subquery().c.day))}


def _as_date(value) -> date:
    """A union loses the column's type on SQLite, which answers the day as text."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def _runs(days: set[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) runs, so each is one query of the reference SQL."""
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] + timedelta(days=1) == day:
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
    rows for the settled days, live counts for today and the days dirty since the last fold."""
    mark = db.session.scalars(select(KpiRollupMark).where(KpiRollupMark.id == MARK_ID)).first()
    if mark is None or now < mark.folded_at:   # never folded, or a question about the past
        return kpis.collect_tallies(start, end, now)
    live = {day for day in dirty_days(mark.folded_at - LAG, now) | {_day(now)} if start <= day <= end}
    found = _live(live, now)
    stored = select(KpiRollup).where(KpiRollup.day >= start, KpiRollup.day <= end)
    for row in db.session.scalars(stored):
        if row.day not in live:
            found[row.kpi].append(kpis.Tally(row.day, row.unit, row.desk, row.hits, row.total))
    return found
