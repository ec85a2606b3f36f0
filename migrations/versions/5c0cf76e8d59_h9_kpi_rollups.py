"""KPI rollups: per-(day, unit, desk) counts of each KPI's facts and their mark (issue 24)

Revision ID: 5c0cf76e8d59
Revises: 5864a8337d2d
Create Date: 2026-12-06 19:40:00

"""
from alembic import op
import sqlalchemy as sa

import hotline.types


# revision identifiers, used by Alembic.
revision = '5c0cf76e8d59'
down_revision = '5864a8337d2d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('kpi_rollups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kpi', sa.String(length=32), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=True),
    sa.Column('desk', sa.String(length=32), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('kpi_rollups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kpi_rollups_day'), ['day'], unique=False)
    op.create_table('kpi_rollup_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('folded_at', hotline.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_events_at', ['at'], unique=False)


def downgrade():
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_events_at')
    op.drop_table('kpi_rollup_marks')
    with op.batch_alter_table('kpi_rollups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kpi_rollups_day'))
    op.drop_table('kpi_rollups')
