//! Every callback kind end to end through `WeComCallbackLayer`: URL
//! verification, the POST reaching the handler typed, the kind's
//! acknowledgement, passive replies the kind can carry (and a 500 for those
//! it cannot), receive-id policies, several apps on one path, key rotation,
//! and the vendor vectors of these kinds (tests/data/vectors).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use common::body_bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::{ServiceBuilder, ServiceExt, service_fn};
use wecom_callback::crypto::MsgCrypt;
use wecom_callback::envelope::ReplyEnvelope;
use wecom_callback::testing::{Opened, TestKit};
use wecom_callback::{
    AuthorizedCorps, BotMessage, CallbackBody, CallbackContext, CallbackKind, CryptoErrorKind,
    Endpoint, FixedClock, Message, Rejection, RejectionKind, Reply, WeComCallbackLayer,
};

const PATH: &str = "/cb";
const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const NOW: u64 = 1_700_000_000;

/// What the handler saw, and how often it ran.
#[derive(Default)]
struct Seen {
    calls: AtomicUsize,
    message: std::sync::Mutex<Option<Message>>,
    bot: std::sync::Mutex<Option<BotMessage>>,
    context: std::sync::Mutex<Option<CallbackContext>>,
}

type Answer = Arc<dyn Fn() -> Response<Full<Bytes>> + Send + Sync>;

fn empty() -> Answer {
    Arc::new(|| Response::new(Full::default()))
}

fn replying(reply: Reply) -> Answer {
    Arc::new(move || {
        let mut response = Response::new(Full::default());
        response.extensions_mut().insert(reply.clone());
        response
    })
}

async fn send(
    layer: WeComCallbackLayer,
    request: Request<Full<Bytes>>,
    answer: Answer,
) -> (Response<Bytes>, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let seen2 = Arc::clone(&seen);
    let service = ServiceBuilder::new()
        .layer(layer.clock(FixedClock::from_unix(NOW)))
        .service(service_fn(
            move |req: Request<CallbackBody<Full<Bytes>>>| {
                let seen = Arc::clone(&seen2);
                let answer = Arc::clone(&answer);
                async move {
                    seen.calls.fetch_add(1, Ordering::SeqCst);
                    *seen.message.lock().unwrap() = req.extensions().get::<Message>().cloned();
                    *seen.bot.lock().unwrap() = req.extensions().get::<BotMessage>().cloned();
                    *seen.context.lock().unwrap() =
                        req.extensions().get::<CallbackContext>().cloned();
                    Ok::<_, Infallible>(answer())
                }
            },
        ));
    let response = service.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    (Response::from_parts(parts, body_bytes(body).await), seen)
}

fn layer(endpoint: &Endpoint) -> WeComCallbackLayer {
    WeComCallbackLayer::new(PATH, endpoint.clone()).unwrap()
}

fn kit(endpoint: &Endpoint) -> TestKit {
    TestKit::new(PATH, endpoint).at(NOW)
}

fn rejection(response: &Response<Bytes>) -> RejectionKind {
    response.extensions().get::<Rejection>().unwrap().kind()
}

