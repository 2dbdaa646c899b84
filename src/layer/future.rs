//! The response future: reads the body, calls the inner service, seals the
//! reply. A state machine (no boxing).
//!
//! The inner service is driven to readiness here, not in the layer's
//! `poll_ready`, and only once the body has been read and checked. A slow
//! client therefore holds no permit of an inner `ConcurrencyLimit` (or any
//! other readiness-based resource) while its body trickles in, and a
//! rejected request never touches the inner service at all.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header, request, response};
use http_body::Body;
use http_body_util::combinators::Collect;
use http_body_util::{Full, Limited};
use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tower_service::Service;

use super::Config;
use super::body::CallbackBody;
use super::clock::unix_secs;
use super::rejection::{Rejection, RejectionKind};
use super::service::{PendingPost, reject, secret};
use crate::crypto::random_nonce;
use crate::endpoint::{BodyFormat, CallbackKind, Endpoint, ReplyFormat};
use crate::envelope;
use crate::message::Reply;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the layer needs to seal the handler's [`Reply`].
#[derive(Debug)]
pub(crate) struct ReplyContext {
    /// The reply's `ToUserName`: the message's `FromUserName` (member UserID).
    pub(crate) to_user_name: String,
    /// The reply's `FromUserName`: the message's `ToUserName` (corp id).
    pub(crate) from_user_name: String,
    /// The receive id to seal with: the one the message carried.
    pub(crate) receive_id: String,
    /// Which of the endpoint's secrets verified the request (0: current).
    pub(crate) secret: usize,
    pub(crate) config: Arc<Config>,
    pub(crate) endpoint: Arc<Endpoint>,
}

pin_project! {
    /// Response future of [`WeComCallback`](super::WeComCallback).
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<CallbackBody<ReqBody>>>,
        ReqBody: Body,
        ReqBody::Error: Into<BoxError>,
    {
        #[pin]
        state: State<S, ReqBody>,
    }
}

pin_project! {
    #[project = StateProj]
    #[project_replace = StateOwned]
    enum State<S, ReqBody>
    where
        S: Service<Request<CallbackBody<ReqBody>>>,
        ReqBody: Body,
        ReqBody::Error: Into<BoxError>,
    {
        // The layer answers by itself (URL verification or rejection).
        Answer { response: Response<Full<Bytes>> },
        // Reading the bounded body of a POST under the body deadline.
        // `service` is a clone that has not been polled for readiness.
        Reading {
            #[pin]
            collect: Collect<Limited<ReqBody>>,
            #[pin]
            deadline: Sleep,
            service: S,
            parts: request::Parts,
            pending: PendingPost,
        },
        // Waiting for the inner service to be ready for `request`.
        Ready {
            service: S,
            request: Option<Request<CallbackBody<ReqBody>>>,
            reply: Option<ReplyContext>,
        },
        // The inner service runs; `reply` is set on callback paths.
        Calling {
            #[pin]
            future: S::Future,
            reply: Option<ReplyContext>,
        },
        Done,
    }
}

impl<S, ReqBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<CallbackBody<ReqBody>>>,
    ReqBody: Body,
    ReqBody::Error: Into<BoxError>,
{
    pub(crate) fn answer(response: Response<Full<Bytes>>) -> Self {
        Self {
            state: State::Answer { response },
        }
    }

    /// Calls `service` (not yet polled for readiness) with `request` once
    /// it is ready.
    pub(crate) fn call(
        service: S,
        request: Request<CallbackBody<ReqBody>>,
        reply: Option<ReplyContext>,
    ) -> Self {
        Self {
            state: State::Ready {
                service,
                request: Some(request),
                reply,
            },
        }
    }

    pub(crate) fn read(
        collect: Collect<Limited<ReqBody>>,
        deadline: Sleep,
        service: S,
        parts: request::Parts,
        pending: PendingPost,
    ) -> Self {
        Self {
            state: State::Reading {
                collect,
                deadline,
                service,
                parts,
                pending,
            },
        }
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<CallbackBody<ReqBody>>, Response = Response<ResBody>>,
    ReqBody: Body,
    ReqBody::Error: Into<BoxError>,
    ResBody: Body,
{
    type Output = Result<Response<CallbackBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Answer { .. } => {
                    if let StateOwned::Answer { response } =
                        state.as_mut().project_replace(State::Done)
                    {
                        return Poll::Ready(Ok(response.map(CallbackBody::from_full)));
                    }
                }
                StateProj::Reading {
                    collect, deadline, ..
                } => {
                    let collected = match collect.poll(cx) {
                        Poll::Ready(collected) => {
                            Ok(collected.map(http_body_util::Collected::to_bytes))
                        }
                        Poll::Pending => match deadline.poll(cx) {
                            Poll::Ready(()) => Err(RejectionKind::BodyTimeout),
                            Poll::Pending => return Poll::Pending,
                        },
                    };
                    let StateOwned::Reading {
                        service,
                        parts,
                        pending,
                        ..
                    } = state.as_mut().project_replace(State::Done)
                    else {
                        return Poll::Pending;
                    };
                    // Dropping the unread body (on timeout) frees what was
                    // buffered; the 408 carries `Connection: close`.
                    match collected.and_then(|collected| pending.open(collected, parts)) {
                        Ok((request, reply)) => state.set(State::Ready {
                            service,
                            request: Some(request),
                            reply: Some(reply),
                        }),
                        Err(kind) => state.set(State::Answer {
                            response: reject(kind),
                        }),
                    }
                }
                StateProj::Ready {
                    service,
                    request,
                    reply,
                } => {
                    ready!(service.poll_ready(cx))?;
                    let Some(request) = request.take() else {
                        return Poll::Pending;
                    };
                    let future = service.call(request);
                    let reply = reply.take();
                    state.set(State::Calling { future, reply });
                }
                StateProj::Calling { future, reply } => {
                    let response = ready!(future.poll(cx))?;
                    let reply = reply.take();
                    state.set(State::Done);
                    return Poll::Ready(Ok(match reply {
                        Some(context) => seal(response, &context),
                        None => response.map(CallbackBody::original),
                    }));
                }
                // Polled after completion: a contract violation by the caller;
                // never resolves rather than panicking.
                StateProj::Done => return Poll::Pending,
            }
        }
    }
}

