//! An authentic callback, from the deduplication claim to the sealed
//! answer: claim the message, run the handler (under the optional
//! acknowledgement deadline), seal its reply the kind's way, and record
//! the answer so that WeCom's retries get it again.
//!
//! Source: WeCom doc 接收消息与事件 概述 (five seconds, three retries, dedup by
//! MsgId), WeCom doc 回调通知 概述 (`success`), WeChat doc 被动回复用户消息.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use http::{
    HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, header, response,
};
use http_body::Body;
use pin_project_lite::pin_project;
use tokio::task::JoinHandle;
use tokio::time::Sleep;
use tower_service::Service;

use super::body::CallbackBody;
use super::clock::unix_secs;
use super::events::{self, Outcome, Summary};
use super::rejection::{Refusal, Rejection, RejectionKind};
use super::{Config, StoreFailure};
use crate::dedup::answer::kept_content_type;
use crate::dedup::{Claim, ClaimToken, DedupKey, DedupStore, MAX_KEPT_BODY, StoredAnswer};
use crate::endpoint::{BodyFormat, CallbackKind, Endpoint, ReplyFormat};
use crate::message::Reply;
use crate::store::StoreError;

/// The reply's `ToUserName` (the message's `FromUserName`, a member's
/// UserID or an openid) and `FromUserName` (the message's `ToUserName`, the
/// corp id or account id), copied out of the message before the handler
/// takes it: back to back in one string, one allocation for the two.
#[derive(Debug, Default)]
pub(crate) struct ReplyNames {
    both: String,
    /// Where `FromUserName` starts in `both`.
    split: usize,
}

impl ReplyNames {
    pub(crate) fn new(to_user_name: &str, from_user_name: &str) -> Self {
        let mut both = String::with_capacity(to_user_name.len() + from_user_name.len());
        both.push_str(to_user_name);
        both.push_str(from_user_name);
        Self {
            both,
            split: to_user_name.len(),
        }
    }

    /// The reply's `ToUserName` and `FromUserName`.
    pub(crate) fn pair(&self) -> (&str, &str) {
        self.both.split_at_checked(self.split).unwrap_or_default()
    }
}

/// What the layer needs to seal the handler's [`Reply`].
#[derive(Debug)]
pub(crate) struct ReplyContext {
    /// The reply's `ToUserName` and `FromUserName`.
    pub(crate) names: ReplyNames,
    /// The receive id to seal with: the one the message carried.
    pub(crate) receive_id: SealFor,
    /// Which of the endpoint's secrets verified the request (0: current).
    pub(crate) secret: usize,
    pub(crate) config: Arc<Config>,
    pub(crate) endpoint: Arc<Endpoint>,
    /// The message's identifiers, for the log events.
    pub(crate) summary: Summary,
    /// How long the answer is kept (from when it is stored): the configured
    /// window, or longer when the request's timestamp is ahead of the
    /// server clock, so the answer outlives the timestamp window of the
    /// request (issue 19, replay after expiry).
    pub(crate) dedup_window: Duration,
}

/// The receive id a reply is sealed with: the one the message carried,
/// found among the configured ones where it is one of them (no copy).
#[derive(Debug)]
pub(crate) enum SealFor {
    /// `MsgCrypt::receive_ids()[i]` of the crypt that opened the message.
    Configured(usize),
    /// One the crypt's predicate accepted (third-party data callbacks), or
    /// the empty one of Official Account plaintext mode.
    Other(String),
}

impl ReplyContext {
    /// The response for a failure after the callback was accepted (500,
    /// 503), logged first.
    fn failure<B>(&self, kind: RejectionKind) -> Response<CallbackBody<B>> {
        failed(&self.summary, &self.endpoint, kind)
    }
}

/// The response for a failure after `endpoint` accepted the callback,
/// logged first.
fn failed<B>(
    summary: &Summary,
    endpoint: &Arc<Endpoint>,
    kind: RejectionKind,
) -> Response<CallbackBody<B>> {
    events::rejected(
        &Method::POST,
        &summary.path,
        &Refusal::for_endpoint(kind, endpoint),
    );
    failure(kind)
}

/// The dedup claim in flight: `'static` (it owns the store handle and the
/// key), so that the state machine can hold it.
type ClaimFuture = Pin<Box<dyn Future<Output = (Result<Claim, StoreError>, DedupKey)> + Send>>;

