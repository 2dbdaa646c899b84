//! Isolation between tenants, kinds and modes (issue 19), beside
//! `tests/hostile.rs`: each attack an outside review reproduced, sent
//! through `WeComCallbackLayer` with `oneshot`/`TestKit`, with the handler
//! calls counted.
//!
//! 1. Two authorized corps send one `MsgId`/`AgentID` to a suite's data
//!    callback: each corp's handler runs and each gets its own answer.
//! 2. An unauthenticated Official Account plaintext-mode POST with a chosen
//!    `MsgId` does not decide the answer of the genuine safe-mode message of
//!    the same appid on one dedup store (in memory here; on Redis in
//!    `plaintext_and_safe_on_one_redis_do_not_meet`, which needs
//!    `REDIS_URL`).
//! 3. Ticket poisoning: a plaintext-mode push, a push for another app, and a
//!    push from the future are never stored; a genuine push after them is.
//! 4. A request stamped ahead of the server clock keeps its stored answer
//!    until its timestamp plus the tolerance has passed.
//! 5. The `MissingLayer` 500 sends a fixed body, naming no path.
//! 6. One Token shared by a suite's instruction and data endpoints on one
//!    path: both are served.
//! 7. JSON refuses the characters XML refuses.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use common::body_bytes;
use http::StatusCode;
use tower::ServiceExt;
use wecom_callback::dedup::{
    BoxFuture, Claim, ClaimToken, DedupKey, DedupStore, MemoryDedupStore, StoreError, StoredAnswer,
};
use wecom_callback::testing::TestKit;
use wecom_callback::tickets::{MemoryTicketStore, TicketKind, TicketPushError, TicketStore};
use wecom_callback::{
    AuthorizedCorps, CallbackContext, CallbackKind, Endpoint, FixedClock, Message, MessageKind,
    MissingLayer, RejectionKind, Reply, WeComCallbackLayer,
};

const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const PROVIDER: &str = "wwprovider0000001";
const SUITE: &str = "wwsuite00000000001";
const CORP_A: &str = "wwcorpA0000000001";
const CORP_B: &str = "wwcorpB0000000001";
const APPID: &str = "wx1234567890abcdef";
const PATH: &str = "/wecom/callback";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A text message with a fixed `MsgId` and `AgentID`.
fn text_with_id(to: &str, from: &str, content: &str, msg_id: u64, agent_id: u64) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{to}]]></ToUserName>\
         <FromUserName><![CDATA[{from}]]></FromUserName>\
         <CreateTime>{}</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>\
         <AgentID>{agent_id}</AgentID></xml>",
        now()
    )
}

/// A handler that counts its calls and echoes `<context app>/<receive id>:
/// <content>` so that an answer shows whose message it is.
fn counting_router(calls: Arc<AtomicUsize>) -> Router {
    Router::new().route(
        PATH,
        post(
            move |State(calls): State<Arc<AtomicUsize>>,
                  context: CallbackContext,
                  message: Message| async move {
                calls.fetch_add(1, Ordering::SeqCst);
                let content = match message.kind() {
                    MessageKind::Text(text) => text.content.clone(),
                    _ => message.msg_type().to_owned(),
                };
                Reply::text(format!(
                    "{}/{}/{}: {content}",
                    context.kind,
                    context.receive_id,
                    message.from_user_name()
                ))
            },
        )
        .with_state(calls),
    )
}

