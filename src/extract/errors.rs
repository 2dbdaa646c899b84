//! The crate's errors as handler results: `IntoResponse` for each error a
//! handler may meet ([`NewsError`], [`CardError`], [`MessageError`],
//! [`ReplyNotAllowed`], [`StoreError`], [`CryptoError`], [`ConfigError`]),
//! so that `async fn h(..) -> Result<Reply, NewsError>` is an axum handler
//! and `?` works in it.
//!
//! Each answers 500 with the fixed body `internal error` (the layer's own
//! 500 text): it tells the sender nothing. The layer treats a 5xx as a
//! failed handler, so the answer is not recorded and WeCom's retry runs the
//! handler again. With the `tracing` feature the error is logged once at
//! `error`, with its type and text (these errors' texts are fixed phrases,
//! never a secret or message content).

use axum_core::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::crypto::{ConfigError, CryptoError};
use crate::message::{CardError, MessageError, NewsError, ReplyNotAllowed};
use crate::store::StoreError;

/// The body of every handler error's response.
const BODY: &str = "internal error";

/// The 500 for a handler error of type `name`, logged when `tracing` is on.
fn internal_error(name: &'static str, error: &dyn std::error::Error) -> Response {
    #[cfg(feature = "tracing")]
    tracing::error!(error_type = name, error = %error, "handler failed: answered 500");
    #[cfg(not(feature = "tracing"))]
    let _ = (name, error);
    let mut response = (StatusCode::INTERNAL_SERVER_ERROR, BODY).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

macro_rules! handler_error {
    ($($error:ident),*) => {$(
        /// A 500 with the fixed body `internal error`; see the
        /// [`extract`](crate::extract) module docs.
        impl IntoResponse for $error {
            fn into_response(self) -> Response {
                internal_error(stringify!($error), &self)
            }
        }
    )*};
}

handler_error!(
    NewsError,
    CardError,
    MessageError,
    ReplyNotAllowed,
    StoreError,
    CryptoError,
    ConfigError
);
