"""create table ran; prints a line without a newline

Revision ID: d1a000000001
Revises:
Create Date: 2026-12-07 09:00:00.000000

"""
import os
import sys

from alembic import op

revision = 'd1a000000001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute('CREATE TABLE ran (pid int NOT NULL, rev text NOT NULL)')
    op.execute("INSERT INTO ran VALUES (%d, 'd1')" % os.getpid())
    # A revision's own output, left without a newline: the driver's next protocol line must still be read as one.
    print('noise from d1 without a newline', end='')
    sys.stdout.flush()


def downgrade():
    op.execute('DROP TABLE ran')
