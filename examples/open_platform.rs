//! A WeChat Open Platform component's 授权事件接收URL, and the token chain
//! behind it: `component_verify_ticket` → `component_access_token` →
//! `pre_auth_code` → the authorization page → `api_query_auth`
//! (`authorizer_access_token` + `authorizer_refresh_token`) →
//! `api_authorizer_token`. It answers every push with `success` and runs
//! until Ctrl-C.
//!
//! ```text
//! WECHAT_COMPONENT_APPID=wx6d80ca40ad4e00fc WECHAT_COMPONENT_SECRET=… \
//!   PUBLIC_URL=https://example.com cargo run --features client --example open_platform
//! ```
//!
//! Settings (environment variables): `WECHAT_BIND` (default
//! `127.0.0.1:3003`; the push path is `/wechat/component`), `WECHAT_TOKEN`,
//! `WECHAT_ENCODING_AES_KEY` (defaults: the values of the WeChat crypto
//! demo), `WECHAT_COMPONENT_APPID` (required), `WECHAT_COMPONENT_SECRET`
//! (unset: pushes are stored and logged, no API is called),
//! `WECHAT_API_BASE` (default `https://api.weixin.qq.com`),
//! `WECHAT_MP_BASE` (the authorization page's host, default
//! `https://mp.weixin.qq.com`), `PUBLIC_URL` (this server's external base
//! URL, for the page's `redirect_uri`; default `http://` + the bind
//! address).
//!
//! The pushes (WeChat Open Platform doc 验证票据, 授权变更通知推送):
//! `component_verify_ticket` arrives every 10 minutes and is valid for 12
//! hours; it is saved in the crate's ticket store, where the component's
//! credential reads the newest one for `api_component_token` (获取令牌).
//! `authorized` and `updateauthorized` carry an authorization code: one
//! call, `ComponentCredential::on_authorized`, exchanges it with
//! `api_query_auth` (使用授权码获取授权信息) and keeps the
//! `authorizer_refresh_token` in the secret store. `unauthorized` ends an
//! account's authorization.
//!
//! The routes beside the push:
//!
//! * `GET /wechat/component/start`: asks for a `pre_auth_code`
//!   (获取预授权码) and redirects the admin to the authorization page;
//! * `GET /wechat/component/authorized?auth_code=…`: where that page sends
//!   the admin back. The same code also arrives in the `authorized` push;
//!   whichever comes first exchanges it (the other gets `40029`, logged);
//! * `GET /wechat/component/authorizer/{appid}`: whether an
//!   `authorizer_access_token` can be had now (from the cache, or
//!   `api_authorizer_token` with the stored refresh token; 404 when none
//!   is stored); never the token itself.
//!
//! The refresh tokens are kept in memory here, which loses them on
//! restart: every account would have to authorize again (61023). A real
//! component keeps them in a durable `SecretStore` (see the `client`
//! module docs).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::StatusCode;
#[path = "support/serve.rs"]
mod serve;
#[path = "support/tickets.rs"]
mod tickets;

use wecom_callback::client::{
    ApiErrorKind, BaseUrls, Client, ComponentCredential, MemorySecretStore, SecretStore,
};
use wecom_callback::message::MessageKind;
use wecom_callback::tickets::{MemoryTicketStore, TicketStore};
use wecom_callback::{CallbackContext, Endpoint, Message, Reply, WeComCallbackLayer};

/// The push path.
pub(crate) const PATH: &str = "/wechat/component";

/// The example's settings (see the module docs).
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) bind: String,
    pub(crate) token: String,
    pub(crate) encoding_aes_key: String,
    pub(crate) component_appid: String,
    pub(crate) component_secret: Option<String>,
    pub(crate) api_base: String,
    pub(crate) mp_base: String,
    pub(crate) public_url: String,
}

