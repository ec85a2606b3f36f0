"""indexes for KPIs over a period

The KPIs read the clocks started in a period and one action's events in a period; without
these, a month's report reads every clock and event the centre ever had.

Revision ID: be930e3a0a33
Revises: d8aabe287e23
Create Date: 2026-11-30 19:36:35.674154

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'be930e3a0a33'
down_revision = 'd8aabe287e23'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_events_action_at', ['action', 'at'], unique=False)

    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.create_index('ix_timers_started_at', ['started_at'], unique=False)


def downgrade():
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_index('ix_timers_started_at')

    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_events_action_at')
