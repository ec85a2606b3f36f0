"""search that understands Chinese: ticket documents indexed by the database's own engine

`ticket_search` holds each ticket's words (cut by rjieba, space-joined). PostgreSQL indexes
them in a generated tsvector column with a GIN index; SQLite in an FTS5 table kept in step by
triggers. Both engine objects are left out of the models comparison (hotline.search).

Revision ID: f2a9c4d81e57
Revises: c41f6a2e9b70
Create Date: 2026-12-06 15:50:00

"""
import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f2a9c4d81e57'
down_revision = 'c41f6a2e9b70'
branch_labels = None
depends_on = None


def _search_engine(table: str, key: str) -> None:
    """The engine's index over `table`.body, keyed by `key`."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {table} ADD COLUMN tsv tsvector "
                   "GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED")
        op.execute(f"CREATE INDEX ix_{table}_tsv ON {table} USING gin (tsv)")
        return
    fts = f"{table}_fts"
    op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5(body, content='{table}', content_rowid='{key}')")
    op.execute(f"CREATE TRIGGER {table}_ai AFTER INSERT ON {table} BEGIN "
               f"INSERT INTO {fts}(rowid, body) VALUES (new.{key}, new.body); END")
    op.execute(f"CREATE TRIGGER {table}_ad AFTER DELETE ON {table} BEGIN "
               f"INSERT INTO {fts}({fts}, rowid, body) VALUES ('delete', old.{key}, old.body); END")
    op.execute(f"CREATE TRIGGER {table}_au AFTER UPDATE ON {table} BEGIN "
               f"INSERT INTO {fts}({fts}, rowid, body) VALUES ('delete', old.{key}, old.body); "
               f"INSERT INTO {fts}(rowid, body) VALUES (new.{key}, new.body); END")


def _drop_search_engine(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        return      # the column and its index go with the table
    for suffix in ("ai", "ad", "au"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_{suffix}")
    op.execute(f"DROP TABLE IF EXISTS {table}_fts")


def upgrade():
    op.create_table('ticket_search',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_search_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_ticket_search'))
    )
    _search_engine('ticket_search', 'ticket_id')
    _backfill_tickets()


def _backfill_tickets():
    """The tickets already written get their documents (words cut as the service cuts them)."""
    from hotline.search import document

    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, subject, content, address, resolution_note, dispatch_note, reply_result FROM tickets"))
    notes = {}
    for ticket_id, data in bind.execute(sa.text(
            "SELECT ticket_id, data FROM ticket_events WHERE action = 'add_note'")):
        data = data if isinstance(data, dict) else json.loads(data or "{}")
        notes.setdefault(ticket_id, []).append(data.get("note") or "")
    docs = [{"ticket_id": row[0], "body": document(*row[1:], *notes.get(row[0], []))} for row in rows]
    if docs:
        bind.execute(sa.text("INSERT INTO ticket_search (ticket_id, body) VALUES (:ticket_id, :body)"), docs)


def downgrade():
    _drop_search_engine('ticket_search')
    op.drop_table('ticket_search')
