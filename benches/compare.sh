#!/usr/bin/env bash
# Compares two builds of the `pipeline` bench on this machine: runs their
# interleaved tables (WECOM_BENCH_TABLE=only) alternately, RUNS times each,
# pinned to CPU ${CPU:-1}, and prints the median of every ratio cell per
# build. A shared VM drifts between fast and slow phases by 20-30 %; each
# table is already interleaved within itself, and alternating the builds
# spreads the drift over both.
#
#   benches/compare.sh BEFORE_BINARY AFTER_BINARY [RUNS]
#
# Build each binary with `cargo bench -p wecom-callback-benches --bench
# pipeline --no-run` in its own checkout and CARGO_TARGET_DIR (before the
# benches became a workspace member: `cargo bench --bench pipeline --no-run`).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BEFORE_BINARY AFTER_BINARY [RUNS]" >&2; exit 2; }
before=$1 after=$2 runs=${3:-5} cpu=${CPU:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for i in $(seq "$runs"); do
    for side in before after; do
        bin=$before; [ "$side" = after ] && bin=$after
        WECOM_BENCH_TABLE=only taskset -c "$cpu" "$bin" --bench 2>/dev/null \
            | grep '^| [0-9]' >> "$work/$side"
    done
    echo "run $i of $runs done" >&2
done
# Each row: size, floor, then "time (ratio×)" cells. Print the median ratio
# of each column per size.
for side in before after; do
    echo "$side (median ratio to the floor over $runs runs; floor median in µs)"
    awk -F'|' '
        { size = $2; gsub(/^ +| +$/, "", size); sizes[size] = 1; if (!(size in order)) order[size] = ++n
          f = $3; gsub(/[^0-9.]/, "", f); unit = ($3 ~ /ms/) ? 1000 : 1; floor[size, ++cnt[size]] = f * unit
          for (c = 4; c <= NF - 1; c++) { v = $c; if (v !~ /×/) continue; sub(/.*\(/, "", v); sub(/×.*/, "", v); cell[size, c, cnt[size]] = v; cols = (c > cols) ? c : cols } }
        function median(arr, m,   i, j, t) { for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
            return (m % 2) ? arr[(m + 1) / 2] : (arr[m / 2] + arr[m / 2 + 1]) / 2 }
        END { for (k = 1; k <= n; k++) for (s in order) if (order[s] == k) {
                m = cnt[s]; delete a; for (i = 1; i <= m; i++) a[i] = floor[s, i]; line = sprintf("| %s | %.2f µs |", s, median(a, m))
                for (c = 4; c <= cols; c++) { delete a; got = 0; for (i = 1; i <= m; i++) if ((s, c, i) in cell) a[++got] = cell[s, c, i]; if (got) line = line sprintf(" %.2f× |", median(a, got)) }
                print line } }' "$work/$side"
done