/// Recording the answer in the dedup store.
type Completion = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How [`handle`] starts: with the claim's outcome already known (the
/// in-memory store), waiting for the store, or without deduplication.
enum Claiming {
    Now(Result<Claim, StoreError>, DedupKey),
    Later(ClaimFuture),
    Off,
}

pin_project! {
    /// The handling of one authentic callback: the dedup claim, the
    /// handler (under the optional acknowledgement deadline), sealing, and
    /// recording the answer. A state machine, held inline by the response
    /// future; under the acknowledgement deadline the handler part runs as
    /// its own task, spawned with this same type.
    ///
    /// What several steps need stays in its field (the steps themselves are
    /// small), so that a step change moves little.
    pub(crate) struct Handling<S, ReqBody, ResBody>
    where
        S: Service<Request<CallbackBody<ReqBody>>>,
    {
        // These three are `None` once handed to a deadline task.
        service: Option<S>,
        reply: Option<ReplyContext>,
        // The claim, once granted: dropping it releases the claim.
        guard: Option<ClaimGuard>,
        #[pin]
        step: Step<S, ReqBody, ResBody>,
    }
}

pin_project! {
    #[project = StepProj]
    enum Step<S, ReqBody, ResBody>
    where
        S: Service<Request<CallbackBody<ReqBody>>>,
    {
        // Waiting for the dedup store's claim. The request is `None` once
        // handed on (here and below), so that it is never in the state twice.
        Claiming {
            claim: ClaimFuture,
            request: Option<Request<CallbackBody<ReqBody>>>,
        },
        // Waiting for the inner service to be ready.
        Ready {
            request: Option<Request<CallbackBody<ReqBody>>>,
        },
        // The handler runs.
        Calling {
            #[pin]
            future: S::Future,
            // When the handler was called, if the `debug` events (the
            // only ones with its latency) were wanted then.
            started: Option<Instant>,
        },
        // Reading a body the handler made itself (no `Reply`) of a known,
        // small length, so that it can be kept for retries; then it goes
        // out as read.
        ReadingBody {
            #[pin]
            body: ResBody,
            parts: Option<response::Parts>,
            // The data frames as read (a `Bytes` frame is shared, not
            // copied) and their total length.
            read: Vec<Bytes>,
            len: usize,
        },
        // The answer is known without the handler (a retry of the
        // in-memory store's message); it goes out on the first poll.
        Answered {
            response: Option<Response<CallbackBody<ResBody>>>,
        },
        // The answer is being recorded; then `response` goes out.
        Completing {
            completion: Completion,
            response: Option<Response<CallbackBody<ResBody>>>,
        },
        // The handler runs as its own task, against the deadline.
        Deadline {
            task: JoinHandle<Result<Response<CallbackBody<ResBody>>, S::Error>>,
            #[pin]
            sleep: Sleep,
            deadline: Duration,
            summary: Summary,
            endpoint: Arc<Endpoint>,
        },
        Done,
    }
}

/// Starts the handling of an authentic callback; see the module docs.
pub(crate) fn handle<S, ReqBody, ResBody>(
    service: S,
    request: Request<CallbackBody<ReqBody>>,
    reply: ReplyContext,
    key: Option<DedupKey>,
) -> Handling<S, ReqBody, ResBody>
where
    S: Service<Request<CallbackBody<ReqBody>>, Response = Response<ResBody>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Body + Send + 'static,
{
    let ttl = reply.config.in_flight_ttl;
    let claiming = match (reply.config.dedup.as_ref(), key) {
        // The in-memory store answers at once: no future to box and poll.
        (Some(store), Some(key)) => match store.as_memory() {
            Some(memory) => Claiming::Now(Ok(memory.claim_now(&key, ttl)), key),
            None => {
                let store = Arc::clone(store);
                Claiming::Later(Box::pin(async move {
                    let claimed = store.claim(&key, ttl).await;
                    (claimed, key)
                }))
            }
        },
        _ => Claiming::Off,
    };
    let (mut service, mut reply) = (Some(service), Some(reply));
    let mut guard = None;
    let step = match claiming {
        Claiming::Later(claim) => Step::Claiming {
            claim,
            request: Some(request),
        },
        Claiming::Now(claimed, key) => match claimed_answer(claimed, key, &reply, &mut guard) {
            Some(answered) => Step::Answered {
                response: Some(answered),
            },
            None => after_claim(&mut service, request, &mut reply, &mut guard),
        },
        Claiming::Off => after_claim(&mut service, request, &mut reply, &mut guard),
    };
    Handling {
        service,
        reply,
        guard,
        step,
    }
}

