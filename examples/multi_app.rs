//! Several apps and callback kinds behind one `WeComCallbackLayer`.
//!
//! ```text
//! cargo run --example multi_app
//! ```
//!
//! * `/wecom/sales` and `/wecom/hr`: two self-built apps of one corp, routed
//!   by path;
//! * `/wecom/shared`: two more apps on one URL, told apart by whichever
//!   Token verifies the signature (one SHA-1 per candidate; the unsigned
//!   envelope fields are never trusted);
//! * `/wecom/suite`: a third-party suite's instruction callback (answers
//!   `success`), with a previous Token/EncodingAESKey still accepted while
//!   an admin rotates them;
//! * `/wecom/bot`: the intelligent robot (JSON in and out).
//!
//! The handler learns which app matched from [`CallbackContext::app`].
//! Credentials are demo values; the listen address is `WECOM_BIND` (default
//! `127.0.0.1:3000`).

use axum::Router;
use axum::extract::Request;
use axum::routing::post;
#[path = "support/serve.rs"]
mod serve;

use wecom_callback::{
    BotMessage, CallbackContext, ConfigError, Endpoint, Message, Reply, WeComCallbackLayer,
};

const KEY_A: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const KEY_B: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const CORP: &str = "wx5823bf96d3bd56c7";

/// One handler for every app: it branches on the matched app and kind.
async fn handle(context: CallbackContext, request: Request) -> Reply {
    if let Some(message) = request.extensions().get::<BotMessage>() {
        return Reply::text(format!(
            "[{}] robot got {}",
            context.app,
            message.msg_type()
        ));
    }
    let Some(message) = request.extensions().get::<Message>() else {
        return Reply::ack();
    };
    tracing::info!(app = %context.app, kind = %context.kind, msg_type = message.msg_type(), "callback");
    match context.kind.reply_format() {
        wecom_callback::endpoint::ReplyFormat::None => Reply::ack(),
        _ => Reply::text(format!("[{}] got {}", context.app, message.msg_type())),
    }
}

fn layer() -> Result<WeComCallbackLayer, ConfigError> {
    WeComCallbackLayer::new(
        "/wecom/sales",
        Endpoint::wecom_app("SalesToken", KEY_A, CORP)?.named("sales"),
    )?
    .endpoint(
        "/wecom/hr",
        Endpoint::wecom_app("HrToken", KEY_B, CORP)?.named("hr"),
    )?
    .endpoint(
        "/wecom/shared",
        Endpoint::wecom_app("FinanceToken", KEY_A, CORP)?.named("finance"),
    )?
    .endpoint(
        "/wecom/shared",
        Endpoint::wecom_app("LegalToken", KEY_B, CORP)?.named("legal"),
    )?
    .endpoint(
        "/wecom/suite",
        Endpoint::wecom_suite("SuiteToken2", KEY_B, "ww4asffe99e54c0f")?
            .previous_secret("SuiteToken1", KEY_A)?
            .named("crm-suite"),
    )?
    .endpoint(
        "/wecom/bot",
        Endpoint::wecom_bot("BotToken", KEY_A)?.named("helpdesk-bot"),
    )
}

async fn run() -> Result<(), String> {
    let layer = layer().map_err(|e| format!("bad settings: {e}"))?;
    let app = Router::new()
        .route("/wecom/{app}", post(handle))
        .layer(layer);
    let bind = serve::setting("WECOM_BIND", "127.0.0.1:3000");
    serve::listen_and_serve(
        &bind,
        "multi_app",
        "/wecom/{sales,hr,shared,suite,bot}",
        app,
    )
    .await
}

#[tokio::main]
async fn main() {
    serve::init_tracing("info");
    serve::exit_on_error("multi_app", run().await);
}
