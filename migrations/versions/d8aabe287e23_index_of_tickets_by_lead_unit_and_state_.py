"""index of tickets by lead unit and state for unit inboxes

A unit's inbox tabs (to acknowledge, in progress) read what it leads in one state.

Revision ID: d8aabe287e23
Revises: 73141c562f87
Create Date: 2026-11-30 17:36:07.821964

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd8aabe287e23'
down_revision = '73141c562f87'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_lead_unit_state', ['lead_unit_id', 'state'], unique=False)



def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_lead_unit_state')

