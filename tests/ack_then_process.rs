//! The `ack_then_process` example against the vendor stand-in: each
//! accepted text message leads to exactly one `message/send` with
//! `processed: <Content>`, across WeCom's retries (sequential and while the
//! first delivery is still in flight), token faults, and, with Redis,
//! across three instances that share it.
//!
//! The example's own code runs here (its `app` and `Settings`, included
//! from `examples/ack_then_process.rs`), served in process; the requests
//! are signed and encrypted by the test kit as WeCom does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/ack_then_process.rs"]
mod ack_then_process;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Router;
use serde_json::Value;
use wecom_callback::Endpoint;
use wecom_callback::testing::TestKit;
use wecom_callback::testing::vendor::{Fault, VendorConfig, VendorEndpoint, VendorStandIn};

use ack_then_process::{PATH, Settings};

const TOKEN: &str = "QDG6eK";
const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP: &str = "wx5823bf96d3bd56c7";
const SECRET: &str = "corp-secret-for-the-example";
const AGENT: i64 = 1_000_002;
const MIXED: &str = "Hello, 世界! 企业微信回调 test 123. 你好，这是一条消息。abc";
const WORK_MS: u64 = 150;
/// How long any wait in these tests may last before it fails.
const PATIENCE: Duration = Duration::from_secs(20);

fn settings(vendor: &VendorStandIn, redis_url: Option<&str>) -> Settings {
    settings_for(CORP, vendor, redis_url)
}

fn settings_for(corp: &str, vendor: &VendorStandIn, redis_url: Option<&str>) -> Settings {
    let values: HashMap<&str, String> = [
        ("WECOM_TOKEN", TOKEN.to_owned()),
        ("WECOM_ENCODING_AES_KEY", AES_KEY.to_owned()),
        ("WECOM_CORP_ID", corp.to_owned()),
        ("WECOM_API_BASE", vendor.base_url().to_owned()),
        ("WECOM_CORP_SECRET", SECRET.to_owned()),
        ("WORK_MS", WORK_MS.to_string()),
    ]
    .into_iter()
    .chain(redis_url.map(|url| ("REDIS_URL", url.to_owned())))
    .collect();
    Settings::from_lookup(|name| values.get(name).cloned()).unwrap()
}

async fn vendor() -> VendorStandIn {
    vendor_for(CORP).await
}

async fn vendor_for(corp: &str) -> VendorStandIn {
    VendorStandIn::start(VendorConfig::new().wecom_app(corp, AGENT, SECRET))
        .await
        .unwrap()
}

/// A text message from `user` with `content`, from app [`AGENT`].
fn text(user: &str, content: &str) -> String {
    text_for(CORP, user, content)
}

fn text_for(corp: &str, user: &str, content: &str) -> String {
    TestKit::text_message(corp, user, content).replace(
        "<AgentID>1</AgentID>",
        &format!("<AgentID>{AGENT}</AgentID>"),
    )
}

/// Delivers `xml` to `app` as WeCom does (a fresh signature each time);
/// the layer must acknowledge it.
async fn deliver(app: &Router, xml: &str) {
    deliver_for(CORP, app, xml).await;
}

async fn deliver_for(corp: &str, app: &Router, xml: &str) {
    let kit = TestKit::new(PATH, &Endpoint::wecom_app(TOKEN, AES_KEY, corp).unwrap());
    let mut app = app.clone();
    let opened = kit.send(&mut app, kit.post(xml)).await.unwrap();
    assert!(opened.is_ack(), "the example acknowledges at once");
}

