//! The middleware service: routes, checks and answers before the handler.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header, request};
use http_body::Body;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use tower_service::Service;

use super::body::CallbackBody;
use super::clock::unix_secs;
use super::future::{ReplyContext, ResponseFuture};
use super::query::{self, Query};
use super::rejection::{Rejection, RejectionKind, plain_text};
use super::{CallbackContext, Config, Endpoint};
use crate::envelope::Envelope;
use crate::message::Message;

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

pub(crate) fn reject(kind: RejectionKind) -> Response<Full<Bytes>> {
    Rejection::new(kind).into_response()
}

/// Checks the timestamp window (two-sided).
fn check_window(config: &Config, query: &Query) -> Result<(), RejectionKind> {
    let now = unix_secs(config.clock.as_ref());
    if now.abs_diff(query.timestamp_secs) > config.tolerance_secs {
        return Err(RejectionKind::StaleTimestamp);
    }
    Ok(())
}

/// GET URL verification, answered by the layer.
fn verify_url(
    config: &Config,
    endpoint: &Endpoint,
    uri_query: Option<&str>,
) -> Response<Full<Bytes>> {
    let answer = || -> Result<String, RejectionKind> {
        let query = query::parse(uri_query, true)?;
        check_window(config, &query)?;
        let echostr = query.echostr.as_deref().unwrap_or("");
        let plain = endpoint
            .crypt()
            .verify_url(
                &query.msg_signature,
                &query.timestamp,
                &query.nonce,
                echostr,
            )
            .map_err(|e| RejectionKind::Crypto(e.kind()))?;
        if plain.is_empty() || plain.len() > 64 || !plain.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(RejectionKind::InvalidEchostr);
        }
        Ok(plain)
    };
    match answer() {
        Ok(plain) => plain_text(StatusCode::OK, Bytes::from(plain)),
        Err(kind) => reject(kind),
    }
}

/// Checks made before the body is read.
fn precheck<B: Body>(config: &Config, req: &Request<B>) -> Result<Query, RejectionKind> {
    let query = query::parse(req.uri().query(), false)?;
    check_window(config, &query)?;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = u64::try_from(config.body_limit).unwrap_or(u64::MAX);
    if declared.is_some_and(|len| len > limit) || req.body().size_hint().lower() > limit {
        return Err(RejectionKind::PayloadTooLarge);
    }
    if req
        .headers()
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"))
    {
        return Err(RejectionKind::UnreadableBody);
    }
    Ok(query)
}

/// A POST whose query passed, waiting for its body.
#[derive(Debug)]
pub(crate) struct PendingPost {
    pub(crate) config: Arc<Config>,
    pub(crate) endpoint: Arc<Endpoint>,
    pub(crate) query: Query,
}

impl PendingPost {
    /// Verifies, decrypts and parses the body; on success the request for
    /// the inner service and what is needed to seal its reply.
    pub(crate) fn open<B>(
        self,
        collected: Result<Bytes, Box<dyn std::error::Error + Send + Sync>>,
        mut parts: request::Parts,
    ) -> Result<(Request<CallbackBody<B>>, ReplyContext), RejectionKind> {
        let body = collected.map_err(|e| {
            if e.is::<LengthLimitError>() {
                RejectionKind::PayloadTooLarge
            } else {
                RejectionKind::UnreadableBody
            }
        })?;
        let envelope = Envelope::parse(&body).map_err(|_| RejectionKind::MalformedEnvelope)?;
        let q = &self.query;
        let decrypted = self
            .endpoint
            .crypt()
            .decrypt(&q.msg_signature, &q.timestamp, &q.nonce, envelope.encrypt())
            .map_err(|e| RejectionKind::Crypto(e.kind()))?;
        let message =
            Message::parse(decrypted.msg()).map_err(|_| RejectionKind::MalformedMessage)?;
        let context = CallbackContext {
            kind: self.endpoint.kind(),
            timestamp: q.timestamp_secs,
            nonce: q.nonce.clone(),
            receive_id: decrypted.receive_id().to_owned(),
            agent_id: message.agent_id(),
        };
        let reply = ReplyContext {
            to_user_name: message.from_user_name().to_owned(),
            from_user_name: message.to_user_name().to_owned(),
            receive_id: context.receive_id.clone(),
            config: self.config,
            endpoint: self.endpoint,
        };
        let xml = Bytes::from(decrypted.into_msg());
        // The inner request's framing describes the new body: its length,
        // no chunking, no content coding.
        parts.headers.remove(header::CONTENT_ENCODING);
        parts.headers.remove(header::TRANSFER_ENCODING);
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(xml.len()));
        parts.extensions.insert(message);
        parts.extensions.insert(context);
        Ok((
            Request::from_parts(parts, CallbackBody::buffered(xml)),
            reply,
        ))
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for WeComCallback<S>
where
    S: Service<Request<CallbackBody<ReqBody>>, Response = Response<ResBody>> + Clone,
    ReqBody: Body,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<CallbackBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    /// Always ready: the inner service is driven to readiness by the
    /// response future, after the body has been read and checked (see the
    /// [`future`](super::ResponseFuture) docs), so rejected and slow
    /// requests hold none of its capacity.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let Some(endpoint) = self.config.endpoint(req.uri().path()).cloned() else {
            return ResponseFuture::call(self.inner.clone(), req.map(CallbackBody::original), None);
        };
        match *req.method() {
            Method::GET => {
                ResponseFuture::answer(verify_url(&self.config, &endpoint, req.uri().query()))
            }
            Method::POST => match precheck(&self.config, &req) {
                Err(kind) => ResponseFuture::answer(reject(kind)),
                Ok(query) => {
                    let (parts, body) = req.into_parts();
                    let pending = PendingPost {
                        config: Arc::clone(&self.config),
                        endpoint,
                        query,
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
            _ => ResponseFuture::answer(reject(RejectionKind::MethodNotAllowed)),
        }
    }
}
