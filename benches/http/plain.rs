//! The HTTP comparison's helper (`benches/http/run.sh`), three commands:
//!
//! * `bench_plain serve`: the baseline server, a plain axum handler without
//!   `WeComCallbackLayer`, served exactly like the echo example (hyper's
//!   HTTP/1 connection with the same timeouts, the same Tokio runtime). It
//!   reads the whole request body and answers with a canned body of
//!   `BENCH_REPLY_BYTES` bytes (the size of the echo example's sealed reply
//!   for the same request), so that both servers move the same bytes.
//!   `BENCH_BIND` (default `127.0.0.1:3001`).
//! * `bench_plain requests COUNT SIZE FILE [CONTENT]`: writes COUNT signed,
//!   encrypted text-message POSTs (`path?query<TAB>body` per line) for the
//!   echo example's default credentials, SIZE bytes of Content, each with
//!   its own MsgId (so the echo example's deduplication sees no retry),
//!   stamped with the current time. CONTENT: `ascii` (the default),
//!   `mixed` (the pipeline bench's mixed Chinese/ASCII) or `http_mix`
//!   (issue 23's HTTP content: about a quarter of the characters Chinese, a
//!   tenth emoji, the rest ASCII).
//! * `bench_plain floor SIZE`: the median crypto floor of one such request
//!   and its reply, in nanoseconds; `bench_plain floor-simd SIZE`: the same
//!   with base64 by the base64 crate's SIMD engine (which the crate uses).
//!
//! ```text
//! cargo run --release -p wecom-callback-benches --example bench_plain -- serve
//! ```

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;

#[path = "../common/floor.rs"]
mod floor;
#[path = "../common/inputs.rs"]
mod inputs;
#[path = "../../examples/support/serve.rs"]
mod serve;

use inputs::{Input, PATH};

async fn plain(State(reply): State<Bytes>, body: Bytes) -> impl IntoResponse {
    std::hint::black_box(body.len());
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], reply)
}

async fn serve_plain() {
    let bind = std::env::var("BENCH_BIND").unwrap_or_else(|_| "127.0.0.1:3001".to_owned());
    let size = std::env::var("BENCH_REPLY_BYTES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1024);
    let reply = Bytes::from(vec![b'x'; size]);
    let app = Router::new().route(PATH, post(plain)).with_state(reply);
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {bind}: {e}"));
    println!("bench_plain listening on http://{bind}{PATH} ({size}-byte replies)");
    serve::serve(listener, app).await.unwrap();
}

fn requests(count: u64, size: usize, path: &str, content: &str) {
    let text = match content {
        "" | "ascii" => inputs::Text::Ascii,
        "mixed" => inputs::Text::Mixed,
        "http_mix" => inputs::Text::HttpMix,
        other => panic!("unknown content {other} (ascii, mixed, http_mix)"),
    };
    let crypt = inputs::crypt();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..count {
        let input = Input::of_at(text, &crypt, size, i, now);
        writeln!(out, "{PATH}?{}\t{}", input.query(), input.body).unwrap();
    }
    out.flush().unwrap();
}

fn floor_nanos(size: usize, simd: bool) -> u128 {
    let input = Input::new(&inputs::crypt(), size, 0);
    let mut floor = floor::Floor::for_input(&input).with_simd(simd);
    let mut times: Vec<Duration> = (0..101)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..100 {
                std::hint::black_box(floor.run());
            }
            started.elapsed() / 100
        })
        .collect();
    times.sort_unstable();
    times[times.len() / 2].as_nanos()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    match arg(0) {
        "serve" => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(serve_plain()),
        "requests" => requests(
            arg(1).parse().unwrap(),
            arg(2).parse().unwrap(),
            arg(3),
            arg(4),
        ),
        "floor" => println!("{}", floor_nanos(arg(1).parse().unwrap(), false)),
        "floor-simd" => println!("{}", floor_nanos(arg(1).parse().unwrap(), true)),
        _ => {
            eprintln!(
                "usage: bench_plain serve | requests COUNT SIZE FILE [CONTENT] | floor SIZE | floor-simd SIZE"
            );
            std::process::exit(2);
        }
    }
}