/// Answers for the handler, by the endpoint's kind:
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
/// * every other response passes through untouched.
fn seal<B: Body>(response: Response<B>, context: &ReplyContext) -> Response<CallbackBody<B>> {
    if !response.status().is_success() {
        return response.map(CallbackBody::original);
    }
    let kind = context.endpoint.kind();
    let (mut parts, body) = response.into_parts();
    let Some(reply) = parts.extensions.remove::<Reply>() else {
        if !kind.ack_body().is_empty() && body.size_hint().exact() == Some(0) {
            return ack(parts, kind);
        }
        return Response::from_parts(parts, CallbackBody::original(body));
    };
    // The handler's own body is replaced.
    drop(body);
    if reply == Reply::Ack {
        return ack(parts, kind);
    }
    let config = &context.config;
    let now = unix_secs(config.clock.as_ref());
    let plain = match kind.reply_format() {
        ReplyFormat::Xml | ReplyFormat::PlainXml if reply.is_xml() => {
            reply.to_xml(&context.to_user_name, &context.from_user_name, now)
        }
        ReplyFormat::Json => match reply.to_bot_json() {
            Some(json) => json,
            None => return failure(RejectionKind::UnsupportedReply),
        },
        _ => return failure(RejectionKind::UnsupportedReply),
    };
    if kind.reply_format() == ReplyFormat::PlainXml {
        return answer(parts, "text/xml; charset=utf-8", Bytes::from(plain));
    }
    let crypt = secret(&context.endpoint, context.secret).and_then(|s| s.post.as_ref());
    let sealed = crypt
        .zip(random_nonce(config.random.as_ref()).ok())
        .and_then(|(crypt, nonce)| {
            let timestamp = now.to_string();
            let mut prefix = [0u8; 16];
            config.random.fill(&mut prefix).ok()?;
            let encrypt = crypt
                .encrypt_for(plain.as_bytes(), &context.receive_id, prefix)
                .ok()?;
            let signature = crypt.signature(&timestamp, &nonce, &encrypt);
            Some(envelope::reply_as(
                context.endpoint.format(),
                &encrypt,
                &signature,
                &timestamp,
                &nonce,
            ))
        });
    let Some(envelope) = sealed else {
        return failure(RejectionKind::ReplyFailed);
    };
    let content_type = match context.endpoint.format() {
        BodyFormat::Xml => "text/xml; charset=utf-8",
        BodyFormat::Json => "application/json",
    };
    answer(parts, content_type, Bytes::from(envelope))
}

fn failure<B>(kind: RejectionKind) -> Response<CallbackBody<B>> {
    Rejection::new(kind)
        .into_response()
        .map(CallbackBody::from_full)
}

/// The kind's acknowledgement: `success` as `text/plain`, or an empty 200.
fn ack<B>(parts: response::Parts, kind: CallbackKind) -> Response<CallbackBody<B>> {
    let body = kind.ack_body();
    answer(
        parts,
        "text/plain; charset=utf-8",
        Bytes::from_static(body.as_bytes()),
    )
}

/// Replaces the response's body (and its framing headers) with `body`.
fn answer<B>(
    mut parts: response::Parts,
    content_type: &'static str,
    body: Bytes,
) -> Response<CallbackBody<B>> {
    parts.status = StatusCode::OK;
    for name in [
        header::CONTENT_ENCODING,
        header::TRANSFER_ENCODING,
        header::CONTENT_RANGE,
    ] {
        parts.headers.remove(name);
    }
    if body.is_empty() {
        parts.headers.remove(header::CONTENT_TYPE);
    } else {
        parts
            .headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    Response::from_parts(parts, CallbackBody::buffered(body))
}
