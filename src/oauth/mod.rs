//! Web login (网页授权): [`OAuthLayer`] signs browsers in through WeCom
//! (in-app or QR login), an Official Account, or the Open Platform on
//! behalf of an authorizer, and hands the handler a [`SignedInUser`].
//!
//! On every request the layer
//!
//! 1. answers the **callback path** (default `/oauth/callback`, `GET`
//!    only) itself: it checks the `state` (signature, expiry, this
//!    browser's nonce cookie), claims it and the `code` in the single-use
//!    store, swaps the code for an identity through the
//!    [`LoginProvider`], sets the session cookie and sends the browser
//!    back (302) to the page the login started from;
//! 2. answers the **logout path** (default `/oauth/logout`, `POST` from
//!    this site only) itself: it removes the session and nonce cookies and
//!    sends the browser to the site's root (303); see
//!    [`OAuthLayer::logout_path`];
//! 3. with a valid **session cookie**, puts the [`SignedInUser`] into the
//!    request extensions and calls the inner service;
//! 4. without one, sends a **page navigation** (`GET`/`HEAD` accepting
//!    `text/html`) to the vendor's authorize page (302) with a fresh
//!    signed `state`, and answers anything else 401.
//!
//! The authorize URLs end in `#wechat_redirect`, as the vendors require.
//! A browser keeps a URL's fragment through redirects that name none (RFC
//! 9110, 10.2.2), so after an in-app login the page may show
//! `/me#wechat_redirect` (`tests/browser/browser.rs` sees it in Chromium); the
//! fragment never reaches the server, but a client-side hash router sees it.
//!
//! With axum, add it with `Router::layer` (not `route_layer`): the
//! callback path is no route of the app, and `route_layer` only wraps
//! routes that matched.
//!
//! Failures (declined consent, expired or foreign state, a replay, a vendor
//! `errcode`) get a short fixed page with a 4xx status (502/503 when the
//! vendor or the store cannot be reached), an [`OAuthRejection`] in the
//! response extensions and a `tracing` event; never a redirect, so never
//! a loop, and never a 500.
//!
//! # Security
//!
//! * `state` is HMAC-SHA256 signed, expires (10 minutes by default, checked
//!   against the [`Clock`](crate::Clock)), is bound to the browser (a
//!   random nonce in an encrypted cookie is part of the signed data, so a
//!   state made for an attacker's browser fails in the victim's: no login
//!   CSRF) and is single use through a [`DedupStore`](crate::DedupStore)
//!   (shared between instances with Redis). It is base62, `[0-9A-Za-z]`
//!   and at most 128 characters, the vendors' rule (WeChat doc 网页授权).
//! * The return path rides inside the signed state and must be a
//!   same-origin relative path ([`ReturnPath`]): no open redirect.
//! * `redirect_uri` is the configured public URL plus the callback path,
//!   never built from `Host` or `X-Forwarded-*`.
//! * A `code` is exchanged at most once (claimed in the store first).
//! * Cookies are `HttpOnly`, `SameSite=Lax` (the vendor's redirect back is
//!   a cross-site navigation, `Strict` cookies would not come back),
//!   `Secure` with the `__Host-` prefix unless turned off for
//!   `http://127.0.0.1`, encrypted and authenticated (the `cookie` crate's
//!   private jar) with the session's expiry inside. A tampered cookie is no
//!   session.
//! * Codes, tokens, secrets and the cookie key never appear in `Debug` or
//!   logs.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use http::{Request, StatusCode, header};
//! use tower::{ServiceBuilder, ServiceExt};
//! use wecom_callback::dedup::BoxFuture;
//! use wecom_callback::oauth::{
//!     CookieKey, ExchangeError, Flow, Identity, LoginProvider, OAuthLayer, VerifiedCode,
//! };
//!
//! /// A provider that never reaches a vendor (a test double).
//! #[derive(Debug)]
//! struct Offline;
//!
//! impl LoginProvider for Offline {
//!     fn flow_for(&self, _user_agent: Option<&str>) -> Flow { Flow::OfficialAccount }
//!     fn authorize_url(&self, _flow: Flow, redirect_uri: &str, state: &str) -> String {
//!         format!("https://idp.example/authorize?redirect_uri={redirect_uri}&state={state}")
//!     }
//!     fn exchange<'a>(&'a self, _: Flow, _: VerifiedCode) -> BoxFuture<'a, Result<Identity, ExchangeError>> {
//!         unreachable!("no callback in this example")
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let key = CookieKey::generate()?;
//! let layer = OAuthLayer::new(Offline, "https://app.example.com", &key)?;
//! let service = ServiceBuilder::new().layer(layer).service_fn(|_req: Request<String>| async {
//!     Ok::<_, std::convert::Infallible>(http::Response::new(String::from("hello")))
//! });
//!
//! // A page navigation without a session goes to the vendor.
//! let page = Request::get("/me").header(header::ACCEPT, "text/html").body(String::new())?;
//! let response = service.clone().oneshot(page).await?;
//! assert_eq!(response.status(), StatusCode::FOUND);
//! let location = response.headers()[header::LOCATION].to_str()?;
//! assert!(location.starts_with("https://idp.example/authorize?redirect_uri=https://app.example.com/oauth/callback"));
//!
//! // A script's request gets 401, not a redirect.
//! let fetch = Request::get("/api/me").header(header::ACCEPT, "application/json").body(String::new())?;
//! assert_eq!(service.oneshot(fetch).await?.status(), StatusCode::UNAUTHORIZED);
//! # Ok(())
//! # }
//! ```

mod base62;
mod callback;
mod client_api;
mod exchange;
#[cfg(feature = "axum")]
mod extractor;
mod flow;
mod future;
mod identity;
mod layer;
mod rejection;
mod return_path;
mod seams;
mod service;
mod session;
mod state;
mod wechat;
mod wecom;

pub use client_api::ClientToken;
pub use exchange::{ExchangeError, ExchangeErrorKind, LoginProvider, VerifiedCode};
#[cfg(feature = "axum")]
pub use extractor::MissingOAuthLayer;
pub use flow::{Flow, WeChatScope, WeComFlowPolicy, WeComScope};
pub use future::{OAuthBody, ResponseFuture};
pub use identity::{Identity, Profile, SignedInUser};
pub use layer::{CookieKey, OAuthConfigError, OAuthConfigErrorKind, OAuthLayer};
pub use rejection::{OAuthRejection, OAuthRejectionKind};
pub use return_path::ReturnPath;
pub use seams::{AccessTokenSource, VendorApi};
pub use service::OAuth;
pub use state::{BrowserNonce, LoginState, MAX_STATE_LEN, StateError};
pub use wechat::{ComponentLogin, OfficialAccountLogin, SnsTokens};
pub use wecom::WeComLogin;
