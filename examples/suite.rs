//! A WeCom third-party suite's instruction callback (指令回调URL), and the
//! token chain those pushes feed: `suite_ticket` → `suite_access_token` →
//! (`create_auth`) `permanent_code` → the authorized corp's `access_token`.
//! It answers every push with the bare `success` and runs until Ctrl-C.
//!
//! ```text
//! WECOM_SUITE_ID=ww4asffe99e54c0f WECOM_SUITE_SECRET=… cargo run --features client --example suite
//! ```
//!
//! Settings (environment variables): `WECOM_BIND` (default
//! `127.0.0.1:3001`; the callback path is `/wecom/suite`),
//! `WECOM_TOKEN`, `WECOM_ENCODING_AES_KEY` (defaults: the WeCom doc
//! 加解密方案说明 sample values), `WECOM_SUITE_ID` (the receive id; required),
//! `WECOM_SUITE_SECRET` (unset: the pushes are stored and logged, no API is
//! called), `WECOM_API_BASE` (default `https://qyapi.weixin.qq.com`).
//!
//! What it does with each push (WeCom doc 回调通知):
//!
//! * `suite_ticket` (every 10 minutes, valid 30): saved in a
//!   [`TicketStore`](wecom_callback::tickets::TicketStore) (here in memory;
//!   `RedisTicketStore` shares it between instances). The suite's
//!   credential reads the newest one from there for `get_suite_token`
//!   (获取第三方应用凭证); the example asks for the token at once, so the
//!   log shows the chain's first link (the token is cached: one fetch per
//!   lifetime, not one per push);
//! * `create_auth`: one call, `SuiteCredential::on_create_auth`, exchanges
//!   the `AuthCode` with `get_permanent_code` (获取企业永久授权码) and keeps
//!   the `permanent_code` in the secret store; the corp's `access_token`
//!   (`get_corp_token`, 获取企业凭证) follows. `reset_permanent_code` is
//!   exchanged the same way;
//! * `cancel_auth`: logged (a real suite forgets the corp's permanent code);
//! * `change_auth`, `change_contact`, … and anything else: logged.
//!
//! `GET /wecom/suite/corp/{corpid}` answers whether an `access_token` of
//! that corp can be had now (from the cache, or `get_corp_token` with the
//! stored permanent code; 404 when no permanent code is stored); never the
//! token itself.
//!
//! The permanent codes are kept in memory here, which loses them on
//! restart: every corp would have to install the suite again. A real suite
//! keeps them in a durable `SecretStore` (its database, or a Redis with
//! persistence: see the `client` module docs).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use http::StatusCode;
#[path = "support/serve.rs"]
mod serve;
#[path = "support/tickets.rs"]
mod tickets;

use wecom_callback::client::{BaseUrls, Client, MemorySecretStore, SecretStore, SuiteCredential};
use wecom_callback::message::{ContactChange, MessageKind};
use wecom_callback::tickets::{MemoryTicketStore, TicketStore};
use wecom_callback::{CallbackContext, Endpoint, Message, Reply, WeComCallbackLayer};

/// The callback path.
pub(crate) const PATH: &str = "/wecom/suite";

/// The example's settings (see the module docs).
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) bind: String,
    pub(crate) token: String,
    pub(crate) encoding_aes_key: String,
    pub(crate) suite_id: String,
    pub(crate) suite_secret: Option<String>,
    pub(crate) api_base: String,
}

impl Settings {
    /// Reads the settings through `lookup` (unset or empty: `None`).
    ///
    /// # Errors
    /// `WECOM_SUITE_ID is not set`.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |name: &str, default: &str| lookup(name).unwrap_or_else(|| default.to_owned());
        Ok(Self {
            bind: get("WECOM_BIND", "127.0.0.1:3001"),
            token: get("WECOM_TOKEN", "QDG6eK"),
            encoding_aes_key: get(
                "WECOM_ENCODING_AES_KEY",
                "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
            ),
            suite_id: lookup("WECOM_SUITE_ID").ok_or("WECOM_SUITE_ID is not set")?,
            suite_secret: lookup("WECOM_SUITE_SECRET"),
            api_base: get("WECOM_API_BASE", BaseUrls::WECOM_API),
        })
    }
}

/// The suite's side of the chain, shared by the handlers.
#[derive(Clone)]
pub(crate) struct Suite {
    /// The newest `suite_ticket` per suite: the crate's ticket store, which
    /// the callback writes and the credential reads.
    tickets: Arc<dyn TicketStore>,
    /// The API client and the suite's credential; `None` without a secret.
    pub(crate) chain: Option<Chain>,
}

/// What calls the WeCom API.
#[derive(Clone)]
pub(crate) struct Chain {
    pub(crate) client: Client,
    pub(crate) suite: SuiteCredential,
    /// Durable secrets: the authorized corps' permanent codes.
    pub(crate) secrets: Arc<dyn SecretStore>,
}

impl Chain {
    /// The first link: a `suite_access_token` from the stored ticket.
    async fn suite_token(self) {
        match self.client.token(&self.suite).await {
            Ok(token) => {
                tracing::info!(expires_in = token.expires_in(), "suite_access_token ready")
            }
            Err(error) => tracing::warn!(%error, "no suite_access_token"),
        }
    }

    /// `create_auth`: the permanent code, then the corp's token.
    async fn installed(self, message: Message) {
        match self.suite.on_create_auth(&self.client, &message).await {
            Ok(Some(corp)) => self.corp_token(corp.corpid().to_owned()).await,
            Ok(None) => tracing::info!("create_auth of another suite: ignored"),
            Err(error) => tracing::warn!(%error, "create_auth: the auth code was not exchanged"),
        }
    }

