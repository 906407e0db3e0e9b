#!/usr/bin/env bash
# Lockstep's main job, end to end on this machine: PostgreSQL and Redis (started if needed), a
# coordinator, three agents, and real releases of the story Lockstep exists for:
#   release 1 creates the "user" table; the table then loses its primary key (drift);
#   release 2 adds a table with a foreign key to "user": Lockstep repairs the key first,
#   applies the migration once, and switches all three servers together;
#   release 3 (Flyway) renames "user".name to display_name with zero downtime while a client keeps
#   reading and writing through web-1..3, each request as the code that server runs would send it
#   (v2's code uses name, v3's display_name): the expand (V3) adds the new column, copies it and
#   keeps both in step with a trigger; the three servers switch; the contract (contract/V4) drops the
#   trigger and the old column once no server runs v2. It prints the client's requests per
#   revision, its failures (any failure makes the demo fail) and how long after the last switch
#   the contract committed.
#
#   bash demo/run.sh            Flyway: V1..V3 and contract/V4 SQL migrations from demo/migrations (service "shop")
#   bash demo/run.sh alembic    Alembic: an Open WebUI-like Python app whose project is demo/alembic
#                               (service "webui"): release to revision 1, drift, release to head
#                               (repair, then the real alembic upgrade), then a coordinated downgrade -1
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK="$ROOT/demo/work"
PORT="${LOCKSTEP_DEMO_PORT:-7070}"
DB="${LOCKSTEP_DEMO_DB:-lockstep_demo}"
VARIANT="${1:-flyway}"
case "$VARIANT" in
  flyway) SERVICE=shop ;;
  alembic) SERVICE=webui ;;
  *) echo "usage: bash demo/run.sh [alembic]   (no argument: the Flyway demo)" >&2; exit 2 ;;
esac
DB_URL="postgresql://postgres@127.0.0.1:5432/$DB"
export LOCKSTEP_TOKEN="demo-operator-token"
# Each agent's token is derived from this secret (`lockstep agent-token`), so an agent can report only for itself.
export LOCKSTEP_AGENT_SECRET="demo-agent-secret-change-me"
export LOCKSTEP_COORDINATOR="http://127.0.0.1:$PORT"
JVM=(-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k)
# Two malloc arenas instead of eight per core: less resident memory for a coordinator with many connections.
export MALLOC_ARENA_MAX=2
# The agent is small; these flags keep it around 70 MB resident (see agent/README.md).
AGENT_JVM=(-Xmx32m -Xms8m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -XX:ReservedCodeCacheSize=16m -XX:-UsePerfData)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
pids=()
CLIENT_PID=
cleanup() {
  for p in "${pids[@]}" $CLIENT_PID; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
}
trap cleanup EXIT
memory_and_done() {
  step "Memory (resident set size)"
  for p in "${pids[@]}"; do
    printf '  %-12s %6d MB\n' "$(tr '\0' ' ' </proc/$p/cmdline | grep -o 'lockstep-[a-z]*.jar' | sed 's/.jar//')" \
      "$(( $(awk '/VmRSS/ {print $2}' /proc/$p/status) / 1024 ))"
  done
  echo
  echo "Done. Logs are in demo/work/."
}

step "PostgreSQL and Redis"
LOCKSTEP_SKIP_BROWSER=1 bash scripts/services.sh
echo "PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379"

step "Build"
if [ ! -f coordinator/target/lockstep-coordinator.jar ] || [ ! -f agent/target/lockstep-agent.jar ] || [ "${REBUILD:-}" = 1 ]; then
  mvn -B -q package -DskipTests
fi
ls -lh coordinator/target/lockstep-coordinator.jar agent/target/lockstep-agent.jar | awk '{print $5, $9}'
# The CLI through scripts/lockstep: the same jar and JVM flags, with a class-data-sharing archive it makes on first use.
lockstep() { LOCKSTEP_JAR="$ROOT/coordinator/target/lockstep-coordinator.jar" "$ROOT/scripts/lockstep" "$@"; }

