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

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::post;
use http::StatusCode;
use tower::ServiceExt;
use wecom_callback::crypto::CryptoErrorKind;
use wecom_callback::endpoint::SharedCorpList;
use wecom_callback::testing::{OpenReplyError, Opened, TestKit};
use wecom_callback::{
    AuthorizedCorps, Endpoint, Message, MessageKind, RejectionKind, Reply, WeComCallbackLayer,
};

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

// ------------------------------------------------------ builders

/// Sends `message` through a layer for `endpoint` whose handler records the
/// message it got, and returns that message and the answer.
async fn through_layer(endpoint: Endpoint, kit: &TestKit, message: &str) -> (Message, Opened) {
    let seen: Arc<Mutex<Option<Message>>> = Arc::default();
    let recorder = Arc::clone(&seen);
    let mut app = Router::new()
        .route(
            PATH,
            post(move |message: Message| {
                let recorder = Arc::clone(&recorder);
                async move {
                    *recorder.lock().unwrap() = Some(message);
                    Reply::ack()
                }
            }),
        )
        .layer(WeComCallbackLayer::new(PATH, endpoint).unwrap());
    let opened = kit.send(&mut app, kit.post(message)).await.unwrap();
    let message = seen.lock().unwrap().take().expect("the handler ran");
    (message, opened)
}

#[tokio::test]
async fn suite_authorization_pushes_reach_the_handler_typed() {
    let suite = Endpoint::wecom_suite(TOKEN, KEY, "wwsuite").unwrap();
    let kit = TestKit::new(PATH, &suite);

    let (message, opened) = through_layer(
        suite.clone(),
        &kit,
        &TestKit::create_auth("wwsuite", "AUTHCODE_授权码_1", "state 状态"),
    )
    .await;
    assert!(opened.is_ack());
    let MessageKind::CreateAuth(create) = message.kind() else {
        panic!("{:?}", message.kind());
    };
    assert_eq!(create.suite_id, "wwsuite");
    assert_eq!(create.auth_code, "AUTHCODE_授权码_1");
    assert_eq!(create.state.as_deref(), Some("state 状态"));

    let (message, _) = through_layer(
        suite.clone(),
        &kit,
        &TestKit::change_auth("wwsuite", "wwcorp1", "abc"),
    )
    .await;
    let MessageKind::ChangeAuth(change) = message.kind() else {
        panic!("{:?}", message.kind());
    };
    assert_eq!(change.auth_corp_id, "wwcorp1");
    assert_eq!(change.state.as_deref(), Some("abc"));

    let (message, _) =
        through_layer(suite, &kit, &TestKit::cancel_auth("wwsuite", "wwcorp1")).await;
    let MessageKind::CancelAuth(cancel) = message.kind() else {
        panic!("{:?}", message.kind());
    };
    assert_eq!(cancel.auth_corp_id, "wwcorp1");
    assert_eq!(message.info_type(), Some("cancel_auth"));
}

#[tokio::test]
async fn official_account_subscribe_and_scan_reach_the_handler_typed() {
    let account = Endpoint::official_account_safe(TOKEN, KEY, "wxappid").unwrap();
    let kit = TestKit::new(PATH, &account);

    let (message, opened) = through_layer(
        account.clone(),
        &kit,
        &TestKit::subscribe("gh_account", "openid_1"),
    )
    .await;
    assert!(opened.is_ack());
    assert_eq!(message.from_user_name(), "openid_1");
    let MessageKind::Subscribe(subscribe) = message.kind() else {
        panic!("{:?}", message.kind());
    };
    assert_eq!(subscribe.qr_scene(), None);

    let (message, _) = through_layer(
        account.clone(),
        &kit,
        &TestKit::subscribe_by_scan("gh_account", "openid_2", "场景_42", "TICKET"),
    )
    .await;
    let MessageKind::Subscribe(subscribe) = message.kind() else {
        panic!("{:?}", message.kind());
    };
    assert_eq!(subscribe.qr_scene(), Some("场景_42"));
    assert_eq!(subscribe.ticket.as_deref(), Some("TICKET"));

    let (message, _) = through_layer(
        account,
        &kit,
        &TestKit::scan("gh_account", "openid_3", "scene_7", "TICKET_2"),
    )
    .await;
    let MessageKind::Scan(scan) = message.kind() else {
        panic!("{:?}", message.kind());
    };
    assert_eq!(scan.event_key, "scene_7");
    assert_eq!(scan.ticket.as_deref(), Some("TICKET_2"));
}