impl Settings {
    /// Reads the settings through `lookup` (unset or empty: `None`).
    ///
    /// # Errors
    /// `WECHAT_COMPONENT_APPID is not set`.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |name: &str, default: &str| lookup(name).unwrap_or_else(|| default.to_owned());
        let bind = get("WECHAT_BIND", "127.0.0.1:3003");
        Ok(Self {
            token: get("WECHAT_TOKEN", "spamtest"),
            encoding_aes_key: get(
                "WECHAT_ENCODING_AES_KEY",
                "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            ),
            component_appid: lookup("WECHAT_COMPONENT_APPID")
                .ok_or("WECHAT_COMPONENT_APPID is not set")?,
            component_secret: lookup("WECHAT_COMPONENT_SECRET"),
            api_base: get("WECHAT_API_BASE", BaseUrls::WECHAT_API),
            mp_base: get("WECHAT_MP_BASE", BaseUrls::MP_WEIXIN),
            public_url: get("PUBLIC_URL", &format!("http://{bind}"))
                .trim_end_matches('/')
                .to_owned(),
            bind,
        })
    }
}

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct Component {
    appid: String,
    /// The newest `component_verify_ticket`: written by the push, read by
    /// the credential.
    tickets: Arc<dyn TicketStore>,
    /// The API client and the component's credential; `None` without a
    /// secret.
    pub(crate) chain: Option<Chain>,
    public_url: String,
}

/// What calls the WeChat API.
#[derive(Clone)]
pub(crate) struct Chain {
    pub(crate) client: Client,
    pub(crate) component: ComponentCredential,
    /// Durable secrets: the authorizers' refresh tokens.
    pub(crate) secrets: Arc<dyn SecretStore>,
}

impl Chain {
    /// The first link: a `component_access_token` from the stored ticket.
    async fn component_token(self) {
        match self.client.token(&self.component).await {
            Ok(token) => tracing::info!(
                expires_in = token.expires_in(),
                "component_access_token ready"
            ),
            Err(error) => tracing::warn!(%error, "no component_access_token"),
        }
    }

    /// An `authorized`/`updateauthorized` push: the code exchanged once.
    async fn authorized(self, message: Message) {
        match self.component.on_authorized(&self.client, &message).await {
            Ok(Some(authorizer)) => tracing::info!(
                authorizer = authorizer.authorizer_appid(),
                "authorizer_refresh_token stored; authorizer_access_token cached"
            ),
            Ok(None) => tracing::info!("authorization push of another component: ignored"),
            Err(error) if error.kind() == ApiErrorKind::InvalidCode => {
                tracing::info!("authorization code already exchanged (by the redirect) or expired")
            }
            Err(error) => tracing::warn!(%error, "authorization code not exchanged"),
        }
    }
}

/// Answers `success` once the push is handled; if the ticket cannot be
/// stored, a 503 makes the platform push it again. API calls run off the
/// request path.
async fn push(
    State(component): State<Component>,
    context: CallbackContext,
    message: Message,
) -> Result<Reply, StatusCode> {
    match message.kind() {
        MessageKind::ComponentVerifyTicket(_) => {
            // A new ticket: make sure a component_access_token can be had
            // (cached: one fetch per lifetime, not per push).
            let stored =
                tickets::save_ticket(component.tickets.as_ref(), &context, &message).await?;
            match component.chain {
                Some(chain) if stored => drop(tokio::spawn(chain.component_token())),
                Some(_) => {}
                None => tracing::info!(
                    "WECHAT_COMPONENT_SECRET unset: no component_access_token fetched"
                ),
            }
        }
        MessageKind::Authorized(auth) | MessageKind::UpdateAuthorized(auth) => {
            tracing::info!(
                authorizer = %auth.authorizer_appid,
                expires_at = ?auth.expires_at(),
                info_type = message.info_type(),
                "authorization push"
            );
            match component.chain {
                Some(chain) => drop(tokio::spawn(chain.authorized(message.clone()))),
                None => tracing::info!("WECHAT_COMPONENT_SECRET unset: code not exchanged"),
            }
        }
        MessageKind::Unauthorized(gone) => {
            tracing::info!(authorizer = %gone.authorizer_appid, "unauthorized: forget its refresh token");
        }
        _ => tracing::info!(
            info_type = message.info_type(),
            problem = ?message.problem(),
            "other push"
        ),
    }
    Ok(Reply::ack())
}

fn no_secret() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "WECHAT_COMPONENT_SECRET is unset\n",
    )
        .into_response()
}

/// Sends the admin to the authorization page with a fresh `pre_auth_code`.
async fn start(State(component): State<Component>) -> Response {
    let Some(chain) = component.chain else {
        return no_secret();
    };
    match chain.component.pre_auth_code(&chain.client).await {
        Ok(pre) => {
            let back = format!("{}/wechat/component/authorized", component.public_url);
            let url = chain.component.authorization_url(
                &chain.client,
                &pre.pre_auth_code,
                &back,
                Some(3),
            );
            Redirect::to(&url).into_response()
        }
        Err(error) => {
            tracing::warn!(%error, "no pre_auth_code");
            (
                StatusCode::BAD_GATEWAY,
                "the platform refused a pre_auth_code\n",
            )
                .into_response()
        }
    }
}