#[tokio::test]
async fn two_corps_with_one_msg_id_each_reach_the_handler() {
    let data = Endpoint::wecom_suite_data(
        TOKEN,
        KEY,
        PROVIDER,
        AuthorizedCorps::list([CORP_A, CORP_B]),
    )
    .unwrap();
    let layer = WeComCallbackLayer::new(PATH, data).unwrap();
    let kit = TestKit::for_layer(&layer);
    let calls = Arc::new(AtomicUsize::new(0));
    let mut app = counting_router(Arc::clone(&calls)).layer(layer);

    // Corp A's message, then corp B's with the same MsgId and AgentID.
    let from_a = text_with_id(
        CORP_A,
        "alice",
        "我的工资是 12345 (salary)",
        7_000_001,
        1_000_002,
    );
    let answer_a = kit
        .clone()
        .receive_id(CORP_A)
        .send(&mut app, kit.clone().receive_id(CORP_A).post(&from_a))
        .await
        .unwrap()
        .xml()
        .unwrap();
    let from_b = text_with_id(
        CORP_B,
        "bob",
        "Hello, 世界! hi from B",
        7_000_001,
        1_000_002,
    );
    let kit_b = kit.clone().receive_id(CORP_B);
    let answer_b = kit_b
        .send(&mut app, kit_b.post(&from_b))
        .await
        .unwrap()
        .xml()
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2, "corp B's handler ran");
    assert_eq!(
        answer_a.content(),
        Some(format!("wecom_suite_data/{CORP_A}/alice: 我的工资是 12345 (salary)").as_str())
    );
    assert_eq!(
        answer_b.content(),
        Some(format!("wecom_suite_data/{CORP_B}/bob: Hello, 世界! hi from B").as_str())
    );
    assert!(!answer_b.content().unwrap().contains("12345"));

    // A retry of corp B's message still gets corp B's answer, once.
    let retry = kit_b
        .send(&mut app, kit_b.post(&from_b))
        .await
        .unwrap()
        .xml()
        .unwrap();
    assert_eq!(retry.content(), answer_b.content());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// Two layers (plaintext mode at `/plain`, safe mode at `/safe`) for one
/// appid and Token, sharing `store`.
fn plain_and_safe(store: Arc<dyn DedupStore>) -> (Router, TestKit, TestKit, Arc<AtomicUsize>) {
    let plain = Endpoint::official_account_plain(TOKEN, APPID).unwrap();
    let safe = Endpoint::official_account_safe(TOKEN, KEY, APPID).unwrap();
    let plain_layer = WeComCallbackLayer::new("/plain", plain)
        .unwrap()
        .dedup_store(Arc::clone(&store));
    let safe_layer = WeComCallbackLayer::new("/safe", safe)
        .unwrap()
        .dedup_store(store);
    let plain_kit = TestKit::for_layer(&plain_layer);
    let safe_kit = TestKit::for_layer(&safe_layer);
    let calls = Arc::new(AtomicUsize::new(0));
    let handler = |calls: Arc<AtomicUsize>| {
        post(
            move |context: CallbackContext, message: Message| async move {
                calls.fetch_add(1, Ordering::SeqCst);
                let content = match message.kind() {
                    MessageKind::Text(text) => text.content.clone(),
                    _ => String::new(),
                };
                Reply::text(format!("{}: {content}", context.kind))
            },
        )
    };
    let app = Router::new()
        .route("/plain", handler(Arc::clone(&calls)))
        .layer(plain_layer)
        .route("/safe", handler(Arc::clone(&calls)))
        .layer(safe_layer);
    (app, plain_kit, safe_kit, calls)
}

