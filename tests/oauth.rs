//! Web login's security points (issue #21, item 2), each against the layer
//! in process: a test identity provider stands in for the vendor's pages
//! and API, and a small cookie-keeping "browser" follows the dance. The
//! whole dance over HTTP against the vendor stand-in is in
//! `tests/oauth_standin.rs`; in a real browser in `tests/browser/browser.rs`.
#![cfg(all(feature = "oauth", feature = "axum"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "common/logs.rs"]
mod logs;

use logs::Captured;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;
use wecom_callback::Clock;
use wecom_callback::dedup::{BoxFuture, DedupStore, MemoryDedupStore};
use wecom_callback::oauth::{
    CookieKey, ExchangeError, ExchangeErrorKind, Flow, Identity, LoginProvider, OAuthLayer,
    OAuthRejection, OAuthRejectionKind, Profile, SignedInUser, StateError, VerifiedCode,
};

const PUBLIC_URL: &str = "https://app.example.com";
const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\
                       202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
const T0: u64 = 1_796_000_000;
const HTML: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// A clock the test moves.
#[derive(Debug, Clone)]
struct TestClock(Arc<AtomicU64>);

impl TestClock {
    fn at(secs: u64) -> Self {
        Self(Arc::new(AtomicU64::new(secs)))
    }
    fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0.load(Ordering::SeqCst))
    }
}

/// The identity provider: its authorize page is `https://idp.test/authorize`
/// and it names whoever brings a code `zhangsan`, or fails as told.
#[derive(Debug, Clone, Default)]
struct TestIdp {
    exchanged: Arc<Mutex<Vec<String>>>,
    flows: Arc<Mutex<Vec<Flow>>>,
    fail_with: Arc<Mutex<Option<ExchangeError>>>,
}

impl LoginProvider for TestIdp {
    fn flow_for(&self, user_agent: Option<&str>) -> Flow {
        wecom_callback::oauth::WeComFlowPolicy::ByUserAgent.choose(user_agent)
    }

    fn authorize_url(&self, flow: Flow, redirect_uri: &str, state: &str) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state)
            .append_pair("flow", flow.as_str())
            .finish();
        format!("https://idp.test/authorize?{query}")
    }

    fn exchange<'a>(
        &'a self,
        flow: Flow,
        code: VerifiedCode,
    ) -> BoxFuture<'a, Result<Identity, ExchangeError>> {
        Box::pin(async move {
            self.flows.lock().unwrap().push(flow);
            self.exchanged
                .lock()
                .unwrap()
                .push(code.secret().to_owned());
            if let Some(error) = self.fail_with.lock().unwrap().clone() {
                return Err(error);
            }
            Ok(Identity {
                app_id: "wwcorp".into(),
                user_id: Some("zhangsan".into()),
                open_id: None,
                union_id: None,
                profile: Profile::default(),
            })
        })
    }
}

impl TestIdp {
    fn exchanges(&self) -> Vec<String> {
        self.exchanged.lock().unwrap().clone()
    }
}

fn key() -> CookieKey {
    CookieKey::from_hex(KEY_HEX).unwrap()
}

fn layer(idp: &TestIdp, clock: &TestClock, store: Arc<dyn DedupStore>) -> OAuthLayer {
    OAuthLayer::new(idp.clone(), PUBLIC_URL, &key())
        .unwrap()
        .clock(clock.clone())
        .store(store)
}

fn app(layer: OAuthLayer) -> Router {
    Router::new()
        .route(
            "/",
            get(|user: SignedInUser| async move { format!("home of {}", user.id()) }),
        )
        .route(
            "/me",
            get(|user: SignedInUser| async move { format!("hello {}", user.id()) }),
        )
        .route(
            "/api/me",
            get(|user: SignedInUser| async move { user.id().to_owned() })
                .post(|| async { "posted" }),
        )
        .fallback(|user: SignedInUser| async move {
            (StatusCode::NOT_FOUND, format!("no page for {}", user.id()))
        })
        .layer(layer)
}

/// A browser reduced to what the layer relies on: it keeps cookies (by
/// name; one site) and sends them back.
#[derive(Debug, Default, Clone)]
struct Browser {
    cookies: BTreeMap<String, String>,
    user_agent: Option<String>,
}

