"""search that understands Chinese, and the knowledge base (issue 21)

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

import hotline.types

# revision identifiers, used by Alembic.
revision = 'f2a9c4d81e57'
down_revision = 'd8e1a2b3c4f5'
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
    # The knowledge base: articles, their versions, their search documents, the searches that
    # found nothing.
    op.create_table('knowledge_articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('questions', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('units', sa.JSON(), nullable=False),
    sa.Column('areas', sa.JSON(), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('owner_unit_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.Enum('draft', 'submitted', 'published', 'retired', name='articlestate', native_enum=False, length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', hotline.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hotline.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', hotline.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_knowledge_articles_created_by_id_users')),
    sa.ForeignKeyConstraint(['owner_unit_id'], ['units.id'], name=op.f('fk_knowledge_articles_owner_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_articles'))
    )
    with op.batch_alter_table('knowledge_articles', schema=None) as batch_op:
        batch_op.create_index('ix_knowledge_articles_state', ['state', 'id'], unique=False)

    op.create_table('knowledge_search_misses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('q', sa.String(length=200), nullable=False),
    sa.Column('at', hotline.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_knowledge_search_misses_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_search_misses'))
    )
    with op.batch_alter_table('knowledge_search_misses', schema=None) as batch_op:
        batch_op.create_index('ix_knowledge_search_misses_at', ['at'], unique=False)

    op.create_table('knowledge_article_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('at', hotline.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['knowledge_articles.id'], name=op.f('fk_knowledge_article_versions_article_id_knowledge_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_knowledge_article_versions_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_article_versions')),
    sa.UniqueConstraint('article_id', 'version', 'action', name=op.f('uq_knowledge_article_versions_article_id_version_action'))
    )
    op.create_table('knowledge_search',
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['knowledge_articles.id'], name=op.f('fk_knowledge_search_article_id_knowledge_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('article_id', name=op.f('pk_knowledge_search'))
    )
    _search_engine('knowledge_search', 'article_id')


def _backfill_tickets():
    """The tickets already written get their documents (words cut as the service cuts them)."""
    from hotline.search import caller_tokens, document

    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, subject, content, address, resolution_note, dispatch_note, reply_result, "
        "caller_phone, caller_name FROM tickets"))
    notes = {}
    for ticket_id, data in bind.execute(sa.text(
            "SELECT ticket_id, data FROM ticket_events WHERE action = 'add_note'")):
        data = data if isinstance(data, dict) else json.loads(data or "{}")
        notes.setdefault(ticket_id, []).append(data.get("note") or "")
    docs = [{"ticket_id": row[0],
             "body": " ".join([document(*row[1:7], *notes.get(row[0], [])), caller_tokens(row[7], row[8])])}
            for row in rows]
    if docs:
        bind.execute(sa.text("INSERT INTO ticket_search (ticket_id, body) VALUES (:ticket_id, :body)"), docs)


def downgrade():
    _drop_search_engine('knowledge_search')
    op.drop_table('knowledge_search')
    op.drop_table('knowledge_article_versions')
    with op.batch_alter_table('knowledge_search_misses', schema=None) as batch_op:
        batch_op.drop_index('ix_knowledge_search_misses_at')

    op.drop_table('knowledge_search_misses')
    with op.batch_alter_table('knowledge_articles', schema=None) as batch_op:
        batch_op.drop_index('ix_knowledge_articles_state')

    op.drop_table('knowledge_articles')
    _drop_search_engine('ticket_search')
    op.drop_table('ticket_search')
