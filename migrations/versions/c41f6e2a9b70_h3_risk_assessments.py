"""risk assessments of children's tickets

Revision ID: c41f6e2a9b70
Revises: be930e3a0a33
Create Date: 2026-12-06 15:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import hotline.types


# revision identifiers, used by Alembic.
revision = 'c41f6e2a9b70'
down_revision = '5e1c0a7d4b21'
branch_labels = None
depends_on = None


def _answer(name):
    return sa.Column(name, sa.Enum('yes', 'no', 'unknown', name='answer', native_enum=False, length=8),
                     nullable=False)


def upgrade():
    op.create_table('risk_assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    _answer('immediate_danger'),
    _answer('self_harm_thoughts'),
    _answer('self_harm_plan'),
    _answer('self_harm_means'),
    _answer('violence_or_abuse'),
    _answer('safe_adult'),
    _answer('location_known'),
    sa.Column('level', sa.Enum('low', 'medium', 'high', name='risklevel', native_enum=False, length=8),
              nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('assessed_by_id', sa.Integer(), nullable=True),
    sa.Column('assessed_at', hotline.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessed_by_id'], ['users.id'], name=op.f('fk_risk_assessments_assessed_by_id_users')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_risk_assessments_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_assessments'))
    )
    with op.batch_alter_table('risk_assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_assessments_ticket_id'), ['ticket_id'], unique=False)


def downgrade():
    with op.batch_alter_table('risk_assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_assessments_ticket_id'))
    op.drop_table('risk_assessments')
