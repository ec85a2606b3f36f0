"""ticket anonymised_at for data retention

Revision ID: b3e1c0a2d9f4
Revises: 4924ef8beb40
Create Date: 2026-11-23 16:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import hotline.types


# revision identifiers, used by Alembic.
revision = 'b3e1c0a2d9f4'
down_revision = '4924ef8beb40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', hotline.types.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