/// The step after the claim: the handler, directly or as its own task
/// against the acknowledgement deadline (the task then takes the service,
/// the request, the reply context and the guard).
fn after_claim<S, ReqBody, ResBody>(
    service: &mut Option<S>,
    request: Request<CallbackBody<ReqBody>>,
    reply: &mut Option<ReplyContext>,
    guard: &mut Option<ClaimGuard>,
) -> Step<S, ReqBody, ResBody>
where
    S: Service<Request<CallbackBody<ReqBody>>, Response = Response<ResBody>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Body + Send + 'static,
{
    let Some(context) = reply.as_ref() else {
        return Step::Done;
    };
    let Some(deadline) = context.config.ack_deadline else {
        return Step::Ready {
            request: Some(request),
        };
    };
    let (summary, endpoint) = (context.summary.clone(), Arc::clone(&context.endpoint));
    // When the deadline passes, the acknowledgement goes out and the task
    // keeps running to completion (and records its answer).
    let handling = Handling {
        service: service.take(),
        reply: reply.take(),
        guard: guard.take(),
        step: Step::Ready {
            request: Some(request),
        },
    };
    // The task keeps the request's span (an outer `TraceLayer`'s), so that
    // the handler's lines and `callback accepted` stay inside it.
    #[cfg(feature = "tracing")]
    let handling = tracing::Instrument::instrument(handling, tracing::Span::current());
    let task = tokio::spawn(handling);
    Step::Deadline {
        task,
        sleep: tokio::time::sleep(deadline),
        deadline,
        summary,
        endpoint,
    }
}

