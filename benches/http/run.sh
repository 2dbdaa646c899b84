#!/usr/bin/env bash
# The HTTP comparison of issue 11: the echo example (release build,
# RUST_LOG=warn) against a plain axum handler that returns a body of the
# same size (benches/http/plain.rs), both on one core, loaded by wrk on the
# other core over loopback for a bounded time. Prints requests per second
# and the echo example's ratio to the ideal: the plain server plus the crypto
# floor of one request (1 / (1/plain_rps + floor)), with the issue's floor
# (scalar base64) and with the SIMD-base64 floor the crate's own code meets.
#
# The Node.js peer (benches/http/node: @wecom/crypto and fast-xml-parser on
# node:http, one process, no deduplication) runs beside them when `node` is
# installed (NODE=auto, the default; NODE=0 leaves it out, NODE=1 requires
# it); its dependencies are installed from its package-lock.json (`npm ci`)
# when benches/http/node/node_modules is missing. The script then prints its
# requests/s and "echo example = N× the Node peer".
#
# Before loading, one request is sent to the echo example and to the Node
# peer and each answer is opened as WeCom would (`bench_plain check`: the
# envelope's signature, decryption, receive id, the echoed Content); a wrong
# answer stops the run.
#
# Every request is a distinct text message (its own MsgId), so the echo
# example's deduplication sees no retry (a retry is answered from the dedup
# store, which is not what this measures): before each round a share of
# DURATION × MAX_RPS fresh requests is written (MsgIds never used before in
# the run, stamped with the current time) and wrk walks through it, wrapping
# around if a server outpaces MAX_RPS; the echo example's repeated MsgIds are
# counted and a warning closes the output if there were any. MAX_RPS defaults
# to 60000 (about 230 MB of requests per 2 s round at 1 KiB); a share is
# capped at SHARE_MB (default 1024) MB, with a warning. POOL (the old
# setting: the whole pool, split into ROUNDS shares) still works and
# overrides MAX_RPS.
#
# Before the rounds, each server is loaded for WARMUP seconds (default 2;
# 0 skips it), not counted: Node's JIT takes a few seconds to reach its pace.
#
# Sequential runs of the servers swung by up to 3x on a shared VM, so the
# servers run side by side and are loaded in turn, ROUNDS times, and the
# medians are compared.
#
# CONTENT picks the Content: `ascii` (default), `mixed` (the pipeline bench's
# mixed Chinese/ASCII) or `http_mix` (issue 23's HTTP content: about a
# quarter of the characters Chinese, a tenth emoji, the rest ASCII).
#
#   benches/http/run.sh              # 1 KiB, 7 rounds of 2 s each, 16 connections
#   CONTENT=http_mix benches/http/run.sh
#   SIZE=16384 ROUNDS=5 DURATION=5 CONNECTIONS=32 benches/http/run.sh
#   NODE=0 benches/http/run.sh       # without the Node peer
#
# Needs wrk (Debian package `wrk`) and curl; for the Node peer, Node.js 20
# or later and npm. Loopback only; not part of CI.
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZE=${SIZE:-1024}
CONTENT=${CONTENT:-ascii}
DURATION=${DURATION:-2}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-7}
CONNECTIONS=${CONNECTIONS:-16}
MAX_RPS=${MAX_RPS:-60000}
SHARE_MB=${SHARE_MB:-1024}
POOL=${POOL:-}
NODE=${NODE:-auto}
ECHO_PORT=${ECHO_PORT:-3100}
PLAIN_PORT=${PLAIN_PORT:-3101}
NODE_PORT=${NODE_PORT:-3102}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
[ "$DURATION" -le 60 ] || { echo "DURATION is capped at 60 s" >&2; exit 2; }
[ "$WARMUP" -le 60 ] || { echo "WARMUP is capped at 60 s" >&2; exit 2; }

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 2; }
case "$NODE" in
    auto) if command -v node >/dev/null; then NODE=1; else NODE=0; echo "node is not installed: no Node peer" >&2; fi ;;
    0|1) ;;
    *) echo "NODE is auto, 0 or 1" >&2; exit 2 ;;