step "A fresh database: $DB"
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
rm -rf "$WORK" && mkdir -p "$WORK"
redis-cli -h 127.0.0.1 del "lockstep:agents:$SERVICE" >/dev/null 2>&1 || true
if [ "$VARIANT" = flyway ]; then
  cp -r demo/migrations "$WORK/migrations"
  ENGINE=(--migrations "$WORK/migrations")
  STAGED="$WORK/migrations"
else
  # The app's Alembic project, as a build of the app ships it; each server stages its versions folder.
  mkdir -p "$WORK/alembic" && (cd demo/alembic && tar --exclude=__pycache__ -cf - .) | (cd "$WORK/alembic" && tar -xf -)
  STAGED="$WORK/alembic/migrations/versions"
  # The app's environment file (Open WebUI reads these at start-up). env.py needs WEBUI_SECRET_KEY;
  # DATABASE_URL stays out of it: Lockstep always gives Alembic its own --database-url.
  cat >"$WORK/app.env" <<'ENV'
WEBUI_SECRET_KEY=demo-webui-secret-change-me
# The app instances no longer run `alembic upgrade head` at start-up; Lockstep migrates once for all of them.
ENABLE_DB_MIGRATIONS=False
ENV
  ENGINE=(--engine alembic --alembic-config "$WORK/alembic/alembic.ini" --engine-env-file "$WORK/app.env")
  if ! command -v alembic >/dev/null; then
    echo "alembic is not installed: apt-get install alembic python3-alembic python3-psycopg2 (elsewhere: pip install alembic psycopg2-binary)" >&2
    exit 1
  fi
  echo "Alembic project: demo/work/alembic (alembic.ini, migrations/env.py, migrations/versions/*.py)"
  echo "The seed guide's shell pitfall: plain 'alembic current' in a shell without DATABASE_URL and WEBUI_SECRET_KEY:"
  (cd "$WORK/alembic" && env -u DATABASE_URL -u WEBUI_SECRET_KEY alembic current 2>&1 | tail -1 | sed 's/^/  /') || true
fi

step "Coordinator on port $PORT (log: demo/work/coordinator.log)"
java "${JVM[@]}" -jar coordinator/target/lockstep-coordinator.jar serve --port "$PORT" \
  --database-url "$DB_URL" --redis-url redis://127.0.0.1:6379 \
  --service "$SERVICE" "${ENGINE[@]}" --lost-after 6s >"$WORK/coordinator.log" 2>&1 &
pids+=($!)
[ "$VARIANT" = alembic ] && echo "serve ${ENGINE[*]#$ROOT/}"
# GET /health over bash's own /dev/tcp, so the demo needs no curl.
health() {
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
  printf 'GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  local body; body=$(cat <&3); exec 3<&-
  [[ "$body" == *'"status":"ok"'* ]] && printf '%s\n' "${body##*$'\r\n\r\n'}"
}
for _ in $(seq 1 60); do health 2>/dev/null && break; sleep 0.5; done
kill -0 "${pids[0]}" 2>/dev/null || { echo "the coordinator exited:" >&2; tail -5 "$WORK/coordinator.log" >&2; exit 1; }

step "Three agents: web-1, web-2, web-3, all on revision v0 (logs: demo/work/agent-*.log)"
if [ "$VARIANT" = alembic ]; then
  echo "Each agent's --migrations is the versions folder its server staged; the app instances run with"
  echo "ENABLE_DB_MIGRATIONS=False (demo/work/app.env), so none of them migrates at start-up any more."
fi
MODE_NOTE=""; [ "$VARIANT" = alembic ] && MODE_NOTE=", mode \$LOCKSTEP_MODE"
# A server's code is its revision file. The switch hook rewrites it under an exclusive flock and release 3's client
# holds a shared one for each request, so a switch waits for the requests the old code is serving (a graceful reload).
for id in web-1 web-2 web-3; do
  echo v0 > "$WORK/revision-$id"
  hook() { echo "echo \"[$id] $1 hook: release \$LOCKSTEP_RELEASE_ID, revision \$LOCKSTEP_TARGET_REVISION$MODE_NOTE ($2)\" >> $WORK/hooks.log${3:-}"; }
  LOCKSTEP_AGENT_TOKEN="$(lockstep agent-token --service "$SERVICE" --id "$id")" \
  java "${AGENT_JVM[@]}" -jar agent/target/lockstep-agent.jar --coordinator "$LOCKSTEP_COORDINATOR" --id "$id" \
    --service "$SERVICE" --revision-command "cat $WORK/revision-$id" --migrations "$STAGED" \
    --on-prepare "$(hook prepare 'staging the new build')" \
    --on-switch "$(hook switch 'now serving the new code' " && flock $WORK/revision-$id -c 'echo \$LOCKSTEP_TARGET_REVISION > $WORK/revision-$id'")" \
    --on-abort "$(hook abort 'staying on the old code')" >"$WORK/agent-$id.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 1 60); do
  [ "$(lockstep agents --service "$SERVICE" 2>/dev/null | grep -c serving)" = 3 ] && break; sleep 0.5