impl<S, ReqBody, ResBody> Future for Handling<S, ReqBody, ResBody>
where
    S: Service<Request<CallbackBody<ReqBody>>, Response = Response<ResBody>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Body + Send + 'static,
{
    type Output = Result<Response<CallbackBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.step.as_mut().project() {
                StepProj::Claiming { claim, request } => {
                    let (claimed, key) = ready!(claim.as_mut().poll(cx));
                    if let Some(answered) = claimed_answer(claimed, key, this.reply, this.guard) {
                        this.step.set(Step::Done);
                        return Poll::Ready(Ok(answered));
                    }
                    let Some(request) = request.take() else {
                        this.step.set(Step::Done);
                        return Poll::Pending;
                    };
                    let next = after_claim(this.service, request, this.reply, this.guard);
                    this.step.set(next);
                }
                StepProj::Ready { request } => {
                    let Some(service) = this.service.as_mut() else {
                        this.step.set(Step::Done);
                        return Poll::Pending;
                    };
                    if let Err(error) = ready!(service.poll_ready(cx)) {
                        // Dropping the guard releases the claim.
                        drop(this.guard.take());
                        this.step.set(Step::Done);
                        return Poll::Ready(Err(error));
                    }
                    let Some(request) = request.take() else {
                        this.step.set(Step::Done);
                        return Poll::Pending;
                    };
                    let started = events::detailed().then(Instant::now);
                    let future = service.call(request);
                    this.step.set(Step::Calling { future, started });
                }
                StepProj::Calling { future, started } => {
                    let result = ready!(future.poll(cx));
                    let latency = started.map(|s| s.elapsed()).unwrap_or_default();
                    let Some(reply) = this.reply.as_ref() else {
                        this.step.set(Step::Done);
                        return Poll::Pending;
                    };
                    let response = match result {
                        Ok(response) => response,
                        Err(error) => {
                            events::accepted(
                                &reply.summary,
                                &reply.endpoint,
                                Outcome::Failed { latency },
                            );
                            drop(this.guard.take());
                            this.step.set(Step::Done);
                            return Poll::Ready(Err(error));
                        }
                    };
                    let sealed = seal(response, reply, this.guard.is_some());
                    let status = match &sealed {
                        Sealed::Ready(response, _) => response.status(),
                        Sealed::Read(parts, _) => parts.status,
                    };
                    events::accepted(
                        &reply.summary,
                        &reply.endpoint,
                        Outcome::Handled {
                            status: status.as_u16(),
                            latency,
                        },
                    );
                    match sealed {
                        Sealed::Ready(response, answer) => {
                            match record(this.guard, reply, answer, response) {
                                Ok(response) => {
                                    this.step.set(Step::Done);
                                    return Poll::Ready(Ok(response));
                                }
                                Err(completing) => this.step.set(completing),
                            }
                        }
                        Sealed::Read(parts, body) => this.step.set(Step::ReadingBody {
                            body,
                            parts: Some(parts),
                            read: Vec::new(),
                            len: 0,
                        }),
                    }
                }
                StepProj::ReadingBody {
                    mut body,
                    parts,
                    read,
                    len,
                } => {
                    let frame = ready!(body.as_mut().poll_frame(cx));
                    let Some(reply) = this.reply.as_ref() else {
                        this.step.set(Step::Done);
                        return Poll::Pending;
                    };
                    match frame {
                        Some(Ok(frame)) => {
                            if let Ok(mut data) = frame.into_data() {
                                let data = data.copy_to_bytes(data.remaining());
                                *len = len.saturating_add(data.len());
                                read.push(data);
                            }
                            // Longer than its size hint promised: a broken
                            // body, answered as a failed handler (the guard
                            // is dropped, which releases the claim).
                            if u64::try_from(*len).map_or(true, |len| len > MAX_KEPT_BODY) {
                                drop(this.guard.take());
                                let failed = reply.failure(RejectionKind::HandlerFailed);
                                this.step.set(Step::Done);
                                return Poll::Ready(Ok(failed));
                            }
                        }
                        Some(Err(_)) => {
                            drop(this.guard.take());
                            let failed = reply.failure(RejectionKind::HandlerFailed);
                            this.step.set(Step::Done);
                            return Poll::Ready(Ok(failed));
                        }
                        None => {
                            let Some(parts) = parts.take() else {
                                this.step.set(Step::Done);
                                return Poll::Pending;
                            };
                            // One frame (the usual full body) is kept as
                            // it is; several are joined once.
                            let body = match read.as_slice() {
                                [one] => one.clone(),
                                frames => Bytes::from(frames.concat()),
                            };
                            let content_type = parts
                                .headers
                                .get(header::CONTENT_TYPE)
                                .and_then(|v| v.to_str().ok())
                                .filter(|c| kept_content_type(c))
                                .map(str::to_owned);
                            let answer = StoredAnswer::Body {
                                content_type,
                                body: body.clone(),
                            };
                            let response =
                                Response::from_parts(parts, CallbackBody::buffered(body));
                            match record(this.guard, reply, Some(answer), response) {
                                Ok(response) => {
                                    this.step.set(Step::Done);
                                    return Poll::Ready(Ok(response));
                                }
                                Err(completing) => this.step.set(completing),
                            }
                        }
                    }
                }
                StepProj::Answered { response } => {
                    let response = response.take();
                    this.step.set(Step::Done);
                    return response.map_or(Poll::Pending, |r| Poll::Ready(Ok(r)));
                }
                StepProj::Completing {
                    completion,
                    response,
                } => {
                    ready!(completion.as_mut().poll(cx));
                    let response = response.take();
                    this.step.set(Step::Done);
                    return response.map_or(Poll::Pending, |r| Poll::Ready(Ok(r)));
                }
                StepProj::Deadline {
                    task,
                    sleep,
                    deadline,
                    summary,
                    endpoint,
                } => {
                    let response = match Pin::new(task).poll(cx) {
                        Poll::Ready(Ok(result)) => result,
                        Poll::Ready(Err(_panicked)) => {
                            Ok(failed(summary, endpoint, RejectionKind::HandlerFailed))
                        }
                        Poll::Pending => {
                            ready!(sleep.poll(cx));
                            events::acked_early(summary, endpoint, *deadline);
                            Ok(ack(fresh_parts(), endpoint.kind()))
                        }
                    };
                    // Dropping the task's handle detaches it: it runs on.
                    this.step.set(Step::Done);
                    return Poll::Ready(response);
                }
                // Polled after completion: never resolves rather than
                // panicking.
                StepProj::Done => return Poll::Pending,
            }
        }
    }
}