impl Browser {
    fn request(&self, method: Method, uri: &str, accept: Option<&str>) -> Request<Body> {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(accept) = accept {
            builder = builder.header(header::ACCEPT, accept);
        }
        if let Some(ua) = &self.user_agent {
            builder = builder.header(header::USER_AGENT, ua);
        }
        if !self.cookies.is_empty() {
            let line = self
                .cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            builder = builder.header(header::COOKIE, line);
        }
        builder.body(Body::empty()).unwrap()
    }

    async fn send(&mut self, app: &Router, req: Request<Body>) -> Response<Body> {
        let response = app.clone().oneshot(req).await.unwrap();
        for set in response.headers().get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        response
    }

    async fn navigate(&mut self, app: &Router, uri: &str) -> Response<Body> {
        let req = self.request(Method::GET, uri, Some(HTML));
        self.send(app, req).await
    }
}

fn location(response: &Response<Body>) -> String {
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

/// The query parameters of a URL.
fn params(url: &str) -> BTreeMap<String, String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let query = query.split('#').next().unwrap();
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

async fn text(response: Response<Body>) -> String {
    String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap()
}

fn kind(response: &Response<Body>) -> Option<OAuthRejectionKind> {
    response
        .extensions()
        .get::<OAuthRejection>()
        .map(OAuthRejection::kind)
}

/// Starts a login at `path`; returns the `state` the vendor would get.
async fn start(browser: &mut Browser, app: &Router, path: &str) -> String {
    let response = browser.navigate(app, path).await;
    assert_eq!(response.status(), StatusCode::FOUND, "{path}");
    let url = location(&response);
    assert!(url.starts_with("https://idp.test/authorize?"), "{url}");
    params(&url)["state"].clone()
}

fn callback_uri(code: &str, state: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("code", code)
        .append_pair("state", state)
        .finish();
    format!("/oauth/callback?{query}")
}

/// Signs `browser` in: a login started at `/me`, the vendor's callback
/// with `code` followed (a 302 back to `/me`).
async fn sign_in(browser: &mut Browser, app: &Router, code: &str) {
    let state = start(browser, app, "/me").await;
    let response = browser.navigate(app, &callback_uri(code, &state)).await;
    assert_eq!(response.status(), StatusCode::FOUND, "{code}");
    assert_eq!(location(&response), "/me", "{code}");
}

struct Site {
    idp: TestIdp,
    clock: TestClock,
    app: Router,
}

fn site() -> Site {
    let idp = TestIdp::default();
    let clock = TestClock::at(T0);
    let app = app(layer(&idp, &clock, Arc::new(MemoryDedupStore::new())));
    Site { idp, clock, app }
}

#[tokio::test]
async fn whole_dance_then_signed_in() {
    let site = site();
    let mut browser = Browser::default();
    let state = start(&mut browser, &site.app, "/me?tab=%E4%BD%A0%E5%A5%BD").await;
    let response = browser
        .navigate(&site.app, &callback_uri("CODE-1", &state))
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "/me?tab=%E4%BD%A0%E5%A5%BD");
    let response = browser.navigate(&site.app, "/me").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(response).await, "hello zhangsan");
    // Scripts of a signed-in browser are served too.
    let req = browser.request(Method::GET, "/api/me", Some("application/json"));
    assert_eq!(text(browser.send(&site.app, req).await).await, "zhangsan");
    assert_eq!(site.idp.exchanges(), ["CODE-1"]);
}

/// `state` is signed: any change to it, or a state made up, is refused
/// before the code is exchanged.
#[tokio::test]
async fn forged_or_altered_state_is_refused() {
    let site = site();
    let mut browser = Browser::default();
    let state = start(&mut browser, &site.app, "/me").await;
    let mut altered = state.clone().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'a' { b'b' } else { b'a' };
    let altered = String::from_utf8(altered).unwrap();
    for forged in [altered.as_str(), "STATE", "0", &"A".repeat(128)] {
        let response = browser
            .navigate(&site.app, &callback_uri("CODE-F", forged))
            .await;
        assert!(
            matches!(
                response.status(),
                StatusCode::FORBIDDEN | StatusCode::BAD_REQUEST
            ),
            "{forged}: {}",
            response.status()
        );
        assert!(matches!(
            kind(&response),
            Some(OAuthRejectionKind::State(_))
        ));
        assert!(response.headers().get(header::LOCATION).is_none());
    }
    assert!(site.idp.exchanges().is_empty());
}

