"""create table user

Revision ID: 7e5b5dc7342b
Revises:
Create Date: 2026-12-02 06:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7e5b5dc7342b'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'user',
        sa.Column('id', sa.Text(), primary_key=True),  # Open WebUI's user ids are text (UUIDs); the key is user_pkey
        sa.Column('email', sa.Text(), nullable=False),
    )


def downgrade():
    op.drop_table('user')
