//! axum extractors and response parts (axum-core traits).
//!
//! * [`Message`], [`BotMessage`] (the robot) and [`CallbackContext`] are
//!   extractors: they read what
//!   [`WeComCallbackLayer`](crate::WeComCallbackLayer) put into the request
//!   extensions. Used on a route the layer does not guard, they reject with
//!   a 500 whose text names `WeComCallbackLayer` ([`MissingLayer`]).
//! * [`Reply`] is a response and a response part: it rides in the response
//!   extensions, and the layer seals it into the encrypted envelope.
//!
//! ```
//! use wecom_callback::{Message, Reply};
//!
//! async fn handler(message: Message) -> Reply {
//!     Reply::text(format!("got {}", message.msg_type()))
//! }
//! # let _ = axum::Router::<()>::new().route("/wecom/callback", axum::routing::post(handler));
//! ```

use std::convert::Infallible;
use std::fmt;

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use http::StatusCode;
use http::request::Parts;

use crate::layer::CallbackContext;
use crate::message::{BotMessage, Message, Reply};

/// Rejection of the [`Message`] and [`CallbackContext`] extractors when
/// the request did not pass through [`WeComCallbackLayer`](crate::WeComCallbackLayer):
/// a configuration error, answered with 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingLayer {
    extractor: &'static str,
}

impl MissingLayer {
    /// 500 Internal Server Error.
    pub fn status(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    /// The response text, naming the extractor and the missing layer.
    pub fn body_text(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for MissingLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` extractor used on a route that WeComCallbackLayer does not guard; \
             add WeComCallbackLayer for this path",
            self.extractor
        )
    }
}

impl std::error::Error for MissingLayer {}

impl IntoResponse for MissingLayer {
    fn into_response(self) -> Response {
        (self.status(), self.body_text()).into_response()
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
        .ok_or(MissingLayer { extractor })
}

impl<S: Send + Sync> FromRequestParts<S> for Message {
    type Rejection = MissingLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        from_extensions(parts, "Message")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for BotMessage {
    type Rejection = MissingLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        from_extensions(parts, "BotMessage")
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