async fn plaintext_never_answers_for_safe_mode(store: Arc<dyn DedupStore>, msg_id: u64) {
    let (mut app, plain_kit, safe_kit, calls) = plain_and_safe(store);
    // The attacker: one signed plaintext-mode URL (the signature does not
    // cover the body), a body with the MsgId of a message to come.
    let forged = text_with_id(APPID, "oVictim", "attacker's answer", msg_id, 0);
    let forged_answer = plain_kit
        .send(&mut app, plain_kit.post(&forged))
        .await
        .unwrap()
        .xml()
        .unwrap();
    assert_eq!(
        forged_answer.content(),
        Some("official_account_plain: attacker's answer")
    );
    // The genuine safe-mode message with that MsgId runs its handler and
    // gets its own answer.
    let genuine = text_with_id(APPID, "oVictim", "真的消息 genuine", msg_id, 0);
    let answer = safe_kit
        .send(&mut app, safe_kit.post(&genuine))
        .await
        .unwrap()
        .xml()
        .unwrap();
    assert_eq!(
        answer.content(),
        Some("official_account_safe: 真的消息 genuine")
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn plaintext_and_safe_mode_on_one_store_do_not_meet() {
    plaintext_never_answers_for_safe_mode(Arc::new(MemoryDedupStore::new()), 6_000_000_001).await;
}

#[cfg(feature = "redis")]
#[tokio::test]
#[ignore = "needs REDIS_URL (a running redis-server); CI runs it through tests/redis/run.sh"]
async fn plaintext_and_safe_on_one_redis_do_not_meet() {
    use wecom_callback::dedup::{RedisConnection, RedisDedupStore};
    let url = std::env::var("REDIS_URL").expect("REDIS_URL");
    let store = RedisDedupStore::new(RedisConnection::open(&url).unwrap())
        .key_prefix(format!("wecom-callback-isolation-{}:", now()));
    // A MsgId of this run only, so earlier runs' keys cannot answer.
    let msg_id = now() * 1000 + u64::from(std::process::id() % 1000);
    plaintext_never_answers_for_safe_mode(Arc::new(store), msg_id).await;
}

/// A handler that stores every ticket push `ticket_push` accepts, and
/// records what it refused.
fn ticket_router(tickets: MemoryTicketStore, refused: Arc<Mutex<Vec<TicketPushError>>>) -> Router {
    Router::new().route(
        PATH,
        post(move |context: CallbackContext, message: Message| {
            let tickets = tickets.clone();
            let refused = Arc::clone(&refused);
            async move {
                match context.ticket_push(&message) {
                    Ok(Some(push)) => {
                        tickets
                            .save(&push.app, push.kind, &push.ticket, push.issued_at)
                            .await
                            .unwrap();
                    }
                    Ok(None) => {}
                    Err(error) => refused.lock().unwrap().push(error),
                }
                Reply::ack()
            }
        }),
    )
}

fn component_push(appid: &str, ticket: &str, create_time: u64) -> String {
    format!(
        "<xml><AppId><![CDATA[{appid}]]></AppId><CreateTime>{create_time}</CreateTime>\
         <InfoType><![CDATA[component_verify_ticket]]></InfoType>\
         <ComponentVerifyTicket><![CDATA[{ticket}]]></ComponentVerifyTicket></xml>"
    )
}

#[tokio::test]
async fn the_ticket_store_cannot_be_poisoned() {
    let tickets = MemoryTicketStore::new();
    let refused = Arc::new(Mutex::new(Vec::new()));

    // 1. Plaintext mode, for the component's own appid: an unauthenticated
    //    body with a ticket from the far future.
    let plain = Endpoint::official_account_plain(TOKEN, APPID).unwrap();
    let layer = WeComCallbackLayer::new(PATH, plain).unwrap();
    let kit = TestKit::for_layer(&layer);
    let mut app = ticket_router(tickets.clone(), Arc::clone(&refused)).layer(layer);
    let poison = component_push(APPID, "ticket@@@ATTACKER", 9_999_999_999);
    assert!(
        kit.send(&mut app, kit.post(&poison))
            .await
            .unwrap()
            .is_ack()
    );

    // 2. The genuine component endpoint: a push for another appid, and a
    //    push from the future, are refused too.
    let component = Endpoint::open_platform(TOKEN, KEY, APPID).unwrap();
    let layer = WeComCallbackLayer::new(PATH, component).unwrap();
    let kit = TestKit::for_layer(&layer);
    let mut app = ticket_router(tickets.clone(), Arc::clone(&refused)).layer(layer);
    let other_app = component_push("wxotherapp000000", "ticket@@@OTHER", now());
    // Sealed for our appid (authentic), but the body names another app.
    assert!(
        kit.send(&mut app, kit.post(&other_app))
            .await
            .unwrap()
            .is_ack()
    );
    let future = component_push(APPID, "ticket@@@FUTURE", 9_999_999_999);
    assert!(
        kit.send(&mut app, kit.post(&future))
            .await
            .unwrap()
            .is_ack()
    );
    assert_eq!(
        tickets
            .latest(APPID, TicketKind::ComponentVerifyTicket)
            .await
            .unwrap(),
        None
    );
    let refused_now = refused.lock().unwrap().clone();
    assert!(matches!(
        refused_now.as_slice(),
        [
            TicketPushError::WrongKind {
                ticket: TicketKind::ComponentVerifyTicket,
                kind: CallbackKind::OfficialAccount(_)
            },
            TicketPushError::AppMismatch { .. },
            TicketPushError::FromTheFuture {
                issued_at: 9_999_999_999,
                ..
            },
        ]
    ));

    // 3. The genuine push after them is stored, and the next one too.
    let issued = now() - 60;
    let genuine = component_push(APPID, "ticket@@@GENUINE", issued);
    assert!(
        kit.send(&mut app, kit.post(&genuine))
            .await
            .unwrap()
            .is_ack()
    );
    let stored = tickets
        .latest(APPID, TicketKind::ComponentVerifyTicket)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.ticket(), stored.issued_at()),
        ("ticket@@@GENUINE", issued)
    );
    let next = component_push(APPID, "ticket@@@NEXT", issued + 30);
    assert!(kit.send(&mut app, kit.post(&next)).await.unwrap().is_ack());
    let stored = tickets
        .latest(APPID, TicketKind::ComponentVerifyTicket)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.ticket(), "ticket@@@NEXT");
}

