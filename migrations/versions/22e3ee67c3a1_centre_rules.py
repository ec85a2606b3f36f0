"""the rules a centre edits in the console: time limits, routing catalogue, crisis lexicon (issue 20)

One row per rule set, the whole document as JSON; no row means the shipped TOML file is in
force (hotline.rulebook).

Revision ID: 22e3ee67c3a1
Revises: e1c216eefdcf
Create Date: 2026-12-06 18:20:00

"""
import sqlalchemy as sa
from alembic import op

import hotline.types

# revision identifiers, used by Alembic.
revision = '22e3ee67c3a1'
down_revision = 'e1c216eefdcf'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('centre_rules',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('stamp', sa.String(length=32), nullable=False),
    sa.Column('updated_at', hotline.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=80), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade():
    op.drop_table('centre_rules')
