//! The layer's own overhead: one axum handler served bare and behind
//! `WeComCallbackLayer` (dedup off), on the same message. The handler reads
//! its body (the plaintext message XML either way: bare, the request
//! carries it; behind the layer, the layer hands it the decrypted body),
//! parses it and answers a text reply echoing the Content. Bare, that reply
//! is an empty 200 carrying the `Reply`; behind the layer it is sealed.
//! The difference is what the layer adds: query and envelope parsing,
//! signature, decryption, its own message parse, reply XML, encryption,
//! signing, and the crypto floor inside all that.
//!
//! Second table, the layer's plumbing budget (issue 23), dedup on (the
//! default): `layer − (pure + route)`, where `pure` is the pure pipeline
//! (`inputs::pure`) and `route` the same axum route without the layer: it
//! reads the body and answers a canned body of the sealed reply's size.
//! The budget: at most 0.8 µs at 100 B and 1 KiB, at most 3 % of `pure` at
//! 16 KiB and 256 KiB. All four are timed in turn in every round, with the
//! ASCII and the mixed Chinese/ASCII content, and each call gets a message
//! of its own (a new MsgId) built just before it is timed.
//!
//! ```text
//! cargo bench -p wecom-callback-benches --bench overhead
//! WECOM_BENCH_TABLE=only cargo bench -p wecom-callback-benches --bench overhead   # the tables only
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
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, header};
use axum::routing::post;
use criterion::{BatchSize, Criterion, Throughput};
use tokio::runtime::Runtime;
use tower::ServiceExt;
use wecom_callback::{Message, MessageKind, Reply};

use inputs::{CONTENTS, Input, PATH, SIZES};

/// The handler under test: parse the body, echo the Content.
async fn handler(body: Bytes) -> Reply {
    let Ok(xml) = std::str::from_utf8(&body) else {
        return Reply::ack();
    };
    match Message::parse(xml).map(|m| m.kind().clone()) {
        Ok(MessageKind::Text(text)) => Reply::text(text.content),
        _ => Reply::ack(),
    }
}

// `with_state(())`: routes built once, as a real server's
// `into_make_service` does (see `app::app`).
fn bare() -> Router {
    Router::new().route(PATH, post(handler)).with_state(())
}

fn layered() -> Router {
    Router::new()
        .route(PATH, post(handler))
        .layer(app::layer(false))
        .with_state(())
}

/// The bare request: the plaintext message as the body.
fn bare_request(input: &Input) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(PATH)
        .header(header::CONTENT_TYPE, "text/xml")
        .header(header::CONTENT_LENGTH, input.plain.len())
        .body(Body::from(input.plain.clone()))
        .unwrap()
}

fn send(rt: &Runtime, app: &Router, request: Request<Body>) -> StatusCode {
    rt.block_on(async { app.clone().oneshot(request).await.unwrap().status() })
}

/// The same route as the layer's, without the layer: reads the body and
/// answers `canned` (the sealed reply's bytes count, shared, not copied).
fn route(canned: Bytes) -> Router {
    Router::new()
        .route(
            PATH,
            post(move |body: Bytes| {
                let canned = canned.clone();
                async move {
                    drop(body);
                    canned
                }
            }),
        )
        .with_state(())
}

