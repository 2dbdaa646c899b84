//! WeCom's retries and the 5-second rule through the layer: deduplication
//! (same answer for a retry, acknowledgement while in flight, release on
//! failure, digest keys for events, nothing recorded for forgeries, store
//! failures) and the acknowledgement deadline (answer in time, the handler
//! keeps running, interplay with an outer `TimeoutLayer`).
//!
//! Time is tokio's paused clock where deadlines matter.
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
use std::time::Duration;

use bytes::Bytes;
use common::body_bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::{ServiceBuilder, ServiceExt, service_fn};
use wecom_callback::dedup::{
    BoxFuture, Claim, ClaimToken, DedupKey, DedupStore, MemoryDedupStore, StoreError,
    StoreErrorKind, StoredAnswer,
};
use wecom_callback::testing::{Opened, TestKit};
use wecom_callback::{
    CallbackBody, Endpoint, FixedClock, Message, Rejection, RejectionKind, Reply, StoreFailure,
    WeComCallbackLayer,
};

const PATH: &str = "/cb";
const CORP: &str = "wx5823bf96d3bd56c7";
const NOW: u64 = 1_700_000_000;

fn endpoint() -> Endpoint {
    Endpoint::wecom_app(
        "QDG6eK",
        "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        CORP,
    )
    .unwrap()
}

fn kit() -> TestKit {
    TestKit::new(PATH, &endpoint()).at(NOW)
}

fn layer() -> WeComCallbackLayer {
    WeComCallbackLayer::new(PATH, endpoint())
        .unwrap()
        .clock(FixedClock::from_unix(NOW))
}

/// How the test handler behaves.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Replies `n=<call number>` at once.
    Reply,
    /// Sleeps, then replies.
    Slow(Duration),
    /// Answers 500.
    Fail,
}

type Svc = tower::util::BoxCloneService<
    Request<Full<Bytes>>,
    Response<CallbackBody<Full<Bytes>>>,
    Infallible,
>;

/// The layer around a handler that counts its calls (and its completions).
fn service(
    layer: WeComCallbackLayer,
    behaviour: Behaviour,
) -> (Svc, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let (c, f) = (Arc::clone(&calls), Arc::clone(&finished));
    let inner = service_fn(move |req: Request<CallbackBody<Full<Bytes>>>| {
        let n = c.fetch_add(1, Ordering::SeqCst) + 1;
        let finished = Arc::clone(&f);
        let behaviour = behaviour;
        async move {
            assert!(req.extensions().get::<Message>().is_some());
            if let Behaviour::Slow(delay) = behaviour {
                tokio::time::sleep(delay).await;
            }
            finished.fetch_add(1, Ordering::SeqCst);
            let mut response = Response::new(Full::default());
            match behaviour {
                Behaviour::Fail => *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR,
                _ => {
                    response
                        .extensions_mut()
                        .insert(Reply::text(format!("n={n}")));
                }
            }
            Ok::<_, Infallible>(response)
        }
    });
    let svc = ServiceBuilder::new().layer(layer).service(inner);
    (tower::util::BoxCloneService::new(svc), calls, finished)
}

async fn send(svc: Svc, request: Request<Full<Bytes>>) -> Response<Bytes> {
    let response = svc.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, body_bytes(body).await)
}

async fn opened(response: Response<Bytes>) -> Opened {
    kit().open(response.map(Full::new)).await.unwrap()
}

/// The same delivery `n` times (WeCom retries re-send the same request).
fn copies(n: usize, xml: &str) -> Vec<Request<Full<Bytes>>> {
    let first = kit().post(xml);
    let uri = first.uri().clone();
    let body = first.into_body();
    (0..n)
        .map(|_| Request::post(uri.clone()).body(body.clone()).unwrap())
        .collect()
}

