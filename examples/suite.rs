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
//! * `suite_ticket` (every 10 minutes, valid 30): stored, replacing the
//!   previous one; the suite access token is fetched with it
//!   (`get_suite_token`);
//! * `create_auth` / `reset_permanent_code`: the `AuthCode` (valid 10
//!   minutes) is stored for the exchange with `get_permanent_code`;
//! * `cancel_auth`: the corp's authorization is forgotten;
//! * `change_auth`, `change_contact`, … and anything else: logged.
//!
//! The "API client" here is a task that reads the store every 30 s and logs
//! what it would do; a real one would call the WeCom API.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
#[path = "support/serve.rs"]
mod serve;

use wecom_callback::message::{ContactChange, MessageKind};
use wecom_callback::{Endpoint, Message, Reply, WeComCallbackLayer};

const PATH: &str = "/wecom/suite";

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What the suite's API client needs, shared between the callback handler
/// (writer) and the client (reader).
#[derive(Debug, Default)]
struct SuiteState {
    /// The newest `SuiteTicket` and when it arrived (unix seconds).
    suite_ticket: Option<(String, u64)>,
    /// Temporary authorization codes waiting for `get_permanent_code`, with
    /// their arrival time; the corp is known only after the exchange.
    auth_codes: Vec<(String, u64)>,
    /// Corps that removed the app (`cancel_auth`), with the time.
    cancelled: BTreeMap<String, u64>,
}

type Shared = Arc<RwLock<SuiteState>>;

/// A `SuiteTicket` is valid for 30 minutes (WeCom doc 推送suite_ticket).
const TICKET_LIFETIME: u64 = 30 * 60;
/// An `AuthCode` is valid for 10 minutes (WeCom doc 授权通知事件).
const AUTH_CODE_LIFETIME: u64 = 10 * 60;

async fn instruction(State(state): State<Shared>, message: Message) -> Reply {
    let Ok(mut state) = state.write() else {
        // A panicked writer poisoned the lock: still acknowledge, so WeCom
        // does not retry; the next ticket arrives in 10 minutes.
        return Reply::ack();
    };
    match message.kind() {
        MessageKind::SuiteTicket(ticket) => {
            tracing::info!(suite_id = %ticket.suite_id, "suite_ticket stored");
            state.suite_ticket = Some((ticket.suite_ticket.clone(), now()));
        }
        MessageKind::CreateAuth(auth) => {
            tracing::info!(state = ?auth.state, "create_auth: auth code stored for get_permanent_code");
            state.auth_codes.push((auth.auth_code.clone(), now()));
        }
        MessageKind::ResetPermanentCode(reset) => {
            tracing::info!(suite_id = %reset.suite_id, "reset_permanent_code: auth code stored");
            state.auth_codes.push((reset.auth_code.clone(), now()));
        }
        MessageKind::CancelAuth(cancel) => {
            tracing::info!(corp = %cancel.auth_corp_id, "cancel_auth");
            state.cancelled.insert(cancel.auth_corp_id.clone(), now());
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
    Reply::ack()
}

/// Stands for the suite's API client: reads what the callback stored.
async fn api_client(state: Shared) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tick.tick().await;
        let Ok(mut state) = state.write() else {
            return;
        };
        let now = now();
        match &state.suite_ticket {
            Some((_, at)) if now.saturating_sub(*at) < TICKET_LIFETIME => {
                tracing::info!(
                    age_secs = now - at,
                    "would fetch the suite access token with the stored suite_ticket"
                );
            }
            _ => tracing::info!("no valid suite_ticket yet (WeCom pushes one every 10 minutes)"),
        }
        let fresh: Vec<_> = state
            .auth_codes
            .drain(..)
            .filter(|(_, at)| now.saturating_sub(*at) < AUTH_CODE_LIFETIME)
            .collect();
        for _ in &fresh {
            tracing::info!("would exchange an auth code with get_permanent_code");
        }
    }
}

async fn run() -> Result<(), String> {
    let bind = setting("WECOM_BIND", "127.0.0.1:3001");
    let token = setting("WECOM_TOKEN", "QDG6eK");
    let key = setting(
        "WECOM_ENCODING_AES_KEY",
        "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    );
    let suite_id =
        std::env::var("WECOM_SUITE_ID").map_err(|_| "WECOM_SUITE_ID is not set".to_owned())?;
    let endpoint = Endpoint::wecom_suite(&token, &key, &suite_id)
        .map_err(|e| format!("bad suite settings: {e}"))?;
    let layer = WeComCallbackLayer::new(PATH, endpoint).map_err(|e| e.to_string())?;

    let state = Shared::default();
    tokio::spawn(api_client(Arc::clone(&state)));
    let app = Router::new()
        .route(PATH, post(instruction))
        .with_state(state)
        .layer(layer);

    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("wecom-callback suite ({suite_id}) listening on http://{addr}{PATH}");
    serve::serve(listener, app).await.map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    if let Err(error) = run().await {
        eprintln!("suite: {error}");
        std::process::exit(2);
    }
}