done
lockstep agents --service "$SERVICE"

if [ "$VARIANT" = alembic ]; then
  # The Alembic variant's releases (same coordinator, agents and helpers as below).
  source demo/alembic-story.sh
  memory_and_done
  exit 0
fi

step "Release 1: revision v1, schema 1 (creates the \"user\" table)"
lockstep release --revision v1 --schema 1

step "Drift: someone drops the primary key of \"user\" by hand"
psql -h 127.0.0.1 -U postgres -d "$DB" -qc 'ALTER TABLE "user" DROP CONSTRAINT user_pkey'
echo "What plain 'flyway migrate' would now hit (tried in a transaction that is rolled back):"
psql -h 127.0.0.1 -U postgres -d "$DB" -q -v ON_ERROR_STOP=0 2>&1 <<'SQL' | sed 's/^/  /' || true
BEGIN;
CREATE TABLE orders_probe (user_id bigint REFERENCES "user" (id));
ROLLBACK;
SQL

step "lockstep check: what the next release would find and do (changes nothing)"
lockstep check --schema 2 || true

step "Release 2: revision v2, schema 2 (orders with a foreign key to \"user\")"
lockstep release --revision v2 --schema 2

step "What the hooks did, in order"
cat "$WORK/hooks.log"

step "The fleet now"
lockstep current
lockstep history

# Release 3: a column renamed with zero downtime. The app is three servers (web-1..3) whose code is whatever
# revision their revision file says (the switch hook rewrites it); v2's code reads and writes "user".name, v3's
# display_name. The client sends each request to the next server in turn, as that server's code would send it:
# insert a user, update the previous request's user (written by either code), read both back. One line per
# request in demo/work/client.log: start and end (epoch seconds), server, revision, ok or FAIL and why.
# A request holds a shared lock on its server's revision file and the switch hook an exclusive one, so a switch
# drains the requests the old code is serving, as a real server's graceful reload does: once its switch is done,
# no request runs that server's old code any more.
CLIENT_LOG="$WORK/client.log"
client() {
  local n=0 server prev rev col id start out want serving
  while [ ! -e "$WORK/client.stop" ]; do
    n=$((n + 1)); id=$((1000 + n)); server="web-$(( (n - 1) % 3 + 1 ))"
    start=$EPOCHREALTIME
    exec {serving}<"$WORK/revision-$server"; flock -s "$serving"
    rev=$(<"$WORK/revision-$server")
    if [ "$rev" = v3 ]; then col=display_name; else col=name; fi
    want="$server request $n"
    [ "$n" -gt 1 ] && want="$prev request $((n - 1)), updated by $server"$'\n'"$want"
    if ! out=$(psql -h 127.0.0.1 -U postgres -d "$DB" -X -qAt -v ON_ERROR_STOP=1 -c "
        INSERT INTO \"user\" (id, $col) VALUES ($id, '$server request $n');
        UPDATE \"user\" SET $col = $col || ', updated by $server' WHERE id = $((id - 1));
        SELECT $col FROM \"user\" WHERE id IN ($((id - 1)), $id) ORDER BY id" 2>&1); then
      echo "$start $EPOCHREALTIME $server $rev FAIL ${out%%$'\n'*}"
    elif [ "$out" != "$want" ]; then
      echo "$start $EPOCHREALTIME $server $rev FAIL read back '${out//$'\n'/; }', not '${want//$'\n'/; }'"
    else
      echo "$start $EPOCHREALTIME $server $rev ok"
    fi >>"$CLIENT_LOG"
    exec {serving}<&-
    prev=$server
  done
}
client_requests() { if [ -f "$CLIENT_LOG" ]; then wc -l <"$CLIENT_LOG"; else echo 0; fi; }
await_requests() { # N: until the client has made N requests (30 s at most)
  for _ in $(seq 1 300); do [ "$(client_requests)" -ge "$1" ] && return 0; sleep 0.1; done
  echo "the client made only $(client_requests) of $1 request(s) in 30 s" >&2; return 1
}

