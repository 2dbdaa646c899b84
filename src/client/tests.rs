//! Unit tests of the client and its cache against a fake vendor built with
//! `tower::service_fn` (the loopback stand-in is in tests/client_*.rs).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use http_body_util::Full;

use super::*;
use crate::tickets::{MemoryTicketStore, TicketKind, TicketStore};

/// A clock the test moves.
#[derive(Debug)]
struct ManualClock(AtomicU64);

impl ManualClock {
    fn new(ms: u64) -> Arc<Self> {
        Arc::new(Self(AtomicU64::new(ms)))
    }
    fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// What the fake vendor answers a token fetch with next.
#[derive(Clone, Copy, Debug)]
enum Fault {
    Code(i64),
    Status(u16),
    Malformed,
}

#[derive(Default)]
struct Vendor {
    fetches: AtomicUsize,
    calls: AtomicUsize,
    issued: AtomicUsize,
    expires_in: AtomicU64,
    /// Faults for the next fetches, in order.
    fetch_faults: Mutex<VecDeque<Fault>>,
    /// Faults for the next API calls, in order.
    call_faults: Mutex<VecDeque<Fault>>,
    /// Fetches wait this long (ms) before answering.
    fetch_delay_ms: AtomicU64,
    /// The bodies of the token fetches, to look at.
    bodies: Mutex<Vec<String>>,
}

fn answer(fault: Fault) -> Response<Full<Bytes>> {
    match fault {
        Fault::Code(code) => json(&format!(
            r#"{{"errcode":{code},"errmsg":"injected {code}, hint: [abc]"}}"#
        )),
        Fault::Status(status) => {
            let mut response = json("bad gateway");
            *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
            response
        }
        Fault::Malformed => json(r#"{"errcode":0,"access_token":"#),
    }
}

fn json(body: &str) -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::from(body.to_owned())))
}

impl Vendor {
    fn new(expires_in: u64) -> Arc<Self> {
        let vendor = Self::default();
        vendor.expires_in.store(expires_in, Ordering::SeqCst);
        Arc::new(vendor)
    }

    fn current(&self) -> String {
        format!("TOKEN-{}", self.issued.load(Ordering::SeqCst))
    }

    async fn handle(self: Arc<Self>, req: ApiRequest) -> Response<Full<Bytes>> {
        use http_body_util::BodyExt;
        let path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or("").to_owned();
        let body = req.into_body().collect().await.unwrap().to_bytes();
        let is_fetch = matches!(
            path.as_str(),
            "/cgi-bin/gettoken"
                | "/cgi-bin/token"
                | "/cgi-bin/stable_token"
                | "/cgi-bin/service/get_suite_token"
                | "/cgi-bin/component/api_component_token"
                | "/cgi-bin/service/get_corp_token"
                | "/cgi-bin/component/api_authorizer_token"
        );
        if is_fetch {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            self.bodies
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&body).into_owned());
            let delay = self.fetch_delay_ms.load(Ordering::SeqCst);
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            if let Some(fault) = self.fetch_faults.lock().unwrap().pop_front() {
                return answer(fault);
            }
            let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
            let expires_in = self.expires_in.load(Ordering::SeqCst);
            let name = match path.as_str() {
                "/cgi-bin/service/get_suite_token" => "suite_access_token",
                "/cgi-bin/component/api_component_token" => "component_access_token",
                "/cgi-bin/component/api_authorizer_token" => {
                    return json(&format!(
                        r#"{{"authorizer_access_token":"TOKEN-{n}","expires_in":{expires_in},"authorizer_refresh_token":"REFRESH-{n}"}}"#
                    ));
                }
                _ => "access_token",
            };
            return json(&format!(
                r#"{{"errcode":0,"errmsg":"ok","{name}":"TOKEN-{n}","expires_in":{expires_in}}}"#
            ));
        }
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(fault) = self.call_faults.lock().unwrap().pop_front() {
            return answer(fault);
        }
        let current = self.current();
        if !query.contains(&format!("={current}")) {
            return answer(Fault::Code(40014));
        }
        match path.as_str() {
            "/cgi-bin/message/send" => {
                json(r#"{"errcode":0,"errmsg":"ok","msgid":"MSGID1","invaliduser":""}"#)
            }
            "/cgi-bin/service/get_permanent_code" => json(
                r#"{"access_token":"CORPTOKEN","expires_in":7200,"permanent_code":"PERMANENT-1","auth_corp_info":{"corpid":"wxcorp1","corp_name":"测试企业"}}"#,
            ),
            "/cgi-bin/component/api_query_auth" => json(
                r#"{"authorization_info":{"authorizer_appid":"wxauthorizer","authorizer_access_token":"AUTHTOKEN","expires_in":7200,"authorizer_refresh_token":"REFRESH-0","func_info":[]}}"#,
            ),
            _ => json(r#"{"errcode":0,"errmsg":"ok","echo":"你好"}"#),
        }
    }
}