/// Records `answer` (when there is one and the claim was granted):
/// `Ok(response)` to send at once (no answer, or the in-memory store
/// recorded it), or the `Completing` step while another store records it.
/// Without an answer (the handler failed) the guard is dropped here, which
/// releases the claim.
#[allow(clippy::result_large_err)]
fn record<S, ReqBody, ResBody>(
    guard: &mut Option<ClaimGuard>,
    reply: &ReplyContext,
    answer: Option<StoredAnswer>,
    response: Response<CallbackBody<ResBody>>,
) -> Result<Response<CallbackBody<ResBody>>, Step<S, ReqBody, ResBody>>
where
    S: Service<Request<CallbackBody<ReqBody>>>,
{
    let window = reply.dedup_window;
    let (Some(mut guard), Some(answer)) = (guard.take(), answer) else {
        return Ok(response);
    };
    // The in-memory store records it at once.
    let Some(answer) = guard.complete_now(answer, window) else {
        return Ok(response);
    };
    Err(Step::Completing {
        completion: Box::pin(guard.complete(answer, window)),
        response: Some(response),
    })
}

/// What [`seal`] made of the handler's response.
enum Sealed<B> {
    /// The answer, and what to remember of it for retries (`None`: the
    /// handler failed, release the claim).
    Ready(Response<CallbackBody<B>>, Option<StoredAnswer>),
    /// A 2xx body the handler made itself, of a known length up to
    /// [`MAX_KEPT_BODY`]: read it, send it as read and keep it
    /// ([`StoredAnswer::Body`]), so that a retry gets the same bytes.
    Read(response::Parts, B),
}

/// What the claim means: `None` to run the handler (with `guard` set when
/// the claim was granted), or the answer to send without running it.
fn claimed_answer<B>(
    claimed: Result<Claim, StoreError>,
    key: DedupKey,
    reply: &Option<ReplyContext>,
    guard: &mut Option<ClaimGuard>,
) -> Option<Response<CallbackBody<B>>> {
    let Some(reply) = reply else {
        return Some(failure(RejectionKind::HandlerFailed));
    };
    match claimed {
        Ok(Claim::New(token)) => {
            *guard = reply.config.dedup.as_ref().map(|store| ClaimGuard {
                app: reply.endpoint.shared_name(),
                store: Arc::clone(store),
                key,
                token,
                armed: true,
            });
            None
        }
        // Another delivery runs the handler right now: WeCom gave up on it
        // (that is why it retried), so say "received" and let the first one
        // finish. It will not be answered twice.
        Ok(Claim::InFlight) => {
            events::accepted(
                &reply.summary,
                &reply.endpoint,
                Outcome::Duplicate { in_flight: true },
            );
            Some(ack(fresh_parts(), reply.endpoint.kind()))
        }
        Ok(Claim::Done(answer)) => {
            events::accepted(
                &reply.summary,
                &reply.endpoint,
                Outcome::Duplicate { in_flight: false },
            );
            Some(replay(&answer, reply))
        }
        Err(error) => match reply.config.store_failure {
            StoreFailure::Process => {
                events::store_failed(
                    reply.endpoint.name(),
                    &error,
                    "dedup store unavailable: handling the callback without deduplication",
                );
                None
            }
            StoreFailure::Unavailable => {
                events::store_failed(
                    reply.endpoint.name(),
                    &error,
                    "dedup store unavailable: answering 503 so that the platform retries",
                );
                Some(failure(RejectionKind::StoreUnavailable))
            }
        },
    }
}

/// A claimed message: completed with the answer, or released when dropped
/// (handler error, 5xx, panic, cancelled future) so that a retry can run it.
struct ClaimGuard {
    /// The endpoint's name, for the log events.
    app: Arc<str>,
    store: Arc<dyn DedupStore>,
    key: DedupKey,
    token: ClaimToken,
    armed: bool,
}

