#!/usr/bin/env bash
# Scale-out checks against a real Redis (issue 9): installs redis-server from
# Debian's packages when it is missing, starts it on a free loopback port
# without persistence, builds the echo example with the `redis` feature and
# runs tests/redis.rs with --include-ignored (its tests are ignored without
# REDIS_URL): the store contract, three echo processes sharing that Redis,
# and the fault runs, which start and kill a redis-server of their own.
# redis-server is stopped on every exit path.
# Usage: bash tests/redis/run.sh   (from anywhere; exit status = the tests')
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { printf '[redis] %s\n' "$*" >&2; }

# ---- redis-server ----------------------------------------------------------
if ! command -v redis-server >/dev/null 2>&1; then
  log "redis-server missing: installing Debian's redis-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  # The package may start a system instance; this script uses its own.
fi
REDIS_SERVER="$(command -v redis-server)"
export REDIS_SERVER
log "$("$REDIS_SERVER" --version)"

# A free loopback port, chosen now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/wecom-redis.XXXXXX")"
REDIS_PID=""

cleanup() {
  status=$?
  if [ -n "$REDIS_PID" ] && kill -0 "$REDIS_PID" 2>/dev/null; then
    kill -CONT "$REDIS_PID" 2>/dev/null || true
    kill "$REDIS_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$REDIS_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -s "$WORK_DIR/redis.log" ]; then
    log "redis-server log:"
    tail -n 20 "$WORK_DIR/redis.log" >&2 || true
  fi
  rm -rf "$WORK_DIR"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=0
for _ in 1 2 3; do
  PORT="$(free_port)"
  "$REDIS_SERVER" --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --dir "$WORK_DIR" >"$WORK_DIR/redis.log" 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 1 100); do
    kill -0 "$REDIS_PID" 2>/dev/null || break
    if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()' \
         "$PORT" 2>/dev/null; then
      started=1
      break
    fi
    sleep 0.1
  done
  [ "$started" = 1 ] && break
  log "redis-server did not start on port $PORT; retrying on another"
  kill "$REDIS_PID" 2>/dev/null || true
  wait "$REDIS_PID" 2>/dev/null || true
  REDIS_PID=""
done
[ "$started" = 1 ] || { log "cannot start redis-server"; exit 1; }
export REDIS_URL="redis://127.0.0.1:$PORT/"
log "redis-server (pid $REDIS_PID) on $REDIS_URL"

# ---- build the echo example with Redis, then the tests -----------------------
log "cargo build --all-features --example echo"
cargo build --all-features --example echo
ECHO_BIN="${CARGO_TARGET_DIR:-target}/debug/examples/echo"
[ -x "$ECHO_BIN" ] || { log "no binary at $ECHO_BIN"; exit 1; }
ECHO_BIN="$(cd "$(dirname "$ECHO_BIN")" && pwd)/$(basename "$ECHO_BIN")"
export ECHO_BIN

log "cargo test --all-features --test redis -- --include-ignored"
# The tests are #[ignore = "needs REDIS_URL"]: a plain `cargo test` lists them as ignored.
cargo test --all-features --test redis -- --include-ignored --nocapture --test-threads 2

log "cargo test --all-features --test isolation -- --include-ignored (plaintext vs safe mode on one Redis)"
cargo test --all-features --test isolation -- --include-ignored