#[tokio::test]
async fn a_suite_ticket_reaches_only_the_suite_that_was_authenticated() {
    let tickets = MemoryTicketStore::new();
    let refused = Arc::new(Mutex::new(Vec::new()));
    let suite = Endpoint::wecom_suite(TOKEN, KEY, SUITE).unwrap();
    let layer = WeComCallbackLayer::new(PATH, suite).unwrap();
    let kit = TestKit::for_layer(&layer);
    let mut app = ticket_router(tickets.clone(), Arc::clone(&refused)).layer(layer);
    // The body claims another suite: refused.
    let other = TestKit::suite_ticket("wwothersuite00001", "stolen");
    assert!(kit.send(&mut app, kit.post(&other)).await.unwrap().is_ack());
    assert_eq!(
        tickets
            .latest("wwothersuite00001", TicketKind::SuiteTicket)
            .await
            .unwrap(),
        None
    );
    // Its own: stored.
    let own = TestKit::suite_ticket(SUITE, "mine");
    assert!(kit.send(&mut app, kit.post(&own)).await.unwrap().is_ack());
    assert_eq!(
        tickets
            .latest(SUITE, TicketKind::SuiteTicket)
            .await
            .unwrap()
            .map(|t| t.into_ticket()),
        Some("mine".to_owned())
    );
    assert!(matches!(
        refused.lock().unwrap().as_slice(),
        [TicketPushError::AppMismatch { app }] if app == "wwothersuite00001"
    ));
}

/// A store that records the TTL of every `complete`.
#[derive(Debug, Default)]
struct RecordingStore {
    inner: MemoryDedupStore,
    windows: Mutex<Vec<Duration>>,
}

impl DedupStore for RecordingStore {
    fn claim<'a>(
        &'a self,
        key: &'a DedupKey,
        in_flight_ttl: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        self.inner.claim(key, in_flight_ttl)
    }

    fn complete<'a>(
        &'a self,
        key: &'a DedupKey,
        answer: StoredAnswer,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.windows.lock().unwrap().push(ttl);
        self.inner.complete(key, answer, ttl)
    }

    fn release<'a>(
        &'a self,
        key: &'a DedupKey,
        token: ClaimToken,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.release(key, token)
    }
}

