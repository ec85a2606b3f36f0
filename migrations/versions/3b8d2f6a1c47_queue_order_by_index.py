"""the queue order read from indexes: open clocks by due, crisis and urgent tickets by id

The ticket list's default order (crisis first, then the nearest due) is read part by part
(`ordering.priority_segments`): the open clocks walked by due, and the few crisis and urgent
tickets newest first, each stopping at the page, instead of every open clock grouped and every
ticket sorted (a year of a province). Partial on PostgreSQL and SQLite alike.

Revision ID: 3b8d2f6a1c47
Revises: 7d3e1f2a9b40
Create Date: 2026-12-07 00:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3b8d2f6a1c47'
down_revision = '7d3e1f2a9b40'
branch_labels = None
depends_on = None

OPEN = "state IN ('running', 'warned', 'overdue')"
HIGH = "priority IN ('crisis', 'urgent')"


def upgrade():
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.create_index('ix_timers_open_due', ['due_at', 'ticket_id'], unique=False,
                              postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_high_priority_id', ['priority', 'id'], unique=False,
                              postgresql_where=sa.text(HIGH), sqlite_where=sa.text(HIGH))


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_high_priority_id')
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_index('ix_timers_open_due')
