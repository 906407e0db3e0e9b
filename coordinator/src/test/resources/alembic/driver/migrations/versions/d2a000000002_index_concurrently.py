"""an index built concurrently, in an autocommit_block

Revision ID: d2a000000002
Revises: d1a000000001
Create Date: 2026-12-07 09:01:00.000000

"""
import os

from alembic import op

revision = 'd2a000000002'
down_revision = 'd1a000000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.get_context().autocommit_block():
        op.execute('CREATE INDEX CONCURRENTLY ran_rev ON ran (rev)')
    op.execute("INSERT INTO ran VALUES (%d, 'd2')" % os.getpid())


def downgrade():
    op.execute("DELETE FROM ran WHERE rev = 'd2'")
    with op.get_context().autocommit_block():
        op.execute('DROP INDEX CONCURRENTLY ran_rev')
