//! Scale-out through Redis, against a real redis-server (no mock):
//!
//! - the dedup store contract (claim, complete, release, tokens, TTLs,
//!   atomic claims across connections, corrupt values) and the ticket store
//!   (newest wins across instances) against `REDIS_URL`;
//! - three echo example processes on three loopback ports sharing that
//!   Redis: one message delivered to each, in turn and at once, reaches one
//!   handler and every reply is the same; a ticket saved through one is
//!   read through another;
//! - faults, on a redis-server of the test's own (so that it can kill it):
//!   Redis unreachable at start, killed mid-run and restarted, stopped
//!   (SIGSTOP: slow, every call times out) and resumed; in-process and
//!   through echo processes, with both store-failure policies.
//!
//! Every test is `#[ignore = "needs REDIS_URL"]`: a plain `cargo test`
//! lists them as ignored, never as passed. `tests/redis/run.sh` starts a
//! redis-server, sets `REDIS_URL`, builds the echo example with the `redis`
//! feature and runs this file with `--include-ignored`. The echo binary is `ECHO_BIN`, or `examples/echo` next to
//! this test's own binary; the server binary is `REDIS_SERVER`, or
//! `redis-server` on the `PATH`.
#![cfg(feature = "redis")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use wecom_callback::Endpoint;
use wecom_callback::dedup::{
    Claim, ClaimToken, DedupKey, DedupStore, RedisConnection, RedisDedupStore, StoreErrorKind,
    StoredAnswer,
};
use wecom_callback::testing::{Opened, TestKit};
use wecom_callback::tickets::{
    RedisTicketStore, SaveOutcome, Ticket, TicketKind, TicketStore, TicketStoreErrorKind,
};

const PATH: &str = "/wecom/callback";
const TOKEN: &str = "QDG6eK";
const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP: &str = "wx5823bf96d3bd56c7";
const SUITE: &str = "ww4asffe99e54c0f4c";
/// How long any wait in these tests may last before it fails.
const PATIENCE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------- helpers

/// `REDIS_URL`. Every test here is `#[ignore = "needs REDIS_URL"]`, so a
/// plain `cargo test` lists it as ignored; a run that asks for the ignored
/// tests without `REDIS_URL` fails here instead of passing untested.
fn redis_url(test: &str) -> String {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{test} needs REDIS_URL: tests/redis/run.sh starts a redis-server, sets it and \
             runs these tests with --include-ignored"
        ),
    }
}

/// A fresh hex name, so that tests sharing one Redis never meet.
fn unique(tag: &str) -> String {
    let bytes = ClaimToken::random().unwrap().to_bytes();
    let hex: String = bytes[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("{tag}{hex}")
}

/// A raw redis-rs connection, to look at what the stores wrote.
async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `probe` until it returns `Some`, for at most [`PATIENCE`].
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> (T, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return (value, start.elapsed());
        }
        assert!(start.elapsed() < PATIENCE, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A redis-server of the test's own on `port`, without persistence.
struct RedisServer {
    child: Child,
}

impl RedisServer {
    fn start(port: u16) -> Self {
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(&binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {binary} ({e}); tests/redis/run.sh installs it")
            });
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < PATIENCE, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal}");
    }

    /// SIGKILL: Redis goes away without a word.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.signal_quietly("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RedisServer {
    fn signal_quietly(&self, signal: &str) -> std::io::Result<()> {
        Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status()
            .map(|_| ())
    }
}

/// The echo example, built with the `redis` feature.
fn echo_binary() -> PathBuf {
    if let Ok(path) = std::env::var("ECHO_BIN") {
        return PathBuf::from(path);
    }
    // target/<profile>/deps/redis-<hash> -> target/<profile>/examples/echo
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile.join("examples").join("echo");
    assert!(
        path.exists(),
        "no echo example at {}: build it with `cargo build --all-features --example echo` \
         (tests/redis/run.sh does), or set ECHO_BIN",
        path.display()
    );
    path
}