    /// `reset_permanent_code`: a new permanent code for the same corp.
    async fn reset(self, auth_code: String) {
        match self
            .suite
            .exchange_auth_code(&self.client, &auth_code)
            .await
        {
            Ok(corp) => self.corp_token(corp.corpid().to_owned()).await,
            Err(error) => tracing::warn!(%error, "reset_permanent_code: not exchanged"),
        }
    }

    /// The last link: the authorized corp's `access_token`.
    async fn corp_token(&self, corpid: String) {
        let corp = self.suite.authorized_corp(corpid.clone());
        match self.client.token(&corp).await {
            Ok(token) => tracing::info!(
                corp = %corpid,
                expires_in = token.expires_in(),
                "corp access_token ready"
            ),
            Err(error) => tracing::warn!(corp = %corpid, %error, "no corp access_token"),
        }
    }
}

/// Answers `success` once the push is stored; if the store fails, a 503
/// makes WeCom push it again. API calls run off the request path.
async fn instruction(
    State(suite): State<Suite>,
    context: CallbackContext,
    message: Message,
) -> Result<Reply, StatusCode> {
    match message.kind() {
        MessageKind::SuiteTicket(_) => {
            // A new ticket: make sure a suite_access_token can be had (it
            // is cached, so this fetches once per lifetime, not per push).
            let stored = tickets::save_ticket(suite.tickets.as_ref(), &context, &message).await?;
            match suite.chain {
                Some(chain) if stored => drop(tokio::spawn(chain.suite_token())),
                Some(_) => {}
                None => tracing::info!("WECOM_SUITE_SECRET unset: no suite_access_token fetched"),
            }
        }
        MessageKind::CreateAuth(auth) => {
            tracing::info!(state = ?auth.state, "create_auth");
            match suite.chain {
                Some(chain) => drop(tokio::spawn(chain.installed(message.clone()))),
                None => tracing::info!("WECOM_SUITE_SECRET unset: auth code not exchanged"),
            }
        }
        MessageKind::ResetPermanentCode(reset) => {
            tracing::info!(suite_id = %reset.suite_id, "reset_permanent_code");
            if let Some(chain) = suite.chain {
                drop(tokio::spawn(chain.reset(reset.auth_code.clone())));
            }
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

/// Whether an `access_token` of `corpid` can be had now (never the token).
async fn corp_status(
    State(suite): State<Suite>,
    Path(corpid): Path<String>,
) -> (StatusCode, String) {
    let Some(chain) = suite.chain else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "WECOM_SUITE_SECRET is unset\n".to_owned(),
        );
    };
    let key = chain.suite.permanent_code_key(&corpid);
    match chain.secrets.get_secret(&key).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            let text = format!("corp {corpid}: no permanent_code stored (not installed)\n");
            return (StatusCode::NOT_FOUND, text);
        }
        Err(error) => {
            let text = format!("corp {corpid}: secret store: {error}\n");
            return (StatusCode::SERVICE_UNAVAILABLE, text);
        }
    }
    let corp = chain.suite.authorized_corp(corpid.clone());
    match chain.client.token(&corp).await {
        Ok(token) => (
            StatusCode::OK,
            format!(
                "corp {corpid}: access_token ready, expires_in {}\n",
                token.expires_in()
            ),
        ),
        Err(error) => (StatusCode::BAD_GATEWAY, format!("corp {corpid}: {error}\n")),
    }
}

/// The suite's app: the callback route behind the layer, the status route
/// beside it, and the shared state (returned for tests).
///
/// # Errors
/// Bad settings.
pub(crate) fn app(settings: &Settings) -> Result<(Router, Suite), String> {
    let endpoint = Endpoint::wecom_suite(
        &settings.token,
        &settings.encoding_aes_key,
        &settings.suite_id,
    )
    .map_err(|e| format!("bad suite settings: {e}"))?;
    let layer = WeComCallbackLayer::new(PATH, endpoint).map_err(|e| e.to_string())?;

    let tickets: Arc<dyn TicketStore> = Arc::new(MemoryTicketStore::new());
    let chain = match &settings.suite_secret {
        Some(secret) => {
            let client = Client::builder()
                .urls(BaseUrls::default().wecom_api(&*settings.api_base))
                .build()
                .map_err(|e| format!("API client: {e}"))?;
            let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecretStore::new());
            let suite = SuiteCredential::new(
                settings.suite_id.clone(),
                secret.clone(),
                Arc::clone(&tickets),
                Arc::clone(&secrets),
            );
            Some(Chain {
                client,
                suite,
                secrets,
            })
        }
        None => {
            tracing::warn!("WECOM_SUITE_SECRET is unset: pushes are stored and logged only");
            None
        }
    };
    let suite = Suite { tickets, chain };
    let callback = Router::new()
        .route(PATH, post(instruction))
        .with_state(suite.clone())
        .layer(layer);
    let status = Router::new()
        .route("/wecom/suite/corp/{corpid}", get(corp_status))
        .with_state(suite.clone());
    Ok((callback.merge(status), suite))
}

async fn run() -> Result<(), String> {
    let settings =
        Settings::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))?;
    let (app, _) = app(&settings)?;
    serve::listen_and_serve(
        &settings.bind,
        &format!("wecom-callback suite ({})", settings.suite_id),
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
