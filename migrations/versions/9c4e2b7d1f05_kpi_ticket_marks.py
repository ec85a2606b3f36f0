"""KPI ticket marks: each counted ticket's last event number, so that a KPI read recounts only
the tickets with an event no count has seen (issue 24: the live tail at 100,000 tickets a day)

Empty after the upgrade: every ticket with a recent event counts as unseen until the next fold
marks it, which is what the read did before.

Revision ID: 9c4e2b7d1f05
Revises: 3b8d2f6a1c47
Create Date: 2026-12-07 03:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9c4e2b7d1f05'
down_revision = '3b8d2f6a1c47'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'kpi_ticket_marks',
        sa.Column('ticket_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_kpi_ticket_marks')),
    )


def downgrade():
    op.drop_table('kpi_ticket_marks')
