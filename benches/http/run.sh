#!/usr/bin/env bash
# The HTTP comparison of issue 11: the echo example (release build,
# RUST_LOG=warn) against a plain axum handler that returns a body of the
# same size (benches/http/plain.rs), both on one core, loaded by wrk on the
# other core over loopback for a bounded time. Prints requests per second
# and the echo example's ratio to the ideal: the plain server plus the crypto
# floor of one request (1 / (1/plain_rps + floor)).
#
# Every request is a distinct text message (its own MsgId), so the echo
# example's deduplication sees no retry: a pool of POOL requests is written
# first and wrk walks through it (wrapping around if the run outlasts it;
# the script says how many requests that repeated).
#
#   benches/http/run.sh              # 1 KiB, 5 s, 16 connections
#   SIZE=16384 DURATION=10 CONNECTIONS=32 benches/http/run.sh
#
# Needs wrk (Debian package `wrk`) and curl. Loopback only; not part of CI.
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZE=${SIZE:-1024}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-16}
POOL=${POOL:-300000}
ECHO_PORT=${ECHO_PORT:-3100}
PLAIN_PORT=${PLAIN_PORT:-3101}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
[ "$DURATION" -le 60 ] || { echo "DURATION is capped at 60 s" >&2; exit 2; }

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 2; }

target=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --example echo --example bench_plain
echo_bin="$target/release/examples/echo"
plain_bin="$target/release/examples/bench_plain"

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

wait_port() {
    for _ in $(seq 100); do
        if curl -s -o /dev/null "http://127.0.0.1:$1/"; then return 0; fi
        sleep 0.1
    done
    echo "server on port $1 did not start" >&2
    exit 1
}

# wrk walks through the pool, one line per request.
cat > "$work/walk.lua" <<'LUA'
local path = os.getenv("BENCH_REQUESTS")
local file = io.open(path, "r")
local sent = 0
request = function()
  local line = file:read("*l")
  if line == nil then
    file:close()
    file = io.open(path, "r")
    line = file:read("*l")
  end
  sent = sent + 1
  local tab = line:find("\t", 1, true)
  return wrk.format("POST", line:sub(1, tab - 1), {["Content-Type"] = "text/xml"}, line:sub(tab + 1))
end
LUA

run_wrk() { # port label
    "$plain_bin" requests "$POOL" "$SIZE" "$work/requests.txt"
    BENCH_REQUESTS="$work/requests.txt" taskset -c "$LOAD_CPU" \
        wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$work/walk.lua" \
        "http://127.0.0.1:$1" > "$work/$2.txt"
    local rps
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/$2.txt")
    local total
    total=$(awk '/requests in/ {print $1}' "$work/$2.txt")
    local non2xx
    non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/$2.txt")
    echo "$2: ${rps} requests/s (${total} requests, non-2xx: ${non2xx:-0}, repeated MsgIds: $(( total > POOL ? total - POOL : 0 )))" >&2
    echo "$rps"
}

# The echo example.
RUST_LOG=warn WECOM_BIND="127.0.0.1:$ECHO_PORT" TOKIO_WORKER_THREADS=1 \
    taskset -c "$SERVER_CPU" "$echo_bin" > "$work/echo.log" 2>&1 &
pids+=($!)
wait_port "$ECHO_PORT"
# The size of the echo example's sealed reply, for the plain server.
"$plain_bin" requests 1 "$SIZE" "$work/one.txt"
IFS=$'\t' read -r one_path one_body < "$work/one.txt"
reply_bytes=$(curl -s -o /dev/null -w '%{size_download}' -X POST \
    -H 'Content-Type: text/xml' --data-binary "$one_body" "http://127.0.0.1:$ECHO_PORT$one_path")
[ "$reply_bytes" -gt 0 ] || { echo "the echo example did not answer the probe" >&2; exit 1; }
echo_rps=$(run_wrk "$ECHO_PORT" echo)
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true; pids=()

# The plain server.
BENCH_BIND="127.0.0.1:$PLAIN_PORT" BENCH_REPLY_BYTES="$reply_bytes" TOKIO_WORKER_THREADS=1 \
    taskset -c "$SERVER_CPU" "$plain_bin" serve > "$work/plain.log" 2>&1 &
pids+=($!)
wait_port "$PLAIN_PORT"
plain_rps=$(run_wrk "$PLAIN_PORT" plain)

floor_ns=$(taskset -c "$SERVER_CPU" "$plain_bin" floor "$SIZE")

awk -v e="$echo_rps" -v p="$plain_rps" -v f="$floor_ns" -v s="$SIZE" -v r="$reply_bytes" 'BEGIN {
    ideal = 1 / (1 / p + f / 1e9)
    printf "content %d B, reply %d B, crypto floor %.2f us\n", s, r, f / 1000
    printf "plain axum handler: %.0f requests/s (%.2f us each)\n", p, 1e6 / p
    printf "ideal (plain + floor): %.0f requests/s\n", ideal
    printf "echo example: %.0f requests/s (%.2f us each), %.2fx the ideal; %.2f us per request beyond it\n", e, 1e6 / e, e / ideal, 1e6 / e - 1e6 / ideal
}'
