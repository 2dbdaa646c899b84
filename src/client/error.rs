//! [`ApiError`]: why a vendor call or a credential failed.

use std::error::Error;
use std::fmt;

/// A boxed error from a transport or a store, kept as an [`ApiError`]'s
/// source.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// Why a call failed. The vendor's codes that a client acts on are named
/// (WeCom doc 全局错误码, WeChat doc 全局返回码); any other non-zero
/// `errcode` is [`Other`](Self::Other).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// `40001`: invalid credential (a wrong secret, or an `access_token`
    /// that is not the latest).
    InvalidCredential,
    /// `40014`: invalid `access_token`.
    InvalidAccessToken,
    /// `42001`: `access_token` expired.
    AccessTokenExpired,
    /// `45009`: the API's daily quota is reached. The client stops fetching
    /// that credential for a cool-down.
    QuotaReached,
    /// `40029`: invalid code (web login; a code is single use, about five
    /// minutes).
    InvalidCode,
    /// `61023`: invalid `authorizer_refresh_token`: the authorizer must
    /// authorize again.
    InvalidRefreshToken,
    /// `-1`: system busy; retried with backoff.
    SystemBusy,
    /// `40082`: invalid `suite_access_token`.
    InvalidSuiteAccessToken,
    /// `40085`: invalid `suite_ticket` (expired, or of another suite).
    InvalidSuiteTicket,
    /// `42009`: `suite_access_token` expired.
    SuiteAccessTokenExpired,
    /// `40013`: invalid corp id or appid.
    InvalidAppId,
    /// Any other non-zero `errcode`.
    Other(i64),
    /// The vendor (or a proxy) answered with a non-2xx HTTP status.
    HttpStatus(u16),
    /// The request could not be sent or the answer not read (connect,
    /// TLS, timeout, body larger than the limit).
    Transport,
    /// The answer is not the JSON the call expects.
    MalformedResponse,
    /// The ticket a token fetch needs (`suite_ticket`,
    /// `component_verify_ticket`) is not in the ticket store yet, or is
    /// older than its lifetime.
    MissingTicket,
    /// The durable secret a token fetch needs (`permanent_code`,
    /// `authorizer_refresh_token`) is not in the secret store.
    MissingSecret,
    /// The ticket or secret store failed.
    Store,
    /// Not fetched: the credential is cooling down after `45009` or after
    /// failed fetches, and no valid token is cached.
    CoolingDown,
    /// A URL could not be built (a base URL or path that is not a URL).
    InvalidUrl,
}

impl ApiErrorKind {
    /// The kind of a vendor `errcode` (never called with 0).
    #[must_use]
    pub fn from_code(code: i64) -> Self {
        match code {
            40001 => Self::InvalidCredential,
            40014 => Self::InvalidAccessToken,
            42001 => Self::AccessTokenExpired,
            45009 => Self::QuotaReached,
            40029 => Self::InvalidCode,
            61023 => Self::InvalidRefreshToken,
            -1 => Self::SystemBusy,
            40082 => Self::InvalidSuiteAccessToken,
            40085 => Self::InvalidSuiteTicket,
            42009 => Self::SuiteAccessTokenExpired,
            40013 => Self::InvalidAppId,
            other => Self::Other(other),
        }
    }

    /// The vendor `errcode` of this kind, if it is one.
    #[must_use]
    pub fn code(self) -> Option<i64> {
        Some(match self {
            Self::InvalidCredential => 40001,
            Self::InvalidAccessToken => 40014,
            Self::AccessTokenExpired => 42001,
            Self::QuotaReached => 45009,
            Self::InvalidCode => 40029,
            Self::InvalidRefreshToken => 61023,
            Self::SystemBusy => -1,
            Self::InvalidSuiteAccessToken => 40082,
            Self::InvalidSuiteTicket => 40085,
            Self::SuiteAccessTokenExpired => 42009,
            Self::InvalidAppId => 40013,
            Self::Other(code) => code,
            _ => return None,
        })
    }

    /// Whether the token used for the call is no longer good: `40001`,
    /// `40014`, `42001`, `40082`, `42009`. The client drops exactly that
    /// token and retries once.
    #[must_use]
    pub fn is_token_rejected(self) -> bool {
        matches!(
            self,
            Self::InvalidCredential
                | Self::InvalidAccessToken
                | Self::AccessTokenExpired
                | Self::InvalidSuiteAccessToken
                | Self::SuiteAccessTokenExpired
        )
    }

    /// Whether a token fetch that failed this way is retried with backoff:
    /// `-1`, a 5xx status, a transport failure.
    #[must_use]
    pub fn is_transient(self) -> bool {
        matches!(self, Self::SystemBusy | Self::Transport)
            || matches!(self, Self::HttpStatus(status) if status >= 500)
    }

