#!/usr/bin/env bash
# The HTTP comparison of issue 11: the echo example (release build,
# RUST_LOG=warn) against a plain axum handler that returns a body of the
# same size (benches/http/plain.rs), both on one core, loaded by wrk on the
# other core over loopback for a bounded time. Prints requests per second
# and the echo example's ratio to the ideal: the plain server plus the crypto
# floor of one request (1 / (1/plain_rps + floor)), with the issue's floor
# (scalar base64) and with the SIMD-base64 floor the crate's own code meets.
#
# Every request is a distinct text message (its own MsgId), so the echo
# example's deduplication sees no retry: a pool of POOL requests is written
# first and wrk walks through it (wrapping around if the runs outlast it).
#
# Sequential runs of the two servers swung by up to 3x on a shared VM, so
# the servers run side by side and are loaded in turn, ROUNDS times, and
# the medians are compared.
#
# CONTENT picks the Content: `ascii` (default), `mixed` (the pipeline bench's
# mixed Chinese/ASCII) or `http_mix` (issue 23's HTTP content: about a
# quarter of the characters Chinese, a tenth emoji, the rest ASCII).
#
#   benches/http/run.sh              # 1 KiB, 7 rounds of 2 s each, 16 connections
#   CONTENT=http_mix benches/http/run.sh
#   SIZE=16384 ROUNDS=5 DURATION=5 CONNECTIONS=32 benches/http/run.sh
#
# Needs wrk (Debian package `wrk`) and curl. Loopback only; not part of CI.
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZE=${SIZE:-1024}
CONTENT=${CONTENT:-ascii}
DURATION=${DURATION:-2}
ROUNDS=${ROUNDS:-7}
CONNECTIONS=${CONNECTIONS:-16}
POOL=${POOL:-350000}
ECHO_PORT=${ECHO_PORT:-3100}
PLAIN_PORT=${PLAIN_PORT:-3101}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
[ "$DURATION" -le 60 ] || { echo "DURATION is capped at 60 s" >&2; exit 2; }

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 2; }

target=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --example echo
cargo build --release --quiet -p wecom-callback-benches --example bench_plain
# ECHO_BIN: another build's echo example (e.g. of an older checkout), to
# compare builds under the same harness.
echo_bin=${ECHO_BIN:-"$target/release/examples/echo"}
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

# One wrk run of DURATION seconds against port $1 over the round's share
# of the pool ($3); prints requests/s.
run_wrk() { # port label requests-file
    BENCH_REQUESTS="$3" taskset -c "$LOAD_CPU" \
        wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$work/walk.lua" \
        "http://127.0.0.1:$1" > "$work/$2.txt"
    local rps total non2xx
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/$2.txt")
    total=$(awk '/requests in/ {print $1}' "$work/$2.txt")
    non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/$2.txt")
    local share
    share=$(wc -l < "$3")
    echo "  $2: ${rps} requests/s (${total} requests, non-2xx: ${non2xx:-0}, repeated MsgIds: $(( total > share ? total - share : 0 )))" >&2
    echo "$rps"
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# Both servers run side by side on SERVER_CPU; each round loads one, then
# the other, so that whatever else the machine does falls on both alike.
RUST_LOG=warn WECOM_BIND="127.0.0.1:$ECHO_PORT" TOKIO_WORKER_THREADS=1 \
    taskset -c "$SERVER_CPU" "$echo_bin" > "$work/echo.log" 2>&1 &
pids+=($!)
wait_port "$ECHO_PORT"
# The size of the echo example's sealed reply, for the plain server.
"$plain_bin" requests 1 "$SIZE" "$work/one.txt" "$CONTENT"
IFS=$'\t' read -r one_path one_body < "$work/one.txt"
reply_bytes=$(curl -s -o /dev/null -w '%{size_download}' -X POST \
    -H 'Content-Type: text/xml' --data-binary "$one_body" "http://127.0.0.1:$ECHO_PORT$one_path")
[ "$reply_bytes" -gt 0 ] || { echo "the echo example did not answer the probe" >&2; exit 1; }
BENCH_BIND="127.0.0.1:$PLAIN_PORT" BENCH_REPLY_BYTES="$reply_bytes" TOKIO_WORKER_THREADS=1 \
    taskset -c "$SERVER_CPU" "$plain_bin" serve > "$work/plain.log" 2>&1 &
pids+=($!)
wait_port "$PLAIN_PORT"
# The pool, split into one share per round: each round's MsgIds are new to
# the echo example (the plain server does not care).
"$plain_bin" requests "$POOL" "$SIZE" "$work/requests.txt" "$CONTENT"
split -n "l/$ROUNDS" -d -a 3 "$work/requests.txt" "$work/share-"
rm "$work/requests.txt"

: > "$work/echo.rps"; : > "$work/plain.rps"
for round in $(seq "$ROUNDS"); do
    echo "round $round of $ROUNDS" >&2
    share=$(printf '%s/share-%03d' "$work" $((round - 1)))
    run_wrk "$ECHO_PORT" echo "$share" >> "$work/echo.rps"
    run_wrk "$PLAIN_PORT" plain "$share" >> "$work/plain.rps"
done
echo_rps=$(median < "$work/echo.rps")
plain_rps=$(median < "$work/plain.rps")

floor_ns=$(taskset -c "$SERVER_CPU" "$plain_bin" floor "$SIZE")
simd_floor_ns=$(taskset -c "$SERVER_CPU" "$plain_bin" floor-simd "$SIZE")

awk -v e="$echo_rps" -v p="$plain_rps" -v f="$floor_ns" -v g="$simd_floor_ns" -v s="$SIZE" -v r="$reply_bytes" -v n="$ROUNDS" -v c="$CONTENT" 'BEGIN {
    ideal = 1 / (1 / p + f / 1e9)
    printf "content %d B (%s), reply %d B, crypto floor %.2f us; medians of %d interleaved rounds\n", s, c, r, f / 1000, n
    printf "plain axum handler: %.0f requests/s (%.2f us each)\n", p, 1e6 / p
    printf "ideal (plain + floor): %.0f requests/s\n", ideal
    printf "echo example: %.0f requests/s (%.2f us each), %.2fx the ideal; %.2f us per request beyond it\n", e, 1e6 / e, e / ideal, 1e6 / e - 1e6 / ideal
    simd = 1 / (1 / p + g / 1e9)
    printf "with the SIMD-base64 floor (%.2f us): ideal %.0f requests/s, echo %.2fx of it\n", g / 1000, simd, e / simd
}'