/// `state` expires after 10 minutes by default.
#[tokio::test]
async fn expired_state_is_refused_with_a_page() {
    let site = site();
    let mut browser = Browser::default();
    let state = start(&mut browser, &site.app, "/me").await;
    site.clock.advance(600);
    let response = browser
        .navigate(&site.app, &callback_uri("CODE-E", &state))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        kind(&response),
        Some(OAuthRejectionKind::State(StateError::Expired))
    );
    assert!(response.headers().get(header::LOCATION).is_none());
    assert!(text(response).await.contains("expired"));
    assert!(site.idp.exchanges().is_empty());
    // 599 s is still fine.
    let state = start(&mut browser, &site.app, "/me").await;
    site.clock.advance(599);
    let response = browser
        .navigate(&site.app, &callback_uri("CODE-E2", &state))
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
}

/// Login CSRF: an attacker's own `code` and `state`, delivered to a victim's
/// browser, do not sign the victim in: the state is bound to the nonce
/// cookie of the browser that started the login.
#[tokio::test]
async fn state_is_bound_to_the_browser() {
    let site = site();
    let mut attacker = Browser::default();
    let state = start(&mut attacker, &site.app, "/me").await;
    // The victim has no nonce cookie at all, or one of its own.
    let mut victim = Browser::default();
    let response = victim
        .navigate(&site.app, &callback_uri("ATTACKER-CODE", &state))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        kind(&response),
        Some(OAuthRejectionKind::State(StateError::BadSignature))
    );
    let _ = start(&mut victim, &site.app, "/").await;
    let response = victim
        .navigate(&site.app, &callback_uri("ATTACKER-CODE", &state))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(victim.cookies.keys().all(|n| !n.contains("session")));
    assert!(site.idp.exchanges().is_empty());
}

/// Single use, and across instances: two instances sharing one store
/// accept a state once between them. (The same with Redis is in
/// `single_use_across_instances_through_redis`.)
#[tokio::test]
async fn state_is_single_use_across_instances() {
    let idp = TestIdp::default();
    let clock = TestClock::at(T0);
    let shared: Arc<dyn DedupStore> = Arc::new(MemoryDedupStore::new());
    let a = app(layer(&idp, &clock, Arc::clone(&shared)));
    let b = app(layer(&idp, &clock, Arc::clone(&shared)));
    single_use_between(&idp, &a, &b).await;
}

async fn single_use_between(idp: &TestIdp, a: &Router, b: &Router) {
    let mut browser = Browser::default();
    let state = start(&mut browser, a, "/me").await;
    let uri = callback_uri("CODE-S", &state);
    let mut replay = browser.clone();
    assert_eq!(browser.navigate(a, &uri).await.status(), StatusCode::FOUND);
    for instance in [a, b] {
        let response = replay.navigate(instance, &uri).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(kind(&response), Some(OAuthRejectionKind::Replayed));
    }
    // A code is exchanged at most once: the same code under a fresh state
    // (a reload after a new login started) is refused too.
    let state = start(&mut replay, b, "/me").await;
    let response = replay.navigate(b, &callback_uri("CODE-S", &state)).await;
    assert_eq!(kind(&response), Some(OAuthRejectionKind::Replayed));
    assert_eq!(idp.exchanges(), ["CODE-S"]);
}

#[tokio::test]
#[ignore = "needs REDIS_URL"]
async fn single_use_across_instances_through_redis() {
    #[cfg(feature = "redis")]
    {
        let url = std::env::var("REDIS_URL").expect("REDIS_URL");
        use wecom_callback::dedup::{RedisConnection, RedisDedupStore};
        let idp = TestIdp::default();
        let clock = TestClock::at(T0);
        let prefix = format!("oauth-test-{}-{}:", std::process::id(), T0);
        // Two connections: two instances.
        let store_a =
            RedisDedupStore::new(RedisConnection::open(&url).unwrap()).key_prefix(&prefix);
        let store_b =
            RedisDedupStore::new(RedisConnection::open(&url).unwrap()).key_prefix(&prefix);
        let a = app(layer(&idp, &clock, Arc::new(store_a)));
        let b = app(layer(&idp, &clock, Arc::new(store_b)));
        single_use_between(&idp, &a, &b).await;
    }
    #[cfg(not(feature = "redis"))]
    panic!("build with --features redis");
}

