//! Acknowledge at once, work later: the pattern for handlers that take
//! longer than WeCom's 5 seconds (WeCom doc 接收消息与事件 概述: "五秒内收不到响应会断掉连接，并且重新发起请求").
//!
//! ```text
//! cargo run --example ack_then_process
//! ```
//!
//! The handler only queues the message on a bounded tokio channel and
//! answers the kind's acknowledgement (an empty 200 for a WeCom app). A
//! worker task does the slow part and answers the member later through the
//! WeCom message API ("发送应用消息"). The API client here is a **stub** that
//! logs what it would send: a real one needs the corp secret and an
//! access_token, which are outside this crate.
//!
//! * Retries do not double the work: the layer's deduplication (on by
//!   default) lets each message reach the handler once.
//! * A full queue answers 503: not a 2xx, so the layer releases the message
//!   and WeCom's retry gets another chance, instead of the message being
//!   acknowledged and dropped.
//! * `ack_deadline(4 s)` is the safety net should the handler itself ever
//!   be slow (it answers `success`/empty 200 and lets the handler finish).
//!
//! Settings: `WECOM_BIND` (default `127.0.0.1:3000`), `WECOM_TOKEN`,
//! `WECOM_ENCODING_AES_KEY`, `WECOM_CORP_ID` as in the echo example.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::sync::mpsc;
#[path = "support/serve.rs"]
mod serve;

use wecom_callback::{Endpoint, Message, MessageKind, Reply, WeComCallbackLayer};

const PATH: &str = "/wecom/callback";

/// A stand-in for a WeCom API client (`POST /cgi-bin/message/send`).
#[derive(Debug, Clone)]
struct StubApiClient;

impl StubApiClient {
    async fn send_text(&self, to_user: &str, text: &str) {
        tracing::info!(to_user, text, "stub WeCom API: would send an app message");
    }
}

/// Queues the message and acknowledges; 503 when the queue is full.
async fn enqueue(State(queue): State<mpsc::Sender<Message>>, message: Message) -> Response {
    match queue.try_send(message) {
        Ok(()) => Reply::ack().into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// The slow part, off the request path.
async fn worker(mut queue: mpsc::Receiver<Message>, api: StubApiClient) {
    while let Some(message) = queue.recv().await {
        // Pretend this takes a while (a search, a model, another API).
        tokio::time::sleep(Duration::from_secs(2)).await;
        let answer = match message.kind() {
            MessageKind::Text(text) => format!("processed: {}", text.content),
            _ => format!("processed a {}", message.msg_type()),
        };
        api.send_text(message.from_user_name(), &answer).await;
    }
}

async fn run() -> Result<(), String> {
    let endpoint = Endpoint::wecom_app(
        &serve::setting("WECOM_TOKEN", "QDG6eK"),
        &serve::setting(
            "WECOM_ENCODING_AES_KEY",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        ),
        &serve::setting("WECOM_CORP_ID", "wx5823bf96d3bd56c7"),
    )
    .map_err(|e| format!("bad settings: {e}"))?;
    let layer = WeComCallbackLayer::new(PATH, endpoint)
        .map_err(|e| e.to_string())?
        .ack_deadline(Duration::from_secs(4));

    let (queue, jobs) = mpsc::channel(1024);
    tokio::spawn(worker(jobs, StubApiClient));

    let app = Router::new()
        .route(PATH, post(enqueue))
        .with_state(queue)
        .layer(layer);
    let bind = serve::setting("WECOM_BIND", "127.0.0.1:3000");
    serve::listen_and_serve(&bind, "ack_then_process", PATH, app).await
}

#[tokio::main]
async fn main() {
    serve::init_tracing("info");
    serve::exit_on_error("ack_then_process", run().await);
}
