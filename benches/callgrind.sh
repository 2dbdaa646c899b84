#!/usr/bin/env bash
# Instructions per request under valgrind's callgrind: repeatable on a busy
# machine, unlike wall-clock figures. For each contender of the `pipeline`
# bench and each size, runs it N times (its profile mode) collecting only
# inside the measured calls, and prints Ir / N.
#
#   benches/callgrind.sh [PIPELINE_BENCH_BINARY]
#   OUT_DIR=/tmp/cg benches/callgrind.sh   # keep the profiles (callgrind_annotate)
#
# Without an argument it builds the bench (`cargo bench -p
# wecom-callback-benches --no-run`) and uses the newest binary. Sizes take a
# `_mixed` suffix for the mixed Chinese/ASCII content:
#
#   SIZES="100B:400 100B_mixed:400" CONTENDERS=pure benches/callgrind.sh Note: valgrind does not emulate SHA-NI, so SHA-1 runs
# its portable code here (about twice the native instructions); AES-NI and
# the rest are the native code paths.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }

bin=${1:-}
if [ -z "$bin" ]; then
    target=${CARGO_TARGET_DIR:-target}
    cargo bench -p wecom-callback-benches --no-run --bench pipeline --quiet
    bin=$(ls -t "$target"/release/deps/pipeline-* | grep -v '\.d$' | head -1)
fi
CONTENDERS=${CONTENDERS:-"floor pure layer layer_dedup bad_signature"}
SIZES=${SIZES:-"100B:400 1KiB:200 16KiB:40 256KiB:4"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ir() { # contender size count
    WECOM_BENCH_PROFILE="$1:$2:$3" valgrind --tool=callgrind \
        --toggle-collect='pipeline::measured_*' \
        --callgrind-out-file="${OUT_DIR:-$work}/$1-$2.out" "$bin" > /dev/null 2> "$work/log"
    awk '/Collected :/ {print $NF}' "$work/log"
}

printf '| contender |'; for s in $SIZES; do printf ' %s |' "${s%%:*}"; done; echo
printf '|---|'; for _ in $SIZES; do printf -- '---|'; done; echo
for c in $CONTENDERS; do
    printf '| %s |' "$c"
    for s in $SIZES; do
        size=${s%%:*} n=${s##*:}
        printf ' %s |' "$(( $(ir "$c" "$size" "$n") / n ))"
    done
    echo
done
