"""KPI rollups (issue 24): every KPI's facts counted per (Shanghai day, unit, desk), kept in
`kpi_rollups` so that a month's dashboard adds up a few thousand rows instead of counting
hundreds of thousands of clocks and events.

The counts are those of the reference SQL, `hotline.kpis.collect_tallies`. Every fact belongs to
one ticket and depends on that ticket's rows alone (its clocks, its events, its desk and place)
and on the moment (an open clock past due is decided). So the facts are also kept per ticket
(`kpi_ticket_facts`), and `kpi_rollups` is their sum per (day, unit, desk).

* **Mark**: when the facts were last brought up to date. Every ticket's stored facts are the
  reference's at the mark.
* **Changed tickets** since the mark: those with an event after it (every action writes an
  event: a dispatch returned days later, a reply reopened, a clock met, extended or
  cancelled), and those with an open clock that fell due after it (decided with no event).
  Events are looked for from `LAG` before the mark, so that an event written in a transaction
  that committed late (its `at` is its flush time) is still seen; of those, only the events a
  count has not seen yet: each counted ticket's last event number (`seq`) is kept with its
  facts (`kpi_ticket_marks`), so a read recounts what changed since the last fold, not every
  ticket of the last `LAG` minutes (at 100,000 tickets a day, ~1,500 against ~300).
* **Fold** (the minute sweep, `fold`): the changed tickets' facts are recounted by the
  reference SQL, their stored facts replaced and the rollups moved by the difference, in the
  sweep's transaction; the fold's time is the new mark. Folds take the mark's row lock
  (PostgreSQL), so two workers' sweeps do not interleave.
* **Rebuild** (`hotline kpis rebuild`, `rebuild`): every ticket's facts from the first event to
  today, and their sums; `since` a day, only the days from it (after a fold).
* **Reading** (`sums`, what `kpis.compute` uses): the rollups of the period's days, today
  included, added up by the database per (kpi, day) and per (kpi, unit) of the view, with
  the changed tickets' stored facts swapped for their live ones. The figures are therefore
  exactly the reference's at any moment, fresh folds or not, and a read counts a few tickets
  live, not a day.

Idempotent: folding or rebuilding twice leaves the same rows.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import TypeVar

from flask import g, has_request_context
from sqlalchemy import (
    ARRAY,
    CompoundSelect,
    Date,
    Index,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    delete,
    func,
    insert,
    null,
    or_,
    select,
    text,
    tuple_,
    union,
    union_all,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from hotline import kpis
from hotline.clocks.calendar import SHANGHAI
from hotline.clocks.models import OPEN_TIMER_STATES, Timer
from hotline.extensions import db
from hotline.tickets.models import Event, Ticket
from hotline.types import UTCDateTime, utcnow

LAG = timedelta(minutes=5)   # the longest a transaction writing events may take to commit
MARK_ID = 1
RUN_DAYS = 31
BATCH = 5000


class _Counts:
    """One KPI's facts of one day, unit and desk: `total` in the denominator, `hits` in the
    numerator (as `kpis.Tally`)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    kpi: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(String(64))
    desk: Mapped[str] = mapped_column(String(32))
    hits: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)


class KpiRollup(_Counts, db.Model):
    """The facts of every ticket, summed."""

    __tablename__ = "kpi_rollups"
    __table_args__ = (Index("ix_kpi_rollups_day", "day"),)


class KpiTicketFact(_Counts, db.Model):
    """One ticket's share of a rollup row, as the reference counted it at the mark."""

    __tablename__ = "kpi_ticket_facts"

    ticket_id: Mapped[int] = mapped_column(Integer, index=True)


class KpiTicketMark(db.Model):
    """The last event of a ticket its stored facts have seen (read before they were counted, so
    an event committed meanwhile is counted again, not missed)."""

    __tablename__ = "kpi_ticket_marks"

    ticket_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)


class KpiRollupMark(db.Model):
    """The high-water mark: when the rollups were last brought up to date (one row)."""

    __tablename__ = "kpi_rollup_marks"

    id: Mapped[int] = mapped_column(primary_key=True)
    folded_at: Mapped[datetime] = mapped_column(UTCDateTime)


T = TypeVar("T")
Key = tuple[str, date, str | None, str]   # (kpi, day, unit, desk)
EPOCH = date(2000, 1, 1)   # before any ticket: a ticket's facts are counted over all its days


