"""writes to a table that does not exist (fails)

Revision ID: d4a000000004
Revises: d3a000000003
Create Date: 2026-12-07 09:03:00.000000

"""
from alembic import op

revision = 'd4a000000004'
down_revision = 'd3a000000003'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('INSERT INTO no_such_table VALUES (1)')


def downgrade():
    pass
