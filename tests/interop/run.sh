#!/usr/bin/env bash
# Interop check: wechatpy (PyPI, pinned in requirements.txt) plays the WeCom /
# WeChat side against the crate's `echo` example, once per callback kind: the
# example is restarted on a free loopback port with each kind's WECOM_*
# settings (WECOM_KIND, token, key, receive id), checked, and stopped.
# Usage: bash tests/interop/run.sh [KIND...]   (from anywhere; default: every kind)
# Ends with one line `N passed, M failed` for the whole run; exit status 0 only
# if nothing failed. Honours CARGO_TARGET_DIR (default target/).
set -euo pipefail
cd "$(dirname "$0")/../.."

INTEROP_DIR=tests/interop
VENV="$INTEROP_DIR/.venv"
SCRIPT="$INTEROP_DIR/wechatpy_interop.py"
ALL_KINDS=(wecom_app wecom_suite wecom_suite_data wecom_bot
           official_account_plain official_account_compat official_account_safe open_platform)

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
"$PY" -c 'import wechatpy, wechatpy.enterprise.crypto, wechatpy.component; print("[interop] wechatpy", wechatpy.__version__)' >&2

# ---- which kinds --------------------------------------------------------------
KINDS=("$@")
[ "${#KINDS[@]}" -gt 0 ] || KINDS=("${ALL_KINDS[@]}")
for kind in "${KINDS[@]}"; do
  case " ${ALL_KINDS[*]} " in *" $kind "*) ;; *) log "unknown kind '$kind' (known: ${ALL_KINDS[*]})"; exit 2 ;; esac
done

# ---- cleanup on every exit path ----------------------------------------------
WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/wecom-interop.XXXXXX")"
SERVER_PID=""
SERVER_LOG=""
PORT=""
BUILD_PID=""

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      kill "$SERVER_PID" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}

cleanup() {
  if [ -n "$BUILD_PID" ]; then kill "$BUILD_PID" 2>/dev/null || true; wait "$BUILD_PID" 2>/dev/null || true; fi
  stop_server
  rm -rf "$WORK_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- build the echo example (in the background, so a signal interrupts the wait)
log "cargo build --example echo"
cargo build --example echo &
BUILD_PID=$!
wait "$BUILD_PID"
BUILD_PID=""
ECHO_BIN="${CARGO_TARGET_DIR:-target}/debug/examples/echo"
[ -x "$ECHO_BIN" ] || { log "no binary at $ECHO_BIN"; exit 1; }

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_server KIND [NAME=VALUE...]: starts the echo example for KIND with the
# given settings on a free port; sets PORT, SERVER_PID, SERVER_LOG. Returns 1
# (server stopped, its output shown) if it does not accept connections.
start_server() {
  local kind="$1"; shift
  stop_server
  PORT="$(free_port)"
  SERVER_LOG="$WORK_DIR/echo-$kind.log"
  log "starting $ECHO_BIN (WECOM_KIND=$kind) on 127.0.0.1:$PORT"
  env "$@" WECOM_KIND="$kind" WECOM_BIND="127.0.0.1:$PORT" RUST_LOG="${RUST_LOG:-info}" \
    "$ECHO_BIN" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  # wait (at most ~60 s) until it accepts connections
  for _ in $(seq 1 120); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      log "echo server ($kind) exited before accepting connections; its output:"
      cat "$SERVER_LOG" >&2
      stop_server
      return 1
    fi
    if "$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()' \
         "$PORT" 2>/dev/null; then
      log "server up: $(head -n 1 "$SERVER_LOG")"
      return 0
    fi
    sleep 0.25
  done
  log "echo server ($kind) did not accept connections on 127.0.0.1:$PORT within 30 s; its output:"
  cat "$SERVER_LOG" >&2
  stop_server
  return 1
}

# ---- the checks ------------------------------------------------------------------
TOTAL_PASSED=0
TOTAL_FAILED=0
FAILED_KINDS=()

# add_result NAME RESULT_FILE STATUS: adds the counts a check wrote; a check
# that failed without writing its counts counts as one failure.
add_result() {
  local name="$1" file="$2" status="$3" passed failed
  if [ -s "$file" ] && read -r passed failed <"$file"; then
    TOTAL_PASSED=$((TOTAL_PASSED + passed))
    TOTAL_FAILED=$((TOTAL_FAILED + failed))
    if [ "$failed" != 0 ] || [ "$status" != 0 ]; then
      FAILED_KINDS+=("$name")
      [ "$failed" != 0 ] || TOTAL_FAILED=$((TOTAL_FAILED + 1))  # non-zero exit, no failed check: count it
    fi
  else
    echo "FAIL [$name] the check exited with status $status without writing its counts"
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
    FAILED_KINDS+=("$name")
  fi
}

log "=== selftest: wechatpy on known-answer vectors (offline)"
status=0
"$PY" "$SCRIPT" --kind selftest --vectors tests/data/vectors --result-file "$WORK_DIR/selftest.result" || status=$?
add_result selftest "$WORK_DIR/selftest.result" "$status"

for kind in "${KINDS[@]}"; do
  log "=== $kind"
  mapfile -t settings < <("$PY" "$SCRIPT" --server-env "$kind")
  result="$WORK_DIR/$kind.result"
  if ! start_server "$kind" "${settings[@]}"; then
    echo "FAIL [$kind] the echo server did not start (its output is on stderr)"
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
    FAILED_KINDS+=("$kind")
    continue
  fi
  status=0
  env "${settings[@]}" INTEROP_BASE_URL="http://127.0.0.1:$PORT/wecom/callback" \
    "$PY" "$SCRIPT" --kind "$kind" --samples-root tests/data/samples \
      --server-log "$SERVER_LOG" --result-file "$result" || status=$?
  stop_server
  add_result "$kind" "$result" "$status"
  if [ "$status" != 0 ]; then
    log "echo server log for $kind (last 60 lines):"
    tail -n 60 "$SERVER_LOG" >&2 || true
  fi
done

[ "${#FAILED_KINDS[@]}" = 0 ] || log "kinds with failures: ${FAILED_KINDS[*]}"
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$TOTAL_FAILED" = 0 ]
