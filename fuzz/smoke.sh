#!/usr/bin/env bash
# Fuzz smoke run for CI: builds every cargo-fuzz target and fuzzes each one
# for a short, bounded time from the committed seeds. Exits non-zero when a
# target does not build or finds a crash (the input is left in
# fuzz/artifacts/<target>/). See fuzz/README.md.
#
#   bash fuzz/smoke.sh                      # 15 s per target
#   FUZZ_SMOKE_SECONDS=60 bash fuzz/smoke.sh
#
# Needs only rustup's stable toolchain, a C++ compiler (libFuzzer is built
# from source by libfuzzer-sys) and crates.io: cargo-fuzz is installed if
# missing, and RUSTC_BOOTSTRAP=1 lets stable rustc take the nightly-only
# flags cargo-fuzz passes (-Zsanitizer=address, sanitizer coverage).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SMOKE_SECONDS:-15}"
cargo_fuzz_version="0.13.2"
# Build and run must use the same flags, or `cargo fuzz run` rebuilds.
# 16 codegen units halve the cold build (about 1.5 min instead of 3 on two
# cores) for a small loss of speed that a short run does not notice.
flags=(--codegen-units 16)

step() { printf '\n==> %s\n' "$*"; }

if ! cargo fuzz --version >/dev/null 2>&1; then
    step "installing cargo-fuzz $cargo_fuzz_version from crates.io"
    cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked
fi
cargo fuzz --version

export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step "fuzz code is formatted"
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

step "cargo fuzz build (all targets)"
cargo fuzz build "${flags[@]}"

failed=()
logs=fuzz/target/smoke
mkdir -p "$logs"
for target in $(cargo fuzz list); do
    step "cargo fuzz run $target for ${seconds}s"
    corpus="$logs/corpus-$target"
    rm -rf "$corpus" && mkdir -p "$corpus"
    if cargo fuzz run "${flags[@]}" "$target" "$corpus" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$logs/$target.log" 2>&1; then
        grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units' "$logs/$target.log" || true
    else
        failed+=("$target")
        tail -n 60 "$logs/$target.log"
    fi
done

step "fuzz smoke summary"
if ((${#failed[@]})); then
    echo "FAILED: ${failed[*]} (inputs in fuzz/artifacts/, logs in $logs/)"
    exit 1
fi
echo "all targets ran ${seconds}s without a crash"
