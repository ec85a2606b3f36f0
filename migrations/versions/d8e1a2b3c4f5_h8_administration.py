"""administration: users must change a reset password, carry a phone; units can be deactivated
and carry a contact; the administration change log

Revision ID: d8e1a2b3c4f5
Revises: c41f6a2e9b70
Create Date: 2026-12-06 15:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd8e1a2b3c4f5'
down_revision = 'a11e0b5e7d23'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('admin_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=80), nullable=False),
        sa.Column('subject', sa.String(length=16), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('admin_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_admin_events_key'), ['key'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('phone', sa.String(length=32), server_default='', nullable=False))
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('contact_name', sa.String(length=200), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=64), server_default='',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('admin_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_events_key'))
        batch_op.drop_index(batch_op.f('ix_admin_events_at'))
    op.drop_table('admin_events')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_name')
        batch_op.drop_column('active')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('phone')
        batch_op.drop_column('must_change_password')
