//! The API client against the offline vendor stand-in over real loopback
//! HTTP (hyper-util's client, the default transport): single flight, the
//! retry after a rejected token, rate limits and busy answers, refresh
//! ahead and at expiry, the suite and Open Platform chains, and no secret
//! in `Debug` or logs. The multi-instance and Redis fault tests are in
//! tests/client_redis.rs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "common/logs.rs"]
mod logs;

use std::sync::Arc;
use std::time::{Duration, Instant};

use wecom_callback::Message;
use wecom_callback::client::{
    ApiErrorKind, AppMessage, BaseUrls, CachePolicy, Client, ComponentCredential, CorpCredential,
    MemorySecretStore, OfficialAccountCredential, ProviderCredential, SecretStore, SuiteCredential,
    Transport,
};
use wecom_callback::testing::vendor::{Fault, VendorConfig, VendorEndpoint, VendorStandIn};
use wecom_callback::tickets::{MemoryTicketStore, TicketKind, TicketStore};

const CORP: &str = "wwcorp0001";
const CORP_SECRET: &str = "corp-secret-Xx9-do-not-log";
const AGENT: i64 = 1_000_002;
const SUITE: &str = "wwsuite0001";
const SUITE_SECRET: &str = "suite-secret-Yy8-do-not-log";
const OA: &str = "wxoa000001";
const OA_SECRET: &str = "oa-secret-Zz7-do-not-log";
const COMPONENT: &str = "wxcomponent1";
const COMPONENT_SECRET: &str = "component-secret-Ww6-do-not-log";
const INSTALLED: &str = "wwinstalled1";
const AUTHORIZER: &str = "wxauthorizer1";
const PROVIDER: &str = "wwprovider01";
const PROVIDER_SECRET: &str = "provider-secret-Vv5-do-not-log";
const MIXED: &str = "Hello, 世界! 企业微信回调 test 123. 你好，这是一条消息。abc";

fn config() -> VendorConfig {
    VendorConfig::new()
        .wecom_app(CORP, AGENT, CORP_SECRET)
        .suite(SUITE, SUITE_SECRET)
        .official_account(OA, OA_SECRET)
        .component(COMPONENT, COMPONENT_SECRET)
        .installing_corp(INSTALLED, "测试企业")
        .authorizer(AUTHORIZER)
        .rotate_authorizer_refresh_token(true)
        .provider(PROVIDER, PROVIDER_SECRET)
}

fn policy() -> CachePolicy {
    CachePolicy::default().backoff(Duration::from_millis(5), Duration::from_millis(40))
}

