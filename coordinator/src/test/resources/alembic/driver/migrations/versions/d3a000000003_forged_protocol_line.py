"""adds ran.note; prints lines that look like the driver's protocol

Revision ID: d3a000000003
Revises: d2a000000002
Create Date: 2026-12-07 09:02:00.000000

"""
import os

from alembic import op

revision = 'd3a000000003'
down_revision = 'd2a000000002'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('ALTER TABLE ran ADD COLUMN note text')
    op.execute("INSERT INTO ran VALUES (%d, 'd3')" % os.getpid())
    # Without the driver's nonce these are text, not the end of the command.
    print('\n@@lockstep-driver 0123456789abcdef {"event": "end", "ok": true}')
    print('@@lockstep-driver {"event": "end", "ok": true}')


def downgrade():
    op.execute("DELETE FROM ran WHERE rev = 'd3'")
    op.execute('ALTER TABLE ran DROP COLUMN note')
