//! [`AccessToken`] and [`Secret`]: credential values with redacted `Debug`.

use std::fmt;
use std::sync::Arc;

/// A token the vendor issued (`access_token`, `suite_access_token`,
/// `component_access_token`, `authorizer_access_token`) with its lifetime.
///
/// `Debug` shows the length, generation and expiry, never the text; read
/// the text with [`secret`](Self::secret). Cloning is cheap (the text is
/// shared).
///
/// The generation is the unix millisecond at which this instance or
/// another received it from the vendor: of two tokens of one credential,
/// the one with the higher generation is newer, and a cache never
/// replaces a newer one with an older one.
///
/// ```
/// use wecom_callback::client::AccessToken;
///
/// let token = AccessToken::new("s3cr3t-token", 1_700_000_000_000, 7200);
/// assert_eq!(token.expires_at_ms(), 1_700_007_200_000);
/// assert!(!format!("{token:?}").contains("s3cr3t-token"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    value: Arc<str>,
    fetched_at_ms: u64,
    expires_in: u64,
}

impl AccessToken {
    /// A token with text `value`, received at `fetched_at_ms` (unix
    /// milliseconds; also its generation), valid for `expires_in` seconds
    /// as the vendor said.
    #[must_use]
    pub fn new(value: impl Into<Arc<str>>, fetched_at_ms: u64, expires_in: u64) -> Self {
        Self {
            value: value.into(),
            fetched_at_ms,
            expires_in,
        }
    }

    /// The token text, to put in a request. Never log it.
    #[must_use]
    pub fn secret(&self) -> &str {
        &self.value
    }

    /// When it was received, unix milliseconds: its generation.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.fetched_at_ms
    }

    /// Its lifetime as the vendor gave it (`expires_in`), seconds.
    #[must_use]
    pub fn expires_in(&self) -> u64 {
        self.expires_in
    }

    /// When the vendor stops accepting it, unix milliseconds.
    #[must_use]
    pub fn expires_at_ms(&self) -> u64 {
        self.fetched_at_ms
            .saturating_add(self.expires_in.saturating_mul(1000))
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("len", &self.value.len())
            .field("generation", &self.fetched_at_ms)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// A durable secret or a credential's secret (`corpsecret`,
/// `suite_secret`, `permanent_code`, `authorizer_refresh_token`): `Debug`
/// and `Display` never show it.
///
/// ```
/// use wecom_callback::client::Secret;
///
/// let secret = Secret::new("my-corp-secret");
/// assert_eq!(secret.expose(), "my-corp-secret");
/// assert_eq!(format!("{secret:?}"), "Secret(14 bytes)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps `value`.
    #[must_use]
    pub fn new(value: impl Into<Arc<str>>) -> Self {
        Self(value.into())
    }

    /// The secret text, to put in a request or a store. Never log it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}
