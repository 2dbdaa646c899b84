#!/usr/bin/env bash
# The simulator's own check: `wecom-sim` (feature `cli`) plays WeCom / WeChat
# against the crate's `echo` example, once per callback kind. For each kind
# the example is started on a free loopback port with that kind's WECOM_*
# settings, the simulator runs with the matching arguments and --json, and
# python3 reads the document: exit status 0, nothing failed, the forged
# requests refused with a 4xx, the echo replies opened (or `success` where the
# kind takes no reply). Then the runs that must fail: a wrong Token, a wrong
# EncodingAESKey or kind (a stop after the GET with a hint naming the flags),
# with --keep-going (no 4xx retried, forged refusals not counted as passes), a
# closed port (a stop after the GET), a server that never answers (the try
# number on stderr, a stop after the first callback), bad arguments; and the
# table, which must be plain when piped.
# Usage: bash tests/sim/run.sh   (from anywhere; ends with "N passed, M failed")
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { printf '[sim] %s\n' "$*" >&2; }

log "cargo build --features cli --example echo --bin wecom-sim"
cargo build --features cli --example echo --bin wecom-sim
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
ECHO_BIN="$TARGET_DIR/debug/examples/echo"
SIM_BIN="$TARGET_DIR/debug/wecom-sim"
for bin in "$ECHO_BIN" "$SIM_BIN"; do
  [ -x "$bin" ] || { log "no binary at $bin"; exit 1; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/wecom-sim.XXXXXX")"
SERVER_LOG="$WORK/echo.log"
SERVER_PID=""

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
SILENT_PID=""
cleanup() {
  stop_server
  if [ -n "$SILENT_PID" ]; then kill "$SILENT_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_server VAR=VALUE...: the echo example with these settings on a free
# port; sets PORT, or returns 1 with the server's output.
start_server() {
  stop_server
  PORT="$(free_port)"
  env WECOM_BIND="127.0.0.1:$PORT" RUST_LOG="${RUST_LOG:-warn}" "$@" "$ECHO_BIN" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 120); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      log "echo exited before accepting connections; its output:"
      cat "$SERVER_LOG" >&2
      SERVER_PID=""
      return 1
    fi
    if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()' \
         "$PORT" 2>/dev/null; then
      return 0
    fi
    sleep 0.25
  done
  log "echo did not accept connections on 127.0.0.1:$PORT; its output:"
  cat "$SERVER_LOG" >&2
  return 1
}

passed=0
failed=0
record() { # record NAME STATUS
  if [ "$2" = 0 ]; then
    passed=$((passed + 1)); log "ok   $1"
  else
    failed=$((failed + 1)); log "FAIL $1"
  fi
}

# check_json FILE KIND EXIT_STATUS: what a correct run against echo shows.
check_json() {
  python3 - "$@" <<'PY'
import json, sys

path, kind, status = sys.argv[1], sys.argv[2], int(sys.argv[3])
problems = []
try:
    doc = json.load(open(path))
except ValueError as e:
    print(f"  not JSON: {e}", file=sys.stderr)
    sys.exit(1)
checks = doc["checks"]
if status != 0:
    problems.append(f"exit status {status}")
if doc["kind"] != kind:
    problems.append(f"kind {doc['kind']!r}")
if doc["failed"] != 0 or doc["warned"] != 0:
    problems.append(f"failed {doc['failed']}, warned {doc['warned']}")
if doc["passed"] + doc["skipped"] != len(checks):
    problems.append("counts do not add up")
groups = {c["group"] for c in checks}
for group in ["verify", "message", "forged"] + ([] if kind == "wecom_bot" else ["sample"]):
    if group not in groups:
        problems.append(f"no {group} check")
for c in checks:
    where = f"{c['group']} {c['name']}"
    if c["verdict"] not in ("pass", "skip"):
        problems.append(f"{where}: {c['verdict']} {c['detail']}")
    if c["group"] == "forged" and c["verdict"] == "pass" and not 400 <= (c["status"] or 0) < 500:
        problems.append(f"{where}: status {c['status']}")
    if c["group"] in ("verify", "message", "sample") and c["status"] != 200:
        problems.append(f"{where}: status {c['status']}")
    if c["verdict"] == "skip" and not (kind == "official_account_plain" and c["name"] == "wrong receive id"):
        problems.append(f"{where}: skipped ({c['detail']})")
messages = [c for c in checks if c["group"] == "message"]
if kind in ("wecom_suite", "open_platform"):
    for c in messages:
        if c["detail"] != "acknowledged (success)" or c["reply"] is not None:
            problems.append(f"{c['name']}: {c['detail']}")
else:
    text = [c for c in messages if c["name"].startswith("text")]
    if len(text) != 1 or "echo:text:hello from wecom-sim" not in (text[0]["reply"] or ""):
        problems.append(f"text reply: {[c.get('reply') for c in text]}")
    events = [c for c in messages if c["name"].startswith("event")]
    if not events or any("echo:event:" not in (c["reply"] or "") for c in events):
        problems.append(f"event replies: {[c.get('reply') for c in events]}")
for p in problems:
    print("  " + p, file=sys.stderr)
print(f"  {kind}: {doc['passed']} passed, {doc['skipped']} skipped, {len(checks)} checks", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
}

DEMO_ID=wx5823bf96d3bd56c7
# kind | echo settings | simulator arguments
KINDS=(
  "wecom_app||"
  "wecom_suite|WECOM_RECEIVE_ID=ww4asffe99e54c0f|--receive-id ww4asffe99e54c0f"
  "wecom_suite_data|WECOM_RECEIVE_ID=$DEMO_ID WECOM_AUTHORIZED_CORP_IDS=wwauthcorp01|--receive-id $DEMO_ID --authorized-corp-id wwauthcorp01"
  "wecom_bot||"
  "official_account_plain|WECOM_RECEIVE_ID=$DEMO_ID|--corp-id $DEMO_ID"
  "official_account_compat|WECOM_RECEIVE_ID=$DEMO_ID|--receive-id $DEMO_ID"
  "official_account_safe|WECOM_RECEIVE_ID=$DEMO_ID|--receive-id $DEMO_ID"
  "open_platform|WECOM_RECEIVE_ID=wxcomponent0001|--receive-id wxcomponent0001"
)

for entry in "${KINDS[@]}"; do
  IFS='|' read -r kind settings sim_args <<<"$entry"
  # shellcheck disable=SC2086  # settings and arguments are word lists
  if ! start_server WECOM_KIND="$kind" $settings; then
    record "$kind: echo starts" 1
    continue
  fi
  status=0
  # shellcheck disable=SC2086
  "$SIM_BIN" --kind "$kind" $sim_args --json "http://127.0.0.1:$PORT/wecom/callback" \
    >"$WORK/$kind.json" 2>"$WORK/$kind.err" || status=$?
  result=0
  check_json "$WORK/$kind.json" "$kind" "$status" || result=1
  if [ "$result" != 0 ]; then
    cat "$WORK/$kind.err" >&2 || true
    log "echo log (last 30 lines):"; tail -n 30 "$SERVER_LOG" >&2 || true
  fi
  record "$kind: every check passes against echo" "$result"
done

# ---- wecom_app again: the table, and the runs that must fail ---------------
start_server WECOM_KIND=wecom_app
URL="http://127.0.0.1:$PORT/wecom/callback"

status=0
"$SIM_BIN" "$URL" >"$WORK/table.txt" 2>"$WORK/table.err" || status=$?
result=0
python3 - "$WORK/table.txt" "$status" <<'PY' || result=1
import sys
text = open(sys.argv[1], encoding="utf-8").read()
lines = text.splitlines()
problems = []
if sys.argv[2] != "0":
    problems.append(f"exit status {sys.argv[2]}")
if "\x1b" in text:
    problems.append("ANSI escapes in piped output")
if not lines or not lines[0].startswith("wecom-sim → http://127.0.0.1:"):
    problems.append("no heading")
if not any(l.split()[:3] == ["#", "group", "check"] for l in lines if l.strip()):
    problems.append("no header row")
if not lines or not lines[-1].endswith("passed, 0 failed, 0 skipped, 0 warned"):
    problems.append(f"summary: {lines[-1] if lines else ''!r}")
for p in problems:
    print("  " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
[ "$result" = 0 ] || cat "$WORK/table.txt" >&2
record "wecom_app: plain table when piped, exit 0" "$result"

# must_fail NAME EXPECTED_STATUS PYTHON_CHECK ARGS...: runs the simulator with
# --json, expects that exit status, and evaluates PYTHON_CHECK on `doc`.
must_fail() {
  local name=$1 expected=$2 check=$3
  shift 3
  local status=0
  "$SIM_BIN" "$@" >"$WORK/neg.json" 2>"$WORK/neg.err" || status=$?
  local result=0
  if [ "$status" != "$expected" ]; then
    log "  exit status $status, expected $expected"; result=1
  elif [ -n "$check" ]; then
    python3 -c "import json, sys; doc = json.load(open(sys.argv[1])); sys.exit(0 if ($check) else 1)" \
      "$WORK/neg.json" || { log "  check failed: $check"; head -c 3000 "$WORK/neg.json" >&2; result=1; }
  fi
  record "$name" "$result"
}

HINT_NAMES_FLAGS='all(f in doc["stopped"]["hint"] for f in ["--token", "--encoding-aes-key", "--receive-id", "--kind"])'

must_fail "wrong Token: stops after the GET (403) with a hint naming the settings, exit 1" 1 \
  'len(doc["checks"]) == 1 and doc["checks"][0]["status"] == 403 and doc["stopped"]["reason"] == "refused" and doc["not_sent"] > 0 and '"$HINT_NAMES_FLAGS" \
  --token WrongToken1 --json "$URL"

must_fail "wrong Token, --keep-going: no 4xx retried, forged refusals not passes, exit 1" 1 \
  'doc["stopped"] is None and all(c["tries"] == 1 for c in doc["checks"]) and not any(c["verdict"] == "pass" for c in doc["checks"]) and any(c["group"] == "forged" and c["verdict"] == "skip" for c in doc["checks"])' \
  --token WrongToken1 --keep-going --no-samples --json "$URL"

must_fail "wrong EncodingAESKey: stops after the GET with the hint, exit 1" 1 \
  'doc["checks"][0]["verdict"] == "fail" and len(doc["checks"]) == 1 and doc["stopped"]["reason"] == "refused" and '"$HINT_NAMES_FLAGS" \
  --encoding-aes-key abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG --no-samples --no-forged --json "$URL"

must_fail "wrong kind for the server (wecom_suite): success expected, exit 1" 1 \
  'any(c["group"] == "message" and c["verdict"] == "fail" for c in doc["checks"]) and any("--kind" in h for h in doc["hints"])' \
  --kind wecom_suite --no-samples --no-forged --json "$URL"

must_fail "wrong kind for the server (official_account_safe): GET refused (400), hint, exit 1" 1 \
  'len(doc["checks"]) == 1 and doc["stopped"]["status"] == 400 and '"$HINT_NAMES_FLAGS" \
  --kind official_account_safe --json "$URL"

stop_server
CLOSED_PORT="$(free_port)"
must_fail "closed port: stops after the GET, one try, unreachable, exit 1" 1 \
  'len(doc["checks"]) == 1 and doc["checks"][0]["tries"] == 1 and doc["stopped"]["reason"] == "unreachable" and "unreachable" in doc["stopped"]["diagnosis"]' \
  --timeout 0.5 --retries 2 --no-samples --no-forged --json "http://127.0.0.1:$CLOSED_PORT/wecom/callback"

must_fail "closed port, --keep-going: each callback tried 1 + 2 times, exit 1" 1 \
  'all(c["verdict"] == "fail" for c in doc["checks"]) and [c["tries"] for c in doc["checks"] if c["group"] == "message"][0] == 3 and doc["checks"][0]["tries"] == 1' \
  --keep-going --timeout 0.5 --retries 2 --no-samples --no-forged --json "http://127.0.0.1:$CLOSED_PORT/wecom/callback"

# A server that accepts connections and never answers (python3, on a free
# port): the first callback's two tries, announced on stderr, then a stop.
SILENT_PORT="$(free_port)"
python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
held = []
while True:
    held.append(s.accept()[0])
' "$SILENT_PORT" &
SILENT_PID=$!
for _ in $(seq 1 40); do
  python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()' \
    "$SILENT_PORT" 2>/dev/null && break
  sleep 0.25
done
must_fail "silent server: try number shown, stops after the first callback, exit 1" 1 \
  '[(c["group"], c["tries"]) for c in doc["checks"]] == [("verify", 1), ("message", 2)] and doc["stopped"]["reason"] == "no_answer"' \
  --timeout 0.5 --retries 1 --json "http://127.0.0.1:$SILENT_PORT/wecom/callback"
result=0
grep -q 'check 2 (message text "hello from wecom-sim"): try 2 of 2 (try 1: no answer within 0.5 s)' "$WORK/neg.err" \
  || { result=1; cat "$WORK/neg.err" >&2; }
record "silent server: the retry announced on stderr" "$result"
kill "$SILENT_PID" 2>/dev/null || true
wait "$SILENT_PID" 2>/dev/null || true
SILENT_PID=""

must_fail "unknown kind: usage error, exit 2" 2 "" --kind wecom "http://127.0.0.1:1/"
must_fail "https URL: usage error, exit 2" 2 "" "https://127.0.0.1:1/"
must_fail "bad EncodingAESKey: settings error, exit 2" 2 "" --encoding-aes-key short "http://127.0.0.1:1/"

# The wecom_app table, for the log.
cat "$WORK/table.txt"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
