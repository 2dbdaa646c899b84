//! axum extractors and response parts (axum-core traits).
//!
//! * [`Message`], [`BotMessage`] (the robot) and [`CallbackContext`] are
//!   extractors: they read what
//!   [`WeComCallbackLayer`](crate::WeComCallbackLayer) put into the request
//!   extensions. When the layer did not handle the request they reject
//!   with a 500 ([`MissingLayer`]) whose body is a fixed text; the
//!   diagnosis (the path the layer saw against the paths it serves, the
//!   order of `layer` and `route`, or `route_layer` with
//!   [`for_route`](crate::WeComCallbackLayer::for_route)) is in the
//!   response's extensions and in a rate-limited `warn` event, never sent
//!   to the client.
//! * [`Reply`] is a response and a response part: it rides in the response
//!   extensions, and the layer seals it into the encrypted envelope.
//! * The crate's errors a handler may meet ([`NewsError`](crate::message::NewsError),
//!   [`CardError`](crate::message::CardError),
//!   [`MessageError`](crate::MessageError),
//!   [`ReplyNotAllowed`](crate::message::ReplyNotAllowed),
//!   [`StoreError`](crate::store::StoreError),
//!   [`CryptoError`](crate::CryptoError), [`ConfigError`](crate::ConfigError))
//!   are responses too: a 500 with the fixed body `internal error` (logged
//!   at `error` with the `tracing` feature), so a handler can return
//!   `Result<Reply, NewsError>` and use `?`. The layer treats the 500 as a
//!   failed handler: WeCom's retry runs it again.
//!
//! # Example
//!
//! ```
//! use axum::{Router, routing::post};
//! use wecom_callback::testing::TestKit;
//! use wecom_callback::{CallbackContext, Endpoint, Message, MessageKind, Reply, WeComCallbackLayer};
//!
//! async fn handler(message: Message, context: CallbackContext) -> Reply {
//!     match message.kind() {
//!         MessageKind::Text(text) => Reply::text(format!("{} said {}", message.from_user_name(), text.content)),
//!         _ => Reply::ack(),
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let endpoint = Endpoint::wecom_app("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")?;
//! let kit = TestKit::for_route(&endpoint).path("/wecom");
//! let mut app: Router = Router::new()
//!     .route("/wecom", post(handler))
//!     .route_layer(WeComCallbackLayer::for_route(endpoint));
//!
//! let text = TestKit::text_message("wx5823bf96d3bd56c7", "zhangsan", "hello");
//! let reply = kit.send(&mut app, kit.post(&text)).await?.xml()?;
//! assert_eq!(reply.reply, Some(Reply::text("zhangsan said hello")));
//!
//! let click = TestKit::click_event("wx5823bf96d3bd56c7", "zhangsan", "menu_1");
//! assert!(kit.send(&mut app, kit.post(&click)).await?.is_ack());
//! # Ok(())
//! # }
//! ```

use std::convert::Infallible;
use std::fmt;

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use http::StatusCode;
use http::request::Parts;

use crate::endpoint::CallbackKind;
use crate::layer::{CallbackContext, PassedThrough};
use crate::message::{BotMessage, Message, Reply};

/// Rejection of the [`Message`], [`BotMessage`] and [`CallbackContext`]
/// extractors when [`WeComCallbackLayer`](crate::WeComCallbackLayer) did
/// not hand the request over: a configuration error, answered with 500.
///
/// Its text says what to check:
///
/// * the layer saw the request but does not serve its path: the path it
///   saw and the paths it serves (typical under `Router::nest`, where a
///   layer inside the nested router sees paths without the prefix);
/// * the layer handled a callback of a kind that gives the other message
///   type (`BotMessage` is for the robot, `Message` for every other kind);
/// * no layer saw the request: it is not on this route (axum's `layer`
///   and `route_layer` wrap only the routes added before them).
///
/// The client gets a fixed body ([`MissingLayer::BODY`]) that names no
/// path: the configured callback paths are nobody's business outside. The
/// diagnosis is this type's `Display`; as a response it rides in the
/// response extensions (`response.extensions().get::<MissingLayer>()`), and
/// with the `tracing` feature it is logged at `warn`, at most once every
/// ten seconds per process (with the number of events left out since), so
/// that requests from outside cannot fill the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingLayer {
    extractor: &'static str,
    cause: Cause,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Cause {
    /// No layer left a trace on the request.
    NotSeen,
    /// A path-bound layer saw `seen` and serves only `served`.
    PathNotServed { seen: String, served: Vec<String> },
    /// The layer handled a callback of `kind`, which gives the other type.
    OtherKind { kind: CallbackKind },
    /// An earlier extractor of the same name moved the message out.
    Taken,
}

impl MissingLayer {
    fn new(parts: &Parts, extractor: &'static str) -> Self {
        let cause = if let Some(context) = parts.extensions.get::<CallbackContext>() {
            // The layer puts the message next to the context, `BotMessage`
            // for the robot and `Message` for every other kind: if this
            // extractor's type is the one the kind gives, an earlier
            // extractor moved it out.
            let gives = if context.kind == CallbackKind::WeComBot {
                "BotMessage"
            } else {
                "Message"
            };
            if gives == extractor {
                Cause::Taken
            } else {
                Cause::OtherKind { kind: context.kind }
            }
        } else if let Some(passed) = parts.extensions.get::<PassedThrough>() {
            Cause::PathNotServed {
                seen: passed.seen.clone(),
                served: passed.config.paths().map(str::to_owned).collect(),
            }
        } else {
            Cause::NotSeen
        };
        Self { extractor, cause }
    }

    /// The fixed response body: it names the layer, never a path.
    pub const BODY: &'static str = "internal server error: WeComCallbackLayer did not hand this request to the handler \
         (the server log says why)";

