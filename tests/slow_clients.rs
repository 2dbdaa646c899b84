//! Slow and stalled clients (SECURITY.md T11/T29 of this project): the body
//! is read under a deadline, nothing is reserved before bytes arrive, the
//! inner service's capacity is not held while a body trickles in, and the
//! inner request's framing headers describe the body it gets.
//!
//! Time is tokio's paused test clock, so the 5-second deadline passes
//! instantly and deterministically.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use common::body_bytes;
use http::{HeaderMap, Request, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use tower::limit::ConcurrencyLimitLayer;
use tower::{ServiceBuilder, ServiceExt, service_fn};
use wecom_callback::testing::TestKit;
use wecom_callback::{
    CallbackBody, Endpoint, FixedClock, Rejection, RejectionKind, WeComCallbackLayer,
};

const PATH: &str = "/wecom/callback";
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

fn layer() -> WeComCallbackLayer {
    WeComCallbackLayer::new(PATH, endpoint())
        .unwrap()
        .clock(FixedClock::from_unix(NOW))
}

fn kit() -> TestKit {
    TestKit::new(PATH, &endpoint()).at(NOW)
}

/// A valid, signed POST's query string (the body is what the test sends).
fn signed_query() -> String {
    kit()
        .post(&TestKit::text_message(CORP, "zhangsan", "hi"))
        .uri()
        .query()
        .unwrap()
        .to_owned()
}

/// What a [`Trickle`] body does after its head.
#[derive(Clone, Copy)]
enum Then {
    /// Ends: a complete body.
    End,
    /// Never sends another byte: a stalled client.
    Stall,
    /// Sends one byte every so often, forever.
    Every(Duration),
}

/// A body that sends `head`, then does what `then` says. Counts the bytes
/// it produced.
struct Trickle {
    head: Option<Bytes>,
    then: Then,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    produced: Arc<AtomicUsize>,
}

impl Trickle {
    fn new(head: impl Into<Bytes>, then: Then, produced: Arc<AtomicUsize>) -> Self {
        Self {
            head: Some(head.into()),
            then,
            sleep: None,
            produced,
        }
    }
}

impl Body for Trickle {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(head) = self.head.take() {
            self.produced.fetch_add(head.len(), Ordering::SeqCst);
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        let every = match self.then {
            Then::End => return Poll::Ready(None),
            Then::Stall => return Poll::Pending,
            Then::Every(every) => every,
        };
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(every)));
        match sleep.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                self.sleep = None;
                self.produced.fetch_add(1, Ordering::SeqCst);
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"<")))))
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// An inner service counting its calls, answering an empty 200.
fn counting(
    calls: Arc<AtomicUsize>,
) -> impl tower::Service<
    Request<CallbackBody<Trickle>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    service_fn(move |_req: Request<CallbackBody<Trickle>>| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new(Full::default())) }
    })
}

async fn assert_timed_out(body: Trickle) {
    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServiceBuilder::new()
        .layer(layer())
        .service(counting(Arc::clone(&calls)));
    let request = Request::post(format!("{PATH}?{}", signed_query()))
        .header(header::CONTENT_LENGTH, "557")
        .body(body)
        .unwrap();
    let started = tokio::time::Instant::now();
    let response = service.oneshot(request).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(response.headers()[header::CONNECTION], "close");
    assert_eq!(
        response.extensions().get::<Rejection>().unwrap().kind(),
        RejectionKind::BodyTimeout
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "handler must not be called"
    );
    // The default deadline, on the paused clock: 5 s, not more.
    assert_eq!(waited, Duration::from_secs(5));
    assert_eq!(
        body_bytes(response.into_body()).await.as_ref(),
        b"request timeout"
    );
}

#[tokio::test(start_paused = true)]
async fn stalled_body_gets_408_at_the_deadline() {
    // 10 of 557 bytes, then nothing.
    let produced = Arc::new(AtomicUsize::new(0));
    assert_timed_out(Trickle::new(
        "<xml><Encr",
        Then::Stall,
        Arc::clone(&produced),
    ))
    .await;
    assert_eq!(produced.load(Ordering::SeqCst), 10);
}

#[tokio::test(start_paused = true)]
async fn byte_every_five_seconds_gets_408_at_the_deadline() {
    let produced = Arc::new(AtomicUsize::new(0));
    assert_timed_out(Trickle::new(
        "<",
        Then::Every(Duration::from_secs(5)),
        Arc::clone(&produced),
    ))
    .await;
    assert!(produced.load(Ordering::SeqCst) <= 2);
}

