//! [`SignedInUser`] as an axum extractor: it reads the request extension
//! that [`OAuthLayer`](super::OAuthLayer) put there.

use std::convert::Infallible;
use std::fmt;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use super::identity::SignedInUser;

/// The rejection of the [`SignedInUser`] extractor: the request did not go
/// through [`OAuthLayer`](super::OAuthLayer), a configuration error. 500,
/// with a text naming the layer (axum's `layer` wraps only the routes added
/// before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingOAuthLayer;

impl MissingOAuthLayer {
    /// The response text.
    #[must_use]
    pub fn body_text(&self) -> &'static str {
        "SignedInUser needs OAuthLayer in front of this route: add `.layer(OAuthLayer::new(..))` \
         to the router after the routes it protects"
    }
}

impl fmt::Display for MissingOAuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.body_text())
    }
}

impl std::error::Error for MissingOAuthLayer {}

impl IntoResponse for MissingOAuthLayer {
    fn into_response(self) -> Response {
        #[cfg(feature = "tracing")]
        tracing::error!(target: "wecom_callback::oauth", "{}", self.body_text());
        (StatusCode::INTERNAL_SERVER_ERROR, self.body_text()).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SignedInUser {
    type Rejection = MissingOAuthLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<SignedInUser>()
            .cloned()
            .ok_or(MissingOAuthLayer)
    }
}

/// `Option<SignedInUser>`: `None` where no layer put a user (never rejects).
impl<S: Send + Sync> OptionalFromRequestParts<S> for SignedInUser {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<SignedInUser>().cloned())
    }
}
