"""timers.provisional: deadlines computed on a year the official calendar does not know yet

Revision ID: 5e1c0a7d4b21
Revises: be930e3a0a33
Create Date: 2026-12-06 15:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '5e1c0a7d4b21'
down_revision = 'be930e3a0a33'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provisional', sa.Boolean(), server_default=sa.text('false'),
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_column('provisional')