    fn describe(self) -> &'static str {
        match self {
            Self::InvalidCredential => "invalid credential",
            Self::InvalidAccessToken => "invalid access_token",
            Self::AccessTokenExpired => "access_token expired",
            Self::QuotaReached => "API quota reached",
            Self::InvalidCode => "invalid code",
            Self::InvalidRefreshToken => "invalid authorizer_refresh_token",
            Self::SystemBusy => "system busy",
            Self::InvalidSuiteAccessToken => "invalid suite_access_token",
            Self::InvalidSuiteTicket => "invalid suite_ticket",
            Self::SuiteAccessTokenExpired => "suite_access_token expired",
            Self::InvalidAppId => "invalid corp id or appid",
            Self::Other(_) => "vendor error",
            Self::HttpStatus(_) => "HTTP error status",
            Self::Transport => "transport failed",
            Self::MalformedResponse => "malformed response",
            Self::MissingTicket => "ticket missing or expired",
            Self::MissingSecret => "durable secret missing",
            Self::Store => "store failed",
            Self::CoolingDown => "credential cooling down",
            Self::InvalidUrl => "invalid URL",
        }
    }
}

/// A vendor call or a credential failed.
///
/// Opaque: [`kind`](Self::kind) says why, [`code`](Self::code) gives the
/// vendor's `errcode`, [`errmsg`](Self::errmsg) its text (may be logged: it
/// carries the vendor's `hint`/`rid`, never a token; the client removes the
/// token it sent if the vendor echoed it). `Display` is the kind, the code
/// and the `errmsg`; a transport's or store's error is the
/// [`source`](Error::source).
///
/// ```
/// use wecom_callback::client::{ApiError, ApiErrorKind};
///
/// let err = ApiError::from_vendor(45009, "api freq out of limit");
/// assert_eq!(err.kind(), ApiErrorKind::QuotaReached);
/// assert_eq!(err.code(), Some(45009));
/// assert_eq!(err.to_string(), "API quota reached (errcode 45009): api freq out of limit");
/// ```
pub struct ApiError {
    kind: ApiErrorKind,
    errmsg: Option<String>,
    source: Option<BoxError>,
}

impl ApiError {
    /// An error of `kind`, without vendor text or source.
    #[must_use]
    pub fn new(kind: ApiErrorKind) -> Self {
        Self {
            kind,
            errmsg: None,
            source: None,
        }
    }

    /// The error for a vendor answer with a non-zero `errcode`.
    #[must_use]
    pub fn from_vendor(errcode: i64, errmsg: impl Into<String>) -> Self {
        Self {
            kind: ApiErrorKind::from_code(errcode),
            errmsg: Some(errmsg.into()),
            source: None,
        }
    }

    /// An error of `kind` caused by `source`.
    #[must_use]
    pub fn with_source(kind: ApiErrorKind, source: impl Into<BoxError>) -> Self {
        Self {
            kind,
            errmsg: None,
            source: Some(source.into()),
        }
    }

    /// Why the call failed.
    #[must_use]
    pub fn kind(&self) -> ApiErrorKind {
        self.kind
    }

    /// The vendor's `errcode`, when the vendor answered with one.
    #[must_use]
    pub fn code(&self) -> Option<i64> {
        self.kind.code()
    }

    /// The vendor's `errmsg`, when it answered with one.
    #[must_use]
    pub fn errmsg(&self) -> Option<&str> {
        self.errmsg.as_deref()
    }

    /// Removes every occurrence of `secret` from the `errmsg`.
    pub(crate) fn scrub(mut self, secret: &str) -> Self {
        if let Some(msg) = self.errmsg.as_mut() {
            if !secret.is_empty() && msg.contains(secret) {
                *msg = msg.replace(secret, "<redacted>");
            }
        }
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.describe())?;
        match self.kind {
            ApiErrorKind::HttpStatus(status) => write!(f, " {status}")?,
            kind => {
                if let Some(code) = kind.code() {
                    write!(f, " (errcode {code})")?;
                }
            }
        }
        if let Some(msg) = &self.errmsg {
            write!(f, ": {msg}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("kind", &self.kind)
            .field("errmsg", &self.errmsg)
            .field("source", &self.source)
            .finish()
    }
}

impl Error for ApiError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn Error + 'static))
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        Self::with_source(ApiErrorKind::Store, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_codes_round_trip() {
        for code in [
            40001, 40014, 42001, 45009, 40029, 61023, -1, 40082, 40085, 42009, 40013, 48001,
        ] {
            let kind = ApiErrorKind::from_code(code);
            assert_eq!(kind.code(), Some(code));
        }
        assert_eq!(ApiErrorKind::from_code(48001), ApiErrorKind::Other(48001));
        assert!(ApiErrorKind::from_code(42009).is_token_rejected());
        assert!(!ApiErrorKind::from_code(45009).is_token_rejected());
        assert!(ApiErrorKind::HttpStatus(502).is_transient());
        assert!(!ApiErrorKind::HttpStatus(404).is_transient());
    }

    #[test]
    fn scrub_removes_an_echoed_token() {
        let err = ApiError::from_vendor(40014, "invalid access_token TOKEN-abc, rid: 1")
            .scrub("TOKEN-abc");
        assert!(!err.to_string().contains("TOKEN-abc"));
        assert!(!format!("{err:?}").contains("TOKEN-abc"));
    }
}