#[tokio::test]
async fn an_answer_outlives_the_window_of_a_request_stamped_ahead() {
    let clock_at = 1_800_000_000;
    let store = Arc::new(RecordingStore::default());
    let app_endpoint = Endpoint::wecom_app(TOKEN, KEY, CORP_A).unwrap();
    let layer = WeComCallbackLayer::new(PATH, app_endpoint)
        .unwrap()
        .clock(FixedClock::from_unix(clock_at))
        .dedup_store(Arc::clone(&store));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut app = counting_router(Arc::clone(&calls)).layer(layer);

    // On time: the configured window, 300 s.
    let on_time =
        TestKit::new(PATH, &Endpoint::wecom_app(TOKEN, KEY, CORP_A).unwrap()).at(clock_at);
    let message = text_with_id(CORP_A, "alice", "on time 准时", 1, 1);
    on_time
        .send(&mut app, on_time.post(&message))
        .await
        .unwrap();
    // Stamped 290 s ahead: accepted (inside ±300 s), and kept until its
    // timestamp plus the tolerance, 590 s from now (and a second more).
    let ahead = on_time.clone().at(clock_at + 290);
    let message = text_with_id(CORP_A, "alice", "ahead 超前", 2, 1);
    ahead.send(&mut app, ahead.post(&message)).await.unwrap();
    let windows = store.windows.lock().unwrap().clone();
    assert_eq!(windows.len(), 2);
    // (300 s, or 301 s: the second the clock is truncated to is counted.)
    assert!(
        (300..=301).contains(&windows[0].as_secs()),
        "{:?}",
        windows[0]
    );
    assert!(
        windows[1] >= Duration::from_secs(590),
        "a request stamped now+290 must keep its answer ≥ 590 s, got {:?}",
        windows[1]
    );
    assert!(windows[1] <= Duration::from_secs(592), "{:?}", windows[1]);
    // The replay meets the stored answer: the handler does not run again.
    ahead.send(&mut app, ahead.post(&message)).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_500_outside_the_callback_paths_names_no_path() {
    let sales = Endpoint::wecom_app(TOKEN, KEY, CORP_A)
        .unwrap()
        .named("sales");
    let hr = Endpoint::wecom_app(TOKEN, KEY, CORP_B).unwrap().named("hr");
    let layer = WeComCallbackLayer::new("/wecom/sales", sales)
        .unwrap()
        .endpoint("/wecom/hr", hr)
        .unwrap();
    // A `Message` handler on a path the layer does not serve.
    let app = Router::new()
        .route("/elsewhere", post(|_: Message| async { "unreachable" }))
        .layer(layer);
    let request = http::Request::post("/elsewhere")
        .body(axum::body::Body::from("<xml/>"))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let detail = response
        .extensions()
        .get::<MissingLayer>()
        .unwrap()
        .detail();
    assert!(
        detail.contains("/wecom/sales") && detail.contains("/wecom/hr"),
        "{detail}"
    );
    let body = body_bytes(response.into_body()).await;
    assert_eq!(body.as_ref(), MissingLayer::BODY.as_bytes());
    let body = String::from_utf8(body.to_vec()).unwrap();
    for secret_path in ["/wecom/sales", "/wecom/hr", "sales", "hr`"] {
        assert!(!body.contains(secret_path), "{secret_path} in {body}");
    }
}

#[tokio::test]
async fn one_token_serves_a_suites_instruction_and_data_callbacks_on_one_path() {
    // WeCom gives a suite's instruction URL and data URL the same Token
    // (and EncodingAESKey). Both orders of the candidates.
    for data_first in [false, true] {
        let suite = Endpoint::wecom_suite(TOKEN, KEY, SUITE).unwrap();
        let data =
            Endpoint::wecom_suite_data(TOKEN, KEY, PROVIDER, AuthorizedCorps::list([CORP_A]))
                .unwrap()
                .named("data");
        let (first, second) = if data_first {
            (data, suite)
        } else {
            (suite, data)
        };
        let layer = WeComCallbackLayer::new(PATH, first)
            .unwrap()
            .and_endpoint(second);
        let suite_kit = TestKit::for_layer_app(&layer, SUITE).unwrap();
        let data_kit = TestKit::for_layer_app(&layer, "data")
            .unwrap()
            .receive_id(CORP_A);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&seen);
        let mut app = Router::new()
            .route(
                PATH,
                post(move |context: CallbackContext, message: Message| {
                    let recorded = Arc::clone(&recorded);
                    async move {
                        recorded.lock().unwrap().push((
                            context.kind,
                            context.receive_id.clone(),
                            message.msg_type().to_owned(),
                        ));
                        Reply::ack()
                    }
                }),
            )
            .layer(layer);

        let ticket = TestKit::suite_ticket(SUITE, "t");
        let response = suite_kit.send(&mut app, suite_kit.post(&ticket)).await;
        assert!(response.unwrap().is_ack(), "data_first = {data_first}");
        let text = text_with_id(CORP_A, "alice", "数据回调 data", 42, 1_000_002);
        let response = data_kit.send(&mut app, data_kit.post(&text)).await;
        assert!(response.unwrap().is_ack(), "data_first = {data_first}");
        let handled = seen.lock().unwrap().clone();
        assert_eq!(
            handled,
            vec![
                (CallbackKind::WeComSuite, SUITE.to_owned(), String::new()),
                (
                    CallbackKind::WeComSuiteData,
                    CORP_A.to_owned(),
                    "text".to_owned()
                ),
            ],
            "data_first = {data_first}"
        );

        // A corp that is not authorized is still refused (by the data
        // endpoint's receive-id check), and the suite does not take it.
        let stranger = data_kit.clone().receive_id("wwstranger0000001");
        let text = text_with_id("wwstranger0000001", "eve", "x", 43, 1);
        let error = stranger
            .send(&mut app, stranger.post(&text))
            .await
            .unwrap_err();
        assert_eq!(error.status(), Some(StatusCode::FORBIDDEN), "{error}");
        assert_eq!(seen.lock().unwrap().len(), 2, "the handler was not called");
    }
}