step "lockstep check: release 3 splits into an expand before the switch and a contract after it"
lockstep check --schema 4

step "A client starts reading and writing users through web-1, web-2, web-3 in turn (log: demo/work/client.log)"
client & CLIENT_PID=$!
await_requests 20
echo "$(client_requests) request(s) so far, all by v2's code (\"user\".name)"

step "Release 3: revision v3, schema 4 (\"user\".name renamed to display_name: expand V3, switch, contract V4)"
release3=0
lockstep release --revision v3 --schema 4 || release3=$?
await_requests $(( $(client_requests) + 20 )) || true # the new code keeps working after the drop
touch "$WORK/client.stop"; wait "$CLIENT_PID" || echo "the client stopped with status $?" >&2; CLIENT_PID=

step "The client during release 3"
awk '{ n[$4]++; if ($5 != "ok") f[$4]++ }
     END { for (r in n) printf "  %-3s code: %4d request(s), %d failed\n", r, n[r], f[r] }' "$CLIENT_LOG" | sort
requests=$(client_requests)
failed=$(grep -c ' FAIL ' "$CLIENT_LOG" || true)
echo "  in all:   $requests request(s), $failed failed"
doc=$(lockstep status --service "$SERVICE" --json); doc=${doc#*\"latestRelease\"}
after=$(grep -o '"afterLastSwitchMs":[0-9]*' <<<"$doc" | cut -d: -f2)
applied=$(grep -o '"appliedAt":"[^"]*"' <<<"$doc" | cut -d'"' -f4)
switched=$(grep -o '"switchedAt":"[^"]*"' <<<"$doc" | cut -d'"' -f4 | sed "s/.*/'&'::timestamptz/" | paste -sd,)
last_old=$(awk '$4 == "v2" && $1 > t { t = $1 } END { printf "%.6f\n", t }' "$CLIENT_LOG")
row=$(psql -h 127.0.0.1 -U postgres -d "$DB" -X -qAt -F ' ' -c "
  SELECT installed_on::timestamptz,
         round(extract(epoch FROM installed_on::timestamptz - greatest($switched)) * 1000),
         round((extract(epoch FROM installed_on::timestamptz) - $last_old) * 1000)
  FROM flyway_schema_history WHERE version = '4' AND success" 2>&1) || true
read -r day time gap old <<<"$row" || true
echo "  the contract (V4, drop user name) committed at ${applied:-?}, ${after:-?} ms after the last server switched"
echo "    (the release document's contract.afterLastSwitchMs);"
echo "  flyway_schema_history: V4 installed_on ${day:-?} ${time:-} (its transaction's start), ${gap:-?} ms after"
echo "    the last agent's switchedAt and ${old:-?} ms after the last request by v2's code ended."

step "History: V4 applied by release 3 as a contract migration"
lockstep history

if [ "$failed" != 0 ] || [ "$release3" != 0 ] || [ "$requests" = 0 ]; then
  printf '\n\033[1;31m!! RELEASE 3 WAS NOT ZERO-DOWNTIME: %s of %s request(s) failed; lockstep release exited %s%s\033[0m\n' \
    "$failed" "$requests" "$release3" "$( [ "$release3" = 3 ] && echo ' (its contract is pending)')" >&2
  grep ' FAIL ' "$CLIENT_LOG" | head -10 | cut -d' ' -f3- | sed 's/^/  /' >&2
  exit 1
fi
echo
echo "Release 3: $requests request(s), none failed; \"user\".name was dropped only after every server ran v3."

memory_and_done