/// `state` is `[A-Za-z0-9]`, at most 128 bytes, whatever the page.
#[tokio::test]
async fn state_alphabet_and_length() {
    let site = site();
    let long = format!("/{}?{}", "p".repeat(60), "q=1&".repeat(40));
    for path in [
        "/",
        "/me",
        "/a/b/c?d=%2F%2Fevil&e=你好",
        long.as_str(),
        "/x?tab=%E4%BD%A0",
    ] {
        let mut browser = Browser::default();
        let uri = path.replace("你好", "%E4%BD%A0%E5%A5%BD");
        let state = start(&mut browser, &site.app, &uri).await;
        assert!(
            !state.is_empty() && state.len() <= 128,
            "{} bytes",
            state.len()
        );
        assert!(state.bytes().all(|b| b.is_ascii_alphanumeric()), "{state}");
    }
}

/// The return path rides in the signed state and is same-origin only: a
/// login started from `//evil.example` returns to `/`.
#[tokio::test]
async fn no_open_redirect() {
    let site = site();
    for (start_at, back_to) in [
        ("//evil.example/me", "/"),
        (
            "/me?next=https://evil.example",
            "/me?next=https://evil.example",
        ),
    ] {
        let mut browser = Browser::default();
        let req = browser.request(Method::GET, start_at, Some(HTML));
        let response = browser.send(&site.app, req).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{start_at}");
        let state = params(&location(&response))["state"].clone();
        let response = browser
            .navigate(&site.app, &callback_uri(&format!("C{start_at}"), &state))
            .await;
        assert_eq!(location(&response), back_to);
    }
}

/// The return path is whatever the signed state says; nobody but the key
/// holder can make one, so evil paths reach the redirect only through
/// `ReturnPath`, whose checks are unit-tested in `return_path.rs`; here the
/// layer's own choice for a long path: the root.
#[tokio::test]
async fn too_long_return_path_falls_back() {
    let site = site();
    let mut browser = Browser::default();
    let long = format!("/me?{}", "x".repeat(200));
    let state = start(&mut browser, &site.app, &long).await;
    let response = browser
        .navigate(&site.app, &callback_uri("CODE-L", &state))
        .await;
    assert_eq!(location(&response), "/me");
}

/// `redirect_uri` is the configured public URL, whatever `Host` and
/// `X-Forwarded-*` say.
#[tokio::test]
async fn redirect_uri_ignores_host_headers() {
    let site = site();
    let req = Request::get("/me")
        .header(header::HOST, "evil.example")
        .header(header::ACCEPT, HTML)
        .header("X-Forwarded-Host", "evil.example")
        .header("X-Forwarded-Proto", "http")
        .header("Forwarded", "host=evil.example;proto=http")
        .body(Body::empty())
        .unwrap();
    let response = site.app.clone().oneshot(req).await.unwrap();
    let url = location(&response);
    assert_eq!(
        params(&url)["redirect_uri"],
        "https://app.example.com/oauth/callback"
    );
    assert!(!url.contains("evil"));
}

/// The session cookie: HttpOnly, Secure with `__Host-`, SameSite=Lax, a
/// Max-Age, encrypted (the user id is not readable in it); Secure can be
/// turned off for http://127.0.0.1.
#[tokio::test]
async fn cookie_attributes() {
    for secure in [true, false] {
        let idp = TestIdp::default();
        let clock = TestClock::at(T0);
        let layer = layer(&idp, &clock, Arc::new(MemoryDedupStore::new())).secure_cookies(secure);
        let app = app(layer);
        let mut browser = Browser::default();
        let state = start(&mut browser, &app, "/me").await;
        let req = browser.request(Method::GET, &callback_uri("CODE-C", &state), Some(HTML));
        let response = app.clone().oneshot(req).await.unwrap();
        let sets: Vec<String> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let session = sets
            .iter()
            .find(|s| s.contains("wecom_oauth_session="))
            .unwrap();
        assert!(session.contains("HttpOnly"), "{session}");
        assert!(session.contains("SameSite=Lax"), "{session}");
        assert!(session.contains("Path=/"), "{session}");
        assert!(session.contains("Max-Age=28800"), "{session}");
        assert!(!session.contains("zhangsan"), "{session}");
        assert_eq!(session.contains("Secure"), secure, "{session}");
        assert_eq!(session.starts_with("__Host-"), secure, "{session}");
    }
}

/// The session ends at its expiry even if the browser keeps the cookie.
#[tokio::test]
async fn session_expires() {
    let site = site();
    let mut browser = Browser::default();
    sign_in(&mut browser, &site.app, "CODE-X").await;
    assert_eq!(
        browser.navigate(&site.app, "/me").await.status(),
        StatusCode::OK
    );
    site.clock.advance(8 * 3600);
    assert_eq!(
        browser.navigate(&site.app, "/me").await.status(),
        StatusCode::FOUND
    );
}

