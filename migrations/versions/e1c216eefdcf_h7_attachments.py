"""attachments of tickets, and the media an MMS listed (issue 22)

Revision ID: e1c216eefdcf
Revises: f2a9c4d81e57
Create Date: 2026-12-06 18:20:00

"""
import sqlalchemy as sa
from alembic import op

import hotline.types

# revision identifiers, used by Alembic.
revision = 'e1c216eefdcf'
down_revision = 'f2a9c4d81e57'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'attachments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=120), nullable=False),
        sa.Column('kind', sa.Enum('image', 'pdf', 'document', 'audio', name='kind', native_enum=False,
                                  length=16), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('storage_key', sa.String(length=200), nullable=False),
        sa.Column('thumbnail_key', sa.String(length=200), nullable=True),
        sa.Column('location_kept', sa.Boolean(), nullable=False),
        sa.Column('from_caller', sa.Boolean(), nullable=False),
        sa.Column('source', sa.Enum('intake', 'upload', 'mms', name='source', native_enum=False,
                                    length=16), nullable=False),
        sa.Column('source_ref', sa.String(length=100), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('event_seq', sa.Integer(), nullable=True),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', hotline.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('source_ref'),
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index('ix_attachments_ticket_id', ['ticket_id', 'id'], unique=False)
    with op.batch_alter_table('inbound_sms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('media_fetched_at', hotline.types.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('inbound_sms', schema=None) as batch_op:
        batch_op.drop_column('media_fetched_at')
        batch_op.drop_column('media')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_attachments_ticket_id')
    op.drop_table('attachments')
