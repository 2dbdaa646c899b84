# Shared by tests/slowloris/run.sh and tests/load/run.sh (sourced, not run):
# a Python with wechatpy, the echo example built, started on a free 127.0.0.1
# port, and stopped on every exit path. Patterned on tests/interop/run.sh.
#
# The caller sets NAME (log prefix) and runs from the crate root. Provides:
#   hn_python          -> sets PY (reuses tests/interop/.venv, pinned by
#                         tests/interop/requirements.txt)
#   hn_build [release] -> sets ECHO_BIN (respects CARGO_TARGET_DIR); an
#                         ECHO_BIN already set to an executable skips the build
#   hn_start           -> sets PORT, SERVER_PID, SERVER_LOG; waits until it accepts
#   hn_run CMD...      -> runs a check in the background and waits for it, so
#                         INT/TERM reach the traps at once (and stop it too)
#   hn_server_tail N   -> prints the last N lines of the server log
# Environment: ECHO_ENV="VAR=value ..." adds variables to the server's
# environment (e.g. MALLOC_ARENA_MAX=2); KEEP_SERVER_LOG=1 keeps the log file.

hn_log() { printf '[%s] %s\n' "${NAME:-hostile_net}" "$*" >&2; }

hn_python() {
  local venv=tests/interop/.venv req=tests/interop/requirements.txt
  PY=""
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import wechatpy.enterprise.crypto' >/dev/null 2>&1; then
    PY="$venv/bin/python"
    return 0
  fi
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    PY="$venv/bin/python"
  else
    rm -rf "$venv"
    if python3 -m venv "$venv" >/dev/null 2>&1 && "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
      PY="$venv/bin/python"
    else
      hn_log "python3 -m venv unavailable: falling back to pip install --user"
      rm -rf "$venv"
      PY=python3
    fi
  fi
  if [ "$PY" = python3 ]; then
    python3 -m pip install --user -q --disable-pip-version-check -r "$req" \
      || python3 -m pip install --user -q --disable-pip-version-check --break-system-packages -r "$req"
  else
    "$PY" -m pip install -q --disable-pip-version-check -r "$req"
  fi
  "$PY" -c 'import wechatpy.enterprise.crypto' || { hn_log "wechatpy not importable"; return 1; }
}

hn_build() {
  local profile="${1:-debug}"
  if [ -n "${ECHO_BIN:-}" ]; then # a binary built elsewhere: no build
    [ -x "$ECHO_BIN" ] || { hn_log "ECHO_BIN=$ECHO_BIN is not executable"; return 1; }
    hn_log "using ECHO_BIN=$ECHO_BIN (no build)"
    return 0
  fi
  if [ "$profile" = release ]; then
    hn_log "cargo build --release --example echo"
    cargo build --release --example echo
  else
    hn_log "cargo build --example echo"
    cargo build --example echo
  fi
  ECHO_BIN="${CARGO_TARGET_DIR:-target}/$profile/examples/echo"
  [ -x "$ECHO_BIN" ] || { hn_log "no binary at $ECHO_BIN"; return 1; }
}

SERVER_PID=""
SERVER_LOG=""
HN_CHILD=""

hn_cleanup() {
  if [ -n "$HN_CHILD" ] && kill -0 "$HN_CHILD" 2>/dev/null; then
    kill "$HN_CHILD" 2>/dev/null || true
    wait "$HN_CHILD" 2>/dev/null || true
  fi
  HN_CHILD=""
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  [ -n "$SERVER_PID" ] && wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  if [ -n "$SERVER_LOG" ]; then
    if [ "${KEEP_SERVER_LOG:-0}" = 1 ]; then hn_log "server log kept: $SERVER_LOG"; else rm -f "$SERVER_LOG"; fi
  fi
}
trap hn_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

hn_start() {
  # Enough descriptors for thousands of connections, for the server and the
  # checks started from this shell.
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  SERVER_LOG="$(mktemp "${TMPDIR:-/tmp}/wecom-echo-${NAME:-hn}.XXXXXX.log")"
  hn_log "starting $ECHO_BIN on 127.0.0.1:$PORT (open files: $(ulimit -n))${ECHO_ENV:+ with $ECHO_ENV}"
  # shellcheck disable=SC2086 # ECHO_ENV is a list of VAR=value words
  env ${ECHO_ENV:-} WECOM_BIND="127.0.0.1:$PORT" RUST_LOG="${RUST_LOG:-info}" "$ECHO_BIN" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  local ready=0
  for _ in $(seq 1 120); do # at most ~60 s
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      hn_log "echo server exited before accepting connections; its output:"
      cat "$SERVER_LOG" >&2
      return 1
    fi
    if "$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()' \
         "$PORT" 2>/dev/null; then
      ready=1
      break
    fi
    sleep 0.5
  done
  if [ "$ready" != 1 ]; then
    hn_log "echo server did not accept connections on 127.0.0.1:$PORT within 60 s; its output:"
    cat "$SERVER_LOG" >&2
    return 1
  fi
  # `env` execs the binary, so $! is the server's own pid (VmRSS is read from it).
  hn_log "server up (pid $SERVER_PID): $(head -n 1 "$SERVER_LOG")"
}

hn_run() {
  local st=0
  "$@" &
  HN_CHILD=$!
  wait "$HN_CHILD" || st=$?
  HN_CHILD=""
  return "$st"
}

hn_server_tail() {
  hn_log "echo server log (last ${1:-40} lines):"
  tail -n "${1:-40}" "$SERVER_LOG" >&2 || true
}