/// A logout `POST` from this site, with the headers a browser sends.
fn logout_request(browser: &Browser, path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut req = browser.request(Method::POST, path, Some(HTML));
    for (name, value) in headers {
        req.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_str(value).unwrap(),
        );
    }
    req
}

/// A same-origin `POST` to the logout path clears both cookies and sends
/// the browser to the site's root; the next navigation starts a login.
#[tokio::test]
async fn logout_clears_the_session() {
    for headers in [
        &[("sec-fetch-site", "same-origin"), ("origin", PUBLIC_URL)][..],
        &[("origin", "HTTPS://APP.EXAMPLE.COM")][..],
        &[("sec-fetch-site", "none")][..],
        &[][..],
    ] {
        let site = site();
        let mut browser = Browser::default();
        sign_in(&mut browser, &site.app, "CODE-L").await;
        assert_eq!(
            browser.navigate(&site.app, "/me").await.status(),
            StatusCode::OK
        );
        let session = browser
            .cookies
            .keys()
            .find(|n| n.contains("session"))
            .unwrap()
            .clone();
        let req = logout_request(&browser, "/oauth/logout", headers);
        let response = browser.send(&site.app, req).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{headers:?}");
        assert_eq!(location(&response), format!("{PUBLIC_URL}/"));
        let removals: Vec<&str> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(removals.len(), 2, "{removals:?}");
        for removal in &removals {
            assert!(removal.contains("Max-Age=0"), "{removal}");
            assert!(removal.contains("Path=/"), "{removal}");
            assert!(removal.contains("Secure"), "{removal}");
            assert!(removal.starts_with("__Host-"), "{removal}");
        }
        assert!(!browser.cookies.contains_key(&session), "{headers:?}");
        // Signed out: the next page starts a login again.
        assert_eq!(
            browser.navigate(&site.app, "/me").await.status(),
            StatusCode::FOUND
        );
    }
}

/// A cross-site form cannot sign a user out, and the logout path answers
/// `POST` only.
#[tokio::test]
async fn logout_refuses_other_sites_and_methods() {
    let site = site();
    let mut browser = Browser::default();
    sign_in(&mut browser, &site.app, "CODE-LX").await;
    let signed_in = browser.cookies.clone();
    for headers in [
        &[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ][..],
        &[("sec-fetch-site", "same-site")][..],
        // A browser's Sec-Fetch-Site wins over a matching Origin.
        &[("sec-fetch-site", "cross-site"), ("origin", PUBLIC_URL)][..],
        &[("origin", "https://evil.example")][..],
        &[("origin", "https://app.example.com.evil.example")][..],
        &[("origin", "null")][..],
    ] {
        let req = logout_request(&browser, "/oauth/logout", headers);
        let response = browser.send(&site.app, req).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{headers:?}");
        assert_eq!(kind(&response), Some(OAuthRejectionKind::CrossSite));
        assert!(response.headers().get(header::SET_COOKIE).is_none());
        assert_eq!(browser.cookies, signed_in);
    }
    for method in [Method::GET, Method::HEAD, Method::PUT] {
        let req = browser.request(method.clone(), "/oauth/logout", Some(HTML));
        let response = browser.send(&site.app, req).await;
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        assert_eq!(response.headers()[header::ALLOW], "POST");
        assert_eq!(browser.cookies, signed_in);
    }
    assert_eq!(
        browser.navigate(&site.app, "/me").await.status(),
        StatusCode::OK
    );
}

/// The logout path can be moved, and never onto the callback path.
#[tokio::test]
async fn logout_path_is_configurable() {
    let idp = TestIdp::default();
    let clock = TestClock::at(T0);
    let store: Arc<dyn DedupStore> = Arc::new(MemoryDedupStore::new());
    let moved = layer(&idp, &clock, Arc::clone(&store))
        .logout_path("/sign-out")
        .unwrap();
    let app = app(moved);
    let mut browser = Browser::default();
    let req = logout_request(&browser, "/sign-out", &[("sec-fetch-site", "same-origin")]);
    assert_eq!(
        browser.send(&app, req).await.status(),
        StatusCode::SEE_OTHER
    );
    // The old path is an ordinary route of the app again (here: a login).
    assert_eq!(
        browser.navigate(&app, "/oauth/logout").await.status(),
        StatusCode::FOUND
    );
    for bad in ["/oauth/callback", "sign-out", "/a?b", "//evil"] {
        let error = layer(&idp, &clock, Arc::clone(&store))
            .logout_path(bad)
            .unwrap_err();
        assert_eq!(
            error.kind(),
            wecom_callback::oauth::OAuthConfigErrorKind::CallbackPath,
            "{bad}"
        );
    }
    let error = layer(&idp, &clock, store)
        .callback_path("/oauth/logout")
        .unwrap_err();
    assert_eq!(
        error.kind(),
        wecom_callback::oauth::OAuthConfigErrorKind::CallbackPath
    );
}