async fn assert_verifies(endpoint: &Endpoint) {
    let (response, seen) = send(
        layer(endpoint),
        kit(endpoint).verify_url("1616140317555161061"),
        empty(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", endpoint.kind());
    assert_eq!(response.body().as_ref(), b"1616140317555161061");
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}

async fn open(endpoint: &Endpoint, response: Response<Bytes>) -> Opened {
    kit(endpoint).open(response.map(Full::new)).await.unwrap()
}

#[tokio::test]
async fn wecom_suite_instruction_callback_acknowledges_with_success() {
    let suite = Endpoint::wecom_suite(TOKEN, KEY, "ww4asffe99e54c0f").unwrap();
    assert_verifies(&suite).await;

    let ticket = TestKit::suite_ticket("ww4asffe99e54c0f", "TICKET-1");
    let (response, seen) = send(layer(&suite), kit(&suite).post(&ticket), empty()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body().as_ref(), b"success");
    let message = seen.message.lock().unwrap().clone().unwrap();
    assert_eq!(message.info_type(), Some("suite_ticket"));
    assert_eq!(message.field("SuiteTicket"), Some("TICKET-1"));
    let context = seen.context.lock().unwrap().clone().unwrap();
    assert_eq!(context.kind, CallbackKind::WeComSuite);
    assert_eq!(context.receive_id, "ww4asffe99e54c0f");

    // Reply::ack() says the same; a passive reply is a programming error.
    let (response, _) = send(
        layer(&suite),
        kit(&suite).post(&ticket),
        replying(Reply::ack()),
    )
    .await;
    assert_eq!(response.body().as_ref(), b"success");
    let (response, seen) = send(
        layer(&suite),
        kit(&suite).post(&ticket),
        replying(Reply::text("no")),
    )
    .await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(rejection(&response), RejectionKind::UnsupportedReply);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);

    // Encrypted for another suite: refused after the signature.
    let other = kit(&suite).receive_id("ww_other_suite").post(&ticket);
    let (response, seen) = send(layer(&suite), other, empty()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        rejection(&response),
        RejectionKind::Crypto(CryptoErrorKind::ValidateReceiveId)
    );
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn individual_suite_uses_the_empty_receive_id() {
    let suite = Endpoint::wecom_individual_suite(TOKEN, KEY).unwrap();
    let (response, seen) = send(
        layer(&suite),
        kit(&suite).post(&TestKit::suite_ticket("ww4asffe99e54c0f", "T")),
        empty(),
    )
    .await;
    assert_eq!(response.body().as_ref(), b"success");
    assert_eq!(
        seen.context.lock().unwrap().as_ref().unwrap().receive_id,
        ""
    );
    // A ciphertext for a named suite is not accepted by the "" policy.
    let named = kit(&suite)
        .receive_id("ww4asffe99e54c0f")
        .post(&TestKit::suite_ticket("ww4asffe99e54c0f", "T"));
    let (response, seen) = send(layer(&suite), named, empty()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        seen.calls.load(Ordering::SeqCst),
        0,
        "handler must not be called"
    );
}

#[tokio::test]
async fn wecom_suite_data_callback_checks_the_authorized_corps() {
    for authorized in [
        AuthorizedCorps::list(["wwcorpA", "wwcorpB"]),
        AuthorizedCorps::predicate(|id| id == "wwcorpA" || id == "wwcorpB"),
    ] {
        let data = Endpoint::wecom_suite_data(TOKEN, KEY, "wwprovider", authorized).unwrap();
        // GET: decrypted with the provider's own corp id.
        assert_verifies(&data).await;
        // Each corp's reply is sealed for that corp (first and second of the
        // list, or accepted by the predicate), never for another.
        for corp in ["wwcorpA", "wwcorpB"] {
            let message = TestKit::text_message(corp, "zhangsan", "hello");
            let (response, _) = send(
                layer(&data),
                kit(&data).receive_id(corp).post(&message),
                replying(Reply::text("hi")),
            )
            .await;
            assert_eq!(response.status(), StatusCode::OK);
            let envelope = ReplyEnvelope::parse(response.body()).unwrap();
            let sealed_for = MsgCrypt::new(TOKEN, KEY, corp)
                .unwrap()
                .decrypt_unsigned(&envelope.encrypt)
                .unwrap();
            assert_eq!(sealed_for.receive_id(), corp);
        }
        let message = TestKit::text_message("wwcorpB", "zhangsan", "hello");
        let (response, seen) = send(
            layer(&data),
            kit(&data).receive_id("wwcorpB").post(&message),
            replying(Reply::text("hi")),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            seen.context.lock().unwrap().as_ref().unwrap().receive_id,
            "wwcorpB"
        );
        // The reply is sealed for the corp the message came from.
        let Opened::Reply(xml) = open(&data, response).await else {
            panic!("expected a reply")
        };
        assert!(xml.contains("<Content><![CDATA[hi]]></Content>"));

        for stranger in ["wwcorpC", "wwprovider", ""] {
            let (response, seen) = send(
                layer(&data),
                kit(&data).receive_id(stranger).post(&message),
                empty(),
            )
            .await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{stranger}");
            assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
        }
    }
    assert!(
        Endpoint::wecom_suite_data(
            TOKEN,
            KEY,
            "wwprovider",
            AuthorizedCorps::list(Vec::<String>::new())
        )
        .is_err()
    );
}

#[tokio::test]
async fn wecom_bot_speaks_json() {
    let bot = Endpoint::wecom_bot(TOKEN, KEY).unwrap();
    assert_verifies(&bot).await;
    let (response, seen) = send(
        layer(&bot),
        kit(&bot).post(&TestKit::bot_text("zhangsan", "hello robot")),
        replying(Reply::text("hi \"there\"")),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let bot_message = seen.bot.lock().unwrap().clone().unwrap();
    assert_eq!(bot_message.text_content(), Some("hello robot"));
    assert_eq!(bot_message.from_user_id(), Some("zhangsan"));
    assert!(seen.message.lock().unwrap().is_none());
    let envelope: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    for key in ["encrypt", "msgsignature", "timestamp", "nonce"] {
        assert!(envelope[key].is_string(), "{key}");
    }
    let Opened::Reply(json) = open(&bot, response).await else {
        panic!("expected a reply")
    };
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"msgtype": "text", "text": {"content": "hi \"there\""}})
    );

    // An XML-only reply cannot go to the robot; no reply is an empty 200.
    let post = || kit(&bot).post(&TestKit::bot_text("zhangsan", "x"));
    let (response, _) = send(layer(&bot), post(), replying(Reply::image("MEDIA"))).await;
    assert_eq!(rejection(&response), RejectionKind::UnsupportedReply);
    let (response, _) = send(layer(&bot), post(), empty()).await;
    assert_eq!(
        (response.status(), response.body().len()),
        (StatusCode::OK, 0)
    );
    // An XML envelope is not the robot's format.
    let xml = TestKit::envelope("", "abcd");
    let sig = kit(&bot)
        .crypt()
        .unwrap()
        .signature(&NOW.to_string(), "1", "abcd");
    let request = kit(&bot).request(
        http::Method::POST,
        &sig,
        &NOW.to_string(),
        "1",
        None,
        Bytes::from(xml),
    );
    let (response, seen) = send(layer(&bot), request, empty()).await;
    assert_eq!(rejection(&response), RejectionKind::MalformedEnvelope);
    assert_eq!(
        seen.calls.load(Ordering::SeqCst),
        0,
        "handler must not be called"
    );
}

