"""create table chat, owned by a user

Revision ID: 242a2047eae0
Revises: ca81bd47c050
Create Date: 2026-12-02 06:02:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '242a2047eae0'
down_revision = 'ca81bd47c050'
branch_labels = None
depends_on = None


def upgrade():
    # The foreign key needs a unique constraint on "user"(id): with user_pkey dropped (the drift), plain
    # alembic fails here with "there is no unique constraint matching given keys for referenced table "user"".
    op.create_table(
        'chat',
        sa.Column('id', sa.Text(), primary_key=True),
        sa.Column('user_id', sa.Text(), sa.ForeignKey('user.id'), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
    )


def downgrade():
    op.drop_table('chat')
