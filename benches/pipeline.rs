//! The cost of one callback, against the crypto floor (issue 11).
//!
//! For each message-content size (100 B, 1 KiB, 16 KiB, 256 KiB), one
//! criterion group with:
//!
//! * `floor`: the primitives alone (see `common/floor.rs`);
//! * `pure`: `MsgCrypt::decrypt_msg` → `Message::try_from` (the decrypted
//!   `String`, not copied) → `Message::into_parts` (the Content moved into
//!   the reply) → `Reply::text(..).to_xml(..)` → `MsgCrypt::encrypt_msg`;
//! * `layer`: the POST through `WeComCallbackLayer` and an axum handler that
//!   answers with a text reply echoing the Content (`tower::ServiceExt::oneshot`),
//!   deduplication off;
//! * `layer_dedup`: the same with the default deduplication store, a new
//!   MsgId for every request (built outside the measurement);
//! * `bad_signature`: the same POST with a forged `msg_signature` (403);
//! * `axum` (table and profile mode only): the same POST through the same
//!   router shape without the layer, whose handler returns the body it
//!   read: the fixed cost of axum and `oneshot`, which every "through the
//!   layer" figure contains. `floor + axum` is the least a request through
//!   the layer can cost; the table prints it as a ratio to the floor.
//!   `pure + axum` is what it would cost if the layer's own plumbing (query,
//!   body, extensions, headers, the reply's way back) were free.
//!
//! Requests are built in groups of `table::WARM_GROUP`, each group timed
//! right after it is built (in cache, as a request a server has just
//! parsed); `WECOM_BENCH_COLD=1` builds each whole batch first instead.
//!
//! Plus `verify_get`: the URL-verification GET, and `message_parse`:
//! `Message::parse` of a multi-line text message with LF and with CR LF
//! line ends. After the criterion runs, a
//! table of interleaved medians and their ratios to the floor (see
//! `common/table.rs`; `WECOM_BENCH_TABLE=only` prints just the table,
//! `=off` skips it; `WECOM_BENCH_PROFILE=pure:16KiB:200` runs one contender
//! alone, for `valgrind --tool=callgrind`).
//!
//! ```text
//! cargo bench -p wecom-callback-benches --bench pipeline
//! cargo bench -p wecom-callback-benches --bench pipeline -- 1KiB      # one size
//! WECOM_BENCH_TABLE=only cargo bench -p wecom-callback-benches --bench pipeline
//! ```

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "common/app.rs"]
mod app;
#[path = "common/floor.rs"]
mod floor;
#[path = "common/inputs.rs"]
mod inputs;
#[path = "common/table.rs"]
mod table;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use criterion::{BatchSize, Criterion, Throughput};
use tokio::runtime::Runtime;
use tower::ServiceExt;
use wecom_callback::crypto::MsgCrypt;
use wecom_callback::envelope::ReplyEnvelope;

use floor::Floor;
use inputs::{CONTENTS, Input, SIZES, Text, pure};

/// MsgIds handed out so far (dedup-on requests never repeat one).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// One request through `service` (an axum router, or the layer around
/// `handler_fn`); the status, checked by the callers once outside the
/// measurement.
fn send<S, B, R>(rt: &Runtime, service: &S, request: Request<B>) -> StatusCode
where
    S: tower::Service<Request<B>, Response = http::Response<R>> + Clone,
    S::Error: std::fmt::Debug,
{
    rt.block_on(async { service.clone().oneshot(request).await.unwrap().status() })
}

/// A request with a MsgId never sent before.
fn fresh_request(crypt: &MsgCrypt, text: Text, nominal: usize) -> Request<Body> {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    app::post_request(&Input::of(text, crypt, nominal, id))
}

fn check(crypt: &MsgCrypt, rt: &Runtime, text: Text, nominal: usize) {
    let input = Input::of(text, crypt, nominal, 0);
    let sealed = pure(crypt, &input);
    let envelope = ReplyEnvelope::parse(sealed.as_bytes()).unwrap();
    let opened = crypt
        .decrypt(
            &envelope.msg_signature,
            &envelope.timestamp,
            &envelope.nonce,
            &envelope.encrypt,
        )
        .unwrap();
    assert!(opened.msg().contains(&input.content));
    let (plain, dedup) = (app::app(false), app::app(true));
    assert_eq!(send(rt, &plain, app::post_request(&input)), StatusCode::OK);
    assert_eq!(
        send(rt, &dedup, fresh_request(crypt, text, nominal)),
        StatusCode::OK
    );
    assert_eq!(
        send(rt, &plain, app::forged_request(&input)),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(rt, &app::bare_app(), app::post_request(&input)),
        StatusCode::OK
    );
    assert_eq!(
        send(rt, &app::tower_app(false), app::post_request(&input)),
        StatusCode::OK
    );
}

