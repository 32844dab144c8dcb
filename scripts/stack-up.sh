#!/usr/bin/env bash
# Makes sure Postgres and Redis are reachable for OneQueue:
#   1. use the running ones named by DATABASE_URL / REDIS_URL (default: localhost),
#   2. or start a local installation (Debian cluster, or our own under var/),
#   3. or, on Debian, install them with apt-get and start them,
# and fails with a clear message when it can do none of these.
# With WITH_TEST_TOOLS=1 it also installs the Debian packages the test suite drives
# (scripts/test-tools.list: Dovecot for IMAP, Chromium for the widget test).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
[ -f .env ] && set -a && . ./.env && set +a

DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/onequeue}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
read -r PG_HOST PG_PORT < <(node -e 'const u=new URL(process.argv[1]);console.log(u.hostname||"127.0.0.1",u.port||5432)' "$DATABASE_URL")
read -r REDIS_HOST REDIS_PORT < <(node -e 'const u=new URL(process.argv[1]);console.log(u.hostname||"127.0.0.1",u.port||6379)' "$REDIS_URL")

log() { echo "stack-up: $*"; }
die() { echo "stack-up: ERROR: $*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_port() {
  for _ in $(seq 1 100); do port_open "$1" "$2" && return 0; sleep 0.2; done
  return 1
}
is_local() { [[ "$1" == 127.* || "$1" == localhost || "$1" == ::1 ]]; }

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null || return 1
  [ "$(id -u)" = 0 ] || { log "need root to apt-get install $*"; return 1; }
  if [ $APT_UPDATED = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || true; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/postgres" ] && { echo "$d"; return 0; }; done
  command -v postgres >/dev/null && { dirname "$(command -v postgres)"; return 0; }
  return 1
}

start_postgres() {
  if command -v pg_lsclusters >/dev/null && [ -n "$(pg_lsclusters -h 2>/dev/null | awk -v p="$PG_PORT" '$3==p')" ]; then
    local ver cluster
    read -r ver cluster < <(pg_lsclusters -h | awk -v p="$PG_PORT" '$3==p {print $1, $2; exit}')
    log "starting Debian cluster $ver/$cluster"
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" start || true
    wait_port "$PG_HOST" "$PG_PORT" && return 0
  fi
  local bin
  bin=$(pg_bin) || return 1
  local data="$ROOT/var/postgres"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initialising a local Postgres in var/postgres (trust auth, user postgres)"
    mkdir -p "$data"
    if [ "$(id -u)" = 0 ]; then chown -R postgres "$ROOT/var/postgres" 2>/dev/null || true; fi
    run_pg "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  log "starting local Postgres on port $PG_PORT"
  run_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k /tmp" -w start >/dev/null
  wait_port "$PG_HOST" "$PG_PORT"
}
# Postgres refuses to run as root: run its tools as the postgres user when we are root.
run_pg() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home "$ROOT/var/postgres" postgres
    chown -R postgres "$ROOT/var/postgres"
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

start_redis() {
  command -v redis-server >/dev/null || return 1
  mkdir -p "$ROOT/var/redis"
  log "starting redis-server on port $REDIS_PORT (AOF on, noeviction) with data in var/redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$ROOT/var/redis" \
    --appendonly yes --maxmemory-policy noeviction --logfile "$ROOT/var/redis/redis.log" >/dev/null
  wait_port "$REDIS_HOST" "$REDIS_PORT"
}

# --- Postgres -------------------------------------------------------------------
if port_open "$PG_HOST" "$PG_PORT"; then
  log "Postgres is up at $PG_HOST:$PG_PORT"
elif is_local "$PG_HOST"; then
  start_postgres || { log "no usable Postgres installation; installing postgresql with apt-get"; apt_install postgresql && start_postgres; } ||
    die "Postgres is not reachable at $PG_HOST:$PG_PORT and could not be started or installed. Set DATABASE_URL to a running server."
else
  die "Postgres is not reachable at $PG_HOST:$PG_PORT (DATABASE_URL points at a remote host; start it there)."
fi

# --- Redis ----------------------------------------------------------------------
if port_open "$REDIS_HOST" "$REDIS_PORT"; then
  log "Redis is up at $REDIS_HOST:$REDIS_PORT"
elif is_local "$REDIS_HOST"; then
  start_redis || { log "redis-server not installed; installing redis-server with apt-get"; apt_install redis-server && start_redis; } ||
    die "Redis is not reachable at $REDIS_HOST:$REDIS_PORT and could not be started or installed. Set REDIS_URL to a running server."
else
  die "Redis is not reachable at $REDIS_HOST:$REDIS_PORT (REDIS_URL points at a remote host; start it there)."
fi

# The services check this too at boot; say it here once, loudly, for the operator.
node -e '
const net = require("net");
const [host, port] = process.argv.slice(1);
// SET … NX first: only the first look within the hour warns (npm start runs this script more than once).
const s = net.connect(+port, host, () =>
  s.write("SET oq:redis-durability-warned 1 EX 3600 NX\r\nCONFIG GET maxmemory-policy\r\nCONFIG GET appendonly\r\n"));
let buf = "";
s.on("data", (d) => {
  buf += d;
  if ((buf.match(/\r\n/g) || []).length >= 11) {
    const lines = buf.split("\r\n");
    const first = lines[0] === "+OK";
    const v = lines.slice(1).filter((l) => l && !/^[*$]/.test(l));
    const problems = [];
    if (v[1] !== "noeviction") problems.push(`maxmemory-policy is ${v[1]}, OneQueue needs noeviction`);
    if (v[3] !== "yes") problems.push("appendonly is off, so acknowledged webhooks would not survive a Redis crash");
    // Said once here; the services see the marker (libs/platform redis.ts) and log it at debug only.
    if (problems.length && first)
      console.warn(`stack-up: WARNING: Redis ${problems.join("; ")} (fine for tests, not for production). Fix: redis-cli CONFIG SET appendonly yes && redis-cli CONFIG SET maxmemory-policy noeviction && redis-cli CONFIG REWRITE`);
    s.end();
  }
});
s.on("error", () => {});
setTimeout(() => s.destroy(), 2000).unref();
' "$REDIS_HOST" "$REDIS_PORT"

# --- Demo mode: the demo mailbox's IMAP server --------------------------------------
if [ "${WITH_DEMO_TOOLS:-0}" = 1 ] && ! command -v dovecot >/dev/null; then
  log "demo mode: installing dovecot-imapd (the demo email inbox's IMAP server)"
  apt_install dovecot-imapd || die "demo mode needs Dovecot: install dovecot-imapd, or set SEED_DEMO=false in .env"
fi

# --- Tools the test suite drives ---------------------------------------------------
if [ "${WITH_TEST_TOOLS:-0}" = 1 ]; then
  if [ -f scripts/test-tools.list ]; then
    while read -r bin pkg; do
      [ -z "$bin" ] || [[ "$bin" == \#* ]] && continue
      command -v "$bin" >/dev/null || { log "installing $pkg"; apt_install "$pkg" || die "$pkg is required by the tests"; }
    done < scripts/test-tools.list
  fi
fi
