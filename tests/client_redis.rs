//! The API client with a real redis-server (no mock) and the vendor
//! stand-in: three client instances sharing one Redis fetch once per token
//! lifetime; Redis killed mid-run costs no call; the Redis stores' fences,
//! locks and secrets.
//!
//! Ignored unless asked for (`--include-ignored`): they need `REDIS_URL`
//! (a redis-server the caller started; tests/redis/run.sh and .ci/run start
//! one) and, for the kill test, a `redis-server` binary (`REDIS_SERVER` or
//! on the `PATH`) to start and kill one of their own. Run without them,
//! they fail: they never pass silently.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use wecom_callback::client::{
    AccessToken, ApiErrorKind, BaseUrls, CachePolicy, Client, CorpCredential, Credential,
    OfficialAccountCredential, PutOutcome, RedisSecretStore, RedisTokenStore, Secret, SecretStore,
    TokenStore, Transport,
};
use wecom_callback::dedup::RedisConnection;
use wecom_callback::testing::vendor::{Fault, VendorConfig, VendorEndpoint, VendorStandIn};

const CORP: &str = "wwcorp0001";
const CORP_SECRET: &str = "corp-secret-Xx9";
const AGENT: i64 = 1_000_002;
const OA: &str = "wxoa000001";
const OA_SECRET: &str = "oa-secret-Zz7";