#[tokio::test(start_paused = true)]
async fn body_timeout_is_configurable() {
    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServiceBuilder::new()
        .layer(layer().body_timeout(Duration::from_millis(1500)))
        .service(counting(Arc::clone(&calls)));
    let request = Request::post(format!("{PATH}?{}", signed_query()))
        .body(Trickle::new("<", Then::Stall, Arc::default()))
        .unwrap();
    let started = tokio::time::Instant::now();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(started.elapsed(), Duration::from_millis(1500));
}

/// The deadline runs from the request's arrival (the layer's `call`), not
/// from when its future is first polled: a response future polled late
/// gets no more time, and one polled after the deadline times out at once.
#[tokio::test(start_paused = true)]
async fn deadline_runs_from_arrival_not_first_poll() {
    for (late, waited) in [
        (Duration::from_secs(3), Duration::from_secs(5)),
        (Duration::from_secs(7), Duration::from_secs(7)),
    ] {
        let calls = Arc::new(AtomicUsize::new(0));
        let mut service = ServiceBuilder::new()
            .layer(layer())
            .service(counting(Arc::clone(&calls)));
        let request = Request::post(format!("{PATH}?{}", signed_query()))
            .body(Trickle::new("<", Then::Stall, Arc::default()))
            .unwrap();
        let started = tokio::time::Instant::now();
        let future = tower::Service::call(&mut service, request);
        tokio::time::advance(late).await;
        let response = future.await.unwrap();
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(started.elapsed(), waited, "first polled after {late:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}

/// A body that is not there at the first poll (a client whose body comes
/// a second after its headers), then complete.
struct Late {
    body: Option<Bytes>,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Body for Late {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        Poll::Ready(self.body.take().map(|body| Ok(Frame::data(body))))
    }
}

/// A body timeout past the clock's range (tokio's far future): a body that
/// takes its time is still read, and the request is served.
#[tokio::test(start_paused = true)]
async fn a_body_timeout_past_the_clock_range_still_reads_the_body() {
    let calls = Arc::new(AtomicUsize::new(0));
    let handler = {
        let calls = Arc::clone(&calls);
        service_fn(move |_req: Request<CallbackBody<Late>>| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, Infallible>(Response::new(Full::<Bytes>::default())) }
        })
    };
    let service = ServiceBuilder::new()
        .layer(layer().body_timeout(Duration::MAX))
        .service(handler);
    let (parts, body) = kit()
        .post(&TestKit::text_message(CORP, "zhangsan", "hello"))
        .into_parts();
    let body = Late {
        body: Some(body_bytes(body).await),
        sleep: Box::pin(tokio::time::sleep(Duration::from_secs(1))),
    };
    let response = service
        .oneshot(Request::from_parts(parts, body))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// A `ConcurrencyLimit(1)` inside the layer: a client stalled mid-body must
/// not hold the one permit, so a valid request behind it is served at once.
#[tokio::test(start_paused = true)]
async fn stalled_body_holds_no_capacity_of_the_inner_service() {
    let calls = Arc::new(AtomicUsize::new(0));
    let service = ServiceBuilder::new()
        .layer(layer())
        .layer(ConcurrencyLimitLayer::new(1))
        .service(counting(Arc::clone(&calls)));

    let stalled = Request::post(format!("{PATH}?{}", signed_query()))
        .body(Trickle::new("<xml>", Then::Stall, Arc::default()))
        .unwrap();
    let first = tokio::spawn(service.clone().oneshot(stalled));
    tokio::task::yield_now().await;

    let (parts, body) = kit()
        .post(&TestKit::text_message(CORP, "lisi", "hello"))
        .into_parts();
    let valid = Request::from_parts(
        parts,
        Trickle::new(body_bytes(body).await, Then::End, Arc::default()),
    );
    let started = tokio::time::Instant::now();
    let response = service.clone().oneshot(valid).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Served without waiting for the stalled request's deadline, which is
    // still pending.
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert!(!first.is_finished());
    let first = first.await.unwrap().unwrap();
    assert_eq!(first.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn inner_request_framing_matches_the_new_body() {
    let seen = Arc::new(std::sync::Mutex::new(None::<(HeaderMap, Bytes)>));
    let seen2 = Arc::clone(&seen);
    let service = ServiceBuilder::new().layer(layer()).service(service_fn(
        move |req: Request<CallbackBody<Full<Bytes>>>| {
            let seen = Arc::clone(&seen2);
            async move {
                let (parts, body) = req.into_parts();
                *seen.lock().unwrap() = Some((parts.headers, body_bytes(body).await));
                Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
            }
        },
    ));
    let mut request = kit().post(&TestKit::text_message(CORP, "zhangsan", "hi"));
    request
        .headers_mut()
        .insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (headers, body) = seen.lock().unwrap().take().unwrap();
    assert!(headers.get(header::TRANSFER_ENCODING).is_none());
    assert_eq!(
        headers[header::CONTENT_LENGTH].to_str().unwrap(),
        body.len().to_string()
    );
}
