#!/usr/bin/env bash
# Interop check: wechatpy (PyPI, pinned in requirements.txt) plays the WeCom
# side against the crate's `echo` example server on a free loopback port.
# Usage: bash tests/interop/run.sh   (from anywhere; exit status = the check's)
set -euo pipefail
cd "$(dirname "$0")/../.."

INTEROP_DIR=tests/interop
VENV="$INTEROP_DIR/.venv"

log() { printf '[interop] %s\n' "$*" >&2; }

# ---- Python environment: a venv if possible, else pip --user -------------
PY=""
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
  PY="$VENV/bin/python"
else
  rm -rf "$VENV"
  if python3 -m venv "$VENV" >/dev/null 2>&1 && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    PY="$VENV/bin/python"
  else
    log "python3 -m venv unavailable: falling back to pip install --user"
    rm -rf "$VENV"
    PY=python3
  fi
fi

if [ "$PY" = python3 ]; then
  python3 -m pip install --user -q --disable-pip-version-check -r "$INTEROP_DIR/requirements.txt" \
    || python3 -m pip install --user -q --disable-pip-version-check --break-system-packages \
         -r "$INTEROP_DIR/requirements.txt"
else
  "$PY" -m pip install -q --disable-pip-version-check -r "$INTEROP_DIR/requirements.txt"
fi
"$PY" -c 'import wechatpy, wechatpy.enterprise.crypto; print("[interop] wechatpy", wechatpy.__version__)' >&2

# ---- build the echo example ------------------------------------------------
log "cargo build --example echo"
cargo build --example echo
ECHO_BIN="${CARGO_TARGET_DIR:-target}/debug/examples/echo"
[ -x "$ECHO_BIN" ] || { log "no binary at $ECHO_BIN"; exit 1; }

# ---- start it on a free loopback port --------------------------------------
PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
SERVER_LOG="$(mktemp "${TMPDIR:-/tmp}/wecom-echo.XXXXXX.log")"
SERVER_PID=""

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -f "$SERVER_LOG"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "starting $ECHO_BIN on 127.0.0.1:$PORT"
WECOM_BIND="127.0.0.1:$PORT" RUST_LOG="${RUST_LOG:-info}" "$ECHO_BIN" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

# wait (at most ~60 s) until it accepts connections
ready=0
for _ in $(seq 1 120); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    log "echo server exited before accepting connections; its output:"
    cat "$SERVER_LOG" >&2
    exit 1
  fi
  if "$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()' \
       "$PORT" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.5
done
if [ "$ready" != 1 ]; then
  log "echo server did not accept connections on 127.0.0.1:$PORT within 60 s; its output:"
  cat "$SERVER_LOG" >&2
  exit 1
fi
log "server up: $(head -n 1 "$SERVER_LOG")"

# ---- run the check -----------------------------------------------------------
status=0
INTEROP_BASE_URL="http://127.0.0.1:$PORT/wecom/callback" \
  "$PY" "$INTEROP_DIR/wechatpy_interop.py" --samples tests/data/samples/wecom "$@" || status=$?

if [ "$status" != 0 ]; then
  log "echo server log (last 80 lines):"
  tail -n 80 "$SERVER_LOG" >&2 || true
fi
exit "$status"
