"""a report's volumes from the index of tickets by creation alone (PostgreSQL: the counted
columns included), not a heap page per ticket: a week of a province is 200,000 tickets

Revision ID: b6d1e8f3a240
Revises: 4f7a9c2e1b86
Create Date: 2026-12-07 04:15:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b6d1e8f3a240'
down_revision = '4f7a9c2e1b86'
branch_labels = None
depends_on = None

COUNTED = ['category', 'channel', 'desk', 'location_unit_id']


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_tickets_created_at', table_name='tickets')
    op.create_index('ix_tickets_created_at', 'tickets', ['created_at'], postgresql_include=COUNTED)


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_tickets_created_at', table_name='tickets')
    op.create_index('ix_tickets_created_at', 'tickets', ['created_at'])
