//! The answers the OAuth layer gives instead of calling the handler: a
//! short fixed page and an [`OAuthRejection`] in the response extensions.

use std::fmt;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;

use super::exchange::ExchangeErrorKind;
use super::state::StateError;

/// Why the layer answered a request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OAuthRejectionKind {
    /// No valid session and the request is not a page navigation (not
    /// `GET`/`HEAD`, or its `Accept` lacks `text/html`): 401, never a
    /// redirect that a script or an API client could not follow.
    NotSignedIn,
    /// The callback came back without a `code`: the user declined (WeChat
    /// doc 网页授权: "若用户禁止授权，则不会发生重定向" / QR login cancelled).
    /// 403.
    ConsentDenied,
    /// The callback has no `state`, or a parameter twice, or a `code` over
    /// 512 bytes or not visible ASCII. 400.
    BadCallback,
    /// The `state` did not verify: malformed, not signed for this browser
    /// (login CSRF), expired or from the future. 400 if malformed, else
    /// 403.
    State(StateError),
    /// The `state` or the `code` was used before (a replay, a reload, or a
    /// second instance racing). 403.
    Replayed,
    /// The vendor refused the exchange (`errcode`): 403. Transport, token
    /// or answer trouble: 502.
    Exchange(ExchangeErrorKind),
    /// The single-use store failed: 503.
    StoreUnavailable,
    /// The callback path answers `GET` only, the logout path `POST` only.
    /// 405.
    MethodNotAllowed,
    /// A logout `POST` from another site (`Sec-Fetch-Site` or `Origin`
    /// names another origin): a cross-site form cannot sign a user out.
    /// 403.
    CrossSite,
    /// A random source or cookie could not be produced. 503.
    Unavailable,
}

impl OAuthRejectionKind {
    /// The status the layer answers with.
    #[must_use]
    pub fn status(self) -> StatusCode {
        match self {
            Self::NotSignedIn => StatusCode::UNAUTHORIZED,
            Self::BadCallback | Self::State(StateError::Malformed) => StatusCode::BAD_REQUEST,
            Self::ConsentDenied | Self::State(_) | Self::Replayed | Self::CrossSite => {
                StatusCode::FORBIDDEN
            }
            Self::Exchange(ExchangeErrorKind::Vendor(_) | ExchangeErrorKind::NoIdentity) => {
                StatusCode::FORBIDDEN
            }
            Self::Exchange(_) => StatusCode::BAD_GATEWAY,
            Self::StoreUnavailable | Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// The page's text: short, fixed, and without anything from the
    /// request.
    #[must_use]
    pub fn body_text(self) -> &'static str {
        match self {
            Self::NotSignedIn => "Not signed in.",
            Self::ConsentDenied => "Sign-in was cancelled. You can close this page or try again.",
            Self::BadCallback => "This sign-in link is not valid.",
            Self::State(StateError::Expired) => {
                "This sign-in link has expired. Please start again."
            }
            Self::State(_) => {
                "This sign-in link was not started in this browser. Please start again."
            }
            Self::Replayed => "This sign-in link was already used. Please start again.",
            Self::Exchange(ExchangeErrorKind::Vendor(_) | ExchangeErrorKind::NoIdentity) => {
                "Sign-in was refused by the identity provider. Please start again."
            }
            Self::Exchange(_) => "The identity provider could not be reached. Please try again.",
            Self::StoreUnavailable | Self::Unavailable => {
                "Sign-in is unavailable right now. Please try again."
            }
            Self::MethodNotAllowed => "Method not allowed.",
            Self::CrossSite => "Sign-out must come from this site.",
        }
    }

    /// A short name for logs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotSignedIn => "not_signed_in",
            Self::ConsentDenied => "consent_denied",
            Self::BadCallback => "bad_callback",
            Self::State(StateError::Malformed) => "state_malformed",
            Self::State(StateError::BadSignature) => "state_bad_signature",
            Self::State(StateError::Expired) => "state_expired",
            Self::State(_) => "state_from_future",
            Self::Replayed => "replayed",
            Self::Exchange(ExchangeErrorKind::Vendor(_)) => "vendor_error",
            Self::Exchange(ExchangeErrorKind::NoIdentity) => "no_identity",
            Self::Exchange(_) => "exchange_failed",
            Self::StoreUnavailable => "store_unavailable",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::CrossSite => "cross_site",
            Self::Unavailable => "unavailable",
        }
    }
}

impl fmt::Display for OAuthRejectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Rides in the extensions of every response the layer made itself, so an
/// outer middleware can log why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthRejection {
    kind: OAuthRejectionKind,
}

impl OAuthRejection {
    /// Why.
    #[must_use]
    pub fn kind(&self) -> OAuthRejectionKind {
        self.kind
    }
}

/// The page for `kind`: HTML for the browser routes (a status page with
/// one link back to the site root; nothing refreshes or redirects, so a
/// failure cannot loop), plain text for the 401.
pub(crate) fn page(kind: OAuthRejectionKind) -> Response<Full<Bytes>> {
    let text = kind.body_text();
    let (body, content_type) = if kind == OAuthRejectionKind::NotSignedIn {
        (
            Bytes::from_static(text.as_bytes()),
            "text/plain; charset=utf-8",
        )
    } else {
        let html = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign-in</title></head>\
             <body><p>{text}</p><p><a href=\"/\">Home</a></p></body></html>"
        );
        (Bytes::from(html), "text/html; charset=utf-8")
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = kind.status();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.extensions_mut().insert(OAuthRejection { kind });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_rejection_is_a_500_or_a_redirect() {
        let kinds = [
            OAuthRejectionKind::NotSignedIn,
            OAuthRejectionKind::ConsentDenied,
            OAuthRejectionKind::BadCallback,
            OAuthRejectionKind::State(StateError::Malformed),
            OAuthRejectionKind::State(StateError::BadSignature),
            OAuthRejectionKind::State(StateError::Expired),
            OAuthRejectionKind::State(StateError::FromTheFuture),
            OAuthRejectionKind::Replayed,
            OAuthRejectionKind::Exchange(ExchangeErrorKind::Vendor(40029)),
            OAuthRejectionKind::Exchange(ExchangeErrorKind::Transport),
            OAuthRejectionKind::StoreUnavailable,
            OAuthRejectionKind::MethodNotAllowed,
            OAuthRejectionKind::Unavailable,
        ];
        for kind in kinds {
            let response = page(kind);
            assert_ne!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
            assert!(!response.status().is_redirection());
            assert!(response.headers().get(header::LOCATION).is_none());
            assert_eq!(
                response
                    .extensions()
                    .get::<OAuthRejection>()
                    .map(OAuthRejection::kind),
                Some(kind)
            );
        }
        assert_eq!(
            page(OAuthRejectionKind::Exchange(ExchangeErrorKind::Vendor(
                40029
            )))
            .status(),
            StatusCode::FORBIDDEN
        );
    }
}
