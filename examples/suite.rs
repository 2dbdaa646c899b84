//! A WeCom third-party suite's instruction callback (指令回调URL): keeps the
//! newest `suite_ticket` and the authorization codes where the suite's API
//! client can read them, and answers every push with the bare `success`.
//! It runs until Ctrl-C.
//!
//! ```text
//! WECOM_SUITE_ID=ww4asffe99e54c0f cargo run --example suite
//! ```
//!
//! Settings (environment variables): `WECOM_BIND` (default
//! `127.0.0.1:3001`; the callback path is `/wecom/suite`),
//! `WECOM_TOKEN`, `WECOM_ENCODING_AES_KEY` (defaults: the WeCom doc
//! 加解密方案说明 sample values), `WECOM_SUITE_ID` (the receive id; required).
//!
//! What it does with each push (WeCom doc 回调通知):
//!
//! * `suite_ticket` (every 10 minutes, valid 30): saved in a
//!   [`TicketStore`](wecom_callback::tickets::TicketStore) (here in memory;
//!   `RedisTicketStore` shares it between instances), where the API client
//!   reads the newest one for `get_suite_token`;
//! * `create_auth` / `reset_permanent_code`: the `AuthCode` (valid 10
//!   minutes) is stored for the exchange with `get_permanent_code`;
//! * `cancel_auth`: the corp's authorization is forgotten;
//! * `change_auth`, `change_contact`, … and anything else: logged.
//!
//! The "API client" here is a task that reads the store every 30 s and logs
//! what it would do; a real one would call the WeCom API.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use http::StatusCode;
#[path = "support/serve.rs"]
mod serve;

use wecom_callback::message::{ContactChange, MessageKind};
use wecom_callback::tickets::{MemoryTicketStore, SaveOutcome, TicketKind, TicketStore};
use wecom_callback::{Endpoint, Message, Reply, WeComCallbackLayer};

const PATH: &str = "/wecom/suite";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What the suite's API client needs, shared between the callback handler
/// (writer) and the client (reader).
#[derive(Clone)]
struct Suite {
    id: String,
    /// The newest `suite_ticket` per suite: the crate's ticket store
    /// (`RedisTicketStore`, feature `redis`, shares it between instances).
    tickets: Arc<dyn TicketStore>,
    /// Temporary authorization codes waiting for `get_permanent_code`, with
    /// their arrival time; the corp is known only after the exchange.
    auth_codes: Arc<Mutex<Vec<(String, u64)>>>,
}

/// A `SuiteTicket` is valid for 30 minutes (WeCom doc 推送suite_ticket).
const TICKET_LIFETIME: u64 = 30 * 60;
/// An `AuthCode` is valid for 10 minutes (WeCom doc 授权通知事件).
const AUTH_CODE_LIFETIME: u64 = 10 * 60;