fn redis_url() -> String {
    std::env::var("REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .expect("REDIS_URL is unset: start a redis-server (tests/redis/run.sh does) and set it")
}

/// A fresh key prefix, so that runs sharing one Redis never meet.
fn prefix(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("wecom-callback-test:{tag}:{nanos:x}:")
}

fn instance(vendor: &VendorStandIn, url: &str, prefix: &str) -> Client {
    let connection = RedisConnection::open(url).unwrap();
    Client::builder()
        .transport(Transport::https().unwrap())
        .urls(BaseUrls::all(vendor.base_url()))
        .token_store(Arc::new(
            RedisTokenStore::new(connection).key_prefix(prefix),
        ))
        .policy(CachePolicy::default().backoff(Duration::from_millis(5), Duration::from_millis(40)))
        .build()
        .unwrap()
}

/// Runs `instances` callers of `credential` (`getcallbackip`, every 10 ms)
/// for `run`; the number of calls, all of which must succeed.
async fn hammer(clients: &[Client], credential: Arc<dyn Credential>, run: Duration) -> usize {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for client in clients {
        for _ in 0..2 {
            let (client, credential, calls) =
                (client.clone(), Arc::clone(&credential), Arc::clone(&calls));
            tasks.push(tokio::spawn(async move {
                let started = Instant::now();
                while started.elapsed() < run {
                    let answer: serde_json::Value = client
                        .get_json(credential.as_ref(), "/cgi-bin/getcallbackip", &[])
                        .await
                        .unwrap_or_else(|e| panic!("call failed: {e}"));
                    assert!(answer.get("ip_list").is_some(), "{answer}");
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    calls.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs REDIS_URL (a running redis-server)"]
async fn three_instances_fetch_once_per_period() {
    let url = redis_url();
    let vendor = VendorStandIn::start(
        VendorConfig::new()
            .wecom_app(CORP, AGENT, CORP_SECRET)
            .official_account(OA, OA_SECRET)
            .expires_in_for(VendorEndpoint::GetToken, 2)
            .expires_in_for(VendorEndpoint::Token, 2),
    )
    .await
    .unwrap();
    let prefix = prefix("periods");
    let clients: Vec<Client> = (0..3).map(|_| instance(&vendor, &url, &prefix)).collect();

    // WeCom gettoken (the same token while valid): fetched at each expiry.
    let corp: Arc<dyn Credential> = Arc::new(CorpCredential::new(CORP, CORP_SECRET));
    let calls = hammer(&clients, corp, Duration::from_millis(6_500)).await;
    let fetches = vendor.calls(VendorEndpoint::GetToken);
    eprintln!("FIGURE 3 instances, gettoken, 2 s tokens, 6.5 s: {calls} calls, {fetches} fetches");
    // Periods started at 0, 2, 4 and 6 s: 4 fetches, ±1.
    assert!((3..=5).contains(&fetches), "{fetches} fetches");

    // Official Account token (a new one each fetch): refreshed ahead.
    let oa: Arc<dyn Credential> = Arc::new(OfficialAccountCredential::new(OA, OA_SECRET));
    let calls = hammer(&clients, oa, Duration::from_millis(6_500)).await;
    let fetches = vendor.calls(VendorEndpoint::Token);
    eprintln!(
        "FIGURE 3 instances, cgi-bin/token, 2 s tokens, refresh ahead, 6.5 s: {calls} calls, {fetches} fetches"
    );
    // One at the start, one at 1.6 s of each 2 s lifetime: 4 or 5, ±1.
    assert!((3..=6).contains(&fetches), "{fetches} fetches");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs REDIS_URL (a running redis-server)"]
async fn a_rate_limit_pauses_every_instance() {
    let url = redis_url();
    let vendor = VendorStandIn::start(VendorConfig::new().wecom_app(CORP, AGENT, CORP_SECRET))
        .await
        .unwrap();
    vendor.inject_n(VendorEndpoint::GetToken, Fault::QUOTA, 1000);
    let prefix = prefix("quota");
    let clients: Vec<Client> = (0..3).map(|_| instance(&vendor, &url, &prefix)).collect();
    let corp = CorpCredential::new(CORP, CORP_SECRET);
    let mut failed = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(1) {
        let mut tasks = Vec::new();
        for client in &clients {
            for _ in 0..20 {
                let (client, corp) = (client.clone(), corp.clone());
                tasks.push(tokio::spawn(async move { client.token(&corp).await }));
            }
        }
        for task in tasks {
            let err = task.await.unwrap().unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    ApiErrorKind::QuotaReached | ApiErrorKind::CoolingDown
                ),
                "{err}"
            );
            failed += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fetches = vendor.calls(VendorEndpoint::GetToken);
    eprintln!(
        "FIGURE 45009, 3 instances: {failed} failed calls over 1 s, {fetches} gettoken fetch(es)"
    );
    assert_eq!(fetches, 1, "one 45009 pauses every instance");
}

/// A redis-server of the test's own, without persistence; killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
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
            .unwrap_or_else(|e| panic!("cannot run {binary} ({e})"));
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, port }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs REDIS_URL and a redis-server binary (it starts and kills its own)"]
async fn redis_killed_mid_run_calls_still_succeed() {
    let _ = redis_url(); // run with the other Redis tests only
    let port = free_port();
    let server = RedisServer::start(port);
    let vendor = VendorStandIn::start(
        VendorConfig::new()
            .official_account(OA, OA_SECRET)
            .expires_in_for(VendorEndpoint::Token, 1),
    )
    .await
    .unwrap();
    let prefix = prefix("kill");
    let clients: Vec<Client> = (0..3)
        .map(|_| instance(&vendor, &server.url(), &prefix))
        .collect();
    let oa: Arc<dyn Credential> = Arc::new(OfficialAccountCredential::new(OA, OA_SECRET));

    let before = hammer(&clients, Arc::clone(&oa), Duration::from_millis(2_000)).await;
    let shared = vendor.calls(VendorEndpoint::Token);
    drop(server); // SIGKILL
    let during = hammer(&clients, Arc::clone(&oa), Duration::from_millis(3_000)).await;
    let alone = vendor.calls(VendorEndpoint::Token) - shared;
    // Back on the same port: the instances share again.
    let server = RedisServer::start(port);
    let after = hammer(&clients, Arc::clone(&oa), Duration::from_millis(2_000)).await;
    let total = vendor.calls(VendorEndpoint::Token);
    eprintln!(
        "FIGURE Redis killed: {before} calls / {shared} fetches shared in 2 s; {during} calls / {alone} \
         fetches in 3 s without Redis (per instance); {after} calls / {} fetches in 2 s after restart",
        total - shared - alone
    );
    assert!(before > 0 && during > 0 && after > 0);
    // Without Redis each instance fetches for itself: at most 3 per
    // 1 s lifetime (refresh at 0.8 s), plus the first.
    assert!(alone <= 3 * 5, "{alone}");
    drop(server);
}

#[tokio::test]
#[ignore = "needs REDIS_URL (a running redis-server)"]
async fn redis_stores_fence_lock_and_keep_secrets() {
    let connection = RedisConnection::open(&redis_url()).unwrap();
    let prefix = prefix("stores");
    let store = RedisTokenStore::new(connection.clone()).key_prefix(&prefix);
    let far = 4_000_000_000_000; // year 2096, unix ms: the key does not expire mid-test
    let new = AccessToken::new("newer-token", far, 7200);
    let old = AccessToken::new("older-token", far - 1, 7200);
    assert_eq!(store.put("k", &new).await.unwrap(), PutOutcome::Stored);
    assert_eq!(store.put("k", &old).await.unwrap(), PutOutcome::KeptNewer);
    assert_eq!(store.put("k", &new).await.unwrap(), PutOutcome::KeptNewer);
    assert_eq!(store.get("k").await.unwrap().unwrap(), new);
    assert!(
        !store.remove("k", far - 1).await.unwrap(),
        "never a newer one"
    );
    assert!(store.remove("k", far).await.unwrap());
    assert!(store.get("k").await.unwrap().is_none());
    // An expired token's key is gone.
    let dead = AccessToken::new("dead", 1_000, 1);
    assert_eq!(store.put("dead", &dead).await.unwrap(), PutOutcome::Stored);
    assert!(store.get("dead").await.unwrap().is_none());

    let ttl = Duration::from_secs(5);
    assert!(store.try_lock("k", "owner-a", ttl).await.unwrap());
    assert!(!store.try_lock("k", "owner-b", ttl).await.unwrap());
    store.unlock("k", "owner-b").await.unwrap();
    assert!(
        !store.try_lock("k", "owner-b", ttl).await.unwrap(),
        "only the owner releases"
    );
    store.unlock("k", "owner-a").await.unwrap();
    assert!(
        store
            .try_lock("k", "owner-b", Duration::from_millis(50))
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(
        store.try_lock("k", "owner-c", ttl).await.unwrap(),
        "the lock expires"
    );

    let secrets = RedisSecretStore::new(connection).key_prefix(&prefix);
    let code = Secret::new("permanent-code-秘密");
    secrets
        .put_secret("permanent_code:s:c", &code)
        .await
        .unwrap();
    assert_eq!(
        secrets
            .get_secret("permanent_code:s:c")
            .await
            .unwrap()
            .unwrap(),
        code
    );
    assert!(secrets.get_secret("absent").await.unwrap().is_none());
    assert!(!format!("{secrets:?} {store:?}").contains("permanent-code"));
}
