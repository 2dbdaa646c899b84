//! The `suite` and `open_platform` examples walk their whole token chain
//! against the vendor stand-in, from the ticket push to a corp or
//! authorizer token, through the authorization push or page, and refresh
//! it later from the stored durable secret.
//!
//! The examples' own code runs here (their `app` and `Settings`, included
//! from `examples/`), served in process; pushes are signed and encrypted by
//! the test kit as the platform does; the authorization page's redirects
//! are followed over real HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
// Both examples include `examples/support/serve.rs`, as each one's own
// build does; here they are two modules of one crate.
#![allow(clippy::duplicate_mod)]

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/suite.rs"]
mod suite;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/open_platform.rs"]
mod open_platform;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tower::ServiceExt;
use wecom_callback::Endpoint;
use wecom_callback::testing::TestKit;
use wecom_callback::testing::vendor::{VendorConfig, VendorEndpoint, VendorStandIn};

const TOKEN: &str = "QDG6eK";
const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const SUITE: &str = "ww4asffe99e54c0f4c";
const SUITE_SECRET: &str = "suite-secret-for-the-example";
const INSTALLED: &str = "wwinstalledcorp01";
const COMPONENT: &str = "wx6d80ca40ad4e00fc";
const COMPONENT_SECRET: &str = "component-secret-for-the-example";
const AUTHORIZER: &str = "wxauthorizer0001";
const PUBLIC_URL: &str = "https://component.example";
/// How long any wait in these tests may last before it fails.
const PATIENCE: Duration = Duration::from_secs(20);

fn lookup(values: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
    let values: HashMap<String, String> = values
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    move |name| values.get(name).cloned()
}

