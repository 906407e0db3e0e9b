#!/usr/bin/env bash
# Lockstep's main job, end to end on this machine: PostgreSQL and Redis (started if needed), a
# coordinator, three agents, and two real releases of the story Lockstep exists for:
#   release 1 creates the "user" table; the table then loses its primary key (drift);
#   release 2 adds orders with a foreign key to "user": Lockstep repairs the key first,
#   applies the migration once, and switches all three servers together.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK="$ROOT/demo/work"
PORT="${LOCKSTEP_DEMO_PORT:-7070}"
DB="${LOCKSTEP_DEMO_DB:-lockstep_demo}"
SERVICE=shop
export LOCKSTEP_TOKEN="demo-operator-token"
# Each agent's token is derived from this secret (`lockstep agent-token`), so an agent can report only for itself.
export LOCKSTEP_AGENT_SECRET="demo-agent-secret-change-me"
export LOCKSTEP_COORDINATOR="http://127.0.0.1:$PORT"
JVM=(-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k)
# The agent is small; these flags keep it around 70 MB resident (see agent/README.md).
AGENT_JVM=(-Xmx32m -Xms8m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -XX:ReservedCodeCacheSize=16m -XX:-UsePerfData)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

step "PostgreSQL and Redis"
LOCKSTEP_SKIP_BROWSER=1 bash scripts/services.sh
echo "PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379"

step "Build"
if [ ! -f coordinator/target/lockstep-coordinator.jar ] || [ ! -f agent/target/lockstep-agent.jar ] || [ "${REBUILD:-}" = 1 ]; then
  mvn -B -q package -DskipTests
fi
ls -lh coordinator/target/lockstep-coordinator.jar agent/target/lockstep-agent.jar | awk '{print $5, $9}'
lockstep() { java "${JVM[@]}" -jar "$ROOT/coordinator/target/lockstep-coordinator.jar" "$@"; }

step "A fresh database: $DB"
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
rm -rf "$WORK" && mkdir -p "$WORK"
cp -r demo/migrations "$WORK/migrations"
redis-cli -h 127.0.0.1 del "lockstep:agents:$SERVICE" >/dev/null 2>&1 || true

step "Coordinator on port $PORT (log: demo/work/coordinator.log)"
java "${JVM[@]}" -jar coordinator/target/lockstep-coordinator.jar serve --port "$PORT" \
  --database-url "postgresql://postgres@127.0.0.1:5432/$DB" --redis-url redis://127.0.0.1:6379 \
  --service "$SERVICE" --migrations "$WORK/migrations" --lost-after 6s >"$WORK/coordinator.log" 2>&1 &
pids+=($!)
# GET /health over bash's own /dev/tcp, so the demo needs no curl.
health() {
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
  printf 'GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  local body; body=$(cat <&3); exec 3<&-
  [[ "$body" == *'"status":"ok"'* ]] && printf '%s\n' "${body##*$'\r\n\r\n'}"
}
for _ in $(seq 1 60); do health 2>/dev/null && break; sleep 0.5; done

step "Three agents: web-1, web-2, web-3, all on revision v0 (logs: demo/work/agent-*.log)"
for id in web-1 web-2 web-3; do
  echo v0 > "$WORK/revision-$id"
  hook() { echo "echo \"[$id] $1 hook: release \$LOCKSTEP_RELEASE_ID, revision \$LOCKSTEP_TARGET_REVISION ($2)\" >> $WORK/hooks.log${3:-}"; }
  LOCKSTEP_AGENT_TOKEN="$(lockstep agent-token --service "$SERVICE" --id "$id")" \
  java "${AGENT_JVM[@]}" -jar agent/target/lockstep-agent.jar --coordinator "$LOCKSTEP_COORDINATOR" --id "$id" \
    --service "$SERVICE" --revision-command "cat $WORK/revision-$id" --migrations "$WORK/migrations" \
    --on-prepare "$(hook prepare 'staging the new build')" \
    --on-switch "$(hook switch 'now serving the new code' " && echo \$LOCKSTEP_TARGET_REVISION > $WORK/revision-$id")" \
    --on-abort "$(hook abort 'staying on the old code')" >"$WORK/agent-$id.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 1 60); do
  [ "$(lockstep agents --service "$SERVICE" 2>/dev/null | grep -c serving)" = 3 ] && break; sleep 0.5
done
lockstep agents --service "$SERVICE"

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
lockstep check || true

step "Release 2: revision v2, schema 2 (orders with a foreign key to \"user\")"
lockstep release --revision v2

step "What the hooks did, in order"
cat "$WORK/hooks.log"

step "The fleet now"
lockstep current
lockstep history

step "Memory (resident set size)"
for p in "${pids[@]}"; do
  printf '  %-12s %6d MB\n' "$(tr '\0' ' ' </proc/$p/cmdline | grep -o 'lockstep-[a-z]*.jar' | sed 's/.jar//')" \
    "$(( $(awk '/VmRSS/ {print $2}' /proc/$p/status) / 1024 ))"
done
echo
echo "Done. Logs are in demo/work/."
