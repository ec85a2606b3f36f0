"""History that stays fast (issue 24): on PostgreSQL the event log (`ticket_events`) and the
read audit (`read_audit`) are range-partitioned by Shanghai month on their `at` column
(migration `..._h3_history_partitioned_by_month`). On SQLite they stay plain tables and
everything here does nothing.

* Each table has one partition per month, `<table>_YYYY_MM`, and a DEFAULT partition,
  `<table>_default`, so an insert for a month without its partition still lands: an event
  is never refused for want of a partition.
* The minute sweep (`ensure_ahead`) keeps the current month and the next `AHEAD` months
  created. Creating a month whose rows already wait in the default partition moves them
  into it (the same transaction: they never leave the table).
* The append-only triggers (hotline.audit) are row triggers on the parent, which PostgreSQL
  clones onto every partition; TRUNCATE is a statement trigger, which it does not, so each
  partition gets its own.
* Archiving (`archive`, `hotline history archive`) detaches the monthly partitions before a
  month: they become plain tables, out of every query, for the operator to dump and drop
  (docs/operations.md). Months within `HISTORY_ONLINE_MONTHS` are refused.

A partitioned table's keys must hold the partition key: the primary keys are (id, at) and
the events' uniqueness is (ticket_id, seq, at). What keeps a ticket's chain from forking is
the ticket's version bump in `record_event`; `hotline audit verify` finds a doubled seq.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from hotline import audit, search
from hotline.clocks.calendar import SHANGHAI
from hotline.extensions import db
from hotline.types import utcnow

TABLES = ("ticket_events", "read_audit")
AHEAD = 3
PARTITION = re.compile(rf"^({'|'.join(TABLES)})_(\d{{4}}_\d{{2}}|default)$")
LOCK_TIMEOUT = "2s"      # the sweep waits no longer than this for the parent's lock
ADVISORY_KEY = 24_004    # two sweeps never create the same month at once


@dataclass(frozen=True)
class Partition:
    table: str
    name: str
    month: date | None        # None: the default partition


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic: the partitions (made by the migration and the sweep, not by the models) and the
    search engines' objects (`search.include_object`) stay out of the models comparison."""
    if type_ == "table" and reflected and name and PARTITION.match(name):
        return False
    if type_ == "index" and reflected and obj.table is not None and PARTITION.match(obj.table.name):
        return False
    return search.include_object(obj, name, type_, reflected, compare_to)


def month_of(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date().replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_{month:%Y_%m}"


def _bound(month: date) -> str:
    return datetime.combine(month, time(), SHANGHAI).isoformat()


def is_partitioned() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def partitions(table: str | None = None) -> list[Partition]:
    """The partitions attached to the partitioned tables, oldest month first, default last."""
    if not is_partitioned():
        return []
    rows = db.session.execute(text(
        "SELECT parent.relname, child.relname FROM pg_inherits "
        "JOIN pg_class parent ON parent.oid = pg_inherits.inhparent "
        "JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
        "WHERE parent.relname = ANY(:tables)"), {"tables": [table] if table else list(TABLES)}).all()
    found = []
    for parent, child in rows:
        suffix = child.removeprefix(f"{parent}_")
        month = None if suffix == "default" else date(int(suffix[:4]), int(suffix[5:7]), 1)
        found.append(Partition(parent, child, month))
    return sorted(found, key=lambda p: (p.table, p.month is None, p.month or date.min))


def ensure_partition(table: str, month: date) -> bool:
    """Create `table`'s partition of `month` unless it exists; True if created. Rows of that
    month waiting in the default partition move into it."""
    name = partition_name(table, month)
    if db.session.execute(text("SELECT to_regclass(:name)"), {"name": name}).scalar():
        return False
    low, high = _bound(month), _bound(add_months(month, 1))
    default = f"{table}_default"
    waiting = db.session.execute(text(
        f"SELECT EXISTS (SELECT 1 FROM {default} WHERE at >= :low AND at < :high)"),
        {"low": low, "high": high}).scalar()
    if not waiting:
        db.session.execute(text(
            f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM ('{low}') TO ('{high}')"))
    else:
        # A new range may not overlap rows of the default partition: move them first.
        db.session.execute(text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)"))
        with audit.maintenance(db.session.connection(), f"history: {default} rows into {name}"):
            db.session.execute(text(
                f"WITH moved AS (DELETE FROM {default} WHERE at >= :low AND at < :high RETURNING *) "
                f"INSERT INTO {name} SELECT * FROM moved"), {"low": low, "high": high})
        db.session.execute(text(
            f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ('{low}') TO ('{high}')"))
    db.session.execute(text(
        f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"))
    return True


def ensure_ahead(now: datetime | None = None) -> dict:
    """The sweep's step: this month's and the next `AHEAD` months' partitions exist.

    In a savepoint with a short lock timeout: a sweep that cannot get the parent's lock at
    once leaves the month to the next minute's sweep (the default partition holds the rows
    meanwhile) and its other steps' work stands."""
    if not is_partitioned():
        return {}
    first = month_of(now or utcnow())
    wanted = [(table, add_months(first, step)) for table in TABLES for step in range(AHEAD + 1)]
    have = {p.name for p in partitions()}
    missing = [(table, month) for table, month in wanted if partition_name(table, month) not in have]
    if not missing:
        return {"created": []}
    created = []
    try:
        with db.session.begin_nested():
            db.session.execute(text("SELECT set_config('lock_timeout', :timeout, true)"),
                               {"timeout": LOCK_TIMEOUT})
            db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_KEY})
            created = [partition_name(table, month) for table, month in missing
                       if ensure_partition(table, month)]
            db.session.execute(text("SELECT set_config('lock_timeout', '0', true)"))
    except OperationalError as exc:
        return {"created": [], "postponed": str(exc.orig).splitlines()[0]}
    return {"created": created}


def archivable(before: date) -> list[Partition]:
    """The monthly partitions wholly before the month `before`."""
    return [p for p in partitions() if p.month is not None and p.month < before]


def archive(before: date, online_months: int, *, dry_run: bool = False,
            now: datetime | None = None) -> list[Partition]:
    """Detach the monthly partitions before `before` (not within the last `online_months`
    months): they leave the tables, as plain tables for the operator to dump and drop."""
    limit = add_months(month_of(now or utcnow()), -online_months)
    if before > limit:
        raise ValueError(f"months from {limit:%Y-%m} on are kept online (HISTORY_ONLINE_MONTHS)")
    found = archivable(before)
    if dry_run:
        return found
    for partition in found:
        db.session.execute(text(f"ALTER TABLE {partition.table} DETACH PARTITION {partition.name}"))
    return found
