//! The middleware service: routes, checks and answers before the handler.
//!
//! What differs between callback kinds (which query parameters, how the
//! signature is computed, the body format, the receive id) is read from the
//! endpoint's [`CallbackKind`](crate::CallbackKind); this file only runs the
//! pipeline in its fixed order: method, query, timestamp window, size,
//! bounded read, envelope, signature, decryption, receive id, message.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Limited};
use tower_service::Service;

use super::body::CallbackBody;
use super::events;
use super::future::ResponseFuture;
use super::pipeline::{PendingPost, precheck, refuse, verify_url};
use super::rejection::{Refusal, RejectionKind, plain_text};
use super::{Config, PassedThrough, Route};

/// The service made by [`WeComCallbackLayer`](crate::WeComCallbackLayer).
#[derive(Debug, Clone)]
pub struct WeComCallback<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> WeComCallback<S> {
    pub(crate) fn new(inner: S, config: Arc<Config>) -> Self {
        Self { inner, config }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for WeComCallback<S>
where
    S: Service<Request<CallbackBody<ReqBody>>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Body + Send + 'static,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    ResBody: Body + Send + 'static,
{
    type Response = Response<CallbackBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, ResBody>;

    /// Always ready: the inner service is driven to readiness by the
    /// response future, after the body has been read and checked (see the
    /// [`future`](super::ResponseFuture) docs), so rejected and slow
    /// requests hold none of its capacity.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let Some((route, candidates)) = self.config.route(req.uri().path()) else {
            events::passed_through(req.method(), req.uri().path(), &self.config);
            // For the extractors' diagnostic (axum only).
            if cfg!(feature = "axum") {
                let seen = req.uri().path().to_owned();
                req.extensions_mut().insert(PassedThrough {
                    seen,
                    config: Arc::clone(&self.config),
                });
            }
            return ResponseFuture::pass(self.inner.clone(), req.map(CallbackBody::original));
        };
        let candidates = Arc::clone(candidates);
        let refused = |refusal: Refusal, req: &Request<ReqBody>| {
            ResponseFuture::answer(refuse(refusal, req.method(), req.uri().path(), &candidates))
        };
        match *req.method() {
            Method::GET => match verify_url(&self.config, &candidates, req.uri().query()) {
                Ok((plain, endpoint)) => {
                    events::verified(req.uri().path(), endpoint);
                    ResponseFuture::answer(plain_text(StatusCode::OK, Bytes::from(plain)))
                }
                Err(refusal) => refused(refusal, &req),
            },
            Method::POST => match precheck(&self.config, &candidates, &req) {
                Err(refusal) => refused(refusal, &req),
                Ok(query) => {
                    // The path as the layer saw it, for the log events: the
                    // configured one it equals, or a copy on an any-path route.
                    let path = match route {
                        Route::Exact(path) => Arc::clone(path),
                        Route::Any => Arc::from(req.uri().path()),
                    };
                    let (parts, body) = req.into_parts();
                    let pending = PendingPost {
                        config: Arc::clone(&self.config),
                        candidates,
                        query,
                        path,
                    };
                    // `Limited` + `collect` keep only the frames that have
                    // arrived: nothing is reserved on the word of
                    // `Content-Length`.
                    let limited = Limited::new(body, self.config.body_limit);
                    ResponseFuture::read(
                        limited.collect(),
                        tokio::time::sleep(self.config.body_timeout),
                        self.inner.clone(),
                        parts,
                        pending,
                    )
                }
            },
            _ => refused(RejectionKind::MethodNotAllowed.into(), &req),
        }
    }
}
