//! Interleaved medians: the ratio tables printed after the criterion runs.
//! Each round times one batch of every contender in turn, so that load on
//! the machine (other processes) falls on all of them alike; the median of
//! the per-iteration times over the rounds is reported.

#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

/// How many inputs are prepared just before they are timed. A request
/// that a server has just read and parsed is in the CPU's caches; one of a
/// few hundred built earlier is not (at 1 KiB a whole batch is about 1 MB,
/// more than the L2 cache). So inputs are made in small groups, each timed
/// at once, which is also how the `pure` and `floor` contenders see theirs
/// (one input, reused). `WECOM_BENCH_COLD=1` prepares the whole batch
/// first, as the rounds before the fifth did.
pub const WARM_GROUP: usize = 8;

/// Whether inputs are prepared all at once (`WECOM_BENCH_COLD=1`).
pub fn cold() -> bool {
    std::env::var("WECOM_BENCH_COLD").is_ok_and(|v| v == "1")
}

/// Per-iteration time of one batch of `n` calls of `f`, after `prepare`
/// built their inputs (untimed): in groups of [`WARM_GROUP`], each timed
/// right after it is built, or all first under [`cold`]. Contenders
/// without inputs (`T` is `()`: the floors, the pure pipeline, the peers)
/// are timed as one group, with no clock reads in between.
pub fn batch<T, P, F>(n: usize, mut prepare: P, mut f: F) -> Duration
where
    P: FnMut(usize) -> T,
    F: FnMut(T),
{
    let group = if cold() || size_of::<T>() == 0 {
        n.max(1)
    } else {
        WARM_GROUP
    };
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < n {
        let inputs: Vec<T> = (done..n.min(done + group)).map(&mut prepare).collect();
        done += inputs.len();
        let started = Instant::now();
        for input in inputs {
            f(input);
        }
        total += started.elapsed();
    }
    total / u32::try_from(n.max(1)).unwrap_or(u32::MAX)
}

/// The median of `times`.
pub fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// How many iterations make a batch of about 2 ms for something that takes
/// `one`.
pub fn batch_len(one: Duration) -> usize {
    let nanos = one.as_nanos().max(1);
    usize::try_from(2_000_000 / nanos)
        .unwrap_or(1)
        .clamp(1, 10_000)
}

/// `d` in the unit that suits it.
pub fn show(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos < 10_000 {
        format!("{:.2} µs", d.as_secs_f64() * 1e6)
    } else if nanos < 1_000_000 {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    } else {
        format!("{:.3} ms", d.as_secs_f64() * 1e3)
    }
}

/// `d / floor` as `1.23×`.
pub fn ratio(d: Duration, floor: Duration) -> String {
    format!("{:.2}×", d.as_secs_f64() / floor.as_secs_f64().max(1e-12))
}

/// Whether the tables should run: under `cargo bench` (criterion's
/// `--bench` flag), unless `WECOM_BENCH_TABLE=off`.
pub fn wanted() -> bool {
    std::env::args().any(|a| a == "--bench")
        && std::env::var("WECOM_BENCH_TABLE").map_or(true, |v| v != "off")
}

/// Whether criterion's own runs should be skipped (`WECOM_BENCH_TABLE=only`).
pub fn only() -> bool {
    std::env::var("WECOM_BENCH_TABLE").is_ok_and(|v| v == "only")
}

/// Rounds per size (`WECOM_BENCH_ROUNDS`, default 31).
pub fn rounds() -> usize {
    std::env::var("WECOM_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(31)
}
