"""contact safety, text opt-outs, and outbox messages that wait (quiet hours)

Revision ID: c41f5a9e2b70
Revises: be930e3a0a33
Create Date: 2026-12-06 15:20:00

"""
import sqlalchemy as sa
from alembic import op

import hotline.types

# revision identifiers, used by Alembic.
revision = 'c41f5a9e2b70'
down_revision = 'c41f6a2e9b70'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'contact_safety',
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('safe_to_text', sa.Boolean(), nullable=True),
        sa.Column('safe_times', sa.String(length=200), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', hotline.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('updated_at', hotline.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
        sa.PrimaryKeyConstraint('ticket_id'),
    )
    op.create_table(
        'text_opt_outs',
        sa.Column('number', sa.String(length=32), nullable=False),
        sa.Column('opted_out', sa.Boolean(), nullable=False),
        sa.Column('keyword', sa.String(length=40), nullable=False),
        sa.Column('changed_at', hotline.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('number'),
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('send_after', hotline.types.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('send_after')
    op.drop_table('text_opt_outs')
    op.drop_table('contact_safety')
