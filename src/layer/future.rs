//! The response future: reads the body, then either hands an authentic
//! callback to [`handle`](super::handle) or passes another request through.
//! A state machine, nothing boxed but the dedup store's calls (its trait
//! returns boxed futures); under the acknowledgement deadline the handler
//! runs as its own task.
//!
//! The inner service is driven to readiness here, not in the layer's
//! `poll_ready`, and only once the body has been read and checked. A slow
//! client therefore holds no permit of an inner `ConcurrencyLimit` (or any
//! other readiness-based resource) while its body trickles in, and a
//! rejected request never touches the inner service at all.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Request, Response, request};
use http_body::Body;
use http_body_util::Full;
use http_body_util::Limited;
use http_body_util::combinators::Collect;
use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tower_service::Service;

use super::body::CallbackBody;
use super::handle::{Handling, handle};
use super::pipeline::{Opening, PendingPost, body_error};
use super::rejection::RejectionKind;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project! {
    /// Response future of [`WeComCallback`](super::WeComCallback).
    pub struct ResponseFuture<S, ReqBody, ResBody>
    where
        S: Service<Request<CallbackBody<ReqBody>>>,
        ReqBody: Body,
        ReqBody::Error: Into<BoxError>,
    {
        #[pin]
        state: State<S, ReqBody, ResBody>,
    }
}

pin_project! {
    #[project = StateProj]
    #[project_replace = StateOwned]
    enum State<S, ReqBody, ResBody>
    where
        S: Service<Request<CallbackBody<ReqBody>>>,
        ReqBody: Body,
        ReqBody::Error: Into<BoxError>,
    {
        // The layer answers by itself (URL verification or rejection).
        Answer { response: Response<Full<Bytes>> },
        // Reading the bounded body of a POST under the body deadline.
        // `waiting` holds the inner service (a clone that has not been
        // polled for readiness), the request's parts and the checked query
        // until the body has been read; it is taken out then (moving the
        // whole state out and back, as `project_replace` does, costs more).
        Reading {
            #[pin]
            collect: Collect<Limited<ReqBody>>,
            #[pin]
            deadline: Sleep,
            waiting: Option<(S, request::Parts, PendingPost)>,
        },
        // An authentic callback: dedup, handler, sealing.
        Handling {
            #[pin]
            future: Handling<S, ReqBody, ResBody>,
        },
        // Another path: waiting for the inner service to be ready.
        Ready {
            service: S,
            request: Option<Request<CallbackBody<ReqBody>>>,
        },
        // Another path: the inner service runs.
        Calling {
            #[pin]
            future: S::Future,
        },
        Done,
    }
}

impl<S, ReqBody, ResBody> ResponseFuture<S, ReqBody, ResBody>
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

    /// Passes `request` (not a callback) to `service` once it is ready.
    pub(crate) fn pass(service: S, request: Request<CallbackBody<ReqBody>>) -> Self {
        Self {
            state: State::Ready {
                service,
                request: Some(request),
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
                waiting: Some((service, parts, pending)),
            },
        }
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody, ResBody>
where
    S: Service<Request<CallbackBody<ReqBody>>, Response = Response<ResBody>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Body + Send + 'static,
    ReqBody::Error: Into<BoxError>,
    ResBody: Body + Send + 'static,
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
                    collect,
                    deadline,
                    waiting,
                } => {
                    let collected = match collect.poll(cx) {
                        Poll::Ready(Ok(collected)) => Ok(collected.to_bytes()),
                        Poll::Ready(Err(error)) => Err(body_error(&*error)),
                        Poll::Pending => match deadline.poll(cx) {
                            Poll::Ready(()) => Err(RejectionKind::BodyTimeout),
                            Poll::Pending => return Poll::Pending,
                        },
                    };
                    let Some((service, parts, pending)) = waiting.take() else {
                        state.set(State::Done);
                        return Poll::Pending;
                    };
                    // Replacing the state drops the unread body (on timeout),
                    // which frees what was buffered; the 408 carries
                    // `Connection: close`.
                    match pending.open(collected, parts) {
                        Opening::Accepted((request, reply, key)) => state.set(State::Handling {
                            future: handle(service, request, reply, key),
                        }),
                        Opening::Refused(response) => state.set(State::Answer { response }),
                    }
                }
                StateProj::Handling { future } => {
                    let output = ready!(future.poll(cx));
                    state.set(State::Done);
                    return Poll::Ready(output);
                }
                StateProj::Ready { service, request } => {
                    ready!(service.poll_ready(cx))?;
                    let Some(request) = request.take() else {
                        return Poll::Pending;
                    };
                    let future = service.call(request);
                    state.set(State::Calling { future });
                }
                StateProj::Calling { future } => {
                    let response = ready!(future.poll(cx))?;
                    state.set(State::Done);
                    return Poll::Ready(Ok(response.map(CallbackBody::original)));
                }
                // Polled after completion: a contract violation by the caller;
                // never resolves rather than panicking.
                StateProj::Done => return Poll::Pending,
            }
        }
    }
}
