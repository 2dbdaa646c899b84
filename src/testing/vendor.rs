//! An offline stand-in of the vendor API (feature `vendor-standin`): a real
//! HTTP server on `127.0.0.1` that plays the WeCom, Official Account and
//! Open Platform endpoints a credentials client and a web login call, so
//! that tests run with no network and no real app.
//!
//! One server answers every host's paths: point every base URL
//! (`https://qyapi.weixin.qq.com`, `https://api.weixin.qq.com`,
//! `https://open.weixin.qq.com`, `https://login.work.weixin.qq.com`,
//! `https://mp.weixin.qq.com`, `https://open.work.weixin.qq.com`) at
//! [`VendorStandIn::base_url`]. The endpoints are listed in
//! [`VendorEndpoint`], each with the vendor document it follows.
//!
//! What it checks, as the vendor does (`tests/data/vendor-api.md` of the
//! repository,
//! the documents 获取access_token, 获取第三方应用凭证, 获取Access token,
//! 获取稳定版接口调用凭据, 网页授权, 获取令牌, 使用授权码获取授权信息,
//! 获取/刷新接口调用令牌):
//!
//! * **Credentials.** An unknown corp id or appid answers `40013` (an
//!   unknown `component_appid` `61011`, as 获取令牌 lists), a wrong secret
//!   `40001`. A `suite_ticket` other than the one registered with
//!   [`set_suite_ticket`](VendorStandIn::set_suite_ticket) answers `40085`;
//!   a `component_verify_ticket` other than the registered one `61006`.
//! * **Tokens.** Every token carries the configured `expires_in`
//!   ([`VendorConfig::expires_in`]). `gettoken`, `get_suite_token`,
//!   `get_corp_token`, `api_component_token` and `stable_token` (without
//!   `force_refresh`) give back the same token while it is valid; the
//!   Official Account `cgi-bin/token` issues a new one on every call and
//!   kills the previous one after [`VendorConfig::token_grace`]. Every
//!   call that takes a token checks it: unknown `40014`, expired `42001`,
//!   killed (superseded) `40001`; a `suite_access_token` answers `40082`
//!   (unknown) or `42009` (expired).
//! * **Codes.** The browser pages consent at once (302 to
//!   `redirect_uri?code=…&state=…`, or `?auth_code=…&expires_in=…` for the
//!   install and authorization pages) with a fresh code bound to the app
//!   and to the [`VendorUser`] configured at that moment. A code is single
//!   use and lives [`VendorConfig::code_lifetime`] (300 s by default): a
//!   second or late exchange answers `40029` (the Official Account's
//!   `sns/oauth2/access_token` answers `40163` "code been used" for a
//!   second exchange, as the vendor does).
//! * **Open Platform refresh tokens.** `api_authorizer_token` with an
//!   unknown or superseded `authorizer_refresh_token` answers `61023`;
//!   [`VendorConfig::rotate_authorizer_refresh_token`] makes it hand out a
//!   new one each time.
//!
//! What it lets a test see and do: per-endpoint counters
//! ([`calls`](VendorStandIn::calls), [`issued`](VendorStandIn::issued)),
//! the bodies sent to `message/send`
//! ([`sent_messages`](VendorStandIn::sent_messages)), faults queued per
//! endpoint ([`inject`](VendorStandIn::inject) a [`Fault`]: an `errcode`
//! such as `40001`, `42001`, `45009` or `-1`, an HTTP 5xx, a delay, a
//! malformed JSON body), and tokens expired or killed at will.
//!
//! Errors answer HTTP 200 with `{"errcode":…,"errmsg":"…, hint: [...]"}` as
//! the vendor does; only an injected [`Fault::Status`] changes the status.
//! A POST endpoint called with GET answers `43002`, an empty body `44002`,
//! a body that is not JSON `47001`. Secrets, tokens and codes never appear
//! in the `Debug` of the configuration or the handle.
//!
//! # Example
//! ```
//! use http_body_util::{BodyExt, Empty};
//! use hyper::body::Bytes;
//! use wecom_callback::testing::vendor::{Fault, VendorConfig, VendorEndpoint, VendorStandIn};
//!
//! /// GET `url` with a plain hyper connection; the answer's JSON.
//! async fn get(url: &str) -> serde_json::Value {
//!     let uri: hyper::Uri = url.parse().unwrap();
//!     let address = format!("{}:{}", uri.host().unwrap(), uri.port_u16().unwrap());
//!     let stream = tokio::net::TcpStream::connect(address).await.unwrap();
//!     let io = hyper_util::rt::TokioIo::new(stream);
//!     let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.unwrap();
//!     tokio::spawn(connection);
//!     let request = hyper::Request::get(uri).body(Empty::<Bytes>::new()).unwrap();
//!     let response = sender.send_request(request).await.unwrap();
//!     let body = response.into_body().collect().await.unwrap().to_bytes();
//!     serde_json::from_slice(&body).unwrap()
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let vendor = VendorStandIn::start(
//!     VendorConfig::new().wecom_app("wwcorp", 1000002, "corp-secret").expires_in(60),
//! )
//! .await?;
//! // A client under test would get `vendor.base_url()` as its WECOM_API_BASE.
//! let fetch = vendor.url("/cgi-bin/gettoken?corpid=wwcorp&corpsecret=corp-secret");
//!
//! let first = get(&fetch).await;
//! assert_eq!(first["errcode"], 0);
//! assert_eq!(first["expires_in"], 60);
//! // gettoken gives back the same token while it is valid.
//! assert_eq!(get(&fetch).await["access_token"], first["access_token"]);
//!
//! // A wrong secret, then an injected quota error.
//! let wrong = get(&vendor.url("/cgi-bin/gettoken?corpid=wwcorp&corpsecret=nope")).await;
//! assert_eq!(wrong["errcode"], 40001);
//! vendor.inject(VendorEndpoint::GetToken, Fault::QUOTA);
//! assert_eq!(get(&fetch).await["errcode"], 45009);
//!
//! assert_eq!(vendor.calls(VendorEndpoint::GetToken), 4);
//! assert_eq!(vendor.issued(VendorEndpoint::GetToken), 2);
//! vendor.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![cfg(feature = "vendor-standin")]

mod config;
mod endpoint;
mod server;
mod state;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use config::{Consent, VendorConfig, VendorUser};
pub use endpoint::{Fault, VendorEndpoint};

use server::Shared;
use state::Vendor;

/// A running stand-in of the vendor API on `127.0.0.1:<free port>`.
///
/// Made by [`start`](Self::start); stops on [`shutdown`](Self::shutdown)
/// or when dropped (it then stops accepting connections and closes idle
/// ones). Its methods change or read the stand-in's state while it runs.
/// Its `Debug` shows the address only.
pub struct VendorStandIn {
    base_url: String,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for VendorStandIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VendorStandIn")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl VendorStandIn {
    /// Binds `127.0.0.1:0` and serves the vendor endpoints on a Tokio task.
    ///
    /// # Errors
    /// The I/O error of binding the loopback socket.
    ///
    /// # Panics
    /// Outside a Tokio runtime (it spawns its server task).
    pub async fn start(config: VendorConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let local_addr = listener.local_addr()?;
        let shared = Shared::new(Vendor::new(config));
        let (stop, stopped) = oneshot::channel::<()>();
        let app = server::router(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                // A dropped sender stops the server as well.
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing_warn(&error);
            }
        });
        Ok(Self {
            base_url: format!("http://{local_addr}"),
            local_addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:<port>`, with no trailing slash: the base URL of
    /// every vendor host.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The base URL followed by `path_and_query` (which starts with `/`).
    #[must_use]
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base_url)
    }

    /// The socket address the stand-in listens on.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Registers the newest `suite_ticket` of `suite_id`, as WeCom's push
    /// does: `get_suite_token` accepts only this one from now on (another
    /// answers `40085`).
    pub fn set_suite_ticket(&self, suite_id: &str, suite_ticket: &str) {
        self.shared.lock().set_suite_ticket(suite_id, suite_ticket);
    }

    /// Registers the newest `component_verify_ticket` of `component_appid`:
    /// `api_component_token` accepts only this one (another answers `61006`).
    pub fn set_component_verify_ticket(&self, component_appid: &str, ticket: &str) {
        self.shared
            .lock()
            .set_component_verify_ticket(component_appid, ticket);
    }

    /// The user who consents on the web-login pages from now on; codes
    /// already issued keep the user they were issued for.
    pub fn set_user(&self, user: VendorUser) {
        self.shared.lock().set_user(user);
    }

    /// Whether the web-login pages grant or refuse from now on.
    pub fn set_consent(&self, consent: Consent) {
        self.shared.lock().set_consent(consent);
    }

    /// The `expires_in` (seconds) of tokens that `endpoint` issues from now on.
    pub fn set_expires_in(&self, endpoint: VendorEndpoint, seconds: u64) {
        self.shared.lock().set_expires_in(endpoint, seconds);
    }

    /// How many requests reached `endpoint`, answered or faulted, since the
    /// start or the last [`reset_counts`](Self::reset_counts).
    #[must_use]
    pub fn calls(&self, endpoint: VendorEndpoint) -> u64 {
        self.shared.lock().calls(endpoint)
    }

    /// How many of those calls succeeded (`errcode` 0 or absent; for a page,
    /// a redirect carrying a code). For a token endpoint that gives back the
    /// live token, a repeated fetch counts again: this counts fetches that
    /// worked, not distinct tokens.
    #[must_use]
    pub fn issued(&self, endpoint: VendorEndpoint) -> u64 {
        self.shared.lock().issued(endpoint)
    }

    /// Sets every counter back to zero.
    pub fn reset_counts(&self) {
        self.shared.lock().reset_counts();
    }

    /// The next call of `endpoint` gets `fault` instead of its answer (for
    /// [`Fault::Delay`], before its answer). Faults queue up in order.
    pub fn inject(&self, endpoint: VendorEndpoint, fault: Fault) {
        self.inject_n(endpoint, fault, 1);
    }

    /// The next `times` calls of `endpoint` get `fault`.
    pub fn inject_n(&self, endpoint: VendorEndpoint, fault: Fault, times: usize) {
        self.shared.lock().inject(endpoint, fault, times);
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.shared.lock().clear_faults();
    }

    /// The JSON bodies that `message/send` accepted, in order.
    #[must_use]
    pub fn sent_messages(&self) -> Vec<Value> {
        self.shared.lock().sent_messages()
    }

    /// Every token issued so far expires now: the next call with one
    /// answers `42001` (`42009` for a `suite_access_token`), and the next
    /// fetch issues a new one.
    pub fn expire_tokens(&self) {
        self.shared.lock().expire_tokens(Instant::now());
    }

    /// `token` answers `40001` from now on (as a token superseded by a newer
    /// fetch does). False when the stand-in never issued it.
    pub fn kill_token(&self, token: &str) -> bool {
        self.shared.lock().kill_token(token, Instant::now())
    }

    /// A fresh `auth_code` for `suite_id` installed by the installing corp
    /// ([`VendorConfig::installing_corp`]), as a `create_auth` push carries
    /// it (`AuthCode`), for `get_permanent_code`. Valid 1200 s, single use.
    #[must_use]
    pub fn issue_suite_auth_code(&self, suite_id: &str) -> String {
        self.shared
            .lock()
            .issue_suite_auth_code(suite_id, Instant::now())
    }

    /// A fresh `authorization_code` of the configured authorizer
    /// ([`VendorConfig::authorizer`]) for `component_appid`, as an
    /// `authorized` push carries it (`AuthorizationCode`), for
    /// `api_query_auth`. Valid 600 s, single use.
    #[must_use]
    pub fn issue_authorization_code(&self, component_appid: &str) -> String {
        self.shared
            .lock()
            .issue_authorization_code(component_appid, Instant::now())
    }

    /// A `permanent_code` that `get_corp_token` accepts for `corpid` under
    /// `suite_id`, as if the corp had installed the suite earlier (a
    /// durable secret that a test restores).
    #[must_use]
    pub fn grant_permanent_code(&self, suite_id: &str, corpid: &str) -> String {
        self.shared.lock().grant_permanent_code(suite_id, corpid)
    }

    /// An `authorizer_refresh_token` that `api_authorizer_token` accepts
    /// for `authorizer_appid` under `component_appid`, as if it had been
    /// authorized earlier.
    #[must_use]
    pub fn grant_authorizer_refresh_token(
        &self,
        component_appid: &str,
        authorizer_appid: &str,
    ) -> String {
        self.shared
            .lock()
            .grant_authorizer_refresh_token(component_appid, authorizer_appid)
    }

    /// Stops accepting connections, lets open ones finish their request,
    /// and waits (at most 5 s) for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for VendorStandIn {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(feature = "tracing")]
fn tracing_warn(error: &std::io::Error) {
    tracing::warn!(%error, "vendor stand-in: server stopped with an error");
}

#[cfg(not(feature = "tracing"))]
fn tracing_warn(_error: &std::io::Error) {}