/// Waits until `probe` holds.
async fn until(what: &str, probe: impl Fn() -> bool) {
    let start = Instant::now();
    while !probe() {
        assert!(start.elapsed() < PATIENCE, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Delivers a push (decrypted XML) to `app` with `kit`; the layer must
/// acknowledge it with `success`.
async fn push(kit: &TestKit, app: &Router, xml: &str) {
    let mut app = app.clone();
    let opened = kit.send(&mut app, kit.post(xml)).await.unwrap();
    assert!(opened.is_ack(), "a push is answered with success");
}

/// `GET path` on `app`, in process: status, `Location`, body text.
async fn get(app: &Router, path: &str) -> (StatusCode, Option<String>, String) {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(http::header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, location, String::from_utf8(body.to_vec()).unwrap())
}

/// `GET url` over HTTP (a browser following a redirect): the `Location`
/// of the 302 it must answer.
async fn follow(url: &str) -> String {
    let uri: http::Uri = url.parse().unwrap();
    let address = format!("{}:{}", uri.host().unwrap(), uri.port_u16().unwrap());
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = Request::get(uri).body(Empty::<Bytes>::new()).unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND, "{url}");
    response.headers()[http::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

// ------------------------------------------------------------------ suite

#[tokio::test]
async fn suite_walks_from_the_ticket_push_to_a_corp_token() {
    let vendor = VendorStandIn::start(
        VendorConfig::new()
            .suite(SUITE, SUITE_SECRET)
            .installing_corp(INSTALLED, "安装的企业 Installed Corp")
            // get_permanent_code also answers the corp's access_token, and
            // get_corp_token gives back that same token while it is valid.
            .expires_in_for(VendorEndpoint::GetPermanentCode, 1)
            .expires_in_for(VendorEndpoint::GetCorpToken, 1),
    )
    .await
    .unwrap();
    let settings = suite::Settings::from_lookup(lookup(&[
        ("WECOM_SUITE_ID", SUITE.to_owned()),
        ("WECOM_SUITE_SECRET", SUITE_SECRET.to_owned()),
        ("WECOM_API_BASE", vendor.base_url().to_owned()),
    ]))
    .unwrap();
    let (app, state) = suite::app(&settings).unwrap();
    let kit = TestKit::new(
        suite::PATH,
        &Endpoint::wecom_suite(TOKEN, AES_KEY, SUITE).unwrap(),
    );
    let status = format!("/wecom/suite/corp/{INSTALLED}");
    assert_eq!(
        get(&app, &status).await.0,
        StatusCode::NOT_FOUND,
        "not installed yet"
    );

    // A ticket for another suite, though encrypted for this one, is not
    // stored: no suite token can be fetched with it.
    vendor.set_suite_ticket(SUITE, "ticket-one");
    push(
        &kit,
        &app,
        &TestKit::suite_ticket("wwothersuite", "ticket-one"),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(vendor.calls(VendorEndpoint::GetSuiteToken), 0);

    // Ticket push → suite_access_token (fetched once, then cached).
    let ticket = TestKit::suite_ticket(SUITE, "ticket-one");
    push(&kit, &app, &ticket).await;
    push(&kit, &app, &ticket).await; // WeCom's retry
    until("the suite token", || {
        vendor.issued(VendorEndpoint::GetSuiteToken) == 1
    })
    .await;
    // A newer ticket (a later TimeStamp) is stored; the token stays cached.
    vendor.set_suite_ticket(SUITE, "ticket-two");
    let later = TestKit::suite_ticket(SUITE, "ticket-two");
    let stamp = later
        .split("<TimeStamp>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let next = (stamp.parse::<u64>().unwrap() + 1).to_string();
    push(&kit, &app, &later.replace(&stamp, &next)).await;

    // create_auth push → permanent code (stored) → corp token.
    let auth_code = vendor.issue_suite_auth_code(SUITE);
    let install = TestKit::create_auth(SUITE, &auth_code, "企业 state 1");
    push(&kit, &app, &install).await;
    push(&kit, &app, &install).await; // WeCom's retry
    until("the permanent code", || {
        vendor.issued(VendorEndpoint::GetPermanentCode) == 1
    })
    .await;
    assert_eq!(vendor.calls(VendorEndpoint::GetPermanentCode), 1);
    assert_eq!(vendor.issued(VendorEndpoint::GetPermanentCode), 1);
    assert_eq!(vendor.calls(VendorEndpoint::GetSuiteToken), 1, "cached");
    let chain = state.chain.as_ref().unwrap();
    let stored = chain
        .secrets
        .get_secret(&chain.suite.permanent_code_key(INSTALLED))
        .await
        .unwrap();
    assert!(stored.is_some(), "the permanent code is kept");

    // get_permanent_code's answer may carry the corp's first access_token
    // (the client keeps it); either way the status route finds one.
    let (code, _, body) = get(&app, &status).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert!(body.contains("access_token ready") && !body.contains("standin_token"));

    // The corp token expires (expires_in 1): get_corp_token with the stored
    // permanent code gives the next ones, with no second exchange.
    let before = vendor.issued(VendorEndpoint::GetCorpToken);
    for round in 1..=2 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let (code, _, body) = get(&app, &status).await;
        assert_eq!(code, StatusCode::OK, "round {round}: {body}");
        assert!(vendor.issued(VendorEndpoint::GetCorpToken) >= before + round);
    }
    assert_eq!(
        vendor.calls(VendorEndpoint::GetCorpToken),
        vendor.issued(VendorEndpoint::GetCorpToken),
        "the permanent code was never refused"
    );
    assert_eq!(vendor.calls(VendorEndpoint::GetPermanentCode), 1);
}

#[tokio::test]
async fn suite_without_a_secret_stores_and_logs_only() {
    let vendor = VendorStandIn::start(VendorConfig::new().suite(SUITE, SUITE_SECRET))
        .await
        .unwrap();
    let settings = suite::Settings::from_lookup(lookup(&[
        ("WECOM_SUITE_ID", SUITE.to_owned()),
        ("WECOM_API_BASE", vendor.base_url().to_owned()),
    ]))
    .unwrap();
    let (app, state) = suite::app(&settings).unwrap();
    assert!(state.chain.is_none());
    let kit = TestKit::new(
        suite::PATH,
        &Endpoint::wecom_suite(TOKEN, AES_KEY, SUITE).unwrap(),
    );
    push(&kit, &app, &TestKit::suite_ticket(SUITE, "t")).await;
    push(&kit, &app, &TestKit::create_auth(SUITE, "code", "s")).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(vendor.calls(VendorEndpoint::GetSuiteToken), 0);
    assert_eq!(vendor.calls(VendorEndpoint::GetPermanentCode), 0);
    let status = format!("/wecom/suite/corp/{INSTALLED}");
    assert_eq!(get(&app, &status).await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        suite::Settings::from_lookup(|_| None).is_err(),
        "WECOM_SUITE_ID is required"
    );
}

// ---------------------------------------------------------- open platform

#[tokio::test]
async fn open_platform_walks_from_the_ticket_push_to_an_authorizer_token() {
    let vendor = VendorStandIn::start(
        VendorConfig::new()
            .component(COMPONENT, COMPONENT_SECRET)
            .authorizer(AUTHORIZER)
            .rotate_authorizer_refresh_token(true)
            .expires_in_for(VendorEndpoint::QueryAuth, 1)
            .expires_in_for(VendorEndpoint::AuthorizerToken, 1),
    )
    .await
    .unwrap();
    let settings = open_platform::Settings::from_lookup(lookup(&[
        ("WECHAT_COMPONENT_APPID", COMPONENT.to_owned()),
        ("WECHAT_COMPONENT_SECRET", COMPONENT_SECRET.to_owned()),
        ("WECHAT_API_BASE", vendor.base_url().to_owned()),
        ("WECHAT_MP_BASE", vendor.base_url().to_owned()),
        ("PUBLIC_URL", format!("{PUBLIC_URL}/")),
    ]))
    .unwrap();
    let (app, state) = open_platform::app(&settings).unwrap();
    let kit = TestKit::new(
        open_platform::PATH,
        &Endpoint::open_platform(
            "spamtest",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            COMPONENT,
        )
        .unwrap(),
    );
    let status = format!("/wechat/component/authorizer/{AUTHORIZER}");
    assert_eq!(get(&app, &status).await.0, StatusCode::NOT_FOUND);

    // Ticket push → component_access_token.
    vendor.set_component_verify_ticket(COMPONENT, "ticket@@@one");
    let ticket = TestKit::component_verify_ticket(COMPONENT, "ticket@@@one");
    push(&kit, &app, &ticket).await;
    until("the component token", || {
        vendor.issued(VendorEndpoint::ComponentToken) == 1
    })
    .await;

    // The admin's round trip: our start page → the authorization page →
    // back to us with the authorization code, which we exchange.
    let (code, location, _) = get(&app, "/wechat/component/start").await;
    assert_eq!(code, StatusCode::SEE_OTHER);
    let page = location.unwrap();
    assert!(
        page.starts_with(&vendor.url("/cgi-bin/componentloginpage?")),
        "{page}"
    );
    let back = follow(&page).await;
    let path = back.strip_prefix(PUBLIC_URL).unwrap();
    assert!(
        path.starts_with("/wechat/component/authorized?auth_code="),
        "{back}"
    );
    let (code, _, body) = get(&app, path).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body, format!("authorized by {AUTHORIZER}\n"));
    assert_eq!(vendor.issued(VendorEndpoint::CreatePreAuthCode), 1);
    assert_eq!(vendor.issued(VendorEndpoint::QueryAuth), 1);

    // The same code in the `authorized` push: already exchanged, no harm.
    let auth_code = form_urlencoded::parse(path.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "auth_code")
        .unwrap()
        .1
        .into_owned();
    push(
        &kit,
        &app,
        &TestKit::authorized(COMPONENT, AUTHORIZER, &auth_code),
    )
    .await;
    until("the push's exchange", || {
        vendor.calls(VendorEndpoint::QueryAuth) == 2
    })
    .await;
    assert_eq!(vendor.issued(VendorEndpoint::QueryAuth), 1, "single use");

    // The seeded authorizer token serves at once; once it expires, the
    // stored refresh token gets another, twice (the refresh token rotates
    // each time: the rotated one must have been kept).
    let (code, _, body) = get(&app, &status).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(vendor.calls(VendorEndpoint::AuthorizerToken), 0);
    for round in 1..=2 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let (code, _, body) = get(&app, &status).await;
        assert_eq!(code, StatusCode::OK, "round {round}: {body}");
        assert!(vendor.issued(VendorEndpoint::AuthorizerToken) >= round);
    }
    assert_eq!(
        vendor.calls(VendorEndpoint::AuthorizerToken),
        vendor.issued(VendorEndpoint::AuthorizerToken),
        "no refresh token was refused (61023)"
    );
    let chain = state.chain.as_ref().unwrap();
    assert!(
        chain
            .secrets
            .get_secret(&chain.component.refresh_token_key(AUTHORIZER))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        vendor.calls(VendorEndpoint::ComponentToken),
        1,
        "cached throughout"
    );

    // A refused authorization comes back without a code.
    let (code, _, _) = get(&app, "/wechat/component/authorized").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let other = get(&app, "/wechat/component/authorizer/wxnotauthorized").await;
    assert_eq!(other.0, StatusCode::NOT_FOUND);
}

#[test]
fn open_platform_settings_have_the_documented_defaults() {
    let settings =
        open_platform::Settings::from_lookup(lookup(&[("WECHAT_COMPONENT_APPID", "wx1".into())]))
            .unwrap();
    assert_eq!(settings.bind, "127.0.0.1:3003");
    assert_eq!(settings.api_base, "https://api.weixin.qq.com");
    assert_eq!(settings.mp_base, "https://mp.weixin.qq.com");
    assert_eq!(settings.public_url, "http://127.0.0.1:3003");
    assert!(settings.component_secret.is_none());
    assert!(open_platform::Settings::from_lookup(|_| None).is_err());
}
