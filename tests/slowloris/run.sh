#!/usr/bin/env bash
# Slow-client checks (SECURITY.md T11/T29) against the echo example on a free
# loopback port: unfinished heads, stalled and trickled bodies, idle
# keep-alive, 3 000 stalled bodies with the server's RSS. About 45 s.
# Usage: bash tests/slowloris/run.sh [--release] [slowloris.py options]
#   e.g. bash tests/slowloris/run.sh --only e --stalled 1000
# Environment: ECHO_ENV="MALLOC_ARENA_MAX=2 ..." for the server; KEEP_SERVER_LOG=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
NAME=slowloris
# shellcheck source=../hostile_net/echo_server.sh
. tests/hostile_net/echo_server.sh

profile=debug
if [ "${1:-}" = --release ]; then profile=release; shift; fi

hn_python
hn_build "$profile"
hn_start

status=0
hn_run "$PY" tests/slowloris/slowloris.py --port "$PORT" --pid "$SERVER_PID" "$@" || status=$?
if [ "$status" != 0 ]; then hn_server_tail 40; fi
exit "$status"
