//! The crate's API [`Client`] behind the login flows: it is a
//! [`VendorApi`] (its transport, timeout and body limit), and
//! [`ClientToken`] serves a credential's cached access token.

use std::fmt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::Full;
use serde_json::Value;

use super::exchange::{ExchangeError, ExchangeErrorKind};
use super::seams::{AccessTokenSource, VendorApi};
use super::wechat::OfficialAccountLogin;
use super::wecom::WeComLogin;
use crate::client::{
    AccessToken, ApiError, ApiErrorKind, Client, ComponentCredential, CorpCredential, Credential,
};
use crate::dedup::BoxFuture;

fn from_api(error: &ApiError) -> ExchangeError {
    match error.kind() {
        ApiErrorKind::Transport | ApiErrorKind::HttpStatus(_) => {
            ExchangeError::new(ExchangeErrorKind::Transport)
        }
        ApiErrorKind::MalformedResponse => ExchangeError::new(ExchangeErrorKind::MalformedResponse),
        kind => match kind.code() {
            Some(code) => ExchangeError::vendor(code, error.errmsg().unwrap_or_default()),
            None => ExchangeError::new(ExchangeErrorKind::Credential),
        },
    }
}

async fn call_json(
    client: &Client,
    method: Method,
    url: String,
    body: Option<Value>,
) -> Result<Value, ExchangeError> {
    let transport = || ExchangeError::new(ExchangeErrorKind::Transport);
    let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
    let request = Request::builder()
        .method(method)
        .uri(url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(body))
        .map_err(|_| transport())?;
    let response = client
        .transport()
        .send(request)
        .await
        .map_err(|e| from_api(&e))?;
    if !response.status().is_success() {
        return Err(transport());
    }
    serde_json::from_slice(response.body())
        .map_err(|_| ExchangeError::new(ExchangeErrorKind::MalformedResponse))
}

/// The client's transport (with its timeout and body limit) sends the
/// login calls.
impl VendorApi for Client {
    fn get_json<'a>(&'a self, url: String) -> BoxFuture<'a, Result<Value, ExchangeError>> {
        Box::pin(call_json(self, Method::GET, url, None))
    }

    fn post_json<'a>(
        &'a self,
        url: String,
        body: Value,
    ) -> BoxFuture<'a, Result<Value, ExchangeError>> {
        Box::pin(call_json(self, Method::POST, url, Some(body)))
    }
}

/// A credential's access token from the client's cache (one fetch for
/// every concurrent caller and, with a shared token store, every
/// instance). When the vendor rejects it, the exact token is dropped from
/// the cache ([`Client::invalidate`]) and the login retries once.
#[derive(Clone)]
pub struct ClientToken {
    client: Client,
    credential: Arc<dyn Credential>,
    last: Arc<Mutex<Option<AccessToken>>>,
}

impl fmt::Debug for ClientToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientToken")
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

impl ClientToken {
    /// The token of `credential` (corp `access_token` for WeCom logins,
    /// `component_access_token` for logins on behalf of an authorizer).
    #[must_use]
    pub fn new(client: &Client, credential: &dyn Credential) -> Self {
        Self {
            client: client.clone(),
            credential: credential.shared(),
            last: Arc::new(Mutex::new(None)),
        }
    }
}

impl AccessTokenSource for ClientToken {
    fn access_token(&self) -> BoxFuture<'_, Result<String, ExchangeError>> {
        Box::pin(async move {
            let token =
                self.client
                    .token(&*self.credential)
                    .await
                    .map_err(|e| match e.kind().code() {
                        Some(_) => from_api(&e),
                        None => ExchangeError::new(ExchangeErrorKind::Credential),
                    })?;
            let text = token.secret().to_owned();
            if let Ok(mut last) = self.last.lock() {
                *last = Some(token);
            }
            Ok(text)
        })
    }

    fn rejected<'a>(&'a self, token: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let last = self.last.lock().ok().and_then(|l| l.clone());
            match last {
                Some(last) if last.secret() == token => {
                    self.client.invalidate(&*self.credential, &last).await
                }
                _ => false,
            }
        })
    }
}

impl WeComLogin {
    /// The login of app `agent_id` of `corp`, through `client`: its
    /// transport, its cached corp `access_token`, and its base URLs
    /// (`open_weixin` for the in-app page, `wecom_login` for the QR page,
    /// `wecom_api` for the calls).
    pub fn from_client(
        client: &Client,
        corp: &CorpCredential,
        agent_id: impl fmt::Display,
    ) -> Self {
        let urls = client.urls();
        Self::new(
            corp.corpid(),
            agent_id,
            Arc::new(client.clone()),
            Arc::new(ClientToken::new(client, corp)),
        )
        .oauth_base(urls.open_weixin_base())
        .sso_base(urls.wecom_login_base())
        .api_base(urls.wecom_api_base())
    }
}

impl OfficialAccountLogin {
    /// The login of the Official Account `appid` with its `secret`, through
    /// `client` (transport and base URLs: `open_weixin`, `wechat_api`).
    pub fn from_client(
        client: &Client,
        appid: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        let urls = client.urls();
        Self::new(appid, secret, Arc::new(client.clone()))
            .oauth_base(urls.open_weixin_base())
            .api_base(urls.wechat_api_base())
    }

    /// The login of the authorizer `appid`, started by `component`, through
    /// `client` and its cached `component_access_token`.
    pub fn on_behalf_from_client(
        client: &Client,
        appid: impl Into<String>,
        component: &ComponentCredential,
    ) -> Self {
        let urls = client.urls();
        Self::on_behalf(
            appid,
            component.component_appid(),
            Arc::new(ClientToken::new(client, component)),
            Arc::new(client.clone()),
        )
        .oauth_base(urls.open_weixin_base())
        .api_base(urls.wechat_api_base())
    }
}
