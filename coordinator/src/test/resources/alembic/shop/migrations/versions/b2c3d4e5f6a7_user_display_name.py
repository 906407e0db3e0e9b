"""add user.display_name, filled from name or email (a data migration)

Revision ID: b2c3d4e5f6a7
Revises: a1b2c3d4e5f6
Create Date: 2026-12-02 05:41:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b2c3d4e5f6a7'
down_revision = 'a1b2c3d4e5f6'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('user', sa.Column('display_name', sa.Text(), nullable=True))
    # Rows are read and written back through the migration's own connection, in Python, as an
    # application's data migration does; it cannot run in offline (--sql) mode.
    bind = op.get_bind()
    rows = bind.execute(sa.text('SELECT id, name, email FROM "user" ORDER BY id')).fetchall()
    for row in rows:
        bind.execute(
            sa.text('UPDATE "user" SET display_name = :display_name WHERE id = :id'),
            {"display_name": row.name or row.email, "id": row.id},
        )


def downgrade():
    op.drop_column('user', 'display_name')