esac
node_dir=benches/http/node
if [ "$NODE" = 1 ]; then
    command -v node >/dev/null || { echo "NODE=1 but node is not installed" >&2; exit 2; }
    node_major=$(node -p 'process.versions.node.split(".")[0]')
    [ "$node_major" -ge 20 ] || { echo "the Node peer needs Node.js 20 or later (found $(node --version))" >&2; exit 2; }
    if [ ! -d "$node_dir/node_modules" ]; then
        command -v npm >/dev/null || { echo "npm is not installed (the Node peer's dependencies)" >&2; exit 2; }
        (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
    fi
    node_versions=$(cd "$node_dir" && node -p 'const v = (p) => JSON.parse(require("fs").readFileSync("node_modules/" + p + "/package.json")).version;
        "Node " + process.version + ", @wecom/crypto " + v("@wecom/crypto") + ", fast-xml-parser " + v("fast-xml-parser")')
fi

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
    local repeats=$(( total > share ? total - share : 0 ))
    echo "  $2: ${rps} requests/s (${total} requests, non-2xx: ${non2xx:-0}, repeated MsgIds: $repeats)" >&2
    if [ "$2" = echo ] && [ "$repeats" -gt 0 ]; then echo "$repeats" >> "$work/echo.repeats"; fi
    echo "$rps"
}

# Sends the probe (the request of index 0) to port $1 and checks the answer
# as WeCom would open it.
check_echo() { # port label
    curl -s -o "$work/probe-$2.xml" -X POST -H 'Content-Type: text/xml' \
        --data-binary "$one_body" "http://127.0.0.1:$1$one_path"
    local verdict
    if ! verdict=$("$plain_bin" check "$SIZE" "$CONTENT" "$work/probe-$2.xml" 2>&1); then
        echo "$2 answered wrongly: $verdict" >&2
        exit 1
    fi
    echo "$2: $verdict" >&2
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
check_echo "$ECHO_PORT" echo
BENCH_BIND="127.0.0.1:$PLAIN_PORT" BENCH_REPLY_BYTES="$reply_bytes" TOKIO_WORKER_THREADS=1 \
    taskset -c "$SERVER_CPU" "$plain_bin" serve > "$work/plain.log" 2>&1 &
pids+=($!)
wait_port "$PLAIN_PORT"
servers=(echo plain)
if [ "$NODE" = 1 ]; then
    WECOM_BIND="127.0.0.1:$NODE_PORT" taskset -c "$SERVER_CPU" \
        node "$node_dir/server.mjs" > "$work/node.log" 2>&1 &
    pids+=($!)
    wait_port "$NODE_PORT"
    check_echo "$NODE_PORT" node
    servers+=(node)
fi
port_of() { case "$1" in echo) echo "$ECHO_PORT" ;; plain) echo "$PLAIN_PORT" ;; node) echo "$NODE_PORT" ;; esac; }

# The share of each round: enough requests for DURATION seconds at MAX_RPS,
# within SHARE_MB; a line is about as long as the probe's.
line_bytes=$(wc -c < "$work/one.txt")
if [ -n "$POOL" ]; then
    share_count=$(( POOL / ROUNDS ))
else
    share_count=$(( DURATION * MAX_RPS ))
fi
max_count=$(( SHARE_MB * 1024 * 1024 / line_bytes ))
if [ "$share_count" -gt "$max_count" ]; then
    echo "WARNING: a share of $share_count requests of $line_bytes B exceeds SHARE_MB=$SHARE_MB; writing $max_count (at most $(( max_count / DURATION )) requests/s before MsgIds repeat)" >&2
    share_count=$max_count
fi
echo "each round: $share_count fresh requests ($(( share_count * line_bytes / 1048576 )) MB), enough for $(( share_count / DURATION )) requests/s" >&2

# MsgId index 0 is the probe's; each share's are new to the echo example
# (the plain server and the Node peer do not care).
share="$work/share.txt"
next_msg_id=1
write_share() { # seconds
    local count=$(( $1 * share_count / DURATION ))
    taskset -c "$LOAD_CPU" "$plain_bin" requests "$count" "$SIZE" "$share" "$CONTENT" "$next_msg_id"
    next_msg_id=$(( next_msg_id + count ))
}

# A warm-up run of each server, not counted: Node's JIT needs a few seconds
# to reach its pace, and every server's first connections and pages are
# made here.
if [ "$WARMUP" -gt 0 ]; then
    echo "warm-up, ${WARMUP} s each" >&2
    write_share "$WARMUP"
    for server in "${servers[@]}"; do
        DURATION=$WARMUP run_wrk "$(port_of "$server")" "$server-warmup" "$share" > /dev/null
    done
    rm "$share"
fi

for server in "${servers[@]}"; do : > "$work/$server.rps"; done
: > "$work/echo.repeats"
for round in $(seq "$ROUNDS"); do
    echo "round $round of $ROUNDS" >&2
    write_share "$DURATION"
    for server in "${servers[@]}"; do
        run_wrk "$(port_of "$server")" "$server" "$share" >> "$work/$server.rps"
    done
    rm "$share"
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
if [ "$NODE" = 1 ]; then
    node_rps=$(median < "$work/node.rps")
    # The ratio within each round too: its two runs are seconds apart, so
    # the machine's swings touch both alike.
    round_ratio=$(paste "$work/echo.rps" "$work/node.rps" | awk '{print $1 / $2}' | median)
    awk -v e="$echo_rps" -v n="$node_rps" -v q="$round_ratio" -v v="$node_versions" 'BEGIN {
        printf "node peer (%s; node:http, one process, no dedup): %.0f requests/s (%.2f us each)\n", v, n, 1e6 / n
        printf "echo example = %.2fx the Node peer (median of the per-round ratios: %.2fx)\n", e / n, q
    }'
fi
if [ -s "$work/echo.repeats" ]; then
    echo "WARNING: the echo example saw $(awk '{s += $1} END {print s}' "$work/echo.repeats") repeated MsgIds (answered from its dedup store, not measured work): raise MAX_RPS (or SHARE_MB)"
fi