/// Sends `request` through `layer` to an inner service that counts its
/// calls; the response and how often the handler ran.
async fn through_counting(
    layer: &WeComCallbackLayer,
    request: http::Request<http_body_util::Full<bytes::Bytes>>,
) -> (http::Response<impl http_body::Body>, usize) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let service = tower::service_fn(move |_req: http::Request<_>| {
        counter.fetch_add(1, Ordering::SeqCst);
        async {
            Ok::<_, std::convert::Infallible>(axum::response::Response::new(
                axum::body::Body::empty(),
            ))
        }
    });
    let response = tower::Layer::layer(layer, service)
        .oneshot(request)
        .await
        .unwrap();
    (response, calls.load(Ordering::SeqCst))
}

#[tokio::test]
async fn json_refuses_what_xml_refuses() {
    // The robot (JSON) and an app in the JSON callback format, each with a
    // NUL (escaped), a raw U+FFFE, an escaped U+FFFF and an escaped ESC.
    let bot = Endpoint::wecom_bot(TOKEN, KEY).unwrap();
    let bot_layer = WeComCallbackLayer::new(PATH, bot).unwrap();
    let bot_kit = TestKit::for_layer(&bot_layer);
    let json_app = Endpoint::wecom_app(TOKEN, KEY, CORP_A).unwrap().json();
    let app_layer = WeComCallbackLayer::new(PATH, json_app).unwrap();
    let app_kit = TestKit::for_layer(&app_layer);
    for bad in ["a\\u0000b", "a\u{FFFE}b", "\\uffff", "\\u001b[31m"] {
        let bot_message = format!(
            r#"{{"msgid":"m1","aibotid":"A","chattype":"single","from":{{"userid":"u"}},"msgtype":"text","text":{{"content":"你好 {bad}"}}}}"#
        );
        let app_message = format!(
            r#"{{"ToUserName":"{CORP_A}","FromUserName":"u","CreateTime":1,"MsgType":"text","Content":"你好 {bad}","MsgId":1,"AgentID":1}}"#
        );
        for (layer, request) in [
            (&bot_layer, bot_kit.post(&bot_message)),
            (&app_layer, app_kit.post(&app_message)),
        ] {
            let (response, calls) = through_counting(layer, request).await;
            // After the signature, a refusal looks like a forgery (403).
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{bad}");
            assert_eq!(
                response
                    .extensions()
                    .get::<wecom_callback::Rejection>()
                    .map(|r| r.kind()),
                Some(RejectionKind::MalformedMessage),
                "{bad}"
            );
            assert_eq!(calls, 0, "the handler must not be called: {bad}");
        }
    }
    // And the same content without the bad character reaches the handler.
    let fine = r#"{"msgid":"m2","aibotid":"A","chattype":"single","from":{"userid":"u"},"msgtype":"text","text":{"content":"你好 Hello, 世界!\t"}}"#;
    let (response, calls) = through_counting(&bot_layer, bot_kit.post(fine)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn two_robots_with_one_msgid_on_one_store_do_not_meet() {
    // Two robots, both with the default name, on one shared store: the
    // secret that verified each request keeps their keys apart.
    const OTHER_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    let store: Arc<dyn DedupStore> = Arc::new(MemoryDedupStore::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let mut answers = Vec::new();
    for (token, key, who) in [
        (TOKEN, KEY, "robot A"),
        ("OtherToken1", OTHER_KEY, "robot B"),
    ] {
        let bot = Endpoint::wecom_bot(token, key).unwrap();
        assert_eq!(bot.name(), "wecom_bot");
        let layer = WeComCallbackLayer::new(PATH, bot)
            .unwrap()
            .dedup_store(Arc::clone(&store));
        let kit = TestKit::for_layer(&layer);
        let counter = Arc::clone(&calls);
        let mut app = Router::new()
            .route(
                PATH,
                post(move |message: wecom_callback::BotMessage| async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Reply::text(format!("{who}: {}", message.text_content().unwrap_or("")))
                }),
            )
            .layer(layer);
        let message = r#"{"msgid":"same-msgid-1","aibotid":"A","chattype":"single","from":{"userid":"u"},"msgtype":"text","text":{"content":"你好 robot"}}"#;
        let json = kit
            .send(&mut app, kit.post(message))
            .await
            .unwrap()
            .json()
            .unwrap();
        answers.push(json["text"]["content"].as_str().unwrap().to_owned());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(answers, ["robot A: 你好 robot", "robot B: 你好 robot"]);
}