/// One echo process on a loopback port of its own choosing; killed on drop.
struct Echo {
    name: String,
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Echo {
    fn start(name: &str, redis_url: &str, env: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(unique("wecom-redis-test-"));
        std::fs::create_dir_all(&dir).unwrap();
        let (out, log) = (dir.join("stdout"), dir.join("stderr"));
        let mut command = Command::new(echo_binary());
        command
            .env("WECOM_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .env("REDIS_URL", redis_url)
            .env("REDIS_TIMEOUT_MS", "300")
            .stdin(Stdio::null())
            .stdout(File::create(&out).unwrap())
            .stderr(File::create(&log).unwrap());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let start = Instant::now();
        let addr = loop {
            let printed = std::fs::read_to_string(&out).unwrap_or_default();
            if let Some(rest) = printed.split("listening on http://").nth(1) {
                let addr = rest.split('/').next().unwrap();
                break addr.parse().unwrap();
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "{name} exited ({status}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            assert!(start.elapsed() < PATIENCE, "{name} did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        Self {
            name: name.to_owned(),
            child,
            addr,
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    /// Handler calls for messages from `sender` (the echo's "callback
    /// accepted" line names the sender).
    fn calls_from(&self, sender: &str) -> usize {
        let needle = format!("from=\"{sender}\"");
        self.log()
            .lines()
            .filter(|line| line.contains("callback accepted") && line.contains(&needle))
            .count()
    }

    /// The process is still running and logged no panic.
    fn assert_alive(&mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "{} exited: {}",
            self.name,
            self.log()
        );
        assert!(!self.log().contains("panicked"), "{}", self.log());
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = self.log.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// One delivery as WeCom makes it; retries re-send the same request.
#[derive(Clone)]
struct Delivery {
    uri: http::Uri,
    body: Bytes,
}

impl Delivery {
    async fn new(kit: &TestKit, message: &str) -> Self {
        let request = kit.post(message);
        let uri = request.uri().clone();
        let body = request.into_body().collect().await.unwrap().to_bytes();
        Self { uri, body }
    }

    /// Sends it to `addr` over a fresh HTTP/1.1 connection.
    async fn send(&self, addr: SocketAddr) -> Response<Bytes> {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let request = Request::post(self.uri.clone())
            .header(http::header::HOST, addr.to_string())
            .header(http::header::CONTENT_TYPE, "text/xml")
            .body(Full::new(self.body.clone()))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Response::from_parts(parts, body)
    }
}

/// What the platform reads from a response: `None` for the acknowledgement,
/// else the decrypted reply.
async fn opened(kit: &TestKit, response: Response<Bytes>) -> Option<String> {
    assert_eq!(response.status(), StatusCode::OK);
    match kit.open(response.map(Full::new)).await.unwrap() {
        Opened::Reply(plain) => Some(plain),
        Opened::Ack => None,
        #[allow(unreachable_patterns)]
        other => panic!("{other:?}"),
    }
}

fn app_kit() -> TestKit {
    TestKit::new(PATH, &Endpoint::wecom_app(TOKEN, AES_KEY, CORP).unwrap())
}

fn suite_kit(suite: &str) -> TestKit {
    TestKit::new(PATH, &Endpoint::wecom_suite(TOKEN, AES_KEY, suite).unwrap())
}

fn suite_ticket_at(suite: &str, ticket: &str, issued_at: u64) -> String {
    format!(
        "<xml><SuiteId><![CDATA[{suite}]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType>\
         <TimeStamp>{issued_at}</TimeStamp><SuiteTicket><![CDATA[{ticket}]]></SuiteTicket></xml>"
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn store(url: &str, prefix: &str) -> RedisDedupStore {
    RedisDedupStore::new(RedisConnection::open(url).unwrap()).key_prefix(prefix)
}

fn reply(text: &str) -> StoredAnswer {
    StoredAnswer::Reply {
        plaintext: text.into(),
    }
}

// ------------------------------------------------- the store contract

#[tokio::test]
#[ignore = "needs REDIS_URL"]
async fn claim_complete_release_keep_the_contract() {
    let url = redis_url("claim_complete_release_keep_the_contract");
    let prefix = unique("wecom-callback-test:") + ":";
    let store = store(&url, &prefix);
    let mut raw = raw(&url).await;
    let key = DedupKey::msg_id("hr", "1234567890123456").unwrap();
    let redis_key = format!("{prefix}hr:m:1234567890123456");
    assert_eq!(store.redis_key(&key), redis_key);
    let ttl = Duration::from_secs(30);

    let Claim::New(first) = store.claim(&key, ttl).await.unwrap() else {
        panic!("first claim")
    };
    assert_eq!(store.claim(&key, ttl).await.unwrap(), Claim::InFlight);
    let value: Vec<u8> = redis::cmd("GET")
        .arg(&redis_key)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(&value[..2], b"\x01I");
    assert_eq!(&value[2..], &first.to_bytes());
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&redis_key)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!((1..=30_000).contains(&pttl), "{pttl}");

    // A release with another token leaves the claim alone.
    let other = ClaimToken::random().unwrap();
    store.release(&key, other).await.unwrap();
    assert_eq!(store.claim(&key, ttl).await.unwrap(), Claim::InFlight);
    // Its own token releases it: the next delivery runs the handler.
    store.release(&key, first).await.unwrap();
    let Claim::New(second) = store.claim(&key, ttl).await.unwrap() else {
        panic!("claim after release")
    };
    assert_ne!(first, second);

    // Complete: retries get the answer; a late release leaves it.
    store
        .complete(&key, reply("<xml>hi</xml>"), Duration::from_secs(300))
        .await
        .unwrap();
    assert_eq!(
        store.claim(&key, ttl).await.unwrap(),
        Claim::Done(reply("<xml>hi</xml>"))
    );
    store.release(&key, second).await.unwrap();
    assert_eq!(
        store.claim(&key, ttl).await.unwrap(),
        Claim::Done(reply("<xml>hi</xml>"))
    );
    let value: Vec<u8> = redis::cmd("GET")
        .arg(&redis_key)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(value, b"\x01R<xml>hi</xml>");
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&redis_key)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!((30_001..=300_000).contains(&pttl), "the window: {pttl}");

    // The last complete wins; every answer form round-trips.
    for answer in [
        StoredAnswer::Ack,
        StoredAnswer::Empty,
        reply(""),
        reply("<xml>多字节 ]]> \u{1F600}</xml>"),
        StoredAnswer::Body {
            content_type: Some("text/plain; charset=utf-8".into()),
            body: Bytes::from("收到 ok \u{1F600}"),
        },
        StoredAnswer::Body {
            content_type: None,
            body: Bytes::from_static(b"success"),
        },
    ] {
        store
            .complete(&key, answer.clone(), Duration::from_secs(300))
            .await
            .unwrap();
        assert_eq!(store.claim(&key, ttl).await.unwrap(), Claim::Done(answer));
    }
}

#[tokio::test]
#[ignore = "needs REDIS_URL"]
async fn claims_and_answers_expire_after_their_ttl() {
    let url = redis_url("claims_and_answers_expire_after_their_ttl");
    let store = store(&url, &(unique("wecom-callback-test:") + ":"));
    let key = DedupKey::digest("hr", b"<xml>event</xml>");
    let short = Duration::from_millis(300);

    // A claim that was never completed lapses: a later delivery runs it.
    assert!(matches!(
        store.claim(&key, short).await.unwrap(),
        Claim::New(_)
    ));
    assert_eq!(store.claim(&key, short).await.unwrap(), Claim::InFlight);
    let store = &store;
    let key = &key;
    let (token, _) = eventually("the claim to lapse", || async move {
        match store.claim(key, Duration::from_secs(30)).await.unwrap() {
            Claim::New(token) => Some(token),
            _ => None,
        }
    })
    .await;

    // A completed answer is kept for its window, then forgotten.
    store.complete(key, StoredAnswer::Ack, short).await.unwrap();
    assert_eq!(
        store.claim(key, short).await.unwrap(),
        Claim::Done(StoredAnswer::Ack)
    );
    eventually("the answer to expire", || async move {
        matches!(store.claim(key, short).await.unwrap(), Claim::New(_)).then_some(())
    })
    .await;
    // The stale token of the lapsed claim cannot release the new one.
    store.release(key, token).await.unwrap();
    assert_eq!(store.claim(key, short).await.unwrap(), Claim::InFlight);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs REDIS_URL"]
async fn one_claim_wins_across_connections() {
    let url = redis_url("one_claim_wins_across_connections");
    let prefix = unique("wecom-callback-test:") + ":";
    // Three instances: three connections.
    let stores: Vec<_> = (0..3).map(|_| Arc::new(store(&url, &prefix))).collect();
    for round in 0..5 {
        let key = DedupKey::msg_id("hr", &format!("{round}")).unwrap();
        let barrier = Arc::new(tokio::sync::Barrier::new(30));
        let tasks: Vec<_> = (0..30)
            .map(|i| {
                let store = Arc::clone(&stores[i % 3]);
                let (key, barrier) = (key.clone(), Arc::clone(&barrier));
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.claim(&key, Duration::from_secs(30)).await.unwrap()
                })
            })
            .collect();
        let mut new = 0;
        for task in tasks {
            match task.await.unwrap() {
                Claim::New(_) => new += 1,
                Claim::InFlight => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(new, 1, "round {round}: 30 claims, one owner");
    }
}

#[tokio::test]
#[ignore = "needs REDIS_URL"]
async fn foreign_values_are_reported_and_left_alone() {
    let url = redis_url("foreign_values_are_reported_and_left_alone");
    let prefix = unique("wecom-callback-test:") + ":";
    let store = store(&url, &prefix);
    let mut raw = raw(&url).await;
    let key = DedupKey::msg_id("hr", "7").unwrap();
    for junk in [&b"junk"[..], b"\x01I\x00", b"\x01R\xff\xfe"] {
        let _: () = redis::cmd("SET")
            .arg(store.redis_key(&key))
            .arg(junk)
            .query_async(&mut raw)
            .await
            .unwrap();
        let err = store
            .claim(&key, Duration::from_secs(30))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Corrupt, "{junk:?}");
        let kept: Vec<u8> = redis::cmd("GET")
            .arg(store.redis_key(&key))
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(kept, junk);
    }
    // A different prefix is a different deployment: it does not see it.
    let other = self::store(&url, &(unique("wecom-callback-test:") + ":"));
    assert!(matches!(
        other.claim(&key, Duration::from_secs(30)).await.unwrap(),
        Claim::New(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs REDIS_URL"]
async fn the_newest_ticket_wins_across_instances() {
    let url = redis_url("the_newest_ticket_wins_across_instances");
    let prefix = unique("wecom-callback-test:") + ":";
    let one = RedisTicketStore::new(RedisConnection::open(&url).unwrap()).key_prefix(&prefix);
    let three = RedisTicketStore::new(RedisConnection::open(&url).unwrap()).key_prefix(&prefix);
    let kind = TicketKind::SuiteTicket;
    assert_eq!(three.latest(SUITE, kind).await.unwrap(), None);
    // Issue times within the tickets' lifetime (Redis expires them after
    // it): `b` is ten minutes ago.
    let b = now() - 600;

    assert_eq!(
        one.save(SUITE, kind, "ticket-600", b + 600).await.unwrap(),
        SaveOutcome::Saved
    );
    assert_eq!(
        three.latest(SUITE, kind).await.unwrap(),
        Some(Ticket::new("ticket-600", b + 600))
    );
    // Late and same-second deliveries on another instance are ignored.
    for (ticket, at) in [
        ("ticket-0", b),
        ("ticket-599", b + 599),
        ("other-600", b + 600),
    ] {
        assert_eq!(
            three.save(SUITE, kind, ticket, at).await.unwrap(),
            SaveOutcome::Ignored {
                stored_issued_at: b + 600
            }
        );
    }
    // Exact over the whole u64 range (Lua numbers are doubles).
    let big = u64::MAX - 1;
    assert_eq!(
        three.save(SUITE, kind, "big", big).await.unwrap(),
        SaveOutcome::Saved
    );
    assert_eq!(
        one.save(SUITE, kind, "bigger", u64::MAX).await.unwrap(),
        SaveOutcome::Saved
    );
    assert_eq!(
        three.save(SUITE, kind, "big again", big).await.unwrap(),
        SaveOutcome::Ignored {
            stored_issued_at: u64::MAX
        }
    );

    // Kinds and apps are separate; the layout is readable by any client.
    assert_eq!(
        one.save(SUITE, TicketKind::ComponentVerifyTicket, "cvt", b + 5)
            .await
            .unwrap(),
        SaveOutcome::Saved
    );
    assert_eq!(three.latest("another", kind).await.unwrap(), None);
    let mut raw = raw(&url).await;
    let (ticket, at): (String, String) = redis::cmd("HMGET")
        .arg(format!("{prefix}{SUITE}:component_verify_ticket"))
        .arg("ticket")
        .arg("issued_at")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(
        (ticket.as_str(), at.as_str()),
        ("cvt", (b + 5).to_string().as_str())
    );
    // Tickets expire with the vendor's lifetimes (issue 19): Redis holds
    // the component ticket until 12 h after its issue time, and a
    // `suite_ticket` until 30 min after.
    let expire_at: i64 = redis::cmd("EXPIRETIME")
        .arg(format!("{prefix}{SUITE}:component_verify_ticket"))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(expire_at, i64::try_from(b + 5 + 12 * 3600).unwrap());
    one.save("suite-expiry", kind, "s", b).await.unwrap();
    let expire_at: i64 = redis::cmd("EXPIRETIME")
        .arg(format!("{prefix}suite-expiry:suite_ticket"))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(expire_at, i64::try_from(b + 30 * 60).unwrap());
    // An expired ticket is gone.
    one.save("suite-expired", kind, "old", b - 30 * 60)
        .await
        .unwrap();
    assert_eq!(one.latest("suite-expired", kind).await.unwrap(), None);

    // Concurrent saves from two instances, in any order: the newest stays.
    let app = unique("suite-");
    let (one, three) = (Arc::new(one), Arc::new(three));
    let tasks: Vec<_> = (1..=40u64)
        .rev()
        .map(|at| {
            let store = if at % 2 == 0 {
                Arc::clone(&one)
            } else {
                Arc::clone(&three)
            };
            let app = app.clone();
            tokio::spawn(async move {
                store
                    .save(&app, kind, &format!("t{at}"), b + at * 10)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        one.latest(&app, kind).await.unwrap(),
        Some(Ticket::new("t40", b + 400))
    );

    // A value this crate did not write is reported.
    let _: () = redis::cmd("HSET")
        .arg(format!("{prefix}{app}:suite_ticket"))
        .arg("issued_at")
        .arg("soon")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(
        one.latest(&app, kind).await.unwrap_err().kind(),
        TicketStoreErrorKind::Corrupt
    );
}

// -------------------------------------------------- faults, in-process

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs REDIS_URL"]
async fn the_store_rides_out_redis_faults() {
    redis_url("the_store_rides_out_redis_faults");
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}/");
    let timeout = Duration::from_millis(300);
    let store = RedisDedupStore::new(RedisConnection::open_with_timeout(&url, timeout).unwrap());
    let tickets = RedisTicketStore::new(store.connection().clone());
    let key = |id: &str| DedupKey::msg_id("hr", id).unwrap();
    let ttl = Duration::from_secs(30);
    let store = &store;

    // Unreachable at start: opening succeeded; calls fail, bounded.
    let started = Instant::now();
    let err = store.claim(&key("a"), ttl).await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            StoreErrorKind::Unavailable | StoreErrorKind::Timeout
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < timeout * 10, "{:?}", started.elapsed());
    let err = tickets
        .latest(SUITE, TicketKind::SuiteTicket)
        .await
        .unwrap_err();
    assert!(matches!(
        err.kind(),
        TicketStoreErrorKind::Unavailable | TicketStoreErrorKind::Timeout
    ));
    assert!(store.connection().ping().await.is_err());

    // Redis comes up: the same store connects, no rebuild.
    let server = RedisServer::start(port);
    let (_, waited) = eventually("the store to connect", || async move {
        store.claim(&key("a"), ttl).await.ok()
    })
    .await;
    eprintln!("redis up after start: store answered after {waited:?}");
    assert_eq!(store.claim(&key("a"), ttl).await.unwrap(), Claim::InFlight);
    store.connection().ping().await.unwrap();

    // Slow: SIGSTOP, every call times out after the timeout; SIGCONT, back.
    server.signal("-STOP");
    let started = Instant::now();
    let err = store.claim(&key("b"), ttl).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Timeout, "{err:?}");
    assert!(started.elapsed() < timeout * 10, "{:?}", started.elapsed());
    assert_eq!(
        tickets
            .save(SUITE, TicketKind::SuiteTicket, "t", 1)
            .await
            .unwrap_err()
            .kind(),
        TicketStoreErrorKind::Timeout
    );
    server.signal("-CONT");
    let (_, waited) = eventually("answers after SIGCONT", || async move {
        store.claim(&key("c"), ttl).await.ok()
    })
    .await;
    eprintln!("redis resumed after SIGSTOP: store answered after {waited:?}");
    assert_eq!(store.claim(&key("a"), ttl).await.unwrap(), Claim::InFlight);

    // Killed mid-run: calls fail (never hang); restarted: the store
    // reconnects by itself. Nothing was persisted, so old claims are gone.
    server.kill();
    let started = Instant::now();
    let err = store.claim(&key("a"), ttl).await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            StoreErrorKind::Unavailable | StoreErrorKind::Timeout
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < timeout * 10, "{:?}", started.elapsed());
    for _ in 0..5 {
        assert!(store.claim(&key("a"), ttl).await.is_err());
    }
    let _server = RedisServer::start(port);
    let (claim, waited) = eventually("the store to reconnect", || async move {
        store.claim(&key("a"), ttl).await.ok()
    })
    .await;
    eprintln!("redis restarted: store answered after {waited:?}");
    assert!(matches!(claim, Claim::New(_)), "{claim:?}");
    assert_eq!(
        tickets
            .save(SUITE, TicketKind::SuiteTicket, "t", 1)
            .await
            .unwrap(),
        SaveOutcome::Saved
    );
}

// ---------------------------------------- three echo processes, one Redis

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs REDIS_URL"]
async fn three_echo_instances_act_as_one() {
    let url = redis_url("three_echo_instances_act_as_one");
    let mut echoes: Vec<_> = (1..=3)
        .map(|i| Echo::start(&format!("echo {i}"), &url, &[]))
        .collect();
    let kit = app_kit();

    // In turn: delivered to instance 1, retried on 2 and 3 (and once more
    // on each).
    let sender = unique("seq");
    let delivery = Delivery::new(&kit, &TestKit::text_message(CORP, &sender, "once")).await;
    let mut replies = Vec::new();
    for round in 0..2 {
        for echo in &echoes {
            let response = delivery.send(echo.addr).await;
            let reply = opened(&kit, response).await;
            replies.push(reply.unwrap_or_else(|| panic!("round {round}: an ack, not the reply")));
        }
    }
    let calls: Vec<usize> = echoes.iter().map(|e| e.calls_from(&sender)).collect();
    assert_eq!(calls, [1, 0, 0], "handler calls per instance");
    assert!(replies[0].contains("<Content><![CDATA[echo:text:once]]></Content>"));
    assert!(replies.iter().all(|r| r == &replies[0]), "same reply");
    eprintln!(
        "in turn: deliveries {}, handler calls {}, replies identical {}",
        replies.len(),
        calls.iter().sum::<usize>(),
        replies.iter().all(|r| r == &replies[0])
    );

    // At once: two copies to each instance together, then a retry on each.
    let sender = unique("par");
    let delivery = Delivery::new(&kit, &TestKit::text_message(CORP, &sender, "together")).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(6));
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let (delivery, barrier) = (delivery.clone(), Arc::clone(&barrier));
            let addr = echoes[i % 3].addr;
            tokio::spawn(async move {
                barrier.wait().await;
                delivery.send(addr).await
            })
        })
        .collect();
    let mut together = Vec::new();
    for task in tasks {
        together.push(opened(&kit, task.await.unwrap()).await);
    }
    let mut later = Vec::new();
    for echo in &echoes {
        later.push(opened(&kit, delivery.send(echo.addr).await).await.unwrap());
    }
    let calls: usize = echoes.iter().map(|e| e.calls_from(&sender)).sum();
    assert_eq!(
        calls, 1,
        "6 concurrent deliveries + 3 retries, one handler call"
    );
    let replied: Vec<&String> = together.iter().flatten().collect();
    let acks = together.len() - replied.len();
    assert!(later[0].contains("<Content><![CDATA[echo:text:together]]></Content>"));
    assert!(replied.iter().all(|r| **r == later[0]));
    assert!(later.iter().all(|r| *r == later[0]));
    eprintln!(
        "at once: deliveries {}, handler calls {calls}, replies {} (identical), \
         acknowledgements while in flight {acks}",
        together.len() + later.len(),
        replied.len() + later.len()
    );
    for echo in &mut echoes {
        echo.assert_alive();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs REDIS_URL"]
async fn a_ticket_saved_on_one_instance_is_read_on_another() {
    let url = redis_url("a_ticket_saved_on_one_instance_is_read_on_another");
    // The suite's pushes; every instance saves to the shared ticket store.
    let api_client = RedisTicketStore::new(RedisConnection::open(&url).unwrap());
    // A suite of this run's own, so that runs sharing one Redis never meet.
    let suite = unique("ww");
    let env = [
        ("WECOM_KIND", "wecom_suite"),
        ("WECOM_RECEIVE_ID", suite.as_str()),
    ];
    let echoes: Vec<_> = (1..=3)
        .map(|i| Echo::start(&format!("suite echo {i}"), &url, &env))
        .collect();
    let kit = suite_kit(&suite);
    assert_eq!(
        api_client
            .latest(&suite, TicketKind::SuiteTicket)
            .await
            .unwrap(),
        None
    );
    // Ten minutes ago, so that the next push (ten minutes later) is now: a
    // push from the future is refused (issue 19).
    let base = now() - 600;

    // Instance 1 receives the current ticket.
    let ticket = unique("ticket-");
    let response = Delivery::new(&kit, &suite_ticket_at(&suite, &ticket, base))
        .await
        .send(echoes[0].addr)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body().as_ref(), b"success");
    assert!(
        echoes[0]
            .log()
            .lines()
            .any(|l| l.contains("ticket saved") && l.contains(&format!("issued_at={base}"))),
        "instance 1 saved it: {}",
        echoes[0].log()
    );

    // Instance 3 receives a late delivery of the previous push: it reads
    // instance 1's ticket and keeps it.
    let response = Delivery::new(
        &kit,
        &suite_ticket_at(&suite, "an older ticket", base - 600),
    )
    .await
    .send(echoes[2].addr)
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let ignored = echoes[2]
        .log()
        .lines()
        .find(|l| l.contains("ticket ignored"))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("instance 3: {}", echoes[2].log()));
    assert!(
        ignored.contains(&format!("stored_issued_at={base}")),
        "{ignored}"
    );
    // And any instance's API client reads instance 1's ticket.
    assert_eq!(
        api_client
            .latest(&suite, TicketKind::SuiteTicket)
            .await
            .unwrap(),
        Some(Ticket::new(ticket.clone(), base))
    );
    eprintln!("ticket: saved via instance 1 at {base}; instance 3 kept it ({ignored})");

    // The next push, via instance 2, replaces it.
    let next = unique("ticket-");
    let response = Delivery::new(&kit, &suite_ticket_at(&suite, &next, base + 600))
        .await
        .send(echoes[1].addr)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        api_client
            .latest(&suite, TicketKind::SuiteTicket)
            .await
            .unwrap(),
        Some(Ticket::new(next, base + 600))
    );

    // The Open Platform's component_verify_ticket takes the same way.
    let component = unique("wx");
    let env = [
        ("WECOM_KIND", "open_platform"),
        ("WECOM_RECEIVE_ID", component.as_str()),
    ];
    let open_platform = Echo::start("open platform echo", &url, &env);
    let kit = TestKit::new(
        PATH,
        &Endpoint::open_platform(TOKEN, AES_KEY, &component).unwrap(),
    );
    let ticket = unique("ticket@@@");
    let response = Delivery::new(&kit, &TestKit::component_verify_ticket(&component, &ticket))
        .await
        .send(open_platform.addr)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body().as_ref(), b"success");
    let stored = api_client
        .latest(&component, TicketKind::ComponentVerifyTicket)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.ticket(), ticket);
    assert!(open_platform.log().contains("ticket saved"));
}

// ---------------------------------------- faults, through echo processes

/// Delivers one fresh message twice to `echo` until the second delivery
/// no longer reaches the handler: that instance deduplicates again.
async fn wait_for_dedup(kit: &TestKit, echo: &Echo) -> Duration {
    let (_, waited) = eventually("deduplication to resume", || async move {
        let sender = unique("probe");
        let delivery = Delivery::new(kit, &TestKit::text_message(CORP, &sender, "probe")).await;
        for _ in 0..2 {
            let response = delivery.send(echo.addr).await;
            // While the connection is being re-established an instance set
            // to answer 503 still refuses: not yet, try a fresh message.
            if response.status() != StatusCode::OK {
                return None;
            }
        }
        (echo.calls_from(&sender) == 1).then_some(())
    })
    .await;
    waited
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs REDIS_URL"]
async fn echo_instances_ride_out_redis_faults() {
    redis_url("echo_instances_ride_out_redis_faults");
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}/");
    let kit = app_kit();
    // Redis is not running yet: three instances with the default policy
    // (process), a fourth that answers 503 instead.
    let mut echoes: Vec<_> = (1..=3)
        .map(|i| Echo::start(&format!("echo {i}"), &url, &[]))
        .collect();
    let mut strict = Echo::start(
        "strict echo",
        &url,
        &[("WECOM_ON_STORE_FAILURE", "unavailable")],
    );
    assert!(
        echoes[0]
            .log()
            .contains("not reachable yet; serving anyway")
    );

    /// Delivers one fresh message to instances 1, 2, 3 in turn and to the
    /// strict one; returns (handler calls on 1-3, reply contents, strict
    /// status, strict handler calls, the delivery and its sender).
    async fn round(
        kit: &TestKit,
        echoes: &[Echo],
        strict: &Echo,
        label: &str,
    ) -> (usize, Vec<String>, StatusCode, usize, Delivery, String) {
        let sender = unique(label);
        let delivery = Delivery::new(kit, &TestKit::text_message(CORP, &sender, label)).await;
        let mut contents = Vec::new();
        for echo in echoes {
            let reply = opened(kit, delivery.send(echo.addr).await).await.unwrap();
            let content = reply
                .split("<Content><![CDATA[")
                .nth(1)
                .and_then(|rest| rest.split("]]>").next())
                .unwrap()
                .to_owned();
            contents.push(content);
        }
        let strict_status = delivery.send(strict.addr).await.status();
        let calls = echoes.iter().map(|e| e.calls_from(&sender)).sum();
        let strict_calls = strict.calls_from(&sender);
        (
            calls,
            contents,
            strict_status,
            strict_calls,
            delivery,
            sender,
        )
    }

    // 1. Unreachable at start: processed on every instance (at least once);
    //    the strict instance answers 503 and does not call its handler.
    let (calls, contents, strict_status, strict_calls, _, _) =
        round(&kit, &echoes, &strict, "down-at-start").await;
    assert_eq!(calls, 3);
    assert!(contents.iter().all(|c| c == "echo:text:down-at-start"));
    assert_eq!(
        (strict_status, strict_calls),
        (StatusCode::SERVICE_UNAVAILABLE, 0)
    );
    eprintln!(
        "unreachable at start: deliveries 3, handler calls {calls} (at least once), \
         strict instance {strict_status}"
    );

    // 2. Redis starts: every instance deduplicates again, by itself.
    let server = RedisServer::start(port);
    for echo in echoes.iter().chain([&strict]) {
        let waited = wait_for_dedup(&kit, echo).await;
        eprintln!("redis started: {} deduplicates after {waited:?}", echo.name);
    }
    let (calls, _, strict_status, strict_calls, _, _) = round(&kit, &echoes, &strict, "up").await;
    assert_eq!((calls, strict_status, strict_calls), (1, StatusCode::OK, 0));

    // 3. Killed mid-run: processed (at least once), nothing panics; the
    //    strict instance answers 503.
    server.kill();
    let (calls, contents, strict_status, strict_calls, refused, refused_sender) =
        round(&kit, &echoes, &strict, "killed").await;
    assert_eq!(calls, 3);
    assert!(contents.iter().all(|c| c == "echo:text:killed"));
    assert_eq!(
        (strict_status, strict_calls),
        (StatusCode::SERVICE_UNAVAILABLE, 0)
    );
    eprintln!("redis killed: deliveries 3, handler calls {calls}, strict instance {strict_status}");

    // 4. Restarted on the same port: deduplication resumes on every
    //    instance, and the strict instance now handles what it refused.
    let server = RedisServer::start(port);
    for echo in echoes.iter().chain([&strict]) {
        let waited = wait_for_dedup(&kit, echo).await;
        eprintln!(
            "redis restarted: {} deduplicates after {waited:?}",
            echo.name
        );
    }
    let (calls, contents, strict_status, strict_calls, _, _) =
        round(&kit, &echoes, &strict, "back").await;
    assert_eq!((calls, strict_status, strict_calls), (1, StatusCode::OK, 0));
    assert!(contents.iter().all(|c| c == "echo:text:back"));
    eprintln!("after restart: deliveries 3, handler calls {calls}, contents identical");
    // The platform's retry of the message the strict instance refused while
    // Redis was down is handled now: not lost.
    let reply = opened(&kit, refused.send(strict.addr).await).await.unwrap();
    assert!(reply.contains("echo:text:killed"));
    assert_eq!(strict.calls_from(&refused_sender), 1);

    // 5. Slow (SIGSTOP): each call times out (REDIS_TIMEOUT_MS=300); the
    //    message is processed, answered 200; SIGCONT: dedup resumes.
    server.signal("-STOP");
    let sender = unique("slow");
    let delivery = Delivery::new(&kit, &TestKit::text_message(CORP, &sender, "slow")).await;
    let response = delivery.send(echoes[0].addr).await;
    let reply = opened(&kit, response).await.unwrap();
    assert!(reply.contains("echo:text:slow"));
    assert_eq!(echoes[0].calls_from(&sender), 1);
    assert!(echoes[0].log().contains("timed out"), "{}", echoes[0].log());
    server.signal("-CONT");
    for echo in &echoes {
        wait_for_dedup(&kit, echo).await;
    }
    let (calls, _, _, _, _, _) = round(&kit, &echoes, &strict, "resumed").await;
    assert_eq!(calls, 1);
    eprintln!("redis stopped (SIGSTOP) then resumed: processed while slow, 1 call after");

    for echo in echoes.iter_mut().chain([&mut strict]) {
        echo.assert_alive();
    }
}
