"""crisis alert acknowledgements

Each dispatcher's or supervisor's click on a crisis alert (who, when, which notice and ticket),
so that the alert is not raised again for that user.

Revision ID: c41e7a9d2b60
Revises: be930e3a0a33
Create Date: 2026-12-06 15:10:00

"""
from alembic import op
import sqlalchemy as sa

import hotline.types

# revision identifiers, used by Alembic.
revision = 'c41e7a9d2b60'
down_revision = 'c41f6e2a9b70'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alert_acknowledgements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', hotline.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_alert_acknowledgements_notice_id_notices')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_alert_acknowledgements_ticket_id_tickets')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alert_acknowledgements_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_acknowledgements')),
    sa.UniqueConstraint('notice_id', 'user_id', name=op.f('uq_alert_acknowledgements_notice_id_user_id'))
    )
    with op.batch_alter_table('alert_acknowledgements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_acknowledgements_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_acknowledgements_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('alert_acknowledgements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_acknowledgements_user_id'))
        batch_op.drop_index(batch_op.f('ix_alert_acknowledgements_ticket_id'))

    op.drop_table('alert_acknowledgements')