#[tokio::test]
async fn four_deliveries_one_handler_call_same_reply() {
    let (svc, calls, _) = service(layer(), Behaviour::Reply);
    let xml = TestKit::text_message(CORP, "zhangsan", "once");
    let mut replies = Vec::new();
    let mut bodies = Vec::new();
    for request in copies(4, &xml) {
        let response = send(svc.clone(), request).await;
        assert_eq!(response.status(), StatusCode::OK);
        bodies.push(response.body().clone());
        replies.push(opened(response).await);
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "deliveries 4 -> handler calls"
    );
    let Opened::Reply(first) = &replies[0] else {
        panic!("no reply")
    };
    assert!(first.contains("<Content><![CDATA[n=1]]></Content>"));
    assert!(
        replies.iter().all(|r| r == &replies[0]),
        "every delivery gets the same reply"
    );
    // Sealed afresh each time: different nonces and ciphertexts.
    assert_ne!(bodies[0], bodies[1]);

    // A different message is not a duplicate.
    let other = TestKit::text_message(CORP, "zhangsan", "twice");
    let response = send(svc.clone(), kit().post(&other)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn concurrent_deliveries_run_the_handler_once() {
    let (svc, calls, _) = service(layer(), Behaviour::Slow(Duration::from_millis(50)));
    let xml = TestKit::text_message(CORP, "zhangsan", "together");
    let tasks: Vec<_> = copies(8, &xml)
        .into_iter()
        .map(|request| {
            let svc = svc.clone();
            tokio::spawn(async move { send(svc.clone(), request).await })
        })
        .collect();
    let mut acks = 0;
    let mut replies = 0;
    for task in tasks {
        let response = task.await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        match opened(response).await {
            Opened::Ack => acks += 1,
            Opened::Reply(_) => replies += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // The delivery that ran the handler got the reply; the ones that came
    // while it ran got the acknowledgement.
    assert_eq!((replies, acks), (1, 7));
}

#[tokio::test]
async fn a_failed_handler_releases_the_message_for_the_retry() {
    let (svc, calls, _) = service(layer(), Behaviour::Fail);
    let xml = TestKit::text_message(CORP, "zhangsan", "flaky");
    for request in copies(3, &xml) {
        let response = send(svc.clone(), request).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        // Let the release (spawned off the request path) run.
        tokio::task::yield_now().await;
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "each retry ran the handler"
    );
}

#[tokio::test]
async fn events_without_msg_id_are_keyed_by_their_digest() {
    let (svc, calls, _) = service(layer(), Behaviour::Reply);
    // Two distinct events with the same FromUserName and CreateTime (the
    // vendor's key would drop the second), and one sent twice.
    let a = TestKit::event_message(CORP, "zhangsan", "click", &[("EventKey", "a")]);
    let b = TestKit::event_message(CORP, "zhangsan", "click", &[("EventKey", "b")]);
    for request in copies(2, &a).into_iter().chain(copies(1, &b)) {
        assert_eq!(send(svc.clone(), request).await.status(), StatusCode::OK);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn forged_requests_never_reach_the_store() {
    let store = MemoryDedupStore::new();
    let (svc, calls, _) = service(layer().dedup_store(store.clone()), Behaviour::Reply);
    let forger = TestKit::new(
        PATH,
        &Endpoint::wecom_app(
            "Forger1",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
            CORP,
        )
        .unwrap(),
    )
    .at(NOW);
    for i in 0..1000 {
        let xml = TestKit::text_message(CORP, "x", &format!("forged {i}"));
        let response = send(svc.clone(), forger.post(&xml)).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(store.entry_count(), 0, "forged requests recorded");
    // One authentic message is recorded.
    send(
        svc.clone(),
        kit().post(&TestKit::text_message(CORP, "u", "real")),
    )
    .await;
    store.run_pending_tasks();
    assert_eq!(store.entry_count(), 1);
}

#[tokio::test]
async fn dedup_can_be_turned_off() {
    let (svc, calls, _) = service(layer().without_dedup(), Behaviour::Reply);
    let xml = TestKit::text_message(CORP, "zhangsan", "again");
    for request in copies(2, &xml) {
        send(svc.clone(), request).await;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// A store that is down.
#[derive(Debug)]
struct DownStore;

impl DedupStore for DownStore {
    fn claim<'a>(
        &'a self,
        _: &'a DedupKey,
        _: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(async { Err(StoreError::new(StoreErrorKind::Unavailable)) })
    }
    fn complete<'a>(
        &'a self,
        _: &'a DedupKey,
        _: StoredAnswer,
        _: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async { Err(StoreError::new(StoreErrorKind::Unavailable)) })
    }
    fn release<'a>(
        &'a self,
        _: &'a DedupKey,
        _: ClaimToken,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async { Err(StoreError::new(StoreErrorKind::Unavailable)) })
    }
}

/// The in-memory store behind a wrapper that does not say it is one
/// (`DedupStore::as_memory` left at its default): the layer then goes
/// through the store's futures, the path every shared store takes.
#[derive(Debug, Default)]
struct Waiting(MemoryDedupStore);

impl DedupStore for Waiting {
    fn claim<'a>(
        &'a self,
        key: &'a DedupKey,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.0.claim(key, ttl).await
        })
    }
    fn complete<'a>(
        &'a self,
        key: &'a DedupKey,
        answer: StoredAnswer,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.0.complete(key, answer, ttl).await
        })
    }
    fn release<'a>(
        &'a self,
        key: &'a DedupKey,
        token: ClaimToken,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.0.release(key, token)
    }
}