/// A tampered session cookie is no session: a navigation starts a login,
/// a script gets 401, never a 500.
#[tokio::test]
async fn tampered_cookie_is_no_session() {
    let site = site();
    let mut browser = Browser::default();
    sign_in(&mut browser, &site.app, "CODE-T").await;
    let name = browser
        .cookies
        .keys()
        .find(|n| n.contains("session"))
        .unwrap()
        .clone();
    let value = browser.cookies[&name].clone();
    // The last character changed (to one it is not).
    let last = if value.ends_with('A') { 'B' } else { 'A' };
    let variants = [
        format!("{}{last}", &value[..value.len() - 1]),
        value[..value.len() / 2].to_owned(),
        String::new(),
        "%%%".to_owned(),
        "eyJ2IjoxLCJmIjoxLCJhIjoid3djb3JwIiwieCI6OTk5OTk5OTk5OSwidSI6ImFkbWluIn0".to_owned(),
        "你好".to_owned(),
    ];
    for forged in variants {
        let mut tampered = browser.clone();
        tampered.cookies.insert(name.clone(), forged.clone());
        let response = tampered.navigate(&site.app, "/me").await;
        assert_eq!(response.status(), StatusCode::FOUND, "{forged:?}");
        let req = tampered.request(Method::GET, "/api/me", Some("application/json"));
        assert_eq!(
            tampered.send(&site.app, req).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

/// Requests that are not page navigations get 401, not a redirect.
#[tokio::test]
async fn non_navigation_gets_401() {
    let site = site();
    let browser = Browser::default();
    let cases = [
        (Method::POST, "/api/me", Some(HTML)),
        (Method::GET, "/api/me", Some("application/json")),
        (Method::GET, "/api/me", Some("*/*")),
        (Method::GET, "/api/me", None),
        (Method::DELETE, "/me", Some(HTML)),
    ];
    for (method, uri, accept) in cases {
        let response = site
            .app
            .clone()
            .oneshot(browser.request(method.clone(), uri, accept))
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {uri} {accept:?}"
        );
        assert!(response.headers().get(header::LOCATION).is_none());
        assert!(response.headers().get(header::SET_COOKIE).is_none());
    }
}

/// A declined consent (the vendor comes back without `code`), a vendor
/// `errcode`, a missing `state`: a 4xx page and a `tracing` event, no
/// redirect (so no loop), no 500.
#[tokio::test]
async fn failures_get_a_page_and_an_event() {
    let (captured, _guard) = capture();
    let site = site();
    let mut browser = Browser::default();

    let state = start(&mut browser, &site.app, "/me").await;
    let response = browser
        .navigate(&site.app, &format!("/oauth/callback?state={state}"))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(kind(&response), Some(OAuthRejectionKind::ConsentDenied));
    assert!(response.headers().get(header::LOCATION).is_none());
    assert!(text(response).await.contains("cancelled"));

    let response = browser
        .navigate(&site.app, "/oauth/callback?code=abc")
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(kind(&response), Some(OAuthRejectionKind::BadCallback));

    *site.idp.fail_with.lock().unwrap() = Some(ExchangeError::vendor(
        40029,
        "invalid code CODE-V, hint: [1700000000_1_abc]",
    ));
    let state = start(&mut browser, &site.app, "/me").await;
    let response = browser
        .navigate(&site.app, &callback_uri("CODE-V", &state))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        kind(&response),
        Some(OAuthRejectionKind::Exchange(ExchangeErrorKind::Vendor(
            40029
        )))
    );
    assert!(response.headers().get(header::LOCATION).is_none());

    *site.idp.fail_with.lock().unwrap() = Some(ExchangeError::new(ExchangeErrorKind::Transport));
    let state = start(&mut browser, &site.app, "/me").await;
    let response = browser
        .navigate(&site.app, &callback_uri("CODE-W", &state))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);

    let response = browser
        .send(
            &site.app,
            browser.request(Method::POST, "/oauth/callback", Some(HTML)),
        )
        .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);

    let log = captured.text();
    for reason in [
        "consent_denied",
        "bad_callback",
        "vendor_error",
        "exchange_failed",
        "method_not_allowed",
    ] {
        assert!(
            log.contains(&format!("reason=\"{reason}\"")),
            "{reason} in {log}"
        );
    }
    assert!(log.contains("errcode=40029"), "{log}");
    assert!(log.contains("hint: [1700000000_1_abc]"), "{log}");
    // The code the vendor quoted is scrubbed.
    assert!(!log.contains("CODE-V"), "{log}");
}

