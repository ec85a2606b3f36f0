"""append-only, hash-chained audit: ticket_events and read_audit

The event log and the read audit refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) by
triggers, unless the writer's own transaction holds a row in `audit_bypass` (hotline.audit).
Each row gets `prev_hash` and `hash` (the chain, computed by the service); the read audit
also gets `kind` (read, export, reveal), `reason` and `detail`.

Revision ID: c7a1f0e2b3d4
Revises: be930e3a0a33
Create Date: 2026-12-06 15:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7a1f0e2b3d4'
down_revision = 'c41e7a9d2b60'
branch_labels = None
depends_on = None

TABLES = ("ticket_events", "read_audit")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_bypass) THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$
"""


def _create_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION audit_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()")
        return
    for table in TABLES:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"WHEN NOT EXISTS (SELECT 1 FROM audit_bypass) "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation} refused'); END")


def _drop_triggers():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
        return
    for table in TABLES:
        for operation in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation}")


def _strip_refer_events():
    """The log stops keeping a referral's contact route, child alias and guardian (they stay on
    the referral, masked per viewer and anonymised by retention): take them out of the `refer`
    events already written, before the log becomes append-only."""
    events = sa.table("ticket_events", sa.column("id", sa.Integer), sa.column("action", sa.String),
                      sa.column("data", sa.JSON))
    bind = op.get_bind()
    for row in bind.execute(sa.select(events.c.id, events.c.data).where(events.c.action == "refer")).all():
        data = dict(row.data or {})
        removed = [data.pop(key, None) for key in ("contact_route", "child_alias")]
        changed = any(value is not None for value in removed)
        consent = data.get("consent")
        if isinstance(consent, dict) and (consent.get("by") or consent.get("override_reason")):
            data["consent"] = {**{k: v for k, v in consent.items() if k not in ("by", "override_reason")},
                               "by_given": bool(consent.get("by")),
                               "override": bool(consent.get("override_reason"))}
            changed = True
        if changed:
            bind.execute(events.update().where(events.c.id == row.id).values(data=data))


def upgrade():
    _strip_refer_events()
    op.create_table('audit_bypass',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    with op.batch_alter_table('read_audit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default='read', nullable=False))
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('detail', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    _create_triggers()


def downgrade():
    _drop_triggers()
    with op.batch_alter_table('read_audit', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('detail')
        batch_op.drop_column('reason')
        batch_op.drop_column('kind')
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
    op.drop_table('audit_bypass')