impl ClaimGuard {
    /// Records the answer at once when the store is the in-memory one
    /// (`None`: done); otherwise gives the answer back for
    /// [`complete`](Self::complete).
    fn complete_now(&mut self, answer: StoredAnswer, window: Duration) -> Option<StoredAnswer> {
        let Some(memory) = self.store.as_memory() else {
            return Some(answer);
        };
        self.armed = false;
        // Disarmed: the guard's key is not needed any more.
        memory.complete_owned(self.key.take(), answer, window);
        None
    }

    async fn complete(mut self, answer: StoredAnswer, window: Duration) {
        self.armed = false;
        if let Err(error) = self.store.complete(&self.key, answer, window).await {
            events::store_failed(
                &self.app,
                &error,
                "dedup store: the answer was not recorded; a retry may run the handler again",
            );
        }
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (store, key, token) = (Arc::clone(&self.store), self.key.clone(), self.token);
        let app = Arc::clone(&self.app);
        // Release off the request path; without a runtime (a test dropping
        // the future after its runtime) the claim lapses after its TTL.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = store.release(&key, token).await {
                    events::store_failed(
                        &app,
                        &error,
                        "dedup store: the claim was not released; it lapses after its TTL",
                    );
                }
            });
        }
    }
}

/// Response parts for an answer the layer makes without a handler response.
fn fresh_parts() -> response::Parts {
    Response::new(()).into_parts().0
}

/// A retry of a handled message: the stored answer, sealed afresh for this
/// request (new nonce, timestamp and random prefix).
fn replay<B>(answer: &StoredAnswer, reply: &ReplyContext) -> Response<CallbackBody<B>> {
    match answer {
        StoredAnswer::Reply { plaintext } => seal_plaintext(fresh_parts(), plaintext, reply),
        StoredAnswer::Ack => ack(fresh_parts(), reply.endpoint.kind()),
        StoredAnswer::Body { content_type, body } => {
            let content_type = content_type
                .as_deref()
                .and_then(|c| HeaderValue::from_str(c).ok());
            answer_typed(fresh_parts(), content_type, body.clone())
        }
        _ => answer_with(fresh_parts(), "text/plain; charset=utf-8", Bytes::new()),
    }
}

/// Answers for the handler, by the endpoint's kind, and says what to
/// remember for retries (`None`: the handler failed, release the claim):
///
/// * a [`Reply`] in a 2xx response's extensions becomes the encrypted,
///   signed envelope (XML or JSON), the plaintext XML of an Official
///   Account in plaintext mode, or the kind's acknowledgement for
///   [`Reply::Ack`];
/// * a 2xx response with no `Reply` and an empty body becomes the kind's
///   acknowledgement (`success` where the kind expects it; untouched where
///   an empty 200 is the acknowledgement);
/// * a reply the kind cannot carry (any passive reply to a suite
///   instruction callback or an Open Platform push; an image for the
///   robot) is a programming error: 500 with
///   [`RejectionKind::UnsupportedReply`], never a silent drop;
/// * a 2xx response with no `Reply` and a body of known length up to
///   [`MAX_KEPT_BODY`] (a bare string, hand-made XML) is read, sent as
///   it was made and kept, so that a retry gets the same bytes (when the
///   claim is to be completed, i.e. with dedup on);
/// * every other response passes through untouched (a 2xx one is
///   remembered as the kind's acknowledgement or an empty answer: its body
///   is a stream of unknown or large length the layer does not keep).
fn seal<B: Body>(response: Response<B>, context: &ReplyContext, keep_bodies: bool) -> Sealed<B> {
    if !response.status().is_success() {
        return Sealed::Ready(response.map(CallbackBody::original), None);
    }
    let kind = context.endpoint.kind();
    let (parts, body) = response.into_parts();
    let mut parts = parts;
    let Some(reply) = parts.extensions.remove::<Reply>() else {
        let length = body.size_hint().exact();
        if !kind.ack_body().is_empty() && length == Some(0) {
            return Sealed::Ready(ack(parts, kind), Some(StoredAnswer::Ack));
        }
        // Kept as made, so that a retry gets the same bytes (only when
        // there is a claim to complete: with dedup off nothing is kept).
        if keep_bodies && length.is_some_and(|len| (1..=MAX_KEPT_BODY).contains(&len)) {
            return Sealed::Read(parts, body);
        }
        let remembered = if kind.ack_body().is_empty() {
            StoredAnswer::Empty
        } else {
            StoredAnswer::Ack
        };
        return Sealed::Ready(
            Response::from_parts(parts, CallbackBody::original(body)),
            Some(remembered),
        );
    };
    // The handler's own body is replaced.
    drop(body);
    if reply == Reply::Ack {
        return Sealed::Ready(ack(parts, kind), Some(StoredAnswer::Ack));
    }
    // A reply the kind cannot carry (the table on `Reply`) is a
    // programming error: 500, never sealed and never silently dropped.
    if !reply.allowed_for(kind) {
        return Sealed::Ready(context.failure(RejectionKind::UnsupportedReply), None);
    }
    let now = unix_secs(context.config.clock.as_ref());
    let plaintext = match kind.reply_format() {
        ReplyFormat::Xml | ReplyFormat::PlainXml if reply.is_xml() => {
            let (to_user_name, from_user_name) = context.names.pair();
            reply.to_xml(to_user_name, from_user_name, now)
        }
        ReplyFormat::Json => match reply.to_bot_json() {
            Some(json) => json,
            None => return Sealed::Ready(context.failure(RejectionKind::UnsupportedReply), None),
        },
        _ => return Sealed::Ready(context.failure(RejectionKind::UnsupportedReply), None),
    };
    let response = seal_plaintext(parts, &plaintext, context);
    let answer = response
        .status()
        .is_success()
        .then_some(StoredAnswer::Reply { plaintext });
    Sealed::Ready(response, answer)
}

