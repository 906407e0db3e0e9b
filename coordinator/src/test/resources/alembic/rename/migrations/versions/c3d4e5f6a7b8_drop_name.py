"""contract: drop user.name once no server runs revision v1's code (autocommit_block is not used here)

Revision ID: c3d4e5f6a7b8
Revises: b2c3d4e5f6a7
Create Date: 2026-12-07 04:02:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3d4e5f6a7b8'
down_revision = 'b2c3d4e5f6a7'
branch_labels = None
depends_on = None
# Lockstep runs this revision after the switch, in CONTRACTING; plain alembic ignores the name.
lockstep_phase = "contract"


def upgrade():
    op.execute('DROP TRIGGER user_sync_names ON "user"')
    op.execute('DROP FUNCTION user_sync_names()')
    op.drop_column('user', 'name')


def downgrade():
    op.add_column('user', sa.Column('name', sa.Text(), nullable=True))
    op.execute('UPDATE "user" SET name = display_name')
