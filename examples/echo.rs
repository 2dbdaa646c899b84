//! The echo server: a real axum server with `WeComCallbackLayer`, on the
//! vendor's sample credentials unless told otherwise.
//!
//! ```text
//! cargo run --example echo
//! ```
//!
//! * listens on `WECOM_BIND` (default `127.0.0.1:3000`), callback path
//!   `/wecom/callback`;
//! * credentials from `WECOM_TOKEN`, `WECOM_ENCODING_AES_KEY`,
//!   `WECOM_CORP_ID` (defaults: the WeCom doc 加解密方案说明 sample values);
//! * answers GET URL verification; replies to every accepted POST with an
//!   encrypted text: `echo:text:<Content>` for text, `echo:event:<Event>` for
//!   events, `echo:<MsgType>` otherwise;
//! * logs every rejection with its reason (`RUST_LOG` tunes the log);
//! * closes connections that do not send a request head within 10 s or sit
//!   idle for 10 s, and bodies that take more than 5 s get 408 (slow
//!   clients cannot hold connections or memory).

use std::time::Duration;

use axum::Router;
use axum::routing::post;
use tower::ServiceBuilder;
use tower_http::trace::TraceLayer;
use tracing::Span;
#[path = "support/serve.rs"]
mod serve;

use wecom_callback::{Endpoint, Message, MessageKind, Rejection, Reply, WeComCallbackLayer};

const PATH: &str = "/wecom/callback";

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// The reply text for `message`.
fn echo_text(message: &Message) -> String {
    match (message.kind(), message.event()) {
        (MessageKind::Text(text), _) => format!("echo:text:{}", text.content),
        (_, Some(event)) => format!("echo:event:{event}"),
        _ => format!("echo:{}", message.msg_type()),
    }
}

async fn echo(message: Message) -> Reply {
    tracing::info!(
        msg_type = message.msg_type(),
        from = message.from_user_name(),
        "callback accepted"
    );
    Reply::text(echo_text(&message))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .init();

    let bind = setting("WECOM_BIND", "127.0.0.1:3000");
    let endpoint = Endpoint::wecom_app(
        &setting("WECOM_TOKEN", "QDG6eK"),
        &setting(
            "WECOM_ENCODING_AES_KEY",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        ),
        &setting("WECOM_CORP_ID", "wx5823bf96d3bd56c7"),
    )?;

    let trace = TraceLayer::new_for_http().on_response(
        |response: &http::Response<_>, latency: Duration, _span: &Span| match response
            .extensions()
            .get::<Rejection>()
        {
            Some(rejection) => tracing::warn!(
                status = response.status().as_u16(),
                reason = %rejection,
                ?latency,
                "callback rejected"
            ),
            None => tracing::info!(status = response.status().as_u16(), ?latency, "response"),
        },
    );

    let app = Router::new().route(PATH, post(echo)).layer(
        ServiceBuilder::new()
            .layer(trace)
            .layer(WeComCallbackLayer::new(PATH, endpoint)?),
    );

    let listener = tokio::net::TcpListener::bind(&bind).await?;
    let addr = listener.local_addr()?;
    println!("wecom-callback echo listening on http://{addr}{PATH}");
    serve::serve(listener, app).await?;
    Ok(())
}