    /// 500 Internal Server Error.
    pub fn status(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    /// The response text: always [`MissingLayer::BODY`]. The diagnosis is
    /// [`detail`](Self::detail).
    pub fn body_text(&self) -> String {
        Self::BODY.to_owned()
    }

    /// The diagnosis: the extractor, what happened and what to check (the
    /// `Display` text). For logs and tests; never sent to the client.
    pub fn detail(&self) -> String {
        self.to_string()
    }
}

/// At most one `MissingLayer` log event per this many seconds.
#[cfg(feature = "tracing")]
const LOG_INTERVAL_SECS: u64 = 10;

/// Logs `missing` at `warn` unless another was logged in the last
/// [`LOG_INTERVAL_SECS`]; counts the ones left out.
#[cfg(feature = "tracing")]
fn log_rate_limited(missing: &MissingLayer) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};

    static LAST_LOGGED: AtomicU64 = AtomicU64::new(0);
    static SUPPRESSED: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = LAST_LOGGED.load(Ordering::Relaxed);
    let due = last == 0 || now.saturating_sub(last) >= LOG_INTERVAL_SECS;
    if due
        && LAST_LOGGED
            .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        let suppressed = SUPPRESSED.swap(0, Ordering::Relaxed);
        tracing::warn!(
            extractor = missing.extractor,
            suppressed_since_last = suppressed,
            "{missing}"
        );
    } else {
        SUPPRESSED.fetch_add(1, Ordering::Relaxed);
    }
}

impl fmt::Display for MissingLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let extractor = self.extractor;
        match &self.cause {
            Cause::PathNotServed { seen, served } => {
                write!(
                    f,
                    "`{extractor}` extractor: WeComCallbackLayer saw this request at `{seen}` \
                     but serves only "
                )?;
                for (i, path) in served.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}`{path}`")?;
                }
                f.write_str(
                    ", so it passed the request through. The layer matches the path as it sees \
                     it: inside a `Router::nest`ed router without the prefix, on the outer \
                     router with it. Give WeComCallbackLayer::new that path, or add \
                     `WeComCallbackLayer::for_route(endpoint)` with `.route_layer(..)` on this \
                     route: it serves whatever route it wraps, path parameters included.",
                )
            }
            Cause::OtherKind { kind } => {
                let gives = if *kind == CallbackKind::WeComBot {
                    "BotMessage"
                } else {
                    "Message"
                };
                write!(
                    f,
                    "`{extractor}` extractor on a `{kind}` callback: WeComCallbackLayer handled \
                     it, but that kind gives `{gives}` (`BotMessage` is the robot's, `Message` \
                     every other kind's). Extract `{gives}`."
                )
            }
            Cause::Taken => write!(
                f,
                "`{extractor}` extractor: an earlier `{extractor}` extractor of this handler \
                 already moved the message out of the request (it is not copied). Extract it \
                 once per handler and pass it on by reference."
            ),
            Cause::NotSeen => write!(
                f,
                "`{extractor}` extractor: the request did not pass through WeComCallbackLayer. \
                 Check that the layer wraps this route: axum's `Router::layer` and `route_layer` \
                 wrap only the routes added before them, and a layer on another router does not \
                 see this one. `WeComCallbackLayer::for_route(endpoint)` added with \
                 `.route_layer(..)` right after this route avoids both."
            ),
        }
    }
}

impl std::error::Error for MissingLayer {}

/// A 500 with the fixed [`MissingLayer::BODY`]; the `MissingLayer` itself
/// in the response extensions; logged (rate-limited) at `warn`.
impl IntoResponse for MissingLayer {
    fn into_response(self) -> Response {
        #[cfg(feature = "tracing")]
        log_rate_limited(&self);
        let mut response = (self.status(), Self::BODY).into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Moves the `T` the layer put into the request extensions out of them
/// (no copy of the message: it is the handler's now).
fn take_from_extensions<T: Send + Sync + 'static>(
    parts: &mut Parts,
    extractor: &'static str,
) -> Result<T, MissingLayer> {
    match parts.extensions.remove::<T>() {
        Some(value) => Ok(value),
        None => Err(MissingLayer::new(parts, extractor)),
    }
}

/// Clones the `T` the layer put into the request extensions.
fn from_extensions<T: Clone + Send + Sync + 'static>(
    parts: &Parts,
    extractor: &'static str,
) -> Result<T, MissingLayer> {
    parts
        .extensions
        .get::<T>()
        .cloned()
        .ok_or_else(|| MissingLayer::new(parts, extractor))
}

/// Moves the message out of the request extensions: the handler gets the
/// one the layer parsed, not a copy. Extract it once per handler; a second
/// `Message` extractor on the same request is refused with a 500 that says
/// so. Middleware between the layer and the handler can still read it with
/// `request.extensions().get::<Message>()`.
impl<S: Send + Sync> FromRequestParts<S> for Message {
    type Rejection = MissingLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        take_from_extensions(parts, "Message")
    }
}

/// Moves the robot's message out of the request extensions, as the
/// `Message` extractor does.
impl<S: Send + Sync> FromRequestParts<S> for BotMessage {
    type Rejection = MissingLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        take_from_extensions(parts, "BotMessage")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CallbackContext {
    type Rejection = MissingLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        from_extensions(parts, "CallbackContext")
    }
}

/// An empty 200 carrying the reply in its extensions; the layer replaces
/// the body with the sealed envelope.
impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = StatusCode::OK.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Adds the reply to a response built from other parts, e.g.
/// `([("x-trace", "1")], reply)`.
impl IntoResponseParts for Reply {
    type Error = Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        res.extensions_mut().insert(self);
        Ok(res)
    }
}

// `IntoResponse` for the crate's errors, as handler results.
mod errors;
