//! A WeChat Open Platform component's 授权事件接收URL: hands every
//! `component_verify_ticket` over to the component's API client, tracks
//! which accounts authorized it, and answers `success`. It runs until
//! Ctrl-C.
//!
//! ```text
//! WECHAT_COMPONENT_APPID=wx6d80ca40ad4e00fc cargo run --example open_platform
//! ```
//!
//! Settings (environment variables): `WECHAT_BIND` (default
//! `127.0.0.1:3003`; the path is `/wechat/component`), `WECHAT_TOKEN`,
//! `WECHAT_ENCODING_AES_KEY` (defaults: the values of the WeChat crypto
//! demo), `WECHAT_COMPONENT_APPID` (required).
//!
//! The pushes (WeChat Open Platform doc 验证票据, 授权变更通知推送):
//! `component_verify_ticket` arrives every 10 minutes and is valid for 12
//! hours: the newest one is what `api_component_token` needs. `authorized`
//! and `updateauthorized` carry an authorization code for
//! `api_query_auth`; `unauthorized` ends an account's authorization.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use http::StatusCode;
#[path = "support/serve.rs"]
mod serve;

use wecom_callback::message::MessageKind;
use wecom_callback::tickets::{MemoryTicketStore, TicketKind, TicketStore};
use wecom_callback::{Endpoint, Message, Reply, WeComCallbackLayer};

const PATH: &str = "/wechat/component";

/// What the component's API client reads.
#[derive(Clone)]
struct Component {
    appid: String,
    /// The newest `component_verify_ticket`: the crate's ticket store
    /// (`RedisTicketStore`, feature `redis`, shares it between instances).
    tickets: Arc<dyn TicketStore>,
    /// Authorizer appid → the authorization code waiting for
    /// `api_query_auth` (`None` once used).
    authorizers: Arc<Mutex<BTreeMap<String, Option<String>>>>,
}

/// Answers `success` once the push is handled; if the ticket cannot be
/// stored, a 503 makes the platform push it again.
async fn push(State(component): State<Component>, message: Message) -> Result<Reply, StatusCode> {
    match message.kind() {
        MessageKind::ComponentVerifyTicket(ticket) => {
            component
                .tickets
                .save(
                    &ticket.app_id,
                    TicketKind::ComponentVerifyTicket,
                    &ticket.component_verify_ticket,
                    message.create_time(),
                )
                .await
                .map_err(|error| {
                    tracing::warn!(%error, "component_verify_ticket not stored");
                    StatusCode::SERVICE_UNAVAILABLE
                })?;
            tracing::info!(app_id = %ticket.app_id, "component_verify_ticket handed over");
        }
        MessageKind::Authorized(auth) | MessageKind::UpdateAuthorized(auth) => {
            tracing::info!(
                authorizer = %auth.authorizer_appid,
                expires_at = ?auth.expires_at(),
                info_type = message.info_type(),
                "authorization code kept for api_query_auth"
            );
            if let Ok(mut authorizers) = component.authorizers.lock() {
                authorizers.insert(
                    auth.authorizer_appid.clone(),
                    Some(auth.authorization_code.clone()),
                );
            }
        }
        MessageKind::Unauthorized(gone) => {
            tracing::info!(authorizer = %gone.authorizer_appid, "unauthorized");
            if let Ok(mut authorizers) = component.authorizers.lock() {
                authorizers.remove(&gone.authorizer_appid);
            }
        }
        _ => tracing::info!(
            info_type = message.info_type(),
            problem = ?message.problem(),
            "other push"
        ),
    }
    Ok(Reply::ack())
}

/// Stands for the component's API client.
async fn api_client(component: Component) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tick.tick().await;
        match component
            .tickets
            .latest(&component.appid, TicketKind::ComponentVerifyTicket)
            .await
        {
            Ok(Some(ticket)) => tracing::info!(
                issued_at = ticket.issued_at(),
                "would request the component access token with the newest ticket"
            ),
            Ok(None) => tracing::info!("no component_verify_ticket yet (pushed every 10 minutes)"),
            Err(error) => tracing::warn!(%error, "ticket store"),
        }
        let Ok(mut authorizers) = component.authorizers.lock() else {
            return;
        };
        for (authorizer, code) in authorizers.iter_mut() {
            if code.take().is_some() {
                tracing::info!(%authorizer, "would call api_query_auth with the authorization code");
            }
        }
    }
}

async fn run() -> Result<(), String> {
    let bind = serve::setting("WECHAT_BIND", "127.0.0.1:3003");
    let token = serve::setting("WECHAT_TOKEN", "spamtest");
    let key = serve::setting(
        "WECHAT_ENCODING_AES_KEY",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    );
    let appid = serve::required("WECHAT_COMPONENT_APPID")?;
    let endpoint = Endpoint::open_platform(&token, &key, &appid)
        .map_err(|e| format!("bad component settings: {e}"))?;
    let layer = WeComCallbackLayer::new(PATH, endpoint).map_err(|e| e.to_string())?;

    let component = Component {
        appid: appid.clone(),
        tickets: Arc::new(MemoryTicketStore::new()),
        authorizers: Arc::default(),
    };
    tokio::spawn(api_client(component.clone()));
    let app = Router::new()
        .route(PATH, post(push))
        .with_state(component)
        .layer(layer);
    serve::listen_and_serve(
        &bind,
        &format!("wecom-callback open platform ({appid})"),
        PATH,
        app,
    )
    .await
}

#[tokio::main]
async fn main() {
    serve::init_tracing("info");
    serve::exit_on_error("open_platform", run().await);
}