/// Waits until the stand-in recorded `count` sends, then as long again as
/// the work takes three times over, so that a late duplicate would show.
async fn sends(vendor: &VendorStandIn, count: usize) -> Vec<Value> {
    let start = Instant::now();
    while vendor.sent_messages().len() < count {
        assert!(
            start.elapsed() < PATIENCE,
            "only {} of {count} sends",
            vendor.sent_messages().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(3 * WORK_MS)).await;
    vendor.sent_messages()
}

/// Every expected (user, content) pair was sent exactly once, in the
/// issue's shape, and nothing else was.
fn assert_exactly_once(sent: &[Value], expected: &[(String, String)]) {
    assert_eq!(sent.len(), expected.len(), "{sent:#?}");
    for (user, content) in expected {
        let matching: Vec<&Value> = sent
            .iter()
            .filter(|body| body["touser"] == user.as_str())
            .collect();
        assert_eq!(matching.len(), 1, "{user}: {matching:?}");
        let body = matching[0];
        assert_eq!(
            *body,
            serde_json::json!({
                "touser": user,
                "msgtype": "text",
                "agentid": AGENT,
                "text": {"content": format!("processed: {content}")},
            })
        );
    }
}

#[tokio::test]
async fn each_text_message_is_sent_once_across_retries() {
    let vendor = vendor().await;
    let app = ack_then_process::app(&settings(&vendor, None))
        .await
        .unwrap();

    let mut expected = Vec::new();
    let mut deliveries = Vec::new();
    for i in 0..12 {
        let user = format!("user{i}");
        let content = if i % 2 == 0 {
            format!("{MIXED} #{i}")
        } else {
            format!("plain ascii {i}")
        };
        let xml = text(&user, &content);
        expected.push((user, content));
        // The first delivery and a retry at the same time (the retry finds
        // the message in flight), then a retry after WeCom's wait.
        deliveries.push(tokio::spawn({
            let (app, xml) = (app.clone(), xml.clone());
            async move { deliver(&app, &xml).await }
        }));
        deliveries.push(tokio::spawn({
            let (app, xml) = (app.clone(), xml.clone());
            async move { deliver(&app, &xml).await }
        }));
        deliveries.push(tokio::spawn({
            let app = app.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(WORK_MS / 2)).await;
                deliver(&app, &xml).await;
            }
        }));
    }
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    // And the retries that come after the answer went out.
    let sent = sends(&vendor, expected.len()).await;
    assert_exactly_once(&sent, &expected);
    assert_eq!(
        vendor.calls(VendorEndpoint::MessageSend),
        12,
        "one send each"
    );
    assert_eq!(
        vendor.calls(VendorEndpoint::GetToken),
        1,
        "one token fetch for every send"
    );
}

#[tokio::test]
async fn a_rejected_token_costs_one_refresh_not_a_second_message() {
    let vendor = vendor().await;
    let app = ack_then_process::app(&settings(&vendor, None))
        .await
        .unwrap();

    let first = text("zhangsan", MIXED);
    deliver(&app, &first).await;
    let _ = sends(&vendor, 1).await;
    assert_eq!(vendor.calls(VendorEndpoint::GetToken), 1);

    // The vendor rejects the next send's token: the client drops that
    // token, fetches again and sends once more; the message goes out once.
    vendor.inject(VendorEndpoint::MessageSend, Fault::INVALID_CREDENTIAL);
    vendor.expire_tokens();
    let second = text("lisi", "第二条 second");
    deliver(&app, &second).await;
    deliver(&app, &second).await;
    let sent = sends(&vendor, 2).await;
    assert_exactly_once(
        &sent,
        &[
            ("zhangsan".to_owned(), MIXED.to_owned()),
            ("lisi".to_owned(), "第二条 second".to_owned()),
        ],
    );
    assert_eq!(
        vendor.calls(VendorEndpoint::MessageSend),
        3,
        "1 + rejected + retried"
    );
    assert_eq!(vendor.calls(VendorEndpoint::GetToken), 2, "one refresh");
}

/// The vendor drops the cached token (expired early, as after a secret
/// reset) while several answers are being sent at once: every send is
/// rejected once, one refresh follows, and each message still goes out
/// exactly once.
#[tokio::test]
async fn a_token_dropped_under_concurrent_sends_costs_one_refresh() {
    let vendor = vendor().await;
    let app = ack_then_process::app(&settings(&vendor, None))
        .await
        .unwrap();
    deliver(&app, &text("first", "warm up")).await;
    let _ = sends(&vendor, 1).await;
    vendor.expire_tokens();

    let mut expected = vec![("first".to_owned(), "warm up".to_owned())];
    for i in 0..6 {
        let (user, content) = (format!("u{i}"), format!("{MIXED} {i}"));
        deliver(&app, &text(&user, &content)).await;
        expected.push((user, content));
    }
    let sent = sends(&vendor, expected.len()).await;
    assert_exactly_once(&sent, &expected);
    assert_eq!(vendor.calls(VendorEndpoint::GetToken), 2, "one refresh");
}

#[test]
fn settings_have_the_documented_defaults() {
    let settings = Settings::from_lookup(|_| None).unwrap();
    assert_eq!(settings.bind, "127.0.0.1:3000");
    assert_eq!(settings.api_base, "https://qyapi.weixin.qq.com");
    assert_eq!(settings.work, Duration::from_millis(2000));
    assert_eq!(settings.corp_id, CORP);
    assert!(settings.corp_secret.is_none() && settings.redis_url.is_none());
    assert!(settings.redis_timeout.is_none());
    let bad = Settings::from_lookup(|name| (name == "WORK_MS").then(|| "soon".to_owned()));
    assert!(bad.err().unwrap().contains("WORK_MS"));
    let bad = Settings::from_lookup(|name| (name == "REDIS_TIMEOUT_MS").then(|| "1s".to_owned()));
    assert!(bad.err().unwrap().contains("REDIS_TIMEOUT_MS"));
}

