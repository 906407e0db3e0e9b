"""add orders.note, then a reference to a table that does not exist (fails)

Revision ID: d4e5f6a7b8c9
Revises: c3d4e5f6a7b8
Create Date: 2026-12-02 05:43:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4e5f6a7b8c9'
down_revision = 'c3d4e5f6a7b8'
branch_labels = None
depends_on = None


def upgrade():
    # A schema change first, so a test can see that the failure below rolled it back.
    op.add_column('orders', sa.Column('note', sa.Text(), nullable=True))
    op.execute('ALTER TABLE orders ADD COLUMN x int REFERENCES no_such_table(id)')


def downgrade():
    op.execute('ALTER TABLE orders DROP COLUMN IF EXISTS x')
    op.drop_column('orders', 'note')