#[tokio::test]
async fn wecom_app_json_format_round_trips() {
    let app = Endpoint::wecom_app(TOKEN, KEY, "wx5823bf96d3bd56c7")
        .unwrap()
        .json();
    let message = TestKit::text_message("wx5823bf96d3bd56c7", "zhangsan", "json please");
    let (response, seen) = send(
        layer(&app),
        kit(&app).post(&message),
        replying(Reply::text("ok")),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        seen.message
            .lock()
            .unwrap()
            .as_ref()
            .unwrap()
            .field("Content"),
        Some("json please")
    );
    let Opened::Reply(xml) = open(&app, response).await else {
        panic!("expected a reply")
    };
    assert!(xml.contains("<Content><![CDATA[ok]]></Content>"));
}

#[tokio::test]
async fn official_account_plaintext_mode() {
    let oa = Endpoint::official_account_plain("AAAAA", "wxappid").unwrap();
    assert_verifies(&oa).await;
    let message = TestKit::text_message("gh_test", "openid1", "plain hello");
    let (response, seen) = send(layer(&oa), kit(&oa).post(&message), empty()).await;
    assert_eq!(response.body().as_ref(), b"success");
    assert_eq!(
        seen.message
            .lock()
            .unwrap()
            .as_ref()
            .unwrap()
            .field("Content"),
        Some("plain hello")
    );
    let (response, _) = send(
        layer(&oa),
        kit(&oa).post(&message),
        replying(Reply::text("pong")),
    )
    .await;
    let Opened::Reply(xml) = open(&oa, response).await else {
        panic!("expected a reply")
    };
    let reply = Message::parse(&xml).unwrap();
    assert_eq!(reply.field("Content"), Some("pong"));
    assert_eq!(reply.to_user_name(), "openid1");

    // The vendor's GET vector (WeChat doc 消息推送), with its own clock.
    let uri = "/cb?signature=f464b24fc39322e44b38aa78f5edd27bd1441696&echostr=4375120948345356249&timestamp=1714036504&nonce=1514711492";
    let oa = Endpoint::official_account_plain("AAAAA", "wxappid").unwrap();
    let service = ServiceBuilder::new()
        .layer(layer(&oa).clock(FixedClock::from_unix(1_714_036_504)))
        .service(service_fn(
            |_req: Request<CallbackBody<Full<Bytes>>>| async {
                Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
            },
        ));
    let response = service
        .clone()
        .oneshot(Request::get(uri).body(Full::default()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        body_bytes(response.into_body()).await.as_ref(),
        b"4375120948345356249"
    );
    let forged = uri.replace("nonce=1514711492", "nonce=1514711493");
    let response = service
        .oneshot(Request::get(forged).body(Full::default()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // No signature: 400, never treated as acceptable.
    let unsigned = Request::post(format!("/cb?timestamp={NOW}&nonce=1"))
        .body(Full::new(Bytes::from(message)))
        .unwrap();
    let (response, seen) = send(layer(&oa), unsigned, empty()).await;
    assert_eq!(
        rejection(&response),
        RejectionKind::MissingParameter("signature")
    );
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn official_account_safe_mode_never_falls_back_to_plaintext() {
    let oa = Endpoint::official_account_safe(TOKEN, KEY, "wxappid").unwrap();
    assert_verifies(&oa).await;
    let message = TestKit::text_message("gh_test", "openid1", "safe hello");
    let request = kit(&oa).post(&message);
    let (response, seen) = send(layer(&oa), request, replying(Reply::text("sealed"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        seen.context.lock().unwrap().as_ref().unwrap().receive_id,
        "wxappid"
    );
    let Opened::Reply(xml) = open(&oa, response).await else {
        panic!("expected a reply")
    };
    assert!(xml.contains("<Content><![CDATA[sealed]]></Content>"));

    // The same request without encrypt_type, or with the plaintext
    // message as body and only the plain signature: 400, handler not called.
    let request = kit(&oa).post(&message);
    let uri = request.uri().to_string().replace("&encrypt_type=aes", "");
    let (response, seen) = send(
        layer(&oa),
        Request::post(uri)
            .body(Full::new(Bytes::from(message.clone())))
            .unwrap(),
        empty(),
    )
    .await;
    assert_eq!(
        rejection(&response),
        RejectionKind::MissingParameter("encrypt_type")
    );
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
    let plain_kit = TestKit::new(
        PATH,
        &Endpoint::official_account_plain(TOKEN, "wxappid").unwrap(),
    )
    .at(NOW);
    let (response, seen) = send(layer(&oa), plain_kit.post(&message), empty()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn official_account_compatible_mode_reads_only_the_encrypted_copy() {
    let oa = Endpoint::official_account_compat(TOKEN, KEY, "wxappid").unwrap();
    let message = TestKit::text_message("gh_test", "openid1", "the real text");
    let request = kit(&oa).post(&message);
    // Tamper with the unauthenticated plaintext copy in the body.
    let (parts, body) = request.into_parts();
    let body = String::from_utf8(body_bytes(body).await.to_vec())
        .unwrap()
        .replacen("the real text", "forged text", 1);
    let (response, seen) = send(
        layer(&oa),
        Request::from_parts(parts, Full::new(Bytes::from(body))),
        empty(),
    )
    .await;
    assert_eq!(response.body().as_ref(), b"success");
    assert_eq!(
        seen.message
            .lock()
            .unwrap()
            .as_ref()
            .unwrap()
            .field("Content"),
        Some("the real text")
    );
}

#[tokio::test]
async fn open_platform_component_pushes_are_acknowledged() {
    let component = Endpoint::open_platform(TOKEN, KEY, "wxcomponent").unwrap();
    assert_verifies(&component).await;
    let push = TestKit::component_verify_ticket("wxcomponent", "ticket@@@xyz");
    let (response, seen) = send(layer(&component), kit(&component).post(&push), empty()).await;
    assert_eq!(response.body().as_ref(), b"success");
    let message = seen.message.lock().unwrap().clone().unwrap();
    assert_eq!(message.info_type(), Some("component_verify_ticket"));
    assert_eq!(message.field("ComponentVerifyTicket"), Some("ticket@@@xyz"));
    let (response, _) = send(
        layer(&component),
        kit(&component).post(&push),
        replying(Reply::text("x")),
    )
    .await;
    assert_eq!(rejection(&response), RejectionKind::UnsupportedReply);
}

#[tokio::test]
async fn several_apps_on_one_path_are_told_apart_by_signature() {
    let sales = Endpoint::wecom_app("SalesToken1", KEY, "wwcorp")
        .unwrap()
        .named("sales");
    let hr = Endpoint::wecom_app(
        "HrToken2",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "wwcorp",
    )
    .unwrap()
    .named("hr");
    let bot = Endpoint::wecom_bot("BotToken3", KEY).unwrap().named("bot");
    let both = WeComCallbackLayer::new(PATH, sales.clone())
        .unwrap()
        .endpoint(PATH, hr.clone())
        .unwrap()
        .endpoint(PATH, bot.clone())
        .unwrap();
    for (endpoint, name) in [(&sales, "sales"), (&hr, "hr")] {
        let message = TestKit::text_message("wwcorp", "zhangsan", name);
        let (response, seen) = send(
            both.clone(),
            kit(endpoint).post(&message),
            replying(Reply::text(name)),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(&*seen.context.lock().unwrap().as_ref().unwrap().app, name);
        // Sealed with the matching app's key: opens with its kit only.
        let Opened::Reply(xml) = open(endpoint, response).await else {
            panic!("expected a reply")
        };
        assert!(xml.contains(&format!("<Content><![CDATA[{name}]]></Content>")));
    }
    let (response, seen) = send(
        both.clone(),
        kit(&bot).post(&TestKit::bot_text("u", "hey")),
        empty(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(&*seen.context.lock().unwrap().as_ref().unwrap().app, "bot");
    // A token none of them has: 403.
    let stranger = Endpoint::wecom_app("Stranger9", KEY, "wwcorp").unwrap();
    let (response, seen) = send(
        both,
        kit(&stranger).post(&TestKit::text_message("wwcorp", "u", "x")),
        empty(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn rotation_accepts_the_previous_secret_and_answers_with_it() {
    let old = Endpoint::wecom_app("OldToken1", KEY, "wwcorp").unwrap();
    let new_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    let rotating = Endpoint::wecom_app("NewToken2", new_key, "wwcorp")
        .unwrap()
        .previous_secret("OldToken1", KEY)
        .unwrap();
    let message = TestKit::text_message("wwcorp", "u", "still old");
    let (response, seen) = send(
        layer(&rotating),
        kit(&old).post(&message),
        replying(Reply::text("ok")),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        seen.context
            .lock()
            .unwrap()
            .as_ref()
            .unwrap()
            .previous_secret
    );
    assert!(matches!(open(&old, response).await, Opened::Reply(_)));
    let (response, seen) = send(layer(&rotating), kit(&rotating).post(&message), empty()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        !seen
            .context
            .lock()
            .unwrap()
            .as_ref()
            .unwrap()
            .previous_secret
    );
    let (response, _) = send(layer(&rotating), kit(&old).verify_url("12345"), empty()).await;
    assert_eq!(response.body().as_ref(), b"12345");
}

fn vector(file: &str, id: &str) -> serde_json::Value {
    let path = format!("{}/tests/data/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn vendor_vectors_of_these_kinds_pass_through_the_layer() {
    // The robot's JSON POST and GET (receive id "").
    let v = vector("generated.json", "gen-robot-json-empty-receive-id");
    let s = |k: &str| v[k].as_str().unwrap().to_owned();
    let bot = Endpoint::wecom_bot(&s("token"), &s("encoding_aes_key")).unwrap();
    let uri = format!(
        "/cb?msg_signature={}&timestamp={}&nonce={}",
        s("msg_signature"),
        s("timestamp"),
        s("nonce")
    );
    let request = Request::post(uri)
        .body(Full::new(Bytes::from(s("post_body"))))
        .unwrap();
    let (response, seen) = send(layer(&bot), request, empty()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        seen.bot.lock().unwrap().as_ref().unwrap().msg_id(),
        Some("CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=")
    );

    let v = vector("generated.json", "gen-robot-verify-url-empty-receive-id");
    let s = |k: &str| v[k].as_str().unwrap().to_owned();
    let uri = format!(
        "/cb?msg_signature={}&timestamp={}&nonce={}&echostr={}",
        s("msg_signature"),
        s("timestamp"),
        s("nonce"),
        s("echostr_urlencoded")
    );
    let (response, _) = send(
        layer(&bot),
        Request::get(uri).body(Full::default()).unwrap(),
        empty(),
    )
    .await;
    assert_eq!(response.body().as_ref(), s("expected_plaintext").as_bytes());

    // The Official Account compatible-mode sample of the vendor's demo.
    let v = vector("public.json", "mp-official-python-demo-compat-mode");
    let s = |k: &str| v[k].as_str().unwrap().to_owned();
    let oa =
        Endpoint::official_account_compat(&s("token"), &s("encoding_aes_key"), &s("receive_id"))
            .unwrap();
    let ts: u64 = s("timestamp").parse().unwrap();
    let uri = format!(
        "/cb?signature={}&timestamp={}&nonce={}&encrypt_type=aes&msg_signature={}",
        wecom_callback::crypto::plain_signature(&s("token"), &s("timestamp"), &s("nonce")),
        s("timestamp"),
        s("nonce"),
        s("msg_signature")
    );
    let service = ServiceBuilder::new()
        .layer(layer(&oa).clock(FixedClock::from_unix(ts)))
        .service(service_fn(
            |req: Request<CallbackBody<Full<Bytes>>>| async move {
                let body = body_bytes(req.into_body()).await;
                Ok::<_, Infallible>(Response::new(Full::new(body)))
            },
        ));
    let response = service
        .oneshot(
            Request::post(uri)
                .body(Full::new(Bytes::from(s("post_body"))))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The handler echoed the decrypted plaintext it was given.
    assert_eq!(
        body_bytes(response.into_body()).await.as_ref(),
        s("expected_plaintext").as_bytes()
    );
}