fn client_with(vendor: &Arc<Vendor>, clock: Arc<dyn Clock>, policy: CachePolicy) -> Client {
    let v = Arc::clone(vendor);
    let transport = Transport::new(tower::service_fn(move |req: ApiRequest| {
        let v = Arc::clone(&v);
        async move { Ok::<_, std::convert::Infallible>(v.handle(req).await) }
    }));
    Client::builder()
        .transport(transport)
        .urls(BaseUrls::all("http://vendor.test"))
        .clock(clock)
        .policy(policy)
        .build()
        .unwrap()
}

fn fast_policy() -> CachePolicy {
    CachePolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(4))
}

const SECRET: &str = "corp-SECRET-value-9f8e7d";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_share_one_fetch() {
    let vendor = Vendor::new(7200);
    vendor.fetch_delay_ms.store(50, Ordering::SeqCst);
    let client = client_with(&vendor, Arc::new(SystemClock), fast_policy());
    let corp = CorpCredential::new("wwcorp", SECRET);
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let client = client.clone();
        let corp = corp.clone();
        tasks.push(tokio::spawn(
            async move { client.token(&corp).await.unwrap() },
        ));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().secret(), "TOKEN-1");
    }
    assert_eq!(vendor.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_rejected_token_is_dropped_and_the_call_retried_once() {
    let vendor = Vendor::new(7200);
    let client = client_with(&vendor, Arc::new(SystemClock), fast_policy());
    let corp = CorpCredential::new("wwcorp", SECRET);
    let message = AppMessage::text("zhangsan", 1_000_002, "Hello, 世界! 企业微信回调 test 123.");
    corp.send_message(&client, &message).await.unwrap();
    vendor
        .call_faults
        .lock()
        .unwrap()
        .push_back(Fault::Code(40001));
    let sent = corp.send_message(&client, &message).await.unwrap();
    assert_eq!(sent.msgid, "MSGID1");
    assert_eq!(
        vendor.fetches.load(Ordering::SeqCst),
        2,
        "exactly one refresh"
    );
    assert_eq!(vendor.calls.load(Ordering::SeqCst), 3);

    // A second rejection within the forced-refresh interval is not a loop:
    // the error comes back, no fetch.
    vendor
        .call_faults
        .lock()
        .unwrap()
        .push_back(Fault::Code(42001));
    let err = corp.send_message(&client, &message).await.unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::AccessTokenExpired);
    assert_eq!(vendor.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn invalidation_never_drops_a_newer_token() {
    let vendor = Vendor::new(7200);
    let clock = ManualClock::new(1_000_000);
    let client = client_with(&vendor, clock.clone(), fast_policy());
    let corp = CorpCredential::new("wwcorp", SECRET);
    let first = client.token(&corp).await.unwrap();
    clock.advance(5);
    assert!(client.invalidate(&corp, &first).await);
    let second = client.token(&corp).await.unwrap();
    assert_ne!(first.generation(), second.generation());
    // A late rejection of the first token: the second stays.
    clock.advance(60_000);
    assert!(client.invalidate(&corp, &first).await);
    assert_eq!(client.token(&corp).await.unwrap(), second);
    assert_eq!(vendor.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn quota_reached_cools_down_without_a_stampede() {
    let vendor = Vendor::new(7200);
    let clock = ManualClock::new(1_000_000);
    let client = client_with(&vendor, clock.clone(), fast_policy());
    let corp = CorpCredential::new("wwcorp", SECRET);
    vendor
        .fetch_faults
        .lock()
        .unwrap()
        .extend([Fault::Code(45009); 10]);
    let err = client.token(&corp).await.unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::QuotaReached);
    for _ in 0..50 {
        let err = client.token(&corp).await.unwrap_err();
        assert_eq!(err.kind(), ApiErrorKind::CoolingDown);
    }
    assert_eq!(vendor.fetches.load(Ordering::SeqCst), 1);
    clock.advance(61_000);
    tokio::time::advance(Duration::from_secs(61)).await;
    vendor.fetch_faults.lock().unwrap().clear();
    assert_eq!(client.token(&corp).await.unwrap().secret(), "TOKEN-1");
    assert_eq!(vendor.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn quota_reached_pauses_every_client_sharing_the_store() {
    let vendor = Vendor::new(7200);
    let store: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    let build = || {
        let v = Arc::clone(&vendor);
        Client::builder()
            .transport(Transport::new(tower::service_fn(move |req: ApiRequest| {
                let v = Arc::clone(&v);
                async move { Ok::<_, std::convert::Infallible>(v.handle(req).await) }
            })))
            .urls(BaseUrls::all("http://vendor.test"))
            .token_store(Arc::clone(&store))
            .policy(fast_policy())
            .build()
            .unwrap()
    };
    let (a, b) = (build(), build());
    let corp = CorpCredential::new("wwcorp", SECRET);
    vendor
        .fetch_faults
        .lock()
        .unwrap()
        .push_back(Fault::Code(45009));
    assert_eq!(
        a.token(&corp).await.unwrap_err().kind(),
        ApiErrorKind::QuotaReached
    );
    let err = b.token(&corp).await.unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::CoolingDown);
    assert_eq!(vendor.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn busy_and_5xx_are_retried_a_bounded_number_of_times() {
    let vendor = Vendor::new(7200);
    let client = client_with(&vendor, Arc::new(SystemClock), fast_policy());
    let corp = CorpCredential::new("wwcorp", SECRET);
    vendor
        .fetch_faults
        .lock()
        .unwrap()
        .extend([Fault::Code(-1), Fault::Status(502)]);
    assert_eq!(client.token(&corp).await.unwrap().secret(), "TOKEN-1");
    assert_eq!(vendor.fetches.load(Ordering::SeqCst), 3);

    let corp2 = CorpCredential::new("wwcorp2", SECRET);
    vendor
        .fetch_faults
        .lock()
        .unwrap()
        .extend([Fault::Code(-1); 10]);
    let err = client.token(&corp2).await.unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::SystemBusy);
    assert_eq!(
        vendor.fetches.load(Ordering::SeqCst),
        6,
        "3 attempts, no more"
    );
    assert_eq!(
        client.token(&corp2).await.unwrap_err().kind(),
        ApiErrorKind::CoolingDown
    );
    assert_eq!(vendor.fetches.load(Ordering::SeqCst), 6);
}

#[tokio::test]
async fn failure_cooldowns_double_while_fetches_keep_failing() {
    let vendor = Vendor::new(7200);
    let clock = ManualClock::new(1_000_000);
    let client = client_with(&vendor, clock.clone(), fast_policy().max_attempts(1));
    let corp = CorpCredential::new("wwcorp", SECRET);
    vendor
        .fetch_faults
        .lock()
        .unwrap()
        .extend([Fault::Code(40013); 10]);
    // Cool-downs of 2, 4, 8 s: a fetch only once each has passed.
    for wait in [2_000, 4_000, 8_000] {
        let before = vendor.fetches.load(Ordering::SeqCst);
        assert_eq!(
            client.token(&corp).await.unwrap_err().kind(),
            ApiErrorKind::InvalidAppId
        );
        clock.advance(wait - 1);
        assert_eq!(
            client.token(&corp).await.unwrap_err().kind(),
            ApiErrorKind::CoolingDown
        );
        assert_eq!(vendor.fetches.load(Ordering::SeqCst), before + 1);
        clock.advance(1);
    }
    vendor.fetch_faults.lock().unwrap().clear();
    assert!(client.token(&corp).await.is_ok());
}

#[tokio::test]
async fn malformed_answers_are_typed() {
    let vendor = Vendor::new(7200);
    let client = client_with(&vendor, Arc::new(SystemClock), fast_policy());
    let corp = CorpCredential::new("wwcorp", SECRET);
    vendor
        .fetch_faults
        .lock()
        .unwrap()
        .push_back(Fault::Malformed);
    let err = client.token(&corp).await.unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::MalformedResponse);
}

#[tokio::test]
async fn refresh_ahead_serves_the_valid_token_while_it_fails() {
    let vendor = Vendor::new(100);
    let clock = ManualClock::new(1_000_000);
    let client = client_with(&vendor, clock.clone(), fast_policy().max_attempts(1));
    let corp = OfficialAccountCredential::new("wxoa", SECRET);
    assert_eq!(client.token(&corp).await.unwrap().secret(), "TOKEN-1");
    // 85 s of 100: due for refresh (0.8), still usable (until 90 s).
    clock.advance(85_000);
    vendor
        .fetch_faults
        .lock()
        .unwrap()
        .push_back(Fault::Status(503));
    assert_eq!(client.token(&corp).await.unwrap().secret(), "TOKEN-1");
    // Let the background refresh run and fail.
    for _ in 0..100 {
        if vendor.fetches.load(Ordering::SeqCst) == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(vendor.fetches.load(Ordering::SeqCst), 2);
    assert_eq!(client.token(&corp).await.unwrap().secret(), "TOKEN-1");
    // After the failure cool-down the next refresh succeeds in the background.
    clock.advance(2_500);
    assert_eq!(client.token(&corp).await.unwrap().secret(), "TOKEN-1");
    for _ in 0..100 {
        if client.token(&corp).await.unwrap().secret() == "TOKEN-2" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(client.token(&corp).await.unwrap().secret(), "TOKEN-2");
    assert_eq!(vendor.fetches.load(Ordering::SeqCst), 3);
    // Past the usable end, a caller waits for a fetch.
    clock.advance(95_000);
    assert_eq!(client.token(&corp).await.unwrap().secret(), "TOKEN-3");
}

#[tokio::test]
async fn same_while_valid_tokens_are_fetched_after_expiry_only() {
    let vendor = Vendor::new(100);
    let clock = ManualClock::new(1_000_000);
    let client = client_with(&vendor, clock.clone(), fast_policy());
    let corp = CorpCredential::new("wwcorp", SECRET);
    assert_eq!(client.token(&corp).await.unwrap().secret(), "TOKEN-1");
    clock.advance(99_999);
    assert_eq!(client.token(&corp).await.unwrap().secret(), "TOKEN-1");
    tokio::task::yield_now().await;
    assert_eq!(vendor.fetches.load(Ordering::SeqCst), 1, "no refresh ahead");
    clock.advance(1);
    assert_eq!(client.token(&corp).await.unwrap().secret(), "TOKEN-2");
    assert_eq!(vendor.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn suite_chain_reads_the_ticket_and_persists_the_permanent_code() {
    let vendor = Vendor::new(7200);
    let now_s = 1_700_000_000;
    let clock = ManualClock::new(now_s * 1000);
    let client = client_with(&vendor, clock.clone(), fast_policy());
    let ticket_clock = clock.clone();
    let tickets =
        Arc::new(MemoryTicketStore::new().with_clock(move || ticket_clock.now_ms() / 1000));
    let secrets = Arc::new(MemorySecretStore::new());
    let suite = SuiteCredential::new("wwsuite", "suite-secret", tickets.clone(), secrets.clone());
    assert_eq!(
        client.token(&suite).await.unwrap_err().kind(),
        ApiErrorKind::MissingTicket
    );
    clock.advance(3_000); // past the failure cool-down
    // A ticket older than 30 minutes is not used.
    tickets
        .save(
            "wwsuite",
            TicketKind::SuiteTicket,
            "OLD-TICKET",
            now_s - 1900,
        )
        .await
        .unwrap();
    assert_eq!(
        client.token(&suite).await.unwrap_err().kind(),
        ApiErrorKind::MissingTicket
    );
    clock.advance(3_000);
    tickets
        .save("wwsuite", TicketKind::SuiteTicket, "TICKET-1", now_s)
        .await
        .unwrap();
    assert_eq!(client.token(&suite).await.unwrap().secret(), "TOKEN-1");
    assert!(
        vendor
            .bodies
            .lock()
            .unwrap()
            .last()
            .unwrap()
            .contains(r#""suite_ticket":"TICKET-1""#)
    );

    let push = "<xml><SuiteId><![CDATA[wwsuite]]></SuiteId><AuthCode><![CDATA[AUTHCODE]]></AuthCode>\
        <InfoType><![CDATA[create_auth]]></InfoType><TimeStamp>1403610513</TimeStamp></xml>";
    let message = crate::Message::parse(push).unwrap();
    let corp = suite
        .on_create_auth(&client, &message)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(corp.corpid(), "wxcorp1");
    let stored = secrets
        .get_secret("permanent_code:wwsuite:wxcorp1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.expose(), "PERMANENT-1");
    // get_corp_token uses the suite token and the stored permanent code;
    // once the suite token expired, a new one from a new ticket.
    assert_eq!(client.token(&corp).await.unwrap().secret(), "TOKEN-2");
    clock.advance(7_201_000);
    tickets
        .save(
            "wwsuite",
            TicketKind::SuiteTicket,
            "TICKET-2",
            now_s + 7_200,
        )
        .await
        .unwrap();
    let token = client.token(&corp).await.unwrap();
    assert_eq!(token.secret(), "TOKEN-4");
    assert!(
        vendor
            .bodies
            .lock()
            .unwrap()
            .last()
            .unwrap()
            .contains(r#""permanent_code":"PERMANENT-1""#)
    );
}

#[tokio::test]
async fn open_platform_chain_keeps_the_rotated_refresh_token() {
    let vendor = Vendor::new(7200);
    let now_s = 1_700_000_000;
    let clock = ManualClock::new(now_s * 1000);
    let client = client_with(&vendor, clock.clone(), fast_policy());
    let ticket_clock = clock.clone();
    let tickets =
        Arc::new(MemoryTicketStore::new().with_clock(move || ticket_clock.now_ms() / 1000));
    let secrets = Arc::new(MemorySecretStore::new());
    tickets
        .save(
            "wxcomponent",
            TicketKind::ComponentVerifyTicket,
            "CVT",
            now_s - 3600,
        )
        .await
        .unwrap();
    let component =
        ComponentCredential::new("wxcomponent", "component-secret", tickets, secrets.clone());
    let push = "<xml><AppId><![CDATA[wxcomponent]]></AppId><CreateTime>1413192760</CreateTime>\
        <InfoType><![CDATA[authorized]]></InfoType><AuthorizerAppid><![CDATA[wxauthorizer]]></AuthorizerAppid>\
        <AuthorizationCode><![CDATA[CODE]]></AuthorizationCode></xml>";
    let message = crate::Message::parse(push).unwrap();
    let authorizer = component
        .on_authorized(&client, &message)
        .await
        .unwrap()
        .unwrap();
    let key = component.refresh_token_key("wxauthorizer");
    assert_eq!(
        secrets.get_secret(&key).await.unwrap().unwrap().expose(),
        "REFRESH-0"
    );
    // The seeded authorizer token is served without a fetch.
    assert_eq!(
        client.token(&authorizer).await.unwrap().secret(),
        "AUTHTOKEN"
    );
    assert_eq!(vendor.fetches.load(Ordering::SeqCst), 1); // the component token
    // Past its life, api_authorizer_token rotates the refresh token.
    clock.advance(7_200_000);
    let token = client.token(&authorizer).await.unwrap();
    assert!(token.secret().starts_with("TOKEN-"));
    let rotated = secrets.get_secret(&key).await.unwrap().unwrap();
    assert_ne!(rotated.expose(), "REFRESH-0");
    assert!(rotated.expose().starts_with("REFRESH-"));
}

#[tokio::test]
async fn generic_calls_and_the_layer_attach_the_token() {
    use tower::{ServiceBuilder, ServiceExt};
    let vendor = Vendor::new(7200);
    let client = client_with(&vendor, Arc::new(SystemClock), fast_policy());
    let corp = CorpCredential::new("wwcorp", SECRET);
    let value: serde_json::Value = client
        .get_json(&corp, "/cgi-bin/user/get", &[("userid", "张三")])
        .await
        .unwrap();
    assert_eq!(value["echo"], "你好");
    let service = ServiceBuilder::new()
        .layer(CredentialLayer::new(client.clone(), Arc::new(corp.clone())))
        .service(client.transport().clone());
    let request = http::Request::get("http://vendor.test/cgi-bin/agent/list?access_token=STALE")
        .body(Full::default())
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert!(String::from_utf8_lossy(response.body()).contains("你好"));
    assert_eq!(vendor.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn no_secret_in_debug_or_errors() {
    let vendor = Vendor::new(7200);
    let client = client_with(&vendor, Arc::new(SystemClock), fast_policy());
    let corp = CorpCredential::new("wwcorp", SECRET);
    let token = client.token(&corp).await.unwrap();
    for text in [
        format!("{corp:?}"),
        format!("{token:?}"),
        format!("{client:?}"),
        format!("{:?}", Secret::new(SECRET)),
    ] {
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains("TOKEN-1"), "{text}");
    }
    let err = ApiError::from_vendor(40014, "invalid access_token TOKEN-1").scrub(token.secret());
    assert!(!format!("{err} {err:?}").contains("TOKEN-1"));
}

#[test]
fn backoff_stays_within_its_bounds() {
    #[derive(Debug)]
    struct Fixed(u64);
    impl Random for Fixed {
        fn next_u64(&self) -> u64 {
            self.0
        }
    }
    let policy = CachePolicy::default().backoff(Duration::from_millis(100), Duration::from_secs(1));
    for attempt in 0..8 {
        for r in [0, 1, 77, u64::MAX] {
            let d = policy.backoff_delay_for_tests(attempt, &Fixed(r));
            let full = (100u64 << attempt).min(1000);
            assert!(
                d >= Duration::from_millis(full / 2) && d <= Duration::from_millis(full),
                "{attempt} {r} {d:?}"
            );
        }
    }
}

#[tokio::test]
async fn tickets_of_other_kinds_are_not_used() {
    // The store's clock within the ticket's lifetime, so that only the kind
    // can hide it.
    let tickets = MemoryTicketStore::new().with_clock(|| 100);
    tickets
        .save("wwsuite", TicketKind::ComponentVerifyTicket, "X", 1)
        .await
        .unwrap();
    assert!(
        tickets
            .latest("wwsuite", TicketKind::ComponentVerifyTicket)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        tickets
            .latest("wwsuite", TicketKind::SuiteTicket)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_missing_ticket_starts_no_cooldown() {
    let vendor = Vendor::new(7200);
    let now_s = 1_700_000_000;
    let clock = ManualClock::new(now_s * 1000);
    let client = client_with(&vendor, clock.clone(), fast_policy());
    let ticket_clock = clock.clone();
    let tickets =
        Arc::new(MemoryTicketStore::new().with_clock(move || ticket_clock.now_ms() / 1000));
    let suite = SuiteCredential::new(
        "wwsuite",
        "suite-secret",
        tickets.clone(),
        Arc::new(MemorySecretStore::new()),
    );
    assert_eq!(
        client.token(&suite).await.unwrap_err().kind(),
        ApiErrorKind::MissingTicket
    );
    // The push arrives in the same millisecond: the next call uses it.
    tickets
        .save("wwsuite", TicketKind::SuiteTicket, "TICKET-1", now_s)
        .await
        .unwrap();
    assert_eq!(client.token(&suite).await.unwrap().secret(), "TOKEN-1");
    assert_eq!(vendor.fetches.load(Ordering::SeqCst), 1);
}
