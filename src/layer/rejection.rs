//! Rejections: the responses the layer gives instead of calling the handler.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;

use crate::crypto::CryptoErrorKind;
use crate::endpoint::Endpoint;

/// Why a request to a callback path was refused.
///
/// The layer puts a [`Rejection`] with this kind into the extensions of the
/// response it sends, so an outer `TraceLayer` or logging middleware can
/// record the reason while the response body itself stays a short fixed
/// text that reveals nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// The method is neither GET (URL verification) nor POST (messages). 405.
    MethodNotAllowed,
    /// A required query parameter (`msg_signature`, `timestamp`, `nonce`,
    /// GET: `echostr`) is missing. 400.
    MissingParameter(&'static str),
    /// A query parameter appears more than once. 400.
    DuplicateParameter(&'static str),
    /// A query parameter is malformed: `msg_signature` not 40 lowercase hex
    /// digits, `timestamp` not `^[1-9][0-9]{0,9}$`, `nonce` empty, longer
    /// than 128 bytes or not visible ASCII, `echostr` longer than 512
    /// bytes, or bad percent-encoding. 400.
    InvalidParameter(&'static str),
    /// `timestamp` is further from the server's clock than the configured
    /// tolerance, in either direction. 403.
    StaleTimestamp,
    /// The body is larger than the configured limit (by `Content-Length`
    /// before reading, or while reading). 413.
    PayloadTooLarge,
    /// The body did not arrive within the configured body timeout (a slow
    /// or stalled client). 408, with `Connection: close`.
    BodyTimeout,
    /// The body could not be read, or it is content-encoded (compressed
    /// bodies are never inflated). 400.
    UnreadableBody,
    /// The POST body is not a well-formed envelope with exactly one
    /// `Encrypt` (vendor -40002). 400.
    MalformedEnvelope,
    /// Signature, decryption or receive-id check failed; the kind says which
    /// step and maps to the vendor code. 403.
    Crypto(CryptoErrorKind),
    /// The decrypted `echostr` is not 1 to 64 characters of `[0-9A-Za-z]`.
    /// This stops a captured POST's Encrypt from being decrypted through
    /// the GET path. 403.
    InvalidEchostr,
    /// The decrypted message is not well-formed XML (or, for JSON
    /// endpoints, not a JSON object), or is XML the reader refuses (a
    /// DOCTYPE, an unknown entity, a character XML forbids, nesting deeper
    /// than 32). A well-formed message with odd fields is *not* refused: it
    /// reaches the handler. 403.
    MalformedMessage,
    /// The handler's reply could not be sealed (the random source failed). 500.
    ReplyFailed,
    /// The handler returned a reply the endpoint's kind cannot carry: any
    /// passive reply to a WeCom suite instruction callback or an Open
    /// Platform push, an XML reply to the robot, a robot JSON reply to an
    /// XML kind. A programming error, reported as 500 rather than dropped.
    UnsupportedReply,
    /// The deduplication store could not be reached and the layer is set
    /// to [`StoreFailure::Unavailable`](crate::layer::StoreFailure): 503,
    /// so that the platform retries. The handler was not called.
    StoreUnavailable,
    /// The handler's task panicked (only with an acknowledgement deadline,
    /// where the handler runs as its own task). 500.
    HandlerFailed,
}

/// A refusal by [`WeComCallbackLayer`](crate::WeComCallbackLayer): an HTTP
/// status, a fixed body text and a typed reason.
///
/// Found in the extensions of every response the layer answers by itself
/// with a 4xx or 5xx:
///
/// ```
/// # use http::Response;
/// # fn log(response: &Response<()>) {
/// use wecom_callback::Rejection;
///
/// if let Some(rejection) = response.extensions().get::<Rejection>() {
///     eprintln!("callback rejected: {rejection} ({:?})", rejection.kind());
/// }
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rejection {
    kind: RejectionKind,
}

impl Rejection {
    pub(crate) fn new(kind: RejectionKind) -> Self {
        Self { kind }
    }

    /// The reason.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The HTTP status: 400 malformed, 403 not authentic or stale, 405
    /// method, 408 body too slow, 413 too large, 500 reply failure.
    pub fn status(&self) -> StatusCode {
        use RejectionKind::*;
        match self.kind {
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            MissingParameter(_)
            | DuplicateParameter(_)
            | InvalidParameter(_)
            | UnreadableBody
            | MalformedEnvelope => StatusCode::BAD_REQUEST,
            StaleTimestamp | Crypto(_) | InvalidEchostr | MalformedMessage => StatusCode::FORBIDDEN,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ReplyFailed | UnsupportedReply | HandlerFailed => StatusCode::INTERNAL_SERVER_ERROR,
            StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The response body: a short fixed text per status, the same for every
    /// reason that shares the status, so the body tells an attacker nothing.
    pub fn body_text(&self) -> &'static str {
        match self.status() {
            StatusCode::METHOD_NOT_ALLOWED => "method not allowed",
            StatusCode::BAD_REQUEST => "bad request",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::PAYLOAD_TOO_LARGE => "payload too large",
            StatusCode::REQUEST_TIMEOUT => "request timeout",
            StatusCode::SERVICE_UNAVAILABLE => "service unavailable",
            _ => "internal error",
        }
    }

    /// The response: status, `text/plain` body, `Allow: GET, POST` on 405,
    /// `Connection: close` on 408 (the unread rest of the body makes the
    /// connection unusable), and this rejection in the extensions.
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = plain_text(
            self.status(),
            Bytes::from_static(self.body_text().as_bytes()),
        );
        let headers = response.headers_mut();
        if self.kind == RejectionKind::MethodNotAllowed {
            headers.insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
        }
        if self.kind == RejectionKind::BodyTimeout {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response.extensions_mut().insert(self);
        response
    }
}

/// A `text/plain; charset=utf-8` response with `nosniff`: the shape of
/// every answer the layer gives by itself (URL verification, rejections).
pub(crate) fn plain_text(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A rejection on its way out, with what the log event needs beyond the
/// kind: the endpoint when it is known, and the timestamp skew.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub(crate) kind: RejectionKind,
    /// The endpoint the request was for: the one whose Token verified the
    /// signature, or the only one on the route.
    pub(crate) endpoint: Option<Arc<Endpoint>>,
    /// For [`RejectionKind::StaleTimestamp`]: the server's clock minus the
    /// query `timestamp`, in seconds (positive: the timestamp is in the
    /// past).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) skew_secs: Option<i64>,
}

impl Refusal {
    /// `kind` after `endpoint` verified the signature.
    pub(crate) fn for_endpoint(kind: RejectionKind, endpoint: &Arc<Endpoint>) -> Self {
        Self {
            kind,
            endpoint: Some(Arc::clone(endpoint)),
            skew_secs: None,
        }
    }
}

impl From<RejectionKind> for Refusal {
    fn from(kind: RejectionKind) -> Self {
        Self {
            kind,
            endpoint: None,
            skew_secs: None,
        }
    }
}

impl From<RejectionKind> for Rejection {
    fn from(kind: RejectionKind) -> Self {
        Self::new(kind)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RejectionKind::*;
        match self.kind {
            MethodNotAllowed => f.write_str("method not allowed on a callback path"),
            MissingParameter(p) => write!(f, "missing query parameter `{p}`"),
            DuplicateParameter(p) => write!(f, "query parameter `{p}` given more than once"),
            InvalidParameter(p) => write!(f, "malformed query parameter `{p}`"),
            StaleTimestamp => f.write_str("timestamp outside the accepted window"),
            PayloadTooLarge => f.write_str("body larger than the limit"),
            BodyTimeout => f.write_str("body not received within the body timeout"),
            UnreadableBody => f.write_str("body unreadable or content-encoded"),
            MalformedEnvelope => f.write_str("malformed envelope (-40002)"),
            Crypto(kind) => write!(f, "{}", crate::crypto::CryptoError::new(kind)),
            InvalidEchostr => f.write_str("decrypted echostr is not 1 to 64 alphanumerics"),
            MalformedMessage => {
                f.write_str("decrypted message is not well-formed XML (or not a JSON object)")
            }
            ReplyFailed => f.write_str("the reply could not be sealed"),
            StoreUnavailable => f.write_str("the deduplication store is unavailable"),
            HandlerFailed => f.write_str("the handler's task panicked"),
            UnsupportedReply => {
                f.write_str("the handler's reply is not one this callback kind can carry")
            }
        }
    }
}

impl std::error::Error for Rejection {}