/// Secrets never in logs or `Debug`: the cookie key, codes, cookie values.
#[tokio::test]
async fn secrets_stay_out_of_logs_and_debug() {
    let (captured, _guard) = capture();
    let site = site();
    let mut browser = Browser::default();
    sign_in(&mut browser, &site.app, "SECRET-CODE-123").await;
    assert_eq!(
        browser.navigate(&site.app, "/me").await.status(),
        StatusCode::OK
    );
    let log = captured.text();
    assert!(log.contains("signed in"), "{log}");
    // (A fresh provider: the test's own one remembers the codes.)
    let layer = layer(
        &TestIdp::default(),
        &site.clock,
        Arc::new(MemoryDedupStore::new()),
    );
    let debug = format!("{layer:?} {:?}", key());
    for secret in [
        "SECRET-CODE-123",
        "000102030405",
        "[0, 1, 2, 3",
        "0, 1, 2, 3, 4",
    ] {
        assert!(!log.contains(secret), "{secret} in {log}");
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    for value in browser.cookies.values() {
        assert!(!log.contains(value.as_str()));
    }
}

/// The WeCom flow policy through the layer: the WeCom client's
/// User-Agent gets the in-app page, a desktop browser the QR page.
#[tokio::test]
async fn flow_rides_in_the_state() {
    let site = site();
    for (ua, flow) in [
        (
            "Mozilla/5.0 (Windows NT 10.0) wxwork/4.1.30 (MicroMessenger/6.2) WeChat/2.0.4",
            Flow::WeComApp,
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
            Flow::WeComWeb,
        ),
    ] {
        let mut browser = Browser {
            user_agent: Some(ua.into()),
            ..Browser::default()
        };
        let response = browser.navigate(&site.app, "/me").await;
        let sent = params(&location(&response));
        assert_eq!(sent["flow"], flow.as_str());
        let uri = callback_uri(&format!("CODE-{flow}"), &sent["state"]);
        assert_eq!(
            browser.navigate(&site.app, &uri).await.status(),
            StatusCode::FOUND
        );
    }
    // The callback knows the flow from the signed state alone.
    assert_eq!(
        *site.idp.flows.lock().unwrap(),
        [Flow::WeComApp, Flow::WeComWeb]
    );
}

/// Without the layer, the extractor answers 500 naming it.
#[tokio::test]
async fn extractor_without_layer_names_it() {
    let app: Router = Router::new().route(
        "/me",
        get(|user: SignedInUser| async move { user.id().to_owned() }),
    );
    let response = app
        .oneshot(Request::get("/me").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(text(response).await.contains("OAuthLayer"));
}

/// The binary's one capturing subscriber (see `logs::global`).
fn capture() -> (Captured, ()) {
    (logs::global(tracing::Level::DEBUG), ())
}

/// Two instances sharing a store get the same callback at the same moment
/// (a double submit, a retried request): exactly one exchanges the code.
#[tokio::test]
async fn simultaneous_callbacks_exchange_once() {
    let idp = TestIdp::default();
    let clock = TestClock::at(T0);
    let shared: Arc<dyn DedupStore> = Arc::new(MemoryDedupStore::new());
    let a = app(layer(&idp, &clock, Arc::clone(&shared)));
    let b = app(layer(&idp, &clock, Arc::clone(&shared)));
    let mut browser = Browser::default();
    let state = start(&mut browser, &a, "/me").await;
    let uri = callback_uri("CODE-RACE", &state);
    let (first, second) = tokio::join!(
        a.clone()
            .oneshot(browser.request(Method::GET, &uri, Some(HTML))),
        b.clone()
            .oneshot(browser.request(Method::GET, &uri, Some(HTML))),
    );
    let mut statuses = [first.unwrap().status(), second.unwrap().status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::FOUND, StatusCode::FORBIDDEN]);
    assert_eq!(idp.exchanges(), ["CODE-RACE"]);
}

/// No rejection and no callback reaches the handler: an inner service that
/// panics when called is never called by them.
#[tokio::test]
async fn rejections_never_reach_the_handler() {
    let idp = TestIdp::default();
    let clock = TestClock::at(T0);
    let layer = layer(&idp, &clock, Arc::new(MemoryDedupStore::new()));
    let service =
        tower::ServiceBuilder::new()
            .layer(layer)
            .service_fn(|_req: Request<Body>| async move {
                panic!("the handler was called");
                #[allow(unreachable_code)]
                Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
            });
    let mut browser = Browser::default();
    let req = browser.request(Method::GET, "/me", Some(HTML));
    let response = service.clone().oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    for set in response.headers().get_all(header::SET_COOKIE) {
        let (name, value) = set
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap();
        browser.cookies.insert(name.to_owned(), value.to_owned());
    }
    let state = params(response.headers()[header::LOCATION].to_str().unwrap())["state"].clone();
    let requests = [
        browser.request(Method::GET, "/api/me", Some("application/json")),
        browser.request(Method::POST, "/me", Some(HTML)),
        browser.request(
            Method::GET,
            "/oauth/callback?code=x&state=forged",
            Some(HTML),
        ),
        browser.request(
            Method::GET,
            &format!("/oauth/callback?state={state}"),
            Some(HTML),
        ),
        browser.request(Method::POST, "/oauth/callback", Some(HTML)),
        browser.request(Method::GET, &callback_uri("CODE-H", &state), Some(HTML)),
    ];
    for req in requests {
        let uri = req.uri().clone();
        let response = service.clone().oneshot(req).await.unwrap();
        assert!(
            response.status().is_client_error() || response.status() == StatusCode::FOUND,
            "{uri}: {}",
            response.status()
        );
    }
    // The logout path is the layer's own, whatever the answer.
    let logouts = [
        (
            logout_request(
                &browser,
                "/oauth/logout",
                &[("sec-fetch-site", "same-origin")],
            ),
            StatusCode::SEE_OTHER,
        ),
        (
            logout_request(
                &browser,
                "/oauth/logout",
                &[("sec-fetch-site", "cross-site")],
            ),
            StatusCode::FORBIDDEN,
        ),
        (
            browser.request(Method::GET, "/oauth/logout", Some(HTML)),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (req, status) in logouts {
        let response = service.clone().oneshot(req).await.unwrap();
        assert_eq!(response.status(), status);
    }
}

/// A single-use store that cannot be reached.
#[derive(Debug)]
struct DownStore;

impl DedupStore for DownStore {
    fn claim<'a>(
        &'a self,
        _key: &'a wecom_callback::dedup::DedupKey,
        _ttl: Duration,
    ) -> BoxFuture<'a, Result<wecom_callback::dedup::Claim, wecom_callback::dedup::StoreError>>
    {
        Box::pin(async {
            Err(wecom_callback::dedup::StoreError::new(
                wecom_callback::dedup::StoreErrorKind::Unavailable,
            ))
        })
    }
    fn complete<'a>(
        &'a self,
        _key: &'a wecom_callback::dedup::DedupKey,
        _answer: wecom_callback::dedup::StoredAnswer,
        _ttl: Duration,
    ) -> BoxFuture<'a, Result<(), wecom_callback::dedup::StoreError>> {
        Box::pin(async { Ok(()) })
    }
    fn release<'a>(
        &'a self,
        _key: &'a wecom_callback::dedup::DedupKey,
        _token: wecom_callback::dedup::ClaimToken,
    ) -> BoxFuture<'a, Result<(), wecom_callback::dedup::StoreError>> {
        Box::pin(async { Ok(()) })
    }
}

/// When single use cannot be checked, the code is not exchanged: 503 (the
/// store is down), never a sign-in without the check and never a 500.
#[tokio::test]
async fn store_down_fails_closed() {
    let idp = TestIdp::default();
    let clock = TestClock::at(T0);
    let app = app(layer(&idp, &clock, Arc::new(DownStore)));
    let mut browser = Browser::default();
    let state = start(&mut browser, &app, "/me").await;
    let response = browser
        .navigate(&app, &callback_uri("CODE-D", &state))
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(kind(&response), Some(OAuthRejectionKind::StoreUnavailable));
    assert!(response.headers().get(header::LOCATION).is_none());
    assert!(idp.exchanges().is_empty());
    assert!(browser.cookies.keys().all(|n| !n.contains("session")));
}
