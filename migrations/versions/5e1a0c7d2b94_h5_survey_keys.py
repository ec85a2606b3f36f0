"""survey keys stored before they are applied

A key pressed on a survey call (回访) is stored first and applied by a job that can be
retried, so a failure inside the webhook or the job never loses the citizen's rating.

Revision ID: 5e1a0c7d2b94
Revises: be930e3a0a33
Create Date: 2026-12-06 15:20:00

"""
from alembic import op
import sqlalchemy as sa

import hotline.types

# revision identifiers, used by Alembic.
revision = '5e1a0c7d2b94'
down_revision = 'c41f5a9e2b70'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('survey_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_sid', sa.String(length=64), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.Integer(), nullable=False),
    sa.Column('digits', sa.String(length=8), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('received_at', hotline.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', hotline.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('call_sid')
    )
    with op.batch_alter_table('survey_keys', schema=None) as batch_op:
        batch_op.create_index('ix_survey_keys_ticket_cycle', ['ticket_id', 'cycle'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_keys_processed_at'), ['processed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('survey_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_keys_processed_at'))
        batch_op.drop_index('ix_survey_keys_ticket_cycle')

    op.drop_table('survey_keys')