/// Three instances (each its own layer, client and Redis connection)
/// sharing one Redis: every message delivered to all three, twice, is sent
/// once, and the token is fetched once for all. The corp id is fresh for
/// each run, so that a token cached by an earlier run (of another
/// stand-in) is not in the shared cache.
#[cfg(feature = "redis")]
#[tokio::test]
#[ignore = "needs REDIS_URL (tests/redis/run.sh starts a redis-server)"]
async fn three_instances_sharing_redis_send_each_message_once() {
    let redis_url = std::env::var("REDIS_URL").expect("REDIS_URL");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let corp = format!("ww{}x{nanos}", std::process::id());
    let vendor = vendor_for(&corp).await;
    let mut instances = Vec::new();
    for _ in 0..3 {
        let app = ack_then_process::app(&settings_for(&corp, &vendor, Some(&redis_url)))
            .await
            .unwrap();
        instances.push(app);
    }
    let mut expected = Vec::new();
    let mut deliveries = Vec::new();
    for i in 0..10 {
        let user = format!("user{i}");
        let content = format!("{MIXED} 实例 {i}");
        let xml = text_for(&corp, &user, &content);
        expected.push((user, content));
        for round in 0..2 {
            for app in &instances {
                let (app, xml, corp) = (app.clone(), xml.clone(), corp.clone());
                deliveries.push(tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(round * WORK_MS * 2)).await;
                    deliver_for(&corp, &app, &xml).await;
                }));
            }
        }
    }
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    let sent = sends(&vendor, expected.len()).await;
    assert_exactly_once(&sent, &expected);
    assert_eq!(vendor.calls(VendorEndpoint::MessageSend), 10);
    assert_eq!(
        vendor.calls(VendorEndpoint::GetToken),
        1,
        "one fetch for three instances"
    );
}

/// The example's binary, `ACK_BIN` or `examples/ack_then_process` next to
/// this test's own binary.
fn example_binary() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("ACK_BIN") {
        return path.into();
    }
    // target/<profile>/deps/ack_then_process-<hash> -> target/<profile>/examples/
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile.join("examples").join("ack_then_process");
    assert!(
        path.exists(),
        "no example binary at {}: cargo build --all-features --example ack_then_process, \
         or set ACK_BIN",
        path.display()
    );
    path
}

/// A child process, killed on drop.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends a kit-built request to `addr` over HTTP/1; its status.
async fn post_over_http(
    addr: &str,
    request: http::Request<http_body_util::Full<bytes::Bytes>>,
) -> http::StatusCode {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let (mut parts, body) = request.into_parts();
    parts
        .headers
        .insert(http::header::HOST, addr.parse().unwrap());
    let response = sender
        .send_request(http::Request::from_parts(parts, body))
        .await
        .unwrap();
    response.status()
}

/// The real binary, configured by its environment variables only: each
/// message delivered twice is answered once, and its log holds neither the
/// secret nor a token.
#[tokio::test]
#[ignore = "needs the example binary: cargo build --all-features --example ack_then_process (or ACK_BIN)"]
async fn the_example_binary_answers_through_message_send() {
    let vendor = vendor().await;
    let dir = std::env::temp_dir().join(format!("ack-then-process-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (out, log) = (dir.join("stdout"), dir.join("stderr"));
    let child = Child(
        std::process::Command::new(example_binary())
            .env("WECOM_BIND", "127.0.0.1:0")
            .env("WECOM_TOKEN", TOKEN)
            .env("WECOM_ENCODING_AES_KEY", AES_KEY)
            .env("WECOM_CORP_ID", CORP)
            .env("WECOM_API_BASE", vendor.base_url())
            .env("WECOM_CORP_SECRET", SECRET)
            .env("WORK_MS", WORK_MS.to_string())
            .env("RUST_LOG", "debug")
            .env_remove("REDIS_URL")
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    let addr = loop {
        let printed = std::fs::read_to_string(&out).unwrap_or_default();
        if let Some(rest) = printed.split("listening on http://").nth(1) {
            break rest.split('/').next().unwrap().to_owned();
        }
        assert!(start.elapsed() < PATIENCE, "the example did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    let kit = TestKit::new(PATH, &Endpoint::wecom_app(TOKEN, AES_KEY, CORP).unwrap());
    let mut expected = Vec::new();
    for i in 0..5 {
        let (user, content) = (format!("bin{i}"), format!("{MIXED} 进程 {i}"));
        let xml = text(&user, &content);
        for _ in 0..2 {
            assert_eq!(
                post_over_http(&addr, kit.post(&xml)).await,
                http::StatusCode::OK
            );
        }
        expected.push((user, content));
    }
    let sent = sends(&vendor, expected.len()).await;
    assert_exactly_once(&sent, &expected);
    assert_eq!(vendor.calls(VendorEndpoint::GetToken), 1);
    drop(child);
    let printed = std::fs::read_to_string(&log).unwrap();
    assert!(printed.contains("answer sent"), "{printed}");
    assert!(
        !printed.contains(SECRET) && !printed.contains("standin_token_"),
        "{printed}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
