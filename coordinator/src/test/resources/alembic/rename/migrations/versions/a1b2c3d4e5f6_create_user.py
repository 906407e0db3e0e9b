"""create table user; revision v1's code reads and writes user.name

Revision ID: a1b2c3d4e5f6
Revises:
Create Date: 2026-12-07 04:00:00.000000

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
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('email', sa.Text(), nullable=False),
        sa.Column('name', sa.Text(), nullable=True),
    )
    op.execute("""INSERT INTO "user" (email, name)
                  SELECT 'user' || n || '@example.com', 'user ' || n FROM generate_series(1, 300) AS n""")


def downgrade():
    op.drop_table('user')
