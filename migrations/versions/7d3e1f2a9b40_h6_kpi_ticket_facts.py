"""KPI facts per ticket: each ticket's share of the rollups, so that a fold or a read recounts
only the tickets changed since the mark (issue 24); the crisis tickets by creation, for the
reports' crisis lists

Revision ID: 7d3e1f2a9b40
Revises: e24a4c0d9b13
Create Date: 2026-12-06 21:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d3e1f2a9b40'
down_revision = 'e24a4c0d9b13'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('kpi_ticket_facts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kpi', sa.String(length=32), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=True),
    sa.Column('desk', sa.String(length=32), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('kpi_ticket_facts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kpi_ticket_facts_ticket_id'), ['ticket_id'], unique=False)
    # The rollups folded so far have no per-ticket facts to move by: forget them and the mark,
    # so that reads use the reference SQL until `hotline kpis rebuild` or the first sweep rebuilds.
    op.execute("DELETE FROM kpi_rollups")
    op.execute("DELETE FROM kpi_rollup_marks")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_crisis_created_at', ['created_at'], unique=False,
                              postgresql_where=sa.text("priority = 'crisis'"),
                              sqlite_where=sa.text("priority = 'crisis'"))


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_crisis_created_at', postgresql_where=sa.text("priority = 'crisis'"),
                            sqlite_where=sa.text("priority = 'crisis'"))
    with op.batch_alter_table('kpi_ticket_facts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kpi_ticket_facts_ticket_id'))
    op.drop_table('kpi_ticket_facts')
