//! The middleware service: the callback, the session check, and the start
//! of a login, in that order.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{ACCEPT, ALLOW, CACHE_CONTROL, LOCATION, ORIGIN, SET_COOKIE, USER_AGENT};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower_service::Service;

use super::callback::CallbackQuery;
use super::future::{OAuthBody, ResponseFuture};
use super::identity::SignedInUser;
use super::layer::Config;
use super::rejection::{OAuthRejectionKind, page};
use super::return_path::ReturnPath;
use super::state::{BrowserNonce, LoginState};
use crate::layer::clock::unix_secs;

/// The service made by [`OAuthLayer`](super::OAuthLayer).
#[derive(Debug, Clone)]
pub struct OAuth<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> OAuth<S> {
    pub(crate) fn new(inner: S, config: Arc<Config>) -> Self {
        Self { inner, config }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for OAuth<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
{
    type Response = Response<OAuthBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        if req.uri().path() == config.logout_path {
            return ResponseFuture::answer(logout(config, req.method(), req.headers()));
        }
        let now = unix_secs(&*config.clock);
        let cookies = config.cookies.read(req.headers(), now);
        if req.uri().path() == config.callback_path {
            if req.method() != Method::GET {
                return ResponseFuture::answer(rejected(
                    OAuthRejectionKind::MethodNotAllowed,
                    None,
                ));
            }
            let query = req.uri().query().map(str::to_owned);
            let config = Arc::clone(config);
            return ResponseFuture::callback(Box::pin(async move {
                callback(&config, query.as_deref(), cookies.nonce, now).await
            }));
        }
        if let Some(user) = cookies.user {
            req.extensions_mut().insert(user);
            // Clone and swap: the readied service handles this request.
            let clone = self.inner.clone();
            let mut inner = std::mem::replace(&mut self.inner, clone);
            return ResponseFuture::inner(inner.call(req));
        }
        if !is_navigation(req.method(), req.headers()) {
            return ResponseFuture::answer(rejected(OAuthRejectionKind::NotSignedIn, None));
        }
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let user_agent = req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok());
        ResponseFuture::answer(start_login(config, path, user_agent, cookies.nonce, now))
    }
}

/// The logout path: a same-origin `POST` gets a 303 to the site's root
/// and the removal of both cookies; see
/// [`OAuthLayer::logout_path`](super::OAuthLayer::logout_path).
fn logout(config: &Config, method: &Method, headers: &HeaderMap) -> Response<Full<Bytes>> {
    if method != Method::POST {
        let mut response = rejected(OAuthRejectionKind::MethodNotAllowed, None);
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    if !same_origin(config, headers) {
        return rejected(OAuthRejectionKind::CrossSite, None);
    }
    let Some(mut response) =
        redirect_with(StatusCode::SEE_OTHER, &format!("{}/", config.public_url))
    else {
        return rejected(OAuthRejectionKind::Unavailable, None);
    };
    for removal in config.cookies.removals() {
        response.headers_mut().append(SET_COOKIE, removal);
    }
    #[cfg(feature = "tracing")]
    tracing::info!(target: "wecom_callback::oauth", "signed out");
    response
}

/// Whether a request comes from this site: `Sec-Fetch-Site` is
/// `same-origin` or `none` (typed or bookmarked), or, without it, `Origin`
/// is the public URL's origin; a request with neither (no browser) counts
/// as same-origin. `Origin: null` (a sandboxed or privacy-redirected
/// request) does not.
fn same_origin(config: &Config, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    headers.get(ORIGIN).is_none_or(|origin| {
        origin
            .as_bytes()
            .eq_ignore_ascii_case(config.public_origin().as_bytes())
    })
}

/// A page navigation: `GET`/`HEAD` accepting `text/html`. Anything else
/// (fetch, XHR, API clients, form posts) gets a 401 instead of a redirect.
fn is_navigation(method: &Method, headers: &HeaderMap) -> bool {
    (method == Method::GET || method == Method::HEAD)
        && headers.get_all(ACCEPT).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.to_ascii_lowercase().contains("text/html"))
        })
}