/// The plumbing budget's table (see the module docs).
fn plumbing_table(rt: &Runtime, crypt: &wecom_callback::crypto::MsgCrypt) {
    let (layer, without_dedup) = (app::app(true), app::app(false));
    let mut next_id = 1;
    println!();
    println!(
        "plumbing budget, dedup on (interleaved medians, {} rounds)",
        table::rounds()
    );
    println!(
        "| content | pure | route without the layer | layer, dedup on | plumbing = layer − (pure + route) | budget | met | layer, dedup off | its plumbing |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (label, nominal) in SIZES {
        let inputs = CONTENTS.map(|(_, text)| Input::of(text, crypt, nominal, 0));
        let routes = inputs
            .each_ref()
            .map(|input| route(Bytes::from(vec![b'x'; inputs::pure(crypt, input).len()])));
        let started = Instant::now();
        black_box(inputs::pure(crypt, &inputs[0]));
        let n = table::batch_len(started.elapsed());
        let mut times: [[Vec<Duration>; 4]; 2] = Default::default();
        // Every contender gets a message of its own (a new MsgId), built
        // just before it is timed (in groups of `table::WARM_GROUP`), as a
        // server sees a request it has just read: the same input regime
        // for all four, so that the differences are the layer's and the
        // store's, not how the inputs were made (at 256 KiB, reusing one
        // hot input for some contenders and building fresh ones for others
        // moved the figures by tens of µs).
        let mut fresh = |text| {
            next_id += 1;
            Input::of(text, crypt, nominal, next_id)
        };
        for _ in 0..table::rounds() {
            for (((_, text), route), times) in CONTENTS.iter().zip(&routes).zip(&mut times) {
                let text = *text;
                // What a server holds of a request: the query and the body
                // (dropped in the timed call, as the layer drops the body).
                times[0].push(table::batch(
                    n,
                    |_| Input {
                        content: String::new(),
                        plain: String::new(),
                        encrypt: String::new(),
                        ..fresh(text)
                    },
                    |input| drop(black_box(inputs::pure(crypt, &input))),
                ));
                times[1].push(table::batch(
                    n,
                    |_| app::post_request(&fresh(text)),
                    |r| {
                        black_box(send(rt, route, r));
                    },
                ));
                times[2].push(table::batch(
                    n,
                    |_| app::post_request(&fresh(text)),
                    |r| {
                        black_box(send(rt, &layer, r));
                    },
                ));
                times[3].push(table::batch(
                    n,
                    |_| app::post_request(&fresh(text)),
                    |r| {
                        black_box(send(rt, &without_dedup, r));
                    },
                ));
            }
        }
        for ((input, (content, _)), times) in inputs.iter().zip(CONTENTS).zip(times) {
            let [p, r, l, o] = times.map(|mut t| table::median(&mut t));
            let plumbing = l.as_secs_f64() - (p + r).as_secs_f64();
            let plumbing_off = o.as_secs_f64() - (p + r).as_secs_f64();
            let budget = if nominal <= 1024 {
                0.8e-6
            } else {
                0.03 * p.as_secs_f64()
            };
            println!(
                "| {label} {content} ({} B) | {} | {} | {} | {:.2} µs ({:.1} % of pure) | {:.2} µs | {} | {} | {:.2} µs ({:.1} % of pure) |",
                input.content.len(),
                table::show(p),
                table::show(r),
                table::show(l),
                plumbing * 1e6,
                100.0 * plumbing / p.as_secs_f64(),
                budget * 1e6,
                if plumbing <= budget { "yes" } else { "no" },
                table::show(o),
                plumbing_off * 1e6,
                100.0 * plumbing_off / p.as_secs_f64(),
            );
        }
    }
}

fn main() {
    let crypt = inputs::crypt();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (bare, layered) = (bare(), layered());
    let inputs: Vec<(String, Input)> = SIZES
        .iter()
        .flat_map(|&(label, nominal)| {
            CONTENTS.map(|(_, text)| {
                (
                    format!("{label}{}", text.suffix()),
                    Input::of(text, &crypt, nominal, 0),
                )
            })
        })
        .collect();
    for (_, input) in &inputs {
        assert_eq!(send(&rt, &bare, bare_request(input)), StatusCode::OK);
        assert_eq!(
            send(&rt, &layered, app::post_request(input)),
            StatusCode::OK
        );
    }
    if !table::only() {
        let mut c = Criterion::default().configure_from_args();
        for (label, input) in &inputs {
            let mut group = c.benchmark_group(format!("overhead/{label}"));
            group.throughput(Throughput::Bytes(input.content.len() as u64));
            if input.content.len() >= 16 * 1024 {
                group.sample_size(20);
            }
            group.bench_function("bare", |b| {
                b.iter_batched(
                    || bare_request(input),
                    |r| send(&rt, &bare, r),
                    BatchSize::NumIterations(table::WARM_GROUP as u64),
                );
            });
            group.bench_function("layered", |b| {
                b.iter_batched(
                    || app::post_request(input),
                    |r| send(&rt, &layered, r),
                    BatchSize::NumIterations(table::WARM_GROUP as u64),
                );
            });
            group.finish();
        }
        c.final_summary();
    }
    if !table::wanted() {
        return;
    }
    plumbing_table(&rt, &crypt);
    println!();
    println!("interleaved medians ({} rounds)", table::rounds());
    println!(
        "| content | handler alone | behind the layer | layer adds | crypto floor | layer adds beyond the floor |"
    );
    println!("|---|---|---|---|---|---|");
    for (label, input) in &inputs {
        let mut floor = floor::Floor::for_input(input);
        let started = Instant::now();
        send(&rt, &layered, app::post_request(input));
        let n = table::batch_len(started.elapsed());
        let mut times: [Vec<Duration>; 3] = Default::default();
        for _ in 0..table::rounds() {
            times[0].push(table::batch(
                n,
                |_| bare_request(input),
                |r| {
                    black_box(send(&rt, &bare, r));
                },
            ));
            times[1].push(table::batch(
                n,
                |_| app::post_request(input),
                |r| {
                    black_box(send(&rt, &layered, r));
                },
            ));
            times[2].push(table::batch(
                n,
                |_| (),
                |()| {
                    black_box(floor.run());
                },
            ));
        }
        let [b, l, f] = times.map(|mut t| table::median(&mut t));
        let adds = l.saturating_sub(b);
        println!(
            "| {label} | {} | {} | {} | {} | {} |",
            table::show(b),
            table::show(l),
            table::show(adds),
            table::show(f),
            table::show(adds.saturating_sub(f)),
        );
    }
}
