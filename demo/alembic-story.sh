# The Alembic variant of the demo, sourced by demo/run.sh after the coordinator (--engine alembic) and the
# three agents are up: the seed guide's scenario, an Open WebUI-like app migrated by Lockstep instead of by
# every instance running `alembic upgrade head` at start-up. Uses run.sh's step, lockstep, $WORK, $DB, $DB_URL.
REV1=7e5b5dc7342b   # create table user
REV2=ca81bd47c050   # add user.name, filled from the email (a data migration through op.get_bind())
REV3=242a2047eae0   # create table chat with a foreign key to "user"(id)
sql() { psql -h 127.0.0.1 -U postgres -d "$DB" -X -q "$@"; }
# Plain alembic as the app would run it: its .env, its DATABASE_URL, no Lockstep settings.
plain_alembic() {
  (cd "$WORK/alembic" && set -a && . "$WORK/app.env" && set +a && DATABASE_URL="$1" alembic "${@:2}")
}

step "Release 1: revision v1, schema $REV1 (a coordinated 'alembic upgrade $REV1': creates the \"user\" table)"
lockstep release --revision v1 --schema "$REV1"

step "The app's users sign up"
sql -c "INSERT INTO \"user\" (id, email) VALUES ('u-1', 'ada@example.com'), ('u-2', 'grace@example.com'), ('u-3', 'linus@example.com')"
sql -c 'SELECT id, email FROM "user" ORDER BY id'

step "Drift: someone drops the primary key of \"user\" by hand"
sql -c 'ALTER TABLE "user" DROP CONSTRAINT user_pkey'

step "An app instance still migrating at start-up (ENABLE_DB_MIGRATIONS=True) runs plain 'alembic upgrade head'"
echo "Lockstep's trigger lockstep_fence_check on alembic_version refuses a session without its epoch; Alembic's"
echo "one transaction rolls back with it:"
PGOPTIONS= plain_alembic "$DB_URL" upgrade head 2>&1 | grep -E 'Running upgrade|^sqlalchemy.exc|^HINT' \
  | awk '!seen[$0]++' | sed 's/^/  /' || true
has_name=$(sql -tAc "SELECT count(*) FROM information_schema.columns WHERE table_name = 'user' AND column_name = 'name'")
echo "  alembic_version still says $(sql -tAc 'SELECT version_num FROM alembic_version'); \"user\" has $has_name column(s) named name"

step "What plain 'alembic upgrade head' would hit unfenced (on a throwaway copy ${DB}_probe, never on $DB)"
psql -h 127.0.0.1 -U postgres -X -q -c 'SET client_min_messages = warning' \
  -c "DROP DATABASE IF EXISTS ${DB}_probe WITH (FORCE)" -c "CREATE DATABASE ${DB}_probe"
pg_dump -h 127.0.0.1 -U postgres "$DB" | psql -h 127.0.0.1 -U postgres -X -q -d "${DB}_probe" >/dev/null
PGOPTIONS='-c lockstep.epoch=unfenced' plain_alembic "${DB_URL}_probe" upgrade head 2>&1 \
  | grep -E 'Running upgrade|^sqlalchemy.exc' | sed 's/^/  /' || true
psql -h 127.0.0.1 -U postgres -X -qc "DROP DATABASE ${DB}_probe WITH (FORCE)"

step "lockstep check: what the next release would find and do (changes nothing)"
lockstep check || true

step "Release 2: revision v2, schema head (repair the key, then the real 'alembic upgrade head')"
lockstep release --revision v2
sql -c 'SELECT id, email, name FROM "user" ORDER BY id'

step "The fleet now (like 'alembic current' and 'alembic history')"
lockstep current
lockstep history

step "Downgrade: revision v1, schema -1 (a coordinated 'alembic downgrade -1': drops chat)"
lockstep release --revision v1 --schema -1

step "What the hooks did, in order"
cat "$WORK/hooks.log"

step "The fleet after the downgrade"
lockstep current
echo "alembic_version: $(sql -tAc 'SELECT version_num FROM alembic_version')"
