//! Allocations and peak heap per request, counted by a counting global
//! allocator (`allocation-counter`; this package forbids `unsafe`, which a
//! hand-written `GlobalAlloc` would need). Everything runs on this thread
//! (a current-thread Tokio runtime), which is what the counter sees.
//!
//! For each size, with the ASCII and the mixed Chinese/ASCII content: the
//! pure pipeline, and one POST through the layer with
//! deduplication off and on (a fresh MsgId each time; the dedup store keeps
//! the reply, so "still held" is not zero there). "Peak" is the most heap
//! the request held at once beyond what existed before it; the multiple
//! divides peak + the received body by the body's size (the body is
//! allocated by the server before the layer sees it).
//!
//! ```text
//! cargo bench -p wecom-callback-benches --bench allocations
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
#[path = "common/inputs.rs"]
mod inputs;

use allocation_counter::{AllocationInfo, measure};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tokio::runtime::Runtime;
use tower::ServiceExt;

use inputs::{CONTENTS, Input, SIZES, pure};

fn send(rt: &Runtime, app: &Router, request: Request<Body>) -> StatusCode {
    rt.block_on(async { app.clone().oneshot(request).await.unwrap().status() })
}

/// The run with the fewest allocations of five (the first runs of a
/// router may set up lazily allocated state).
fn least(mut run: impl FnMut() -> AllocationInfo) -> AllocationInfo {
    (0..5)
        .map(|_| run())
        .min_by_key(|info| (info.count_total, info.bytes_max))
        .unwrap_or_default()
}

fn row(what: &str, label: &str, body: usize, info: AllocationInfo) {
    println!(
        "| {what} | {label} | {} | {} | {} | {:.2}× | {} |",
        info.count_total,
        info.bytes_total,
        info.bytes_max,
        (info.bytes_max as f64 + body as f64) / body as f64,
        info.bytes_current,
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let crypt = inputs::crypt();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (plain, dedup) = (app::app(false), app::app(true));
    let mut next_id = 1;
    println!(
        "| pipeline | content | allocations | bytes allocated | peak bytes | (peak + body) / body | still held |"
    );
    println!("|---|---|---|---|---|---|---|");
    for ((label, nominal), (content, text)) in SIZES
        .into_iter()
        .flat_map(|size| CONTENTS.map(|content| (size, content)))
    {
        let input = Input::of(text, &crypt, nominal, 0);
        let body = input.body.len();
        let label = format!("{label} {content} (body {body} B)");
        row(
            "pure",
            &label,
            body,
            least(|| {
                measure(|| {
                    std::hint::black_box(pure(&crypt, &input));
                })
            }),
        );
        row(
            "layer, dedup off",
            &label,
            body,
            least(|| {
                let request = app::post_request(&input);
                measure(|| assert_eq!(send(&rt, &plain, request), StatusCode::OK))
            }),
        );
        row(
            "layer, dedup on",
            &label,
            body,
            least(|| {
                next_id += 1;
                let request = app::post_request(&Input::of(text, &crypt, nominal, next_id));
                measure(|| assert_eq!(send(&rt, &dedup, request), StatusCode::OK))
            }),
        );
        row(
            "layer, bad signature",
            &label,
            body,
            least(|| {
                let request = app::forged_request(&input);
                measure(|| assert_eq!(send(&rt, &plain, request), StatusCode::FORBIDDEN))
            }),
        );
    }
}