/// Where the authorization page sends the admin back: exchanges the code.
async fn authorized(
    State(component): State<Component>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(chain) = component.chain else {
        return no_secret();
    };
    let Some(code) = query.get("auth_code").filter(|c| !c.is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            "no auth_code: authorization refused?\n",
        )
            .into_response();
    };
    match chain
        .component
        .exchange_authorization_code(&chain.client, code)
        .await
    {
        Ok(authorizer) => (
            StatusCode::OK,
            format!("authorized by {}\n", authorizer.authorizer_appid()),
        )
            .into_response(),
        Err(error) if error.kind() == ApiErrorKind::InvalidCode => (
            StatusCode::BAD_REQUEST,
            "this authorization code is used or expired\n",
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "authorization code not exchanged");
            (StatusCode::BAD_GATEWAY, "the platform refused the code\n").into_response()
        }
    }
}

/// Whether an `authorizer_access_token` of `appid` can be had now.
async fn authorizer_status(
    State(component): State<Component>,
    Path(appid): Path<String>,
) -> Response {
    let Some(chain) = component.chain else {
        return no_secret();
    };
    let key = chain.component.refresh_token_key(&appid);
    match chain.secrets.get_secret(&key).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            let text = format!("authorizer {appid}: no refresh token stored (not authorized)\n");
            return (StatusCode::NOT_FOUND, text).into_response();
        }
        Err(error) => {
            let text = format!("authorizer {appid}: secret store: {error}\n");
            return (StatusCode::SERVICE_UNAVAILABLE, text).into_response();
        }
    }
    let authorizer = chain.component.authorizer(appid.clone());
    match chain.client.token(&authorizer).await {
        Ok(token) => (
            StatusCode::OK,
            format!(
                "authorizer {appid}: access token ready, expires_in {}\n",
                token.expires_in()
            ),
        )
            .into_response(),
        Err(error) => (
            StatusCode::BAD_GATEWAY,
            format!("authorizer {appid}: {error}\n"),
        )
            .into_response(),
    }
}

/// The component's app: the push route behind the layer, the
/// authorization routes beside it, and the shared state (for tests).
///
/// # Errors
/// Bad settings.
pub(crate) fn app(settings: &Settings) -> Result<(Router, Component), String> {
    let endpoint = Endpoint::open_platform(
        &settings.token,
        &settings.encoding_aes_key,
        &settings.component_appid,
    )
    .map_err(|e| format!("bad component settings: {e}"))?;
    let layer = WeComCallbackLayer::new(PATH, endpoint).map_err(|e| e.to_string())?;

    let tickets: Arc<dyn TicketStore> = Arc::new(MemoryTicketStore::new());
    let chain = match &settings.component_secret {
        Some(secret) => {
            let urls = BaseUrls::default()
                .wechat_api(&*settings.api_base)
                .mp_weixin(&*settings.mp_base);
            let client = Client::builder()
                .urls(urls)
                .build()
                .map_err(|e| format!("API client: {e}"))?;
            let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecretStore::new());
            let component = ComponentCredential::new(
                settings.component_appid.clone(),
                secret.clone(),
                Arc::clone(&tickets),
                Arc::clone(&secrets),
            );
            Some(Chain {
                client,
                component,
                secrets,
            })
        }
        None => {
            tracing::warn!("WECHAT_COMPONENT_SECRET is unset: pushes are stored and logged only");
            None
        }
    };
    let component = Component {
        appid: settings.component_appid.clone(),
        tickets,
        chain,
        public_url: settings.public_url.clone(),
    };
    let pushes = Router::new()
        .route(PATH, post(push))
        .with_state(component.clone())
        .layer(layer);
    let pages = Router::new()
        .route("/wechat/component/start", get(start))
        .route("/wechat/component/authorized", get(authorized))
        .route(
            "/wechat/component/authorizer/{appid}",
            get(authorizer_status),
        )
        .with_state(component.clone());
    Ok((pushes.merge(pages), component))
}

async fn run() -> Result<(), String> {
    let settings =
        Settings::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))?;
    let (app, component) = app(&settings)?;
    serve::listen_and_serve(
        &settings.bind,
        &format!("wecom-callback open platform ({})", component.appid),
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