fn client(vendor: &VendorStandIn, policy: CachePolicy) -> Client {
    Client::builder()
        .transport(Transport::https().unwrap())
        .urls(BaseUrls::all(vendor.base_url()))
        .policy(policy)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_calls_one_fetch() {
    let vendor = VendorStandIn::start(config()).await.unwrap();
    // A slow first answer, so that every caller arrives while it runs.
    vendor.inject(
        VendorEndpoint::GetToken,
        Fault::Delay(Duration::from_millis(200)),
    );
    let client = client(&vendor, policy());
    let corp = CorpCredential::new(CORP, CORP_SECRET);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (client, corp) = (client.clone(), corp.clone());
        tasks.push(tokio::spawn(async move {
            let message = AppMessage::text("zhangsan", AGENT, format!("{MIXED} #{i}"));
            corp.send_message(&client, &message).await.unwrap()
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let fetches = vendor.calls(VendorEndpoint::GetToken);
    eprintln!("FIGURE concurrency: 200 calls, {fetches} gettoken fetch(es)");
    assert_eq!(fetches, 1);
    assert_eq!(vendor.sent_messages().len(), 200);
    assert!(
        vendor
            .sent_messages()
            .iter()
            .any(|m| m["text"]["content"] == format!("{MIXED} #7"))
    );
}

#[tokio::test]
async fn an_injected_40001_gives_exactly_one_refresh() {
    let vendor = VendorStandIn::start(config()).await.unwrap();
    let client = client(&vendor, policy());
    let corp = CorpCredential::new(CORP, CORP_SECRET);
    let message = AppMessage::text("zhangsan", AGENT, MIXED);
    corp.send_message(&client, &message).await.unwrap();
    assert_eq!(vendor.calls(VendorEndpoint::GetToken), 1);
    vendor.inject(VendorEndpoint::MessageSend, Fault::INVALID_CREDENTIAL);
    corp.send_message(&client, &message).await.unwrap();
    let fetches = vendor.calls(VendorEndpoint::GetToken);
    eprintln!("FIGURE 40001: {fetches} gettoken fetches (1 + exactly one refresh)");
    assert_eq!(fetches, 2);
    assert_eq!(vendor.calls(VendorEndpoint::MessageSend), 3);
    // Many more calls: no further fetch.
    for _ in 0..20 {
        corp.send_message(&client, &message).await.unwrap();
    }
    assert_eq!(vendor.calls(VendorEndpoint::GetToken), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_of_a_dropped_token_all_retry_with_one_refresh() {
    let vendor = VendorStandIn::start(config()).await.unwrap();
    let client = client(&vendor, policy());
    let oa = OfficialAccountCredential::new(OA, OA_SECRET);
    let token = client.token(&oa).await.unwrap();
    assert!(vendor.kill_token(token.secret()));
    // The refresh is slow, so that every caller meets the dropped token.
    vendor.inject(
        VendorEndpoint::Token,
        Fault::Delay(Duration::from_millis(300)),
    );
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (client, oa) = (client.clone(), oa.clone());
        tasks.push(tokio::spawn(async move {
            client
                .get_json::<serde_json::Value>(&oa, "/cgi-bin/getcallbackip", &[])
                .await
        }));
    }
    for task in tasks {
        let answer = task.await.unwrap().unwrap();
        assert!(answer.get("ip_list").is_some(), "{answer}");
    }
    let fetches = vendor.calls(VendorEndpoint::Token);
    eprintln!("FIGURE 6 concurrent calls on a killed token: {fetches} fetches (1 + one refresh)");
    assert_eq!(fetches, 2);
}

#[tokio::test]
async fn a_killed_token_is_replaced_once_then_the_loop_guard_holds() {
    let vendor = VendorStandIn::start(config()).await.unwrap();
    let client = client(&vendor, policy());
    let oa = OfficialAccountCredential::new(OA, OA_SECRET);
    let token = client.token(&oa).await.unwrap();
    assert!(vendor.kill_token(token.secret()));
    let ip: serde_json::Value = client
        .get_json(&oa, "/cgi-bin/getcallbackip", &[])
        .await
        .unwrap();
    assert!(ip.get("ip_list").is_some(), "{ip}");
    assert_eq!(vendor.calls(VendorEndpoint::Token), 2);
    // The vendor rejects the next token at once too: one forced refresh per
    // interval, so the error comes back and no loop starts.
    let token = client.token(&oa).await.unwrap();
    vendor.kill_token(token.secret());
    let err = client
        .get_json::<serde_json::Value>(&oa, "/cgi-bin/getcallbackip", &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::InvalidCredential);
    assert_eq!(vendor.calls(VendorEndpoint::Token), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rate_limit_causes_no_stampede() {
    let vendor = VendorStandIn::start(config()).await.unwrap();
    vendor.inject_n(VendorEndpoint::GetToken, Fault::QUOTA, 1000);
    let client = client(&vendor, policy());
    let corp = CorpCredential::new(CORP, CORP_SECRET);
    let started = Instant::now();
    let mut failures = 0;
    while started.elapsed() < Duration::from_secs(1) {
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (client, corp) = (client.clone(), corp.clone());
            tasks.push(tokio::spawn(async move { client.token(&corp).await }));
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
            failures += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fetches = vendor.calls(VendorEndpoint::GetToken);
    eprintln!("FIGURE 45009: {failures} failed calls over 1 s, {fetches} gettoken fetch(es)");
    assert_eq!(fetches, 1, "45009 stops fetching for the cool-down");
}

#[tokio::test]
async fn busy_502_and_malformed_answers() {
    let vendor = VendorStandIn::start(config()).await.unwrap();
    let client = client(&vendor, policy());
    let corp = CorpCredential::new(CORP, CORP_SECRET);
    vendor.inject(VendorEndpoint::GetToken, Fault::BUSY);
    vendor.inject(VendorEndpoint::GetToken, Fault::Status(502));
    client.token(&corp).await.unwrap();
    let fetches = vendor.calls(VendorEndpoint::GetToken);
    eprintln!("FIGURE -1 then 502: {fetches} gettoken attempts, then success");
    assert_eq!(fetches, 3);

    let oa = OfficialAccountCredential::stable(OA, OA_SECRET);
    vendor.inject_n(VendorEndpoint::StableToken, Fault::BUSY, 10);
    let err = client.token(&oa).await.unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::SystemBusy);
    assert_eq!(
        vendor.calls(VendorEndpoint::StableToken),
        3,
        "bounded attempts"
    );
    vendor.clear_faults();

    let oa = OfficialAccountCredential::new(OA, OA_SECRET);
    vendor.inject(VendorEndpoint::Token, Fault::MalformedJson);
    let err = client.token(&oa).await.unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::MalformedResponse);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_ahead_keeps_serving_and_fetches_once_per_period() {
    let vendor = VendorStandIn::start(config().expires_in_for(VendorEndpoint::Token, 2))
        .await
        .unwrap();
    let client = client(&vendor, policy());
    let oa = OfficialAccountCredential::new(OA, OA_SECRET);
    let started = Instant::now();
    let mut calls = 0;
    // Three periods of 2 s; a refresh starts at 1.6 s of each.
    while started.elapsed() < Duration::from_millis(6_300) {
        let value: serde_json::Value = client
            .get_json(&oa, "/cgi-bin/getcallbackip", &[])
            .await
            .unwrap();
        assert!(value.get("ip_list").is_some());
        calls += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let fetches = vendor.calls(VendorEndpoint::Token);
    eprintln!("FIGURE refresh-ahead: {calls} calls over 6.3 s (2 s tokens), {fetches} fetches");
    assert!((4..=5).contains(&fetches), "{fetches}");
}

#[tokio::test]
async fn a_slow_refresh_keeps_serving_the_valid_token() {
    let vendor = VendorStandIn::start(config().expires_in_for(VendorEndpoint::Token, 2))
        .await
        .unwrap();
    let client = client(&vendor, policy());
    let oa = OfficialAccountCredential::new(OA, OA_SECRET);
    let first = client.token(&oa).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_650)).await;
    vendor.inject(
        VendorEndpoint::Token,
        Fault::Delay(Duration::from_millis(800)),
    );
    let during = Instant::now();
    for _ in 0..10 {
        assert_eq!(client.token(&oa).await.unwrap(), first);
    }
    assert!(
        during.elapsed() < Duration::from_millis(100),
        "callers never wait"
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_ne!(client.token(&oa).await.unwrap(), first);
    assert_eq!(vendor.calls(VendorEndpoint::Token), 2);
}

#[tokio::test]
async fn the_suite_chain_from_ticket_to_corp_token() {
    let vendor = VendorStandIn::start(config()).await.unwrap();
    let client = client(&vendor, policy());
    let tickets = Arc::new(MemoryTicketStore::new());
    let secrets = Arc::new(MemorySecretStore::new());
    let suite = SuiteCredential::new(SUITE, SUITE_SECRET, tickets.clone(), secrets.clone());

    // The callback handler saved the push; the vendor knows the same ticket.
    vendor.set_suite_ticket(SUITE, "suite-ticket-1");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    tickets
        .save(SUITE, TicketKind::SuiteTicket, "suite-ticket-1", now)
        .await
        .unwrap();
    let pre = suite.pre_auth_code(&client).await.unwrap();
    assert!(!pre.pre_auth_code.is_empty());

    let auth_code = vendor.issue_suite_auth_code(SUITE);
    let push = format!(
        "<xml><SuiteId><![CDATA[{SUITE}]]></SuiteId><AuthCode><![CDATA[{auth_code}]]></AuthCode>\
         <InfoType><![CDATA[create_auth]]></InfoType><TimeStamp>{now}</TimeStamp></xml>"
    );
    let corp = suite
        .on_create_auth(&client, &Message::parse(&push).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(corp.corpid(), INSTALLED);
    assert!(
        secrets
            .get_secret(&suite.permanent_code_key(INSTALLED))
            .await
            .unwrap()
            .is_some()
    );
    let ip: serde_json::Value = client
        .get_json(&corp, "/cgi-bin/getcallbackip", &[])
        .await
        .unwrap();
    assert!(ip.get("ip_list").is_some(), "{ip}");
    assert_eq!(vendor.calls(VendorEndpoint::GetSuiteToken), 1);
    assert_eq!(vendor.calls(VendorEndpoint::GetCorpToken), 1);
    // Every token dies: get_corp_token with the stored permanent code,
    // after one new suite_access_token.
    vendor.expire_tokens();
    let ip: serde_json::Value = client
        .get_json(&corp, "/cgi-bin/getcallbackip", &[])
        .await
        .unwrap();
    assert!(ip.get("ip_list").is_some(), "{ip}");
    assert_eq!(vendor.issued(VendorEndpoint::GetCorpToken), 2);
    assert_eq!(vendor.issued(VendorEndpoint::GetSuiteToken), 2);
}

#[tokio::test]
async fn the_open_platform_chain_keeps_the_rotated_refresh_token() {
    let vendor = VendorStandIn::start(config()).await.unwrap();
    let client = client(&vendor, policy());
    let tickets = Arc::new(MemoryTicketStore::new());
    let secrets = Arc::new(MemorySecretStore::new());
    let component = ComponentCredential::new(
        COMPONENT,
        COMPONENT_SECRET,
        tickets.clone(),
        secrets.clone(),
    );
    vendor.set_component_verify_ticket(COMPONENT, "ticket@@@cvt");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    tickets
        .save(
            COMPONENT,
            TicketKind::ComponentVerifyTicket,
            "ticket@@@cvt",
            now,
        )
        .await
        .unwrap();
    let pre = component.pre_auth_code(&client).await.unwrap();
    let page = component.authorization_url(
        &client,
        &pre.pre_auth_code,
        "https://example.com/cb",
        Some(3),
    );
    assert!(page.starts_with(&format!(
        "{}/cgi-bin/componentloginpage?",
        vendor.base_url()
    )));

    let code = vendor.issue_authorization_code(COMPONENT);
    let push = format!(
        "<xml><AppId><![CDATA[{COMPONENT}]]></AppId><CreateTime>{now}</CreateTime>\
         <InfoType><![CDATA[authorized]]></InfoType><AuthorizerAppid><![CDATA[{AUTHORIZER}]]></AuthorizerAppid>\
         <AuthorizationCode><![CDATA[{code}]]></AuthorizationCode></xml>"
    );
    let authorizer = component
        .on_authorized(&client, &Message::parse(&push).unwrap())
        .await
        .unwrap()
        .unwrap();
    let key = component.refresh_token_key(AUTHORIZER);
    let first = secrets.get_secret(&key).await.unwrap().unwrap();
    // The seeded token works without a fetch.
    let ip: serde_json::Value = client
        .get_json(&authorizer, "/cgi-bin/getcallbackip", &[])
        .await
        .unwrap();
    assert!(ip.get("ip_list").is_some(), "{ip}");
    assert_eq!(vendor.calls(VendorEndpoint::AuthorizerToken), 0);
    // The token dies: one api_authorizer_token, which rotates the refresh token.
    vendor.expire_tokens();
    let ip: serde_json::Value = client
        .get_json(&authorizer, "/cgi-bin/getcallbackip", &[])
        .await
        .unwrap();
    assert!(ip.get("ip_list").is_some(), "{ip}");
    // Two calls: the first carried the component_access_token that expired
    // with it, which was replaced once (api_component_token), then retried.
    assert_eq!(vendor.issued(VendorEndpoint::AuthorizerToken), 1);
    assert_eq!(vendor.calls(VendorEndpoint::AuthorizerToken), 2);
    assert_eq!(vendor.issued(VendorEndpoint::ComponentToken), 2);
    let rotated = secrets.get_secret(&key).await.unwrap().unwrap();
    assert_ne!(rotated, first, "the rotated refresh token is kept");
}

#[tokio::test]
async fn the_provider_token_is_fetched_once_and_a_wrong_secret_is_typed() {
    let vendor = VendorStandIn::start(config()).await.unwrap();
    let client = client(&vendor, policy());
    let provider = ProviderCredential::new(PROVIDER, PROVIDER_SECRET);
    let first = client.token(&provider).await.unwrap();
    assert_eq!(client.token(&provider).await.unwrap(), first);
    assert_eq!(vendor.calls(VendorEndpoint::GetProviderToken), 1);
    // One provider has one secret (the cache key is the corpid): a wrong one
    // shows on a client that has no token cached.
    let wrong = ProviderCredential::new(PROVIDER, "wrong");
    let fresh = self::client(&vendor, policy());
    let err = fresh.token(&wrong).await.unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::InvalidCredential);
}

#[tokio::test]
async fn a_stale_ticket_is_never_sent() {
    let vendor = VendorStandIn::start(config()).await.unwrap();
    let client = client(&vendor, policy());
    let tickets = Arc::new(MemoryTicketStore::new());
    let suite = SuiteCredential::new(
        SUITE,
        SUITE_SECRET,
        tickets.clone(),
        Arc::new(MemorySecretStore::new()),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    tickets
        .save(SUITE, TicketKind::SuiteTicket, "old", now - 31 * 60)
        .await
        .unwrap();
    let err = client.token(&suite).await.unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::MissingTicket);
    assert_eq!(vendor.calls(VendorEndpoint::GetSuiteToken), 0);
}

/// Redis unreachable from the start (nothing listens on the port): every
/// call still succeeds, each client fetching for itself.
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_from_the_start_costs_no_call() {
    use wecom_callback::client::RedisTokenStore;
    use wecom_callback::dedup::RedisConnection;
    let vendor = VendorStandIn::start(config()).await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port(); // bound, then freed: nothing listens there
    let clients: Vec<Client> = (0..2)
        .map(|_| {
            let connection = RedisConnection::open_with_timeout(
                &format!("redis://127.0.0.1:{port}/"),
                Duration::from_millis(100),
            )
            .unwrap();
            Client::builder()
                .transport(Transport::https().unwrap())
                .urls(BaseUrls::all(vendor.base_url()))
                .token_store(Arc::new(RedisTokenStore::new(connection)))
                .policy(policy())
                .build()
                .unwrap()
        })
        .collect();
    let corp = CorpCredential::new(CORP, CORP_SECRET);
    for round in 0..5 {
        for client in &clients {
            let message = AppMessage::text("zhangsan", AGENT, format!("{MIXED} {round}"));
            corp.send_message(client, &message).await.unwrap();
        }
    }
    assert_eq!(vendor.sent_messages().len(), 10);
    assert_eq!(
        vendor.calls(VendorEndpoint::GetToken),
        2,
        "one per instance"
    );
}

#[tokio::test]
async fn no_secret_in_logs_or_debug() {
    let (captured, _guard) = logs::on_this_thread(tracing::Level::TRACE);

    let vendor = VendorStandIn::start(config()).await.unwrap();
    // Two forced refreshes in a row below (40014, then 42001).
    let client = client(&vendor, policy().forced_refresh_interval(Duration::ZERO));
    let corp = CorpCredential::new(CORP, CORP_SECRET);
    let message = AppMessage::text("zhangsan", AGENT, MIXED);
    corp.send_message(&client, &message).await.unwrap();
    let token = client.token(&corp).await.unwrap();
    vendor.inject(VendorEndpoint::MessageSend, Fault::INVALID_ACCESS_TOKEN);
    corp.send_message(&client, &message).await.unwrap();
    vendor.inject(VendorEndpoint::GetToken, Fault::BUSY);
    vendor.expire_tokens();
    corp.send_message(&client, &message).await.unwrap();
    let wrong = CorpCredential::new(CORP, "wrong-secret-do-not-log");
    let err = client.token(&wrong).await.unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::InvalidCredential);

    let logs = captured.text();
    assert!(logs.contains("token fetched"), "{logs}");
    assert!(logs.contains("token fetch failed"), "{logs}");
    assert!(logs.contains("token rejected"), "{logs}");
    let debug = format!("{corp:?} {wrong:?} {token:?} {err:?} {client:?}");
    for secret in [CORP_SECRET, "wrong-secret-do-not-log", token.secret()] {
        assert!(!logs.contains(secret), "secret in logs: {logs}");
        assert!(!debug.contains(secret), "secret in Debug: {debug}");
        assert!(!err.to_string().contains(secret));
    }
}
