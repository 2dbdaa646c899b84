//! A callback server on hyper alone, without axum: `WeComCallbackLayer`
//! around a handler made with `handler_fn`, served on hyper's HTTP/1
//! connection. It runs until Ctrl-C.
//!
//! ```text
//! cargo run --example hyper
//! ```
//!
//! Settings (environment variables): `WECOM_BIND` (default
//! `127.0.0.1:3001`), `WECOM_TOKEN`, `WECOM_ENCODING_AES_KEY` and
//! `WECOM_CORP_ID` (defaults: the WeCom doc 加解密方案说明 sample values). The
//! callback path is `/wecom/callback`; every other path answers 404.
//!
//! It answers the GET URL verification, replies `echo:<Content>` to text
//! messages and acknowledges everything else. With `RUST_LOG=debug` the
//! layer logs every rejection and accepted callback (feature `tracing`).
//!
//! Try it: `cargo run --example hyper`, then in another terminal
//!
//! ```text
//! curl -i 'http://127.0.0.1:3001/wecom/callback?msg_signature=0&timestamp=1&nonce=1&echostr=x'
//! ```
//!
//! answers 400 (a malformed signature), and the layer logs why.

#[path = "support/serve.rs"]
mod serve;

use std::net::SocketAddr;
use std::process::ExitCode;

use tokio::net::TcpListener;
use tower::ServiceBuilder;
use wecom_callback::layer::handler_fn;
use wecom_callback::{CallbackContext, Endpoint, Message, MessageKind, Reply, WeComCallbackLayer};

const PATH: &str = "/wecom/callback";

/// The handler: plain async Rust, no framework types.
async fn handle(message: Message, context: CallbackContext) -> Reply {
    tracing::info!(app = %context.app, msg_type = message.msg_type(), "callback");
    match message.kind() {
        MessageKind::Text(text) => Reply::text(format!("echo:{}", text.content)),
        _ => Reply::ack(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let endpoint = Endpoint::wecom_app(
        &serve::setting("WECOM_TOKEN", "QDG6eK"),
        &serve::setting(
            "WECOM_ENCODING_AES_KEY",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        ),
        &serve::setting("WECOM_CORP_ID", "wx5823bf96d3bd56c7"),
    );
    let layer = match endpoint.and_then(|endpoint| WeComCallbackLayer::new(PATH, endpoint)) {
        Ok(layer) => layer,
        Err(error) => {
            eprintln!("configuration error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let bind = serve::setting("WECOM_BIND", "127.0.0.1:3001");
    let addr: SocketAddr = match bind.parse() {
        Ok(addr) => addr,
        Err(error) => {
            eprintln!("WECOM_BIND={bind}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };

    // The whole application: the layer around the handler. Requests to
    // other paths reach the handler without a message and get 404.
    let service = ServiceBuilder::new()
        .layer(layer)
        .service(handler_fn(handle));

    tracing::info!("listening on http://{addr}{PATH} (Ctrl-C stops)");
    if let Err(error) = serve::serve(listener, service).await {
        eprintln!("serving failed: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