fn criterion_runs(c: &mut Criterion, crypt: &MsgCrypt, rt: &Runtime) {
    let (plain, dedup) = (app::app(false), app::app(true));
    {
        let mut group = c.benchmark_group("get");
        group.bench_function("verify_get", |b| {
            b.iter_batched(
                app::verify_request,
                |r| send(rt, &plain, r),
                BatchSize::NumIterations(table::WARM_GROUP as u64),
            );
        });
        group.finish();
    }
    {
        // A text message whose Content is 18 lines (about 1 KiB), with LF
        // and with CR LF line ends: the second used to leave the single-pass
        // scan for quick-xml's reader.
        let mut group = c.benchmark_group("message_parse");
        for (name, line_end) in [("multiline_lf", "\n"), ("multiline_crlf", "\r\n")] {
            let content: String = (0..18)
                .map(|_| format!("{}{line_end}", inputs::text(56)))
                .collect();
            let xml = inputs::message_xml(&content, inputs::msg_id(0));
            group.throughput(Throughput::Bytes(xml.len() as u64));
            group.bench_function(name, |b| {
                b.iter(|| wecom_callback::Message::parse(black_box(&xml)).unwrap())
            });
        }
        group.finish();
    }
    for (label, nominal) in SIZES {
        for (_, text) in CONTENTS {
            let input = Input::of(text, crypt, nominal, 0);
            let mut group = c.benchmark_group(format!("{label}{}", text.suffix()));
            group.throughput(Throughput::Bytes(input.content.len() as u64));
            if nominal >= 16 * 1024 {
                group.sample_size(20);
                group.measurement_time(Duration::from_secs(4));
            }
            // The floor does not depend on the content (same lengths).
            if text == Text::Ascii {
                let mut floor = Floor::for_input(&input);
                group.bench_function("floor", |b| b.iter(|| black_box(floor.run())));
                let mut simd_floor = Floor::for_input_simd(&input);
                group.bench_function("floor_simd", |b| b.iter(|| black_box(simd_floor.run())));
            }
            group.bench_function("pure", |b| {
                b.iter(|| black_box(pure(crypt, black_box(&input))))
            });
            group.bench_function("layer", |b| {
                b.iter_batched(
                    || app::post_request(&input),
                    |r| send(rt, &plain, r),
                    BatchSize::NumIterations(table::WARM_GROUP as u64),
                );
            });
            group.bench_function("layer_dedup", |b| {
                b.iter_batched(
                    || fresh_request(crypt, text, nominal),
                    |r| send(rt, &dedup, r),
                    BatchSize::NumIterations(table::WARM_GROUP as u64),
                );
            });
            group.bench_function("bad_signature", |b| {
                b.iter_batched(
                    || app::forged_request(&input),
                    |r| send(rt, &plain, r),
                    BatchSize::NumIterations(table::WARM_GROUP as u64),
                );
            });
            group.finish();
        }
    }
}

/// The interleaved table: floor, pure, layer (dedup off and on), forged.
fn ratio_table(crypt: &MsgCrypt, rt: &Runtime) {
    let (plain, dedup) = (app::app(false), app::app(true));
    println!();
    println!(
        "interleaved medians ({} rounds; ratio to the floor)",
        table::rounds()
    );
    let bare = app::bare_app();
    let tower = app::tower_app(false);
    println!(
        "| content | floor | pure pipeline | layer, dedup off | layer, dedup on | bad signature (403) | axum alone | floor + axum | pure + axum | floor, SIMD base64 | pure ÷ SIMD floor | layer ÷ SIMD floor | dedup ÷ SIMD floor | layer + handler_fn, no axum | it ÷ SIMD floor |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (label, nominal) in SIZES {
        // One floor for both contents (it depends on lengths only); the
        // contenders of both contents are timed in every round, in turn,
        // so that load on the machine falls on ASCII and mixed alike.
        let inputs = CONTENTS.map(|(_, text)| Input::of(text, crypt, nominal, 0));
        let mut floor = Floor::for_input(&inputs[0]);
        let mut simd_floor = Floor::for_input_simd(&inputs[0]);
        let started = Instant::now();
        black_box(pure(crypt, &inputs[0]));
        let n = table::batch_len(started.elapsed());
        let mut shared: [Vec<Duration>; 2] = Default::default();
        let mut times: [[Vec<Duration>; 6]; 2] = Default::default();
        for _ in 0..table::rounds() {
            shared[0].push(table::batch(
                n,
                |_| (),
                |()| {
                    black_box(floor.run());
                },
            ));
            shared[1].push(table::batch(
                n,
                |_| (),
                |()| {
                    black_box(simd_floor.run());
                },
            ));
            for ((input, (_, text)), times) in inputs.iter().zip(CONTENTS).zip(&mut times) {
                times[0].push(table::batch(
                    n,
                    |_| (),
                    |()| drop(black_box(pure(crypt, input))),
                ));
                times[1].push(table::batch(
                    n,
                    |_| app::post_request(input),
                    |r| {
                        black_box(send(rt, &plain, r));
                    },
                ));
                times[2].push(table::batch(
                    n,
                    |_| fresh_request(crypt, text, nominal),
                    |r| {
                        black_box(send(rt, &dedup, r));
                    },
                ));
                times[3].push(table::batch(
                    n,
                    |_| app::forged_request(input),
                    |r| {
                        black_box(send(rt, &plain, r));
                    },
                ));
                times[4].push(table::batch(
                    n,
                    |_| app::post_request(input),
                    |r| {
                        black_box(send(rt, &bare, r));
                    },
                ));
                times[5].push(table::batch(
                    n,
                    |_| app::post_request(input),
                    |r| {
                        black_box(send(rt, &tower, r));
                    },
                ));
            }
        }
        let [f, s] = shared.map(|mut t| table::median(&mut t));
        for ((input, (content, _)), times) in inputs.iter().zip(CONTENTS).zip(times) {
            let [p, l, d, x, a, t] = times.map(|mut t| table::median(&mut t));
            println!(
                "| {label} {content} ({} B) | {} | {} ({}) | {} ({}) | {} ({}) | {} ({}) | {} ({}) | {} | {} | {} ({}) | {} | {} | {} | {} ({}) | {} |",
                input.content.len(),
                table::show(f),
                table::show(p),
                table::ratio(p, f),
                table::show(l),
                table::ratio(l, f),
                table::show(d),
                table::ratio(d, f),
                table::show(x),
                table::ratio(x, f),
                table::show(a),
                table::ratio(a, f),
                table::ratio(f + a, f),
                table::ratio(p + a, f),
                table::show(s),
                table::ratio(s, f),
                table::ratio(p, s),
                table::ratio(l, s),
                table::ratio(d, s),
                table::show(t),
                table::ratio(t, f),
                table::ratio(t, s),
            );
        }
    }
}

