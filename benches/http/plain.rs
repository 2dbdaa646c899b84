//! The HTTP comparison's helper (`benches/http/run.sh`), three commands:
//!
//! * `bench_plain serve`: the baseline server, a plain axum handler without
//!   `WeComCallbackLayer`, served exactly like the echo example (hyper's
//!   HTTP/1 connection with the same timeouts, the same Tokio runtime). It
//!   reads the whole request body and answers with a canned body of
//!   `BENCH_REPLY_BYTES` bytes (the size of the echo example's sealed reply
//!   for the same request), so that both servers move the same bytes.
//!   `BENCH_BIND` (default `127.0.0.1:3001`).
//! * `bench_plain requests COUNT SIZE FILE [CONTENT] [FIRST]`: writes COUNT
//!   signed, encrypted text-message POSTs (`path?query<TAB>body` per line)
//!   for the echo example's default credentials, SIZE bytes of Content,
//!   each with its own MsgId (so the echo example's deduplication sees no
//!   retry), stamped with the current time. CONTENT: `ascii` (the default),
//!   `mixed` (the pipeline bench's mixed Chinese/ASCII) or `http_mix`
//!   (issue 23's HTTP content: about a quarter of the characters Chinese, a
//!   tenth emoji, the rest ASCII). FIRST (default 0): the index of the first
//!   MsgId, so that files written one after the other share no MsgId.
//! * `bench_plain check SIZE CONTENT FILE`: opens FILE, a server's answer
//!   to the request with MsgId index 0 of `requests` (the same SIZE and
//!   CONTENT), as WeCom would (the envelope's MsgSignature, decryption, the
//!   receive id; through the crate's `TestKit`) and checks that it is the
//!   echo example's text reply: `echo:text:<Content>` to the sender, from
//!   the corp. Prints the reply's Content length and exits 0, or says what
//!   differs and exits 1. The harness checks every server it compares with
//!   it (the echo example and the Node peer).
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
use http_body_util::Full;
use wecom_callback::Endpoint;
use wecom_callback::testing::TestKit;

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

fn text_kind(content: &str) -> inputs::Text {
    match content {
        "" | "ascii" => inputs::Text::Ascii,
        "mixed" => inputs::Text::Mixed,
        "http_mix" => inputs::Text::HttpMix,
        other => panic!("unknown content {other} (ascii, mixed, http_mix)"),
    }
}

fn requests(count: u64, size: usize, path: &str, content: &str, first: u64) {
    let text = text_kind(content);
    let crypt = inputs::crypt();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in first..first + count {
        let input = Input::of_at(text, &crypt, size, i, now);
        writeln!(out, "{PATH}?{}\t{}", input.query(), input.body).unwrap();
    }
    out.flush().unwrap();
}

/// Checks a server's answer to the request of index 0 (see the module docs).
async fn check(size: usize, content: &str, path: &str) -> Result<usize, String> {
    let expected = format!(
        "echo:text:{}",
        inputs::text_of(text_kind(content), inputs::content_len(size))
    );
    let body = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let endpoint = Endpoint::wecom_app(inputs::TOKEN, inputs::ENCODING_AES_KEY, inputs::CORP_ID)
        .map_err(|e| e.to_string())?;
    let kit = TestKit::new(PATH, &endpoint);
    let reply = kit
        .open(http::Response::new(Full::new(Bytes::from(body))))
        .await
        .and_then(|opened| opened.xml())
        .map_err(|e| e.to_string())?;
    let differs = |what: &str, got: &str, want: &str| {
        if got == want {
            Ok(())
        } else {
            Err(format!("{what} is {got:?}, not {want:?}"))
        }
    };
    differs("ToUserName", &reply.to_user_name, inputs::FROM_USER)?;
    differs("FromUserName", &reply.from_user_name, inputs::CORP_ID)?;
    differs("MsgType", &reply.msg_type, "text")?;
    let content = reply.content().unwrap_or_default();
    if content != expected {
        return Err(format!(
            "Content differs from the echo ({} bytes, {} expected; starts {:?})",
            content.len(),
            expected.len(),
            content.chars().take(40).collect::<String>()
        ));
    }
    Ok(content.len())
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
            if arg(5).is_empty() {
                0
            } else {
                arg(5).parse().unwrap()
            },
        ),
        "check" => {
            let checked = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(check(arg(1).parse().unwrap(), arg(2), arg(3)));
            match checked {
                Ok(len) => println!("ok: the echo text reply, {len} bytes of Content"),
                Err(why) => {
                    eprintln!("the answer is not the echo's reply: {why}");
                    std::process::exit(1);
                }
            }
        }
        "floor" => println!("{}", floor_nanos(arg(1).parse().unwrap(), false)),
        "floor-simd" => println!("{}", floor_nanos(arg(1).parse().unwrap(), true)),
        _ => {
            eprintln!(
                "usage: bench_plain serve | requests COUNT SIZE FILE [CONTENT] [FIRST] | check SIZE CONTENT FILE | floor SIZE | floor-simd SIZE"
            );
            std::process::exit(2);
        }
    }
}
