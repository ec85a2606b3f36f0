"""server-side sessions: api_tokens also hold console sign-ins

Each console sign-in gets a record like a bearer token (kind `console`), so logout, a password
change, a deactivation or an admin can end it on the server; `address` is where it came from.

Revision ID: c41f6a2e9b70
Revises: be930e3a0a33
Create Date: 2026-12-06 15:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c41f6a2e9b70'
down_revision = 'c7a1f0e2b3d4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Enum('api', 'console', name='sessionkind', native_enum=False,
                                                      length=32), server_default='api', nullable=False))
        batch_op.add_column(sa.Column('address', sa.String(length=64), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('address')
        batch_op.drop_column('kind')