fn rejected(
    kind: OAuthRejectionKind,
    detail: Option<(&super::exchange::ExchangeError, &str)>,
) -> Response<Full<Bytes>> {
    #[cfg(feature = "tracing")]
    {
        let (errcode, errmsg) = match detail {
            Some((error, code)) => {
                let errcode = match error.kind() {
                    super::exchange::ExchangeErrorKind::Vendor(code) => Some(code),
                    _ => None,
                };
                // Scrub the code in case the vendor quoted it.
                let errmsg = error.errmsg().map(|m| {
                    if code.is_empty() {
                        m.to_owned()
                    } else {
                        m.replace(code, "***")
                    }
                });
                (errcode, errmsg)
            }
            None => (None, None),
        };
        let status = kind.status().as_u16();
        if kind.status().is_server_error() {
            tracing::warn!(target: "wecom_callback::oauth", reason = kind.as_str(), status, errcode, errmsg, "web login refused");
        } else {
            tracing::info!(target: "wecom_callback::oauth", reason = kind.as_str(), status, errcode, errmsg, "web login refused");
        }
    }
    #[cfg(not(feature = "tracing"))]
    let _ = detail;
    page(kind)
}

fn redirect(location: &str) -> Option<Response<Full<Bytes>>> {
    redirect_with(StatusCode::FOUND, location)
}

fn redirect_with(status: StatusCode, location: &str) -> Option<Response<Full<Bytes>>> {
    let mut response = Response::new(Full::default());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(LOCATION, HeaderValue::from_str(location).ok()?);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Some(response)
}

/// 302 to the vendor's page with a fresh signed `state`, and the nonce
/// cookie it is bound to (this browser's, if it has a valid one, so that
/// logins started in two tabs both finish).
fn start_login(
    config: &Config,
    path_and_query: &str,
    user_agent: Option<&str>,
    nonce: Option<BrowserNonce>,
    now: u64,
) -> Response<Full<Bytes>> {
    let nonce = match nonce {
        Some(nonce) => nonce,
        None => {
            let mut bytes = [0u8; 16];
            if config.random.fill(&mut bytes).is_err() {
                return rejected(OAuthRejectionKind::Unavailable, None);
            }
            BrowserNonce(bytes)
        }
    };
    let mut salt = [0u8; 4];
    if config.random.fill(&mut salt).is_err() {
        return rejected(OAuthRejectionKind::Unavailable, None);
    }
    let flow = config.provider.flow_for(user_agent);
    let login = LoginState {
        flow,
        issued_at: now,
        return_path: ReturnPath::for_request(path_and_query),
    };
    let state = config.signer.seal(&login, salt, &nonce);
    let url = config
        .provider
        .authorize_url(flow, &config.redirect_uri(), &state);
    let (Some(mut response), Some(cookie)) = (redirect(&url), config.cookies.nonce(&nonce)) else {
        return rejected(OAuthRejectionKind::Unavailable, None);
    };
    response.headers_mut().append(SET_COOKIE, cookie);
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "wecom_callback::oauth", flow = flow.as_str(), "web login started");
    response
}

/// The callback: verify, claim, exchange, then the session cookie and a
/// 302 back to the page the login started from.
async fn callback(
    config: &Config,
    query: Option<&str>,
    nonce: Option<BrowserNonce>,
    now: u64,
) -> Response<Full<Bytes>> {
    let verified = CallbackQuery::parse(query)
        .and_then(|q| q.verify(&config.signer, nonce.as_ref(), now, config.state_ttl));
    let fresh = match verified {
        Ok(verified) => verified.claim(&*config.store, config.state_ttl).await,
        Err(kind) => Err(kind),
    };
    let fresh = match fresh {
        Ok(fresh) => fresh,
        Err(kind) => return rejected(kind, None),
    };
    let flow = fresh.state.flow;
    let code_copy = fresh.code.secret().to_owned();
    let identity = match config.provider.exchange(flow, fresh.code).await {
        Ok(identity) => identity,
        Err(error) => {
            return rejected(
                OAuthRejectionKind::Exchange(error.kind()),
                Some((&error, &code_copy)),
            );
        }
    };
    let expires_at = now.saturating_add(config.cookies.session_ttl_secs);
    let user: SignedInUser = identity.into_user(flow, expires_at);
    if user.id().is_empty() {
        return rejected(
            OAuthRejectionKind::Exchange(super::exchange::ExchangeErrorKind::NoIdentity),
            None,
        );
    }
    // The nonce cookie stays (until its Max-Age): a login started in
    // another tab of this browser can still finish.
    let (Some(mut response), Some(session)) = (
        redirect(fresh.state.return_path.as_str()),
        config.cookies.session(&user, now),
    ) else {
        return rejected(OAuthRejectionKind::Unavailable, None);
    };
    response.headers_mut().append(SET_COOKIE, session);
    #[cfg(feature = "tracing")]
    tracing::info!(target: "wecom_callback::oauth", flow = flow.as_str(), app = user.app_id(), "signed in");
    response
}
