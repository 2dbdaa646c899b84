#!/usr/bin/env bash
# Bounded load test of the echo example on a free loopback port: valid,
# duplicated and invalid requests; replies checked one by one; handler calls
# counted from the server's log; RSS sampled.
# Usage: bash tests/load/run.sh [--release] [--ci] [load.py options]
#   full mode (default): 60 s at 256 connections
#   --ci (or LOAD_MODE=ci): 12 s at 64 connections
#   --expect-dedup (or LOAD_EXPECT_DEDUP=1): every MsgId must reach the handler once
# Environment: ECHO_ENV="VAR=value ..." for the server; KEEP_SERVER_LOG=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
NAME=load
# shellcheck source=../hostile_net/echo_server.sh
. tests/hostile_net/echo_server.sh

profile=debug
if [ "${1:-}" = --release ]; then profile=release; shift; fi

hn_python
hn_build "$profile"
hn_start

status=0
hn_run "$PY" tests/load/load.py --port "$PORT" --pid "$SERVER_PID" --log "$SERVER_LOG" "$@" || status=$?
if [ "$status" != 0 ]; then hn_server_tail 40; fi
exit "$status"
