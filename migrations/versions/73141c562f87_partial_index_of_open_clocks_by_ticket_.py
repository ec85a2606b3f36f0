"""partial index of open clocks by ticket and due

The ticket list's overdue filter ("an open clock past due") reads it instead of the
timers, whatever the history of met clocks. Partial on PostgreSQL and SQLite alike.

Revision ID: 73141c562f87
Revises: 5120443780d6
Create Date: 2026-11-23 19:07:22.240194

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '73141c562f87'
down_revision = '5120443780d6'
branch_labels = None
depends_on = None

OPEN = "state IN ('running', 'warned', 'overdue')"


def upgrade():
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.create_index('ix_timers_open_ticket_due', ['ticket_id', 'due_at'], unique=False,
                              postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))


def downgrade():
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_index('ix_timers_open_ticket_due')