/// Seals a reply plaintext into the kind's envelope (or sends it as is in
/// Official Account plaintext mode) with a fresh nonce and random prefix.
fn seal_plaintext<B>(
    parts: response::Parts,
    plaintext: &str,
    context: &ReplyContext,
) -> Response<CallbackBody<B>> {
    let endpoint = &context.endpoint;
    if endpoint.kind().reply_format() == ReplyFormat::PlainXml {
        return answer_with(
            parts,
            "text/xml; charset=utf-8",
            Bytes::from(plaintext.to_owned()),
        );
    }
    let config = &context.config;
    let mut timestamp = itoa::Buffer::new();
    let timestamp = timestamp.format(unix_secs(config.clock.as_ref()));
    let crypt = endpoint
        .secret(context.secret)
        .and_then(|s| s.post.as_ref());
    let sealed = crypt.and_then(|crypt| {
        let receive_id = match &context.receive_id {
            SealFor::Configured(index) => crypt.receive_ids().get(*index)?,
            SealFor::Other(receive_id) => receive_id,
        };
        // One draw from the random source (one system call with `OsRandom`):
        // the 16-byte prefix, then 8 bytes for the nonce.
        let mut random = [0u8; 24];
        config.random.fill(&mut random).ok()?;
        let (prefix, rest) = random.split_first_chunk::<16>()?;
        let mut nonce = [0; 10];
        let nonce = nonce_digits(rest.first_chunk::<8>()?, &mut nonce);
        // Encrypts straight into the envelope (no separate Encrypt string).
        crypt
            .seal_reply(
                endpoint.format(),
                plaintext.as_bytes(),
                receive_id,
                *prefix,
                timestamp,
                nonce,
            )
            .ok()
    });
    let Some(envelope) = sealed else {
        return context.failure(RejectionKind::ReplyFailed);
    };
    let content_type = match endpoint.format() {
        BodyFormat::Xml => "text/xml; charset=utf-8",
        BodyFormat::Json => "application/json",
    };
    answer_with(parts, content_type, Bytes::from(envelope))
}

/// Removes every header named in `names`. One pass over the (few) names
/// present first: a removal hashes its name, and most messages carry none
/// of these.
pub(crate) fn remove_headers(headers: &mut HeaderMap, names: &[HeaderName]) {
    if headers.keys().any(|present| names.contains(present)) {
        for name in names {
            headers.remove(name);
        }
    }
}

/// A `Content-Length` value. `HeaderValue::from(len)` writes into a
/// 20-byte buffer and then shares it (two allocations); copying itoa's
/// digits makes one.
pub(crate) fn content_length(len: usize) -> HeaderValue {
    HeaderValue::from_str(itoa::Buffer::new().format(len))
        .unwrap_or_else(|_| HeaderValue::from(len))
}