/// `WECOM_BENCH_PROFILE=<what>:<size label>[_mixed|_http_mix]:<count>` runs one contender
/// `count` times and nothing else (for `valgrind --tool=callgrind`); `what`
/// is `floor`, `floor_simd`, `pure`, `layer`, `layer_dedup`, `bad_signature`,
/// `axum` or `tower` (the layer around `handler_fn`, no axum).
fn profile(spec: &str, crypt: &MsgCrypt, rt: &Runtime) {
    let mut parts = spec.split(':');
    let (what, label, count) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts
            .next()
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(100),
    );
    // `16KiB` is the ASCII content, `16KiB_mixed` the mixed one,
    // `1KiB_http_mix` the HTTP harness's content.
    let (label, text) = [Text::Mixed, Text::HttpMix]
        .into_iter()
        .find_map(|text| label.strip_suffix(text.suffix()).map(|size| (size, text)))
        .unwrap_or((label, Text::Ascii));
    let (_, nominal) = SIZES
        .into_iter()
        .find(|(l, _)| *l == label)
        .unwrap_or_else(|| panic!("unknown size {label}"));
    let input = Input::of(text, crypt, nominal, 0);
    let (plain, dedup) = (app::app(false), app::app(true));
    // Each request is built just before it is sent (outside the measured
    // call, but in cache, as in the tables).
    let request = || match what {
        "layer_dedup" => fresh_request(crypt, text, nominal),
        "bad_signature" => app::forged_request(&input),
        _ => app::post_request(&input),
    };
    match what {
        "floor" => {
            let mut floor = Floor::for_input(&input);
            (0..count).for_each(|_| measured_floor(&mut floor));
        }
        "floor_simd" => {
            let mut floor = Floor::for_input_simd(&input);
            (0..count).for_each(|_| measured_floor(&mut floor));
        }
        "pure" => (0..count).for_each(|_| measured_pure(crypt, &input)),
        "layer" | "bad_signature" => (0..count).for_each(|_| measured_send(rt, &plain, request())),
        "layer_dedup" => (0..count).for_each(|_| measured_send(rt, &dedup, request())),
        "tower" => {
            let tower = app::tower_app(false);
            (0..count).for_each(|_| measured_send(rt, &tower, request()));
        }
        "axum" => {
            let bare = app::bare_app();
            (0..count).for_each(|_| measured_send(rt, &bare, request()));
        }
        other => panic!("unknown contender {other}"),
    }
}

// What the profile mode measures, kept out of line so that callgrind can
// collect inside them alone (`--toggle-collect='pipeline::measured_*'`).

#[inline(never)]
fn measured_floor(floor: &mut Floor) {
    black_box(floor.run());
}

#[inline(never)]
fn measured_pure(crypt: &MsgCrypt, input: &Input) {
    drop(black_box(pure(crypt, input)));
}

#[inline(never)]
fn measured_send<S, R>(rt: &Runtime, service: &S, request: Request<Body>)
where
    S: tower::Service<Request<Body>, Response = http::Response<R>> + Clone,
    S::Error: std::fmt::Debug,
{
    black_box(send(rt, service, request));
}

fn main() {
    let crypt = inputs::crypt();
    let rt = runtime();
    if let Ok(spec) = std::env::var("WECOM_BENCH_PROFILE") {
        profile(&spec, &crypt, &rt);
        return;
    }
    for (_, nominal) in SIZES {
        for (_, text) in CONTENTS {
            check(&crypt, &rt, text, nominal);
        }
    }
    if !table::only() {
        let mut c = Criterion::default().configure_from_args();
        criterion_runs(&mut c, &crypt, &rt);
        c.final_summary();
    }
    if table::wanted() {
        ratio_table(&crypt, &rt);
    }
}
