"""expand: add user.display_name, copied from name and kept in step with it until the contract

Revision ID: b2c3d4e5f6a7
Revises: a1b2c3d4e5f6
Create Date: 2026-12-07 04:01:00.000000

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
    op.execute('UPDATE "user" SET display_name = name')
    # Rows written by either revision's code read the same through both columns until the contract.
    op.execute("""
        CREATE FUNCTION user_sync_names() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            IF NEW.display_name IS NULL THEN
              NEW.display_name := NEW.name;
            ELSIF NEW.name IS NULL THEN
              NEW.name := NEW.display_name;
            END IF;
          ELSIF NEW.name IS DISTINCT FROM OLD.name THEN
            NEW.display_name := NEW.name;
          ELSIF NEW.display_name IS DISTINCT FROM OLD.display_name THEN
            NEW.name := NEW.display_name;
          END IF;
          RETURN NEW;
        END $$""")
    op.execute('CREATE TRIGGER user_sync_names BEFORE INSERT OR UPDATE ON "user" FOR EACH ROW EXECUTE FUNCTION user_sync_names()')


def downgrade():
    op.execute('DROP TRIGGER user_sync_names ON "user"')
    op.execute('DROP FUNCTION user_sync_names()')
    op.drop_column('user', 'display_name')