/// A reply nonce from 8 random bytes: ten decimal digits, like the nonces
/// WeCom sends (the big-endian number modulo 10¹⁰, zero-padded).
fn nonce_digits<'a>(random: &[u8; 8], buf: &'a mut [u8; 10]) -> &'a str {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(u64::from_be_bytes(*random) % 10_000_000_000);
    // Below 10¹⁰, so at most ten digits: `split` is at most `buf.len()`.
    let split = buf.len().saturating_sub(digits.len());
    if let Some((zeros, tail)) = buf.split_at_mut_checked(split) {
        zeros.fill(b'0');
        tail.copy_from_slice(digits.as_bytes());
    }
    std::str::from_utf8(buf).unwrap_or_default()
}

fn failure<B>(kind: RejectionKind) -> Response<CallbackBody<B>> {
    Rejection::new(kind)
        .into_response()
        .map(CallbackBody::from_full)
}

/// The kind's acknowledgement: `success` as `text/plain`, or an empty 200.
fn ack<B>(parts: response::Parts, kind: CallbackKind) -> Response<CallbackBody<B>> {
    answer_with(
        parts,
        "text/plain; charset=utf-8",
        Bytes::from_static(kind.ack_body().as_bytes()),
    )
}

/// Replaces the response's body (and its framing headers) with `body`.
fn answer_with<B>(
    parts: response::Parts,
    content_type: &'static str,
    body: Bytes,
) -> Response<CallbackBody<B>> {
    answer_typed(parts, Some(HeaderValue::from_static(content_type)), body)
}

/// [`answer_with`] for a `Content-Type` known only at run time (a kept
/// handler-made body's), or none.
fn answer_typed<B>(
    mut parts: response::Parts,
    content_type: Option<HeaderValue>,
    body: Bytes,
) -> Response<CallbackBody<B>> {
    parts.status = StatusCode::OK;
    remove_headers(
        &mut parts.headers,
        &[
            header::CONTENT_ENCODING,
            header::TRANSFER_ENCODING,
            header::CONTENT_RANGE,
        ],
    );
    match content_type.filter(|_| !body.is_empty()) {
        Some(content_type) => {
            parts.headers.insert(header::CONTENT_TYPE, content_type);
        }
        None => {
            parts.headers.remove(header::CONTENT_TYPE);
        }
    }
    parts
        .headers
        .insert(header::CONTENT_LENGTH, content_length(body.len()));
    Response::from_parts(parts, CallbackBody::buffered(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_names_give_back_both_names() {
        for (to, from) in [
            ("zhangsan", "wx5823bf96d3bd56c7"),
            ("", ""),
            ("张三", ""),
            ("", "公司"),
        ] {
            let names = ReplyNames::new(to, from);
            assert_eq!(names.pair(), (to, from));
        }
        let empty = ReplyNames::default();
        assert_eq!(empty.pair(), ("", ""));
    }

    #[test]
    fn remove_headers_removes_every_value_of_the_names_only() {
        let names = [header::CONTENT_ENCODING, header::TRANSFER_ENCODING];
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
        let untouched = headers.clone();
        remove_headers(&mut headers, &names);
        assert_eq!(headers, untouched);
        headers.append(
            header::CONTENT_ENCODING,
            HeaderValue::from_static("identity"),
        );
        headers.append(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        headers.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        remove_headers(&mut headers, &names);
        assert_eq!(headers, untouched);
    }

    #[test]
    fn content_length_is_the_decimal_length() {
        for len in [0, 1, 9, 10, 687, 65_536, usize::MAX] {
            assert_eq!(content_length(len), HeaderValue::from(len));
        }
    }

    #[test]
    fn nonces_are_ten_digits_like_the_platforms() {
        for bytes in [
            [0; 8],
            [0xff; 8],
            *b"01234567",
            [1, 2, 3, 4, 5, 6, 7, 8],
            9_999_999_999u64.to_be_bytes(),
            10_000_000_001u64.to_be_bytes(),
        ] {
            let mut buf = [0; 10];
            let expected = format!("{:010}", u64::from_be_bytes(bytes) % 10_000_000_000);
            assert_eq!(nonce_digits(&bytes, &mut buf), expected);
        }
    }
}
