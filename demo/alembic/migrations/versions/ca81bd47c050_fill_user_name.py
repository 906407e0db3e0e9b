"""add user.name, filled from the email address (a data migration)

Revision ID: ca81bd47c050
Revises: 7e5b5dc7342b
Create Date: 2026-12-02 06:01:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ca81bd47c050'
down_revision = '7e5b5dc7342b'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('user', sa.Column('name', sa.Text(), nullable=True))
    # Rows are read and written back in Python through the migration's own connection, as an app's data
    # migration does: it runs in the same transaction as the rest of the release.
    bind = op.get_bind()
    for row in bind.execute(sa.text('SELECT id, email FROM "user" ORDER BY id')).fetchall():
        bind.execute(sa.text('UPDATE "user" SET name = :name WHERE id = :id'),
                     {"name": row.email.split("@", 1)[0].capitalize(), "id": row.id})


def downgrade():
    op.drop_column('user', 'name')
