#!/usr/bin/env bash
# Web login in a real headless Chromium (issue 21): installs Debian's
# chromium and chromium-driver when missing, starts chromedriver on a free
# loopback port, runs tests/browser/browser.rs with --include-ignored (the WeCom
# in-app and QR logins against the vendor stand-in, in Chromium), and stops
# chromedriver and removes its files on every exit path.
# Usage: bash tests/browser/run.sh   (from anywhere; exit status = the test's)
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { printf '[browser] %s\n' "$*" >&2; }

# ---- chromium and chromedriver ----------------------------------------------
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  log "chromium or chromedriver missing: installing Debian's chromium and chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi
CHROMIUM="$(command -v chromium)"
CHROMEDRIVER="$(command -v chromedriver)"
log "$("$CHROMIUM" --version 2>/dev/null || echo chromium)"
log "$("$CHROMEDRIVER" --version)"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/wecom-browser.XXXXXX")"
DRIVER_PID=""

cleanup() {
  status=$?
  if [ -n "$DRIVER_PID" ] && kill -0 "$DRIVER_PID" 2>/dev/null; then
    kill "$DRIVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$DRIVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$DRIVER_PID" 2>/dev/null || true
    wait "$DRIVER_PID" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -s "$WORK_DIR/chromedriver.log" ]; then
    log "chromedriver log (last 40 lines):"
    tail -n 40 "$WORK_DIR/chromedriver.log" >&2 || true
  fi
  rm -rf "$WORK_DIR"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Build first, so that chromedriver does not wait through the compile.
log "cargo test -p wecom-callback-browser-test --test browser --no-run"
cargo test -p wecom-callback-browser-test --test browser --no-run

started=0
for _ in 1 2 3; do
  PORT="$(free_port)"
  "$CHROMEDRIVER" --port="$PORT" --allowed-ips=127.0.0.1 >"$WORK_DIR/chromedriver.log" 2>&1 &
  DRIVER_PID=$!
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$PORT/status" >/dev/null 2>&1; then started=1; break; fi
    kill -0 "$DRIVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ "$started" -eq 1 ] && break
  kill "$DRIVER_PID" 2>/dev/null || true
  wait "$DRIVER_PID" 2>/dev/null || true
  DRIVER_PID=""
done
if [ "$started" -ne 1 ]; then
  log "chromedriver did not start"
  exit 1
fi
log "chromedriver on 127.0.0.1:$PORT"

export CHROMEDRIVER_URL="http://127.0.0.1:$PORT"
export CHROMIUM_BINARY="$CHROMIUM"
export TMPDIR="$WORK_DIR"
cargo test -p wecom-callback-browser-test --test browser -- --include-ignored --nocapture
