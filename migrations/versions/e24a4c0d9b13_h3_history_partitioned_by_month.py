"""history partitioned by month: ticket_events and read_audit (issue 24 item 4)

On PostgreSQL both tables become range-partitioned on `at` by Shanghai month (hotline.history):
a new partitioned table takes the old one's columns, one partition per month from the oldest
row to three months ahead and a DEFAULT partition; the rows move across, the id sequence is
handed over, the old table goes. Keys must hold the partition key: the primary keys become
(id, at) and the events' unique (ticket_id, seq) becomes (ticket_id, seq, at) on every
database. Nothing can refer to a partitioned event by id alone, so webhook deliveries keep
`event_id` with an index instead of a foreign key. The append-only triggers are recreated.
On SQLite the tables stay plain: only the constraint and the foreign key change.

Downtime: the rows are copied in one transaction (the tables are locked meanwhile).

Revision ID: e24a4c0d9b13
Revises: 5c0cf76e8d59
Create Date: 2026-12-06 21:40:00

"""
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e24a4c0d9b13'
down_revision = '5c0cf76e8d59'
branch_labels = None
depends_on = None

SHANGHAI = ZoneInfo("Asia/Shanghai")
AHEAD = 3
KEYS = {"ticket_events": "pk_ticket_events", "read_audit": "pk_read_audit"}
FOREIGN_KEYS = {
    "ticket_events": [("fk_ticket_events_ticket_id_tickets", "ticket_id", "tickets"),
                      ("fk_ticket_events_actor_id_users", "actor_id", "users"),
                      ("fk_ticket_events_unit_id_units", "unit_id", "units")],
    "read_audit": [("fk_read_audit_user_id_users", "user_id", "users")],
}
INDEXES = {
    "ticket_events": [("ix_ticket_events_action_at", "action, at"), ("ix_ticket_events_at", "at")],
    "read_audit": [("ix_read_audit_subject", "subject, subject_id")],
}
OLD_UNIQUE = ("uq_ticket_events_ticket_id_seq", "ticket_id, seq")
NEW_UNIQUE = ("uq_ticket_events_ticket_id_seq_at", "ticket_id, seq, at")
WEBHOOK_FK = "fk_webhook_deliveries_event_id_ticket_events"
SQLITE_TRIGGERS = (
    "CREATE TRIGGER ticket_events_no_{op} BEFORE {OP} ON ticket_events "
    "WHEN NOT EXISTS (SELECT 1 FROM audit_bypass) "
    "BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only: {OP} refused'); END")


def _month(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date().replace(day=1)


def _next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _bound(month: date) -> str:
    return datetime.combine(month, time(), SHANGHAI).isoformat()


def _rebuild(table: str, partitioned: bool) -> None:
    """Replace `table` with a copy of its columns, partitioned or plain, and move the rows."""
    old = f"{table}_old"
    unique = NEW_UNIQUE if partitioned else OLD_UNIQUE
    op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    op.execute(f"ALTER INDEX {KEYS[table]} RENAME TO {KEYS[table]}_old")
    for name, _columns in INDEXES[table]:
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_old")
    if table == "ticket_events":
        for name, _columns in (OLD_UNIQUE, NEW_UNIQUE):
            op.execute(f"ALTER INDEX IF EXISTS {name} RENAME TO {name}_old")
    key = "id, at" if partitioned else "id"
    op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS, "
               f"CONSTRAINT {KEYS[table]} PRIMARY KEY ({key}))"
               + (" PARTITION BY RANGE (at)" if partitioned else ""))
    if table == "ticket_events":
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {unique[0]} UNIQUE ({unique[1]})")
    for name, column, target in FOREIGN_KEYS[table]:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({column}) "
                   f"REFERENCES {target} (id)")
    for name, columns in INDEXES[table]:
        op.execute(f"CREATE INDEX {name} ON {table} ({columns})")
    if partitioned:
        bind = op.get_bind()
        oldest = bind.execute(sa.text(f"SELECT min(at) FROM {old}")).scalar()
        now = bind.execute(sa.text("SELECT now()")).scalar()
        month, last = _month(min(oldest or now, now)), _month(now)
        for _ in range(AHEAD):
            last = _next(last)
        while month <= last:
            name = f"{table}_{month:%Y_%m}"
            op.execute(f"CREATE TABLE {name} PARTITION OF {table} "
                       f"FOR VALUES FROM ('{_bound(month)}') TO ('{_bound(_next(month))}')")
            op.execute(f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()")
            month = _next(month)
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        op.execute(f"CREATE TRIGGER {table}_default_no_truncate BEFORE TRUNCATE ON {table}_default "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()")
    op.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
    op.execute(f"DROP TABLE {old}")
    op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
               f"FOR EACH ROW EXECUTE FUNCTION audit_append_only()")
    op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
               f"FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()")


def _sqlite_unique(drop: tuple[str, str], add: tuple[str, str]) -> None:
    """SQLite: the table is rebuilt (batch), which drops its triggers: made again after."""
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_constraint(drop[0], type_='unique')
        batch_op.create_unique_constraint(add[0], [c.strip() for c in add[1].split(",")])
    for operation in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS ticket_events_no_{operation}")
        op.execute(SQLITE_TRIGGERS.format(op=operation, OP=operation.upper()))


def upgrade():
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_constraint(WEBHOOK_FK, type_='foreignkey')
        batch_op.create_index('ix_webhook_deliveries_event_id', ['event_id'], unique=False)
    if op.get_bind().dialect.name != "postgresql":
        _sqlite_unique(OLD_UNIQUE, NEW_UNIQUE)
        return
    for table in KEYS:
        _rebuild(table, partitioned=True)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        _sqlite_unique(NEW_UNIQUE, OLD_UNIQUE)
    else:
        for table in KEYS:
            _rebuild(table, partitioned=False)
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_event_id')
        batch_op.create_foreign_key(WEBHOOK_FK, 'ticket_events', ['event_id'], ['id'])
