"""create table user (id integer primary key, email)

Revision ID: e1f2a3b4c5d6
Revises:
Create Date: 2026-12-02 05:44:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e1f2a3b4c5d6'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'user',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column('email', sa.Text(), nullable=True),
    )


def downgrade():
    op.drop_table('user')