#[tokio::test]
async fn a_template_card_event_reaches_the_handler_typed() {
    let app = Endpoint::wecom_app(TOKEN, KEY, CORP).unwrap();
    let kit = TestKit::new(PATH, &app);
    let event = TestKit::template_card_event(
        CORP,
        "zhangsan",
        "vote_interaction",
        "task_投票_1",
        "submit",
        &[("lunch", &["noodles", "饺子"]), ("drink", &["tea"])],
    );
    let (message, _) = through_layer(app.clone(), &kit, &event).await;
    let MessageKind::TemplateCardEvent(card) = message.kind() else {
        panic!("{:?}", message.kind());
    };
    assert_eq!(card.task_id, "task_投票_1");
    assert_eq!(card.event_key, "submit");
    assert_eq!(card.card_type.as_deref(), Some("vote_interaction"));
    assert!(card.response_code.as_deref().is_some_and(|c| c.len() > 2));
    let selected: Vec<(&str, Vec<&str>)> = card
        .selected_items
        .iter()
        .map(|item| {
            (
                item.question_key.as_str(),
                item.option_ids.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        selected,
        [("lunch", vec!["noodles", "饺子"]), ("drink", vec!["tea"])]
    );

    // Without selections: no SelectedItems at all.
    let button = TestKit::template_card_event(CORP, "lisi", "button_interaction", "t2", "yes", &[]);
    assert!(!button.contains("SelectedItems"));
    let (message, _) = through_layer(app, &kit, &button).await;
    let MessageKind::TemplateCardEvent(card) = message.kind() else {
        panic!("{:?}", message.kind());
    };
    assert!(card.selected_items.is_empty());
}

#[tokio::test]
async fn open_platform_pushes_reach_the_handler_typed() {
    let component = Endpoint::open_platform(TOKEN, KEY, "wxcomponent").unwrap();
    let kit = TestKit::new(PATH, &component);
    for (info_type, push) in [
        (
            "authorized",
            TestKit::authorized("wxcomponent", "wxauthorizer", "queryauthcode@@@授权"),
        ),
        (
            "updateauthorized",
            TestKit::updateauthorized("wxcomponent", "wxauthorizer", "queryauthcode@@@授权"),
        ),
    ] {
        let (message, opened) = through_layer(component.clone(), &kit, &push).await;
        assert!(opened.is_ack());
        assert_eq!(message.info_type(), Some(info_type));
        let authorization = match message.kind() {
            MessageKind::Authorized(a) | MessageKind::UpdateAuthorized(a) => a,
            other => panic!("{other:?}"),
        };
        assert!(matches!(
            (info_type, message.kind()),
            ("authorized", MessageKind::Authorized(_))
                | ("updateauthorized", MessageKind::UpdateAuthorized(_))
        ));
        assert_eq!(authorization.app_id, "wxcomponent");
        assert_eq!(authorization.authorizer_appid, "wxauthorizer");
        assert_eq!(authorization.authorization_code, "queryauthcode@@@授权");
        assert!(authorization.authorization_code_expired_time.is_some());
    }
    let (message, _) = through_layer(
        component.clone(),
        &kit,
        &TestKit::unauthorized("wxcomponent", "wxauthorizer"),
    )
    .await;
    let MessageKind::Unauthorized(gone) = message.kind() else {
        panic!("{:?}", message.kind());
    };
    assert_eq!(gone.authorizer_appid, "wxauthorizer");

    let (message, _) = through_layer(
        component,
        &kit,
        &TestKit::component_verify_ticket("wxcomponent", "ticket@@@票据"),
    )
    .await;
    assert!(matches!(
        message.kind(),
        MessageKind::ComponentVerifyTicket(_)
    ));
}

// ------------------------------------------------------ authorized corps

/// A data callback whose authorized corps change while it serves: a corp is
/// refused (403) until added, served once added, refused again once
/// removed; the kit is found by the provider corp id.
#[tokio::test]
async fn a_shared_corp_list_changes_the_data_callback_at_run_time() {
    let corps = SharedCorpList::new();
    let data =
        Endpoint::wecom_suite_data(TOKEN, KEY, "wwprovider", AuthorizedCorps::shared(&corps))
            .unwrap();
    let layer = WeComCallbackLayer::new(PATH, data).unwrap();
    assert!(TestKit::for_layer_app(&layer, "wwcorp1").is_none());
    let kit = TestKit::for_layer_app(&layer, "wwprovider")
        .expect("a data callback is named by the provider corp id")
        .receive_id("wwcorp1");
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let mut app = Router::new()
        .route(
            PATH,
            post(move |m: Message| async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Reply::text(format!("{} 收到", m.to_user_name()))
            }),
        )
        .layer(layer);
    let message = || TestKit::text_message("wwcorp1", "zhangsan", MIXED);

    let error = kit.send(&mut app, kit.post(&message())).await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::FORBIDDEN));
    assert_eq!(
        error.rejection().map(|r| r.kind()),
        Some(RejectionKind::Crypto(CryptoErrorKind::ValidateReceiveId))
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the handler was called");

    // The instruction callback's handler adds the corp: served at once.
    assert!(corps.clone().add("wwcorp1"));
    let reply = kit
        .send(&mut app, kit.post(&message()))
        .await
        .unwrap()
        .xml()
        .unwrap();
    assert_eq!(reply.content(), Some("wwcorp1 收到"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // The URL verification still uses the provider's id.
    let echoed = kit.send(&mut app, kit.verify_url("12345")).await.unwrap();
    assert_eq!(echoed.text(), Some("12345"));

    assert!(corps.remove("wwcorp1"));
    let error = kit.send(&mut app, kit.post(&message())).await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::FORBIDDEN));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the handler was called");
}

/// A POST answered with a short plain text (a handler that returns a
/// string, not a `Reply`): `send`, which knows the request was a POST,
/// says it is no envelope; `open` alone reads it as an echo.
#[tokio::test]
async fn send_never_reads_a_posts_answer_as_an_echo() {
    let endpoint = Endpoint::wecom_app(TOKEN, KEY, CORP).unwrap();
    let kit = TestKit::new(PATH, &endpoint);
    let mut app = Router::new()
        .route(PATH, post(|_m: Message| async { "ok" }))
        .layer(WeComCallbackLayer::new(PATH, endpoint).unwrap());
    let message = TestKit::text_message(CORP, "zhangsan", MIXED);
    let error = kit.send(&mut app, kit.post(&message)).await.unwrap_err();
    assert!(
        error.to_string().starts_with("reading the reply envelope"),
        "{error}"
    );
    let another = TestKit::text_message(CORP, "zhangsan", MIXED);
    let response = app.oneshot(kit.post(&another)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        kit.open(response).await.unwrap(),
        Opened::Reply("ok".to_owned())
    );
}