def _day(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def changed_tickets(mark: datetime, now: datetime) -> set[int]:
    """The tickets whose facts may differ from those counted at `mark` (see the module's notes)."""
    moved = (select(Event.ticket_id)
             .outerjoin(KpiTicketMark, KpiTicketMark.ticket_id == Event.ticket_id)
             .where(Event.at > mark - LAG, or_(KpiTicketMark.seq.is_(None), Event.seq > KpiTicketMark.seq)))
    fell_due = select(Timer.ticket_id).where(Timer.state.in_(OPEN_TIMER_STATES), Timer.due_at > mark,
                                             Timer.due_at <= now)
    return set(db.session.scalars(union(moved, fell_due)))


def _live(tickets: set[int], now: datetime, start: date, end: date | None) -> dict[tuple, list[int]]:
    """The reference's facts of `tickets` on [start, end] (today when None), by (ticket, *key),
    BATCH tickets a statement (after a clock storm a fold has tens of thousands: SQLite takes
    each id of each part as its own variable)."""
    ids, found = sorted(tickets), {}
    for n in range(0, len(ids), BATCH):
        found.update(_by_ticket(kpis.collect_tallies(start, end or _day(now), now, ids[n:n + BATCH])))
    return found


def _by_ticket(tallies: dict[str, list[kpis.Tally]]) -> dict[tuple, list[int]]:
    found: dict = defaultdict(lambda: [0, 0])
    for key, counted in tallies.items():
        for t in counted:   # `overdue` has a tally of each clock kind with the same key
            value = found[(t.ticket, key, t.day, t.unit, t.desk)]
            value[0] += t.hits
            value[1] += t.total
    return found


def _stored(tickets: set[int], start: date, end: date | None) -> list:
    columns = (KpiTicketFact.ticket_id, KpiTicketFact.kpi, KpiTicketFact.day, KpiTicketFact.unit,
               KpiTicketFact.desk, KpiTicketFact.hits, KpiTicketFact.total)
    rows = []
    ids = sorted(tickets)
    for n in range(0, len(ids), BATCH):
        stmt = select(*columns).where(KpiTicketFact.ticket_id.in_(ids[n:n + BATCH]),
                                      KpiTicketFact.day >= start)
        if end is not None:
            stmt = stmt.where(KpiTicketFact.day <= end)
        rows += db.session.execute(stmt).all()
    return rows


def _difference(tickets: set[int], now: datetime, start: date = EPOCH,
                end: date | None = None) -> tuple[dict, dict[Key, list[int]]]:
    """`tickets`' live facts (per ticket and key) and how much their sums differ from the stored
    ones (per key)."""
    live = _live(tickets, now, start, end)
    delta: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    for (_, *key), (hits, total) in live.items():
        delta[tuple(key)][0] += hits
        delta[tuple(key)][1] += total
    for _, kpi, day, unit, desk, hits, total in _stored(tickets, start, end):
        delta[(kpi, day, unit, desk)][0] -= hits
        delta[(kpi, day, unit, desk)][1] -= total
    return live, {key: value for key, value in delta.items() if value != [0, 0]}


FACT_COLUMNS = ("ticket_id", "kpi", "day", "unit", "desk", "hits", "total")


def _store(facts: dict[tuple, list[int]]) -> None:
    """Insert per-ticket facts (keyed as `_by_ticket`'s): COPY on PostgreSQL, where a rebuild
    writes millions of them."""
    rows = [(*key, hits, total) for key, (hits, total) in facts.items()]
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        with connection.connection.driver_connection.cursor() as cursor, cursor.copy(
                f"COPY kpi_ticket_facts ({', '.join(FACT_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    for n in range(0, len(rows), BATCH):
        db.session.execute(insert(KpiTicketFact), [dict(zip(FACT_COLUMNS, row, strict=True))
                                                   for row in rows[n:n + BATCH]])


def _apply(delta: dict[Key, list[int]]) -> None:
    """Move the rollups by `delta`; rows that fall to nothing go."""
    if not delta:
        return
    days = sorted({day for _, day, _, _ in delta})
    have = {(r.kpi, r.day, r.unit, r.desk): r for r in db.session.execute(
        select(KpiRollup.id, KpiRollup.kpi, KpiRollup.day, KpiRollup.unit, KpiRollup.desk,
               KpiRollup.hits, KpiRollup.total).where(KpiRollup.day.in_(days)))}
    changed, added, gone = [], [], []
    for key, (hits, total) in delta.items():
        row = have.get(key)
        if row is None:
            kpi, day, unit, desk = key
            added.append({"kpi": kpi, "day": day, "unit": unit, "desk": desk, "hits": hits, "total": total})
        elif (row.hits + hits, row.total + total) == (0, 0):
            gone.append(row.id)
        else:
            changed.append({"id": row.id, "hits": row.hits + hits, "total": row.total + total})
    if changed:
        db.session.execute(update(KpiRollup), changed)
    if added:
        db.session.execute(insert(KpiRollup), added)
    if gone:
        db.session.execute(delete(KpiRollup).where(KpiRollup.id.in_(gone)))


def _last_events(tickets: set[int]) -> list[dict]:
    """`tickets`' last event numbers, read before their facts are counted."""
    ids, found = sorted(tickets), []
    for n in range(0, len(ids), BATCH):
        found += [{"ticket_id": ticket, "seq": seq} for ticket, seq in db.session.execute(
            select(Ticket.id, Ticket.event_seq).where(Ticket.id.in_(ids[n:n + BATCH])))]
    return found


def _mark() -> KpiRollupMark | None:
    return db.session.scalars(select(KpiRollupMark).where(KpiRollupMark.id == MARK_ID)
                              .with_for_update()).first()


def fold(now: datetime | None = None) -> int:
    """Recount the tickets changed since the mark and move the mark; how many tickets (days, when
    there was no mark and it rebuilt). Flushes."""
    now = now or utcnow()
    mark = _mark()
    if mark is None:
        return rebuild(now)
    if now < mark.folded_at:   # a clock set back: the rows already count a later moment
        return 0
    tickets = changed_tickets(mark.folded_at, now)
    seen = _last_events(tickets)
    live, delta = _difference(tickets, now)
    ids = sorted(tickets)
    for n in range(0, len(ids), BATCH):
        db.session.execute(delete(KpiTicketFact).where(KpiTicketFact.ticket_id.in_(ids[n:n + BATCH])))
        db.session.execute(delete(KpiTicketMark).where(KpiTicketMark.ticket_id.in_(ids[n:n + BATCH])))
    _store(live)
    for n in range(0, len(seen), BATCH):
        db.session.execute(insert(KpiTicketMark), seen[n:n + BATCH])
    _apply(delta)
    mark.folded_at = now
    db.session.flush()
    return len(tickets)


def _runs(first: date, last: date) -> Iterable[tuple[date, date]]:
    """[first, last] in runs of RUN_DAYS, each one query of the reference SQL (a rebuild of years
    would otherwise be one query over all of them)."""
    while first <= last:
        yield first, min(last, first + timedelta(days=RUN_DAYS - 1))
        first += timedelta(days=RUN_DAYS)


def rebuild(now: datetime | None = None, since: date | None = None) -> int:
    """Recount every ticket's facts from the first event (or, after a fold, from the day
    `since`) to today; how many days. Flushes."""
    now = now or utcnow()
    mark = _mark()
    if since is not None and mark is not None:
        fold(now)   # the days before `since` brought up to date, and the marks with them
        start: date | None = since
        db.session.execute(delete(KpiRollup).where(KpiRollup.day >= since))
        db.session.execute(delete(KpiTicketFact).where(KpiTicketFact.day >= since))
    else:
        db.session.execute(delete(KpiRollup))
        db.session.execute(delete(KpiTicketFact))
        db.session.execute(delete(KpiTicketMark))
        # before the count, as a fold reads them
        db.session.execute(insert(KpiTicketMark).from_select(
            ["ticket_id", "seq"], select(Ticket.id, Ticket.event_seq)))
        first = db.session.scalar(select(func.min(Event.at)))
        start = None if first is None else _day(first)
    days = 0
    if start is not None:
        today = _day(now)
        days = max(0, (today - start).days + 1)
        for run_start, run_end in _runs(start, today):
            _store(_by_ticket(kpis.collect_tallies(run_start, run_end, now, by_ticket=True)))
        columns = (KpiTicketFact.kpi, KpiTicketFact.day, KpiTicketFact.unit, KpiTicketFact.desk)
        db.session.execute(insert(KpiRollup).from_select(
            [*columns, KpiRollup.hits, KpiRollup.total],
            select(*columns, func.sum(KpiTicketFact.hits), func.sum(KpiTicketFact.total))
            .where(KpiTicketFact.day >= start).group_by(*columns)))
        if db.session.get_bind().dialect.name == "postgresql":
            # every row replaced: without fresh statistics a fold's lookup by ticket scans them all
            db.session.execute(text("ANALYZE kpi_ticket_facts, kpi_rollups, kpi_ticket_marks"))
    if mark is None:
        db.session.add(KpiRollupMark(id=MARK_ID, folded_at=now))
    else:
        mark.folded_at = now
    db.session.flush()
    return days


def _once(key: tuple, count: Callable[[], T]) -> T:
    """`count()`, once per request for the same key (the KPI page reads the KPIs and the knowledge
    figures of one moment, `kpis.moment`: the changed tickets are recounted once for both)."""
    if not has_request_context():
        return count()
    counted = g.setdefault("kpi_live", {})
    if key not in counted:
        counted[key] = count()
    return counted[key]


def sums(start: date, end: date, now: datetime, selection: kpis.Selection) -> kpis.Sums:
    """The facts of `selection` of [start, end] as the reference SQL counts them at `now`, added
    up per (kpi, day) and per (kpi, unit). The database adds up the rollups less the changed
    tickets' stored facts, in one statement; their live facts are added here (the same sum,
    row by row, as swapping them in the rows)."""
    mark = db.session.scalars(select(KpiRollupMark).where(KpiRollupMark.id == MARK_ID)).first()
    if mark is None or now < mark.folded_at:   # never folded, or a question about the past
        return kpis.summed(kpis.collect_tallies(start, end, now), selection)
    tickets = _once(("changed", mark.folded_at, now), lambda: changed_tickets(mark.folded_at, now))
    live = _once(("live", mark.folded_at, now, start, end), lambda: _live(tickets, now, start, end))
    found = kpis.Sums()
    for (_, kpi, day, unit, desk), (hits, total) in live.items():
        if (kpi, unit, desk) in selection:
            found.add(kpi, day, unit, hits, total, selection.per_unit)
    rows: Select | CompoundSelect = _selected(KpiRollup, start, end, selection)
    if tickets:
        ids = sorted(tickets)
        stored = _selected(KpiTicketFact, start, end, selection, sign=-1)
        if db.session.get_bind().dialect.name == "postgresql":   # one parameter, however many
            among = any_(bindparam("ids", ids, type_=ARRAY(Integer)))
            stored = stored.where(KpiTicketFact.ticket_id == among)
        else:
            stored = stored.where(KpiTicketFact.ticket_id.in_(ids))
        rows = union_all(rows, stored)
    facts = rows.subquery()
    counted = (func.sum(facts.c.hits).label("hits"), func.sum(facts.c.total).label("total"))
    stmt: Select | CompoundSelect = (select(facts.c.kpi, facts.c.day, null().label("unit"), *counted)
                                     .group_by(facts.c.kpi, facts.c.day))
    if selection.per_unit and db.session.get_bind().dialect.name == "postgresql":
        # both groupings in one pass over the ~36,000 rows of a province's month
        stmt = select(facts.c.kpi, facts.c.day, facts.c.unit, *counted).group_by(func.grouping_sets(
            tuple_(facts.c.kpi, facts.c.day), tuple_(facts.c.kpi, facts.c.unit)))
    elif selection.per_unit:
        stmt = union_all(stmt, select(facts.c.kpi, null(), facts.c.unit, *counted)
                         .group_by(facts.c.kpi, facts.c.unit))
    for kpi, day, unit, hits, total in db.session.execute(stmt):
        found.add(kpi, day, None if day is not None else unit, int(hits), int(total),
                  per_unit=day is None)
    return found


def _selected(model, start: date, end: date, selection: kpis.Selection, sign: int = 1) -> Select:
    """The rows of `model` (the rollups, or per-ticket facts) of [start, end] that `selection`
    takes, as (kpi, day, unit, hits, total), the counts times `sign`."""
    stmt = select(model.kpi, model.day, model.unit, (model.hits * sign).label("hits"),
                  (model.total * sign).label("total")).where(
        model.day >= start, model.day <= end, model.kpi.in_(sorted(selection.keys)))
    if selection.desk is not None:
        stmt = stmt.where(model.desk == str(selection.desk))
    if selection.units is not None:
        stmt = stmt.where(model.unit.in_(sorted(selection.units)))
    return stmt
