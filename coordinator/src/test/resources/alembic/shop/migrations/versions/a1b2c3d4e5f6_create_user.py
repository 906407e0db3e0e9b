"""create table user with two rows

Revision ID: a1b2c3d4e5f6
Revises:
Create Date: 2026-12-02 05:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1b2c3d4e5f6'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'user',
        sa.Column('id', sa.Integer(), primary_key=True),  # serial: the first integer primary key
        sa.Column('email', sa.Text(), nullable=False),
        sa.Column('name', sa.Text(), nullable=True),
    )
    op.execute("""INSERT INTO "user" (email, name) VALUES ('ada@example.com', 'Ada'), ('bob@example.com', NULL)""")


def downgrade():
    op.drop_table('user')
