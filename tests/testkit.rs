//! The test kit as a newcomer meets it (issue 22): `TestKit::open` on the
//! answers that are not passive replies (a URL verification, a rejection,
//! a body that is no envelope), and the builders of the pushes a suite, an
//! Official Account and an Open Platform component receive, each sent
//! through a layer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use axum::Router;
use axum::routing::post;
use http::StatusCode;
use tower::ServiceExt;
use wecom_callback::crypto::CryptoErrorKind;
use wecom_callback::testing::{OpenReplyError, Opened, TestKit};
use wecom_callback::{Endpoint, Message, RejectionKind, Reply, WeComCallbackLayer};

const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const OTHER_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const CORP: &str = "wx5823bf96d3bd56c7";
const PATH: &str = "/wecom/callback";
const MIXED: &str = "Hello, 世界! 企业微信回调 test 123. 你好，这是一条消息。abc";

fn app_with(endpoint: Endpoint, reply: &'static str) -> Router {
    Router::new()
        .route(PATH, post(move || async move { Reply::text(reply) }))
        .layer(WeComCallbackLayer::new(PATH, endpoint).unwrap())
}

// ------------------------------------------------------ TestKit::open

#[tokio::test]
async fn open_reads_a_url_verification_as_the_echoed_text() {
    let endpoints = [
        Endpoint::wecom_app(TOKEN, KEY, CORP).unwrap(),
        Endpoint::official_account_safe(TOKEN, KEY, CORP).unwrap(),
        Endpoint::official_account_plain(TOKEN, CORP).unwrap(),
        Endpoint::open_platform(TOKEN, KEY, CORP).unwrap(),
    ];
    for endpoint in endpoints {
        let kit = TestKit::new(PATH, &endpoint);
        let response = app_with(endpoint.clone(), MIXED)
            .oneshot(kit.verify_url("1616140317555161061"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let opened = kit.open(response).await.unwrap();
        assert_eq!(
            opened,
            Opened::Reply("1616140317555161061".to_owned()),
            "{}",
            endpoint.kind()
        );
    }
}

#[tokio::test]
async fn open_reports_the_status_and_the_rejection() {
    let endpoint = Endpoint::wecom_app(TOKEN, KEY, CORP).unwrap();
    let kit = TestKit::new(PATH, &endpoint);
    let app = app_with(endpoint.clone(), MIXED);

    // A forged GET and a stale POST: the layer's answers.
    let mut forged = kit.verify_url("1616140317555161061");
    *forged.uri_mut() = forged
        .uri()
        .to_string()
        .replace("nonce=", "nonce=9")
        .parse()
        .unwrap();
    let stale = kit
        .clone()
        .at(1_000_000_000)
        .post(&TestKit::text_message(CORP, "zhangsan", MIXED));
    for (request, kind) in [
        (
            forged,
            RejectionKind::Crypto(CryptoErrorKind::ValidateSignature),
        ),
        (stale, RejectionKind::StaleTimestamp),
    ] {
        let response = app.clone().oneshot(request).await.unwrap();
        let error = kit.open(response).await.unwrap_err();
        assert_eq!(error.status(), Some(StatusCode::FORBIDDEN));
        assert_eq!(error.rejection().map(|r| r.kind()), Some(kind));
        let text = error.to_string();
        assert!(text.contains("403"), "{text}");
    }

    // A handler's own error status: no rejection, the status still says it.
    let failing = Router::new()
        .route(
            PATH,
            post(|_m: Message| async { StatusCode::SERVICE_UNAVAILABLE }),
        )
        .layer(WeComCallbackLayer::new(PATH, endpoint).unwrap());
    let response = failing
        .oneshot(kit.post(&TestKit::text_message(CORP, "zhangsan", MIXED)))
        .await
        .unwrap();
    let error = kit.open(response).await.unwrap_err();
    assert!(matches!(
        error,
        OpenReplyError::Rejected {
            status: StatusCode::SERVICE_UNAVAILABLE,
            rejection: None,
            ..
        }
    ));
}

#[tokio::test]
async fn open_names_the_step_at_which_a_reply_fails() {
    let endpoint = Endpoint::wecom_app(TOKEN, KEY, CORP).unwrap();
    let kit = TestKit::new(PATH, &endpoint);
    let message = TestKit::text_message(CORP, "zhangsan", MIXED);

    // Not an envelope at all.
    let html = http::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(
        "<html><body>网关错误 bad gateway</body></html>".as_bytes(),
    )));
    let error = kit.open(html).await.unwrap_err();
    assert!(matches!(error, OpenReplyError::Crypto(_)));
    assert!(
        error.to_string().starts_with("reading the reply envelope"),
        "{error}"
    );

    // A reply sealed by another app (another Token): the signature step.
    let other = Endpoint::wecom_app("OtherTok", OTHER_KEY, CORP).unwrap();
    let other_kit = TestKit::new(PATH, &other);
    let response = app_with(other, MIXED)
        .oneshot(other_kit.post(&message))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let error = kit.open(response).await.unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("checking the envelope's MsgSignature"),
        "{error}"
    );

    // The same Token, another EncodingAESKey: the decryption step.
    let same_token = Endpoint::wecom_app(TOKEN, OTHER_KEY, CORP).unwrap();
    let same_token_kit = TestKit::new(PATH, &same_token);
    let response = app_with(same_token, MIXED)
        .oneshot(same_token_kit.post(&message))
        .await
        .unwrap();
    let error = kit.open(response).await.unwrap_err();
    assert!(
        error.to_string().starts_with("decrypting Encrypt"),
        "{error}"
    );

    // And the right kit opens the mixed text.
    let response = app_with(endpoint.clone(), MIXED)
        .oneshot(kit.post(&message))
        .await
        .unwrap();
    let reply = kit.open(response).await.unwrap().xml().unwrap();
    assert_eq!(reply.content(), Some(MIXED));
}