#[tokio::test]
async fn a_store_that_waits_deduplicates_like_the_in_memory_one() {
    // The in-memory store is claimed and completed directly; any other
    // store through its futures. Both give one handler call per message
    // and the same reply to every delivery.
    for waiting in [false, true] {
        let layer = if waiting {
            layer().dedup_store(Waiting::default())
        } else {
            layer()
        };
        let (svc, calls, _) = service(layer, Behaviour::Reply);
        let xml = TestKit::text_message(CORP, "zhangsan", "either way");
        let mut replies = Vec::new();
        for request in copies(3, &xml) {
            let response = send(svc.clone(), request).await;
            assert_eq!(response.status(), StatusCode::OK);
            replies.push(opened(response).await);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "waiting store: {waiting}");
        assert!(matches!(&replies[0], Opened::Reply(r) if r.contains("n=1")));
        assert!(replies.iter().all(|r| r == &replies[0]));
    }
}

#[tokio::test]
async fn a_store_failure_is_a_per_layer_choice() {
    let xml = TestKit::text_message(CORP, "zhangsan", "store down");
    // Default: process anyway (at-least-once).
    let (svc, calls, _) = service(layer().dedup_store(DownStore), Behaviour::Reply);
    for request in copies(2, &xml) {
        assert_eq!(send(svc.clone(), request).await.status(), StatusCode::OK);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // Or 503, so that WeCom retries, without calling the handler.
    let (svc, calls, _) = service(
        layer()
            .dedup_store(DownStore)
            .on_store_failure(StoreFailure::Unavailable),
        Behaviour::Reply,
    );
    let response = send(svc.clone(), kit().post(&xml)).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response.extensions().get::<Rejection>().unwrap().kind(),
        RejectionKind::StoreUnavailable
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_answers_in_time_and_the_handler_completes() {
    let (svc, calls, finished) = service(
        layer().ack_deadline(Duration::from_secs(4)),
        Behaviour::Slow(Duration::from_secs(10)),
    );
    let xml = TestKit::text_message(CORP, "zhangsan", "slow");
    let mut deliveries = copies(2, &xml).into_iter();
    let started = tokio::time::Instant::now();
    let response = send(svc.clone(), deliveries.next().unwrap()).await;
    assert_eq!(started.elapsed(), Duration::from_secs(4));
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(opened(response).await, Opened::Ack);
    assert_eq!(
        (
            calls.load(Ordering::SeqCst),
            finished.load(Ordering::SeqCst)
        ),
        (1, 0)
    );

    // The handler was not cancelled: it finishes at 10 s, and a retry after
    // that gets its (late) answer without running it again.
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(finished.load(Ordering::SeqCst), 1);
    let response = send(svc.clone(), deliveries.next().unwrap()).await;
    let Opened::Reply(xml) = opened(response).await else {
        panic!("no reply")
    };
    assert!(xml.contains("n=1"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_fast_handler_is_not_affected_by_the_deadline() {
    let (svc, _, _) = service(
        layer().ack_deadline(Duration::from_secs(4)),
        Behaviour::Reply,
    );
    let response = send(
        svc.clone(),
        kit().post(&TestKit::text_message(CORP, "u", "fast")),
    )
    .await;
    assert!(matches!(opened(response).await, Opened::Reply(_)));
}

#[tokio::test(start_paused = true)]
async fn the_suite_deadline_answers_success() {
    let suite = Endpoint::wecom_suite(
        "QDG6eK",
        "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        "wwsuite",
    )
    .unwrap();
    let layer = WeComCallbackLayer::new(PATH, suite.clone())
        .unwrap()
        .clock(FixedClock::from_unix(NOW))
        .ack_deadline(Duration::from_secs(1));
    let svc = ServiceBuilder::new().layer(layer).service(service_fn(
        |_req: Request<CallbackBody<Full<Bytes>>>| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
        },
    ));
    let request = TestKit::new(PATH, &suite)
        .at(NOW)
        .post(&TestKit::suite_ticket("wwsuite", "T"));
    let response = svc.oneshot(request).await.unwrap();
    assert_eq!(body_bytes(response.into_body()).await.as_ref(), b"success");
}

#[tokio::test(start_paused = true)]
async fn with_an_outer_timeout_the_shorter_deadline_wins() {
    // The usual order: TimeoutLayer outside the callback layer. Without a
    // deadline a slow handler gets 408 (WeCom retries, the work is cut);
    // with a 4 s deadline under a 5 s timeout WeCom gets its 200.
    for (deadline, expected) in [
        (None, StatusCode::REQUEST_TIMEOUT),
        (Some(4), StatusCode::OK),
    ] {
        let mut layer = layer();
        if let Some(secs) = deadline {
            layer = layer.ack_deadline(Duration::from_secs(secs));
        }
        let (inner, _, finished) = service(
            layer.without_dedup(),
            Behaviour::Slow(Duration::from_secs(10)),
        );
        #[allow(deprecated)]
        let svc = ServiceBuilder::new()
            .layer(tower_http::timeout::TimeoutLayer::new(Duration::from_secs(
                5,
            )))
            .service(inner);
        let response = svc
            .oneshot(kit().post(&TestKit::text_message(CORP, "u", "slow")))
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "deadline {deadline:?}");
        tokio::time::sleep(Duration::from_secs(10)).await;
        let expected_finished = usize::from(deadline.is_some());
        assert_eq!(
            finished.load(Ordering::SeqCst),
            expected_finished,
            "deadline {deadline:?}"
        );
    }
}

#[tokio::test]
async fn a_dropped_request_releases_its_claim() {
    // The client goes away while the handler runs: the future is dropped,
    // the claim is released, and WeCom's retry runs the handler.
    let (svc, calls, _) = service(layer(), Behaviour::Slow(Duration::from_secs(3600)));
    let xml = TestKit::text_message(CORP, "zhangsan", "gone");
    let mut deliveries = copies(2, &xml).into_iter();
    let first = svc.clone().oneshot(deliveries.next().unwrap());
    let _ = tokio::time::timeout(Duration::from_millis(20), first).await;
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = svc.clone().oneshot(deliveries.next().unwrap());
    let _ = tokio::time::timeout(Duration::from_millis(20), second).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// A random source that yields 0, 1, 2, … from each fill and records the
/// length of every fill.
#[derive(Debug, Clone, Default)]
struct CountingRandom(Arc<std::sync::Mutex<Vec<usize>>>);

impl wecom_callback::crypto::RandomSource for CountingRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), wecom_callback::crypto::RandomUnavailable> {
        for (i, byte) in dest.iter_mut().enumerate() {
            *byte = u8::try_from(i % 256).unwrap();
        }
        self.0.lock().unwrap().push(dest.len());
        Ok(())
    }
}

#[tokio::test]
async fn each_sealed_reply_draws_the_random_source_once() {
    let random = CountingRandom::default();
    let (svc, calls, _) = service(layer().random_source(random.clone()), Behaviour::Reply);
    let xml = TestKit::text_message(CORP, "zhangsan", "one draw");
    // The first delivery is sealed from the handler's reply, the retry from
    // the stored answer: one fill of 24 bytes each (prefix, then nonce).
    for request in copies(2, &xml) {
        let response = send(svc.clone(), request).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body = String::from_utf8(response.body().to_vec()).unwrap();
        let nonce = u64::from_be_bytes([16, 17, 18, 19, 20, 21, 22, 23]) % 10_000_000_000;
        assert!(
            body.contains(&format!("<Nonce><![CDATA[{nonce:010}]]></Nonce>")),
            "{body}"
        );
        assert!(matches!(opened(response).await, Opened::Reply(_)));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(*random.0.lock().unwrap(), [24, 24]);
}

/// The layer around a handler that answers a body of its own making (no
/// `Reply`): `body` with `content_type`, counting its calls.
fn handmade(
    layer: WeComCallbackLayer,
    content_type: Option<&'static str>,
    body: Bytes,
) -> (Svc, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let inner = service_fn(move |_req: Request<CallbackBody<Full<Bytes>>>| {
        c.fetch_add(1, Ordering::SeqCst);
        let mut response = Response::new(Full::new(body.clone()));
        if let Some(content_type) = content_type {
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(content_type),
            );
        }
        async move { Ok::<_, Infallible>(response) }
    });
    let svc = ServiceBuilder::new().layer(layer).service(inner);
    (tower::util::BoxCloneService::new(svc), calls)
}

#[tokio::test]
async fn a_handler_made_body_reaches_every_delivery_as_made() {
    // A handler that answers a string of its own instead of a `Reply`: the
    // first delivery got it, and its retries used to get `success`.
    let made = Bytes::from("收到 your message, 谢谢 ok");
    for waiting in [false, true] {
        for content_type in [Some("text/plain; charset=utf-8"), None] {
            let layer = if waiting {
                layer().dedup_store(Waiting::default())
            } else {
                layer()
            };
            let (svc, calls) = handmade(layer, content_type, made.clone());
            let xml = TestKit::text_message(CORP, "zhangsan", "你好 hello");
            for (i, request) in copies(3, &xml).into_iter().enumerate() {
                let response = send(svc.clone(), request).await;
                let what = format!("delivery {i}, waiting store: {waiting}, {content_type:?}");
                assert_eq!(response.status(), StatusCode::OK, "{what}");
                assert_eq!(response.body(), &made, "{what}");
                assert_eq!(
                    response
                        .headers()
                        .get(http::header::CONTENT_TYPE)
                        .map(|v| v.to_str().unwrap()),
                    content_type,
                    "{what}"
                );
            }
            assert_eq!(calls.load(Ordering::SeqCst), 1);
        }
    }
}

#[tokio::test]
async fn a_handler_made_body_beyond_the_kept_size_gets_the_acknowledgement_on_retry() {
    let len = usize::try_from(wecom_callback::dedup::MAX_KEPT_BODY).unwrap() + 1;
    let large = Bytes::from(vec![b'x'; len]);
    let (svc, calls) = handmade(layer(), None, large.clone());
    let xml = TestKit::text_message(CORP, "zhangsan", "large");
    let mut deliveries = copies(2, &xml).into_iter();
    let first = send(svc.clone(), deliveries.next().unwrap()).await;
    assert_eq!(first.body(), &large);
    let retry = send(svc.clone(), deliveries.next().unwrap()).await;
    assert_eq!(retry.status(), StatusCode::OK);
    assert!(opened(retry).await.is_ack());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// A body of two data frames whose length is announced exactly.
struct TwoFrames(std::collections::VecDeque<Bytes>);

impl http_body::Body for TwoFrames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(http_body::Frame::data(b))))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.0.iter().map(|b| b.len() as u64).sum())
    }
}

#[tokio::test]
async fn a_handler_made_body_in_several_frames_is_kept_whole() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let inner = service_fn(move |_req: Request<CallbackBody<Full<Bytes>>>| {
        c.fetch_add(1, Ordering::SeqCst);
        let frames = [Bytes::from("收到 "), Bytes::from("ok")];
        async move { Ok::<_, Infallible>(Response::new(TwoFrames(frames.into()))) }
    });
    let svc = ServiceBuilder::new().layer(layer()).service(inner);
    let xml = TestKit::text_message(CORP, "zhangsan", "frames");
    for request in copies(3, &xml) {
        let response = svc.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body_bytes(response.into_body()).await, "收到 ok");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