/// Answers `success` once the push is stored; if the store fails, a 503
/// makes WeCom push it again.
async fn instruction(State(suite): State<Suite>, message: Message) -> Result<Reply, StatusCode> {
    match message.kind() {
        MessageKind::SuiteTicket(ticket) => {
            let saved = suite
                .tickets
                .save(
                    &ticket.suite_id,
                    TicketKind::SuiteTicket,
                    &ticket.suite_ticket,
                    message.create_time(),
                )
                .await
                .map_err(|error| {
                    tracing::warn!(%error, "suite_ticket not stored");
                    StatusCode::SERVICE_UNAVAILABLE
                })?;
            match saved {
                SaveOutcome::Saved => {
                    tracing::info!(suite_id = %ticket.suite_id, "suite_ticket stored")
                }
                SaveOutcome::Ignored { stored_issued_at } => {
                    tracing::info!(stored_issued_at, "older suite_ticket ignored")
                }
            }
        }
        MessageKind::CreateAuth(auth) => {
            tracing::info!(state = ?auth.state, "create_auth: auth code kept for get_permanent_code");
            remember(&suite, &auth.auth_code);
        }
        MessageKind::ResetPermanentCode(reset) => {
            tracing::info!(suite_id = %reset.suite_id, "reset_permanent_code: auth code kept");
            remember(&suite, &reset.auth_code);
        }
        MessageKind::CancelAuth(cancel) => {
            tracing::info!(corp = %cancel.auth_corp_id, "cancel_auth: forget the corp's permanent code");
        }
        MessageKind::ChangeAuth(change) => {
            tracing::info!(corp = %change.auth_corp_id, "change_auth: refresh the corp's authorization info");
        }
        MessageKind::ChangeContact(change) => {
            let what = match &change.change {
                ContactChange::CreateUser(user) | ContactChange::UpdateUser(user) => {
                    format!("member {}", user.user_id)
                }
                ContactChange::DeleteUser(user_id) => format!("member {user_id} removed"),
                other => format!("{other:?}"),
            };
            tracing::info!(corp = ?change.auth_corp_id, %what, "change_contact");
        }
        MessageKind::Other(other) => {
            tracing::info!(info_type = ?other.info_type, problem = ?other.problem, "other push");
        }
        kind => tracing::info!(?kind, "push"),
    }
    // The only answer an instruction callback takes: `success`.
    Ok(Reply::ack())
}

fn remember(suite: &Suite, auth_code: &str) {
    if let Ok(mut codes) = suite.auth_codes.lock() {
        codes.push((auth_code.to_owned(), now()));
    }
}

/// Stands for the suite's API client: reads what the callback stored.
async fn api_client(suite: Suite) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tick.tick().await;
        let now = now();
        match suite
            .tickets
            .latest(&suite.id, TicketKind::SuiteTicket)
            .await
        {
            Ok(Some(ticket)) if now.saturating_sub(ticket.issued_at()) < TICKET_LIFETIME => {
                tracing::info!(
                    issued_at = ticket.issued_at(),
                    "would fetch the suite access token with the stored suite_ticket"
                );
            }
            Ok(_) => {
                tracing::info!("no valid suite_ticket yet (WeCom pushes one every 10 minutes)")
            }
            Err(error) => tracing::warn!(%error, "ticket store"),
        }
        let fresh: Vec<(String, u64)> = match suite.auth_codes.lock() {
            Ok(mut codes) => codes.drain(..).collect(),
            Err(_) => return,
        };
        for _ in fresh
            .iter()
            .filter(|(_, at)| now.saturating_sub(*at) < AUTH_CODE_LIFETIME)
        {
            tracing::info!("would exchange an auth code with get_permanent_code");
        }
    }
}

async fn run() -> Result<(), String> {
    let bind = serve::setting("WECOM_BIND", "127.0.0.1:3001");
    let token = serve::setting("WECOM_TOKEN", "QDG6eK");
    let key = serve::setting(
        "WECOM_ENCODING_AES_KEY",
        "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    );
    let suite_id = serve::required("WECOM_SUITE_ID")?;
    let endpoint = Endpoint::wecom_suite(&token, &key, &suite_id)
        .map_err(|e| format!("bad suite settings: {e}"))?;
    let layer = WeComCallbackLayer::new(PATH, endpoint).map_err(|e| e.to_string())?;

    let suite = Suite {
        id: suite_id.clone(),
        tickets: Arc::new(MemoryTicketStore::new()),
        auth_codes: Arc::default(),
    };
    tokio::spawn(api_client(suite.clone()));
    let app = Router::new()
        .route(PATH, post(instruction))
        .with_state(suite)
        .layer(layer);

    serve::listen_and_serve(
        &bind,
        &format!("wecom-callback suite ({suite_id})"),
        PATH,
        app,
    )
    .await
}

#[tokio::main]
async fn main() {
    serve::init_tracing("info");
    serve::exit_on_error("suite", run().await);
}
