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
//! ```text
//! cargo bench --bench overhead
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

use inputs::{Input, PATH, SIZES};

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

fn main() {
    let crypt = inputs::crypt();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (bare, layered) = (bare(), layered());
    let inputs: Vec<(&str, Input)> = SIZES
        .iter()
        .map(|&(label, nominal)| (label, Input::new(&crypt, nominal, 0)))
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
