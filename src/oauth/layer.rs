//! [`OAuthLayer`]: configuration, checked when it is built.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tower_layer::Layer;

use super::exchange::LoginProvider;
use super::service::OAuth;
use super::session::Cookies;
use super::state::StateSigner;
use crate::crypto::{OsRandom, RandomSource};
use crate::dedup::{DedupStore, MemoryDedupStore};
use crate::layer::{Clock, SystemClock};

/// The 64-byte key of the OAuth layer: its first 32 bytes sign `state`
/// (HMAC-SHA256), its last 32 encrypt the cookies (AES-256-GCM, the
/// `cookie` crate's private jar). Every instance behind one site needs the
/// same key. `Debug` prints no byte of it.
#[derive(Clone)]
pub struct CookieKey(cookie::Key);

impl CookieKey {
    /// The key from 64 bytes.
    ///
    /// # Errors
    /// [`OAuthConfigErrorKind::CookieKey`] unless `bytes` is 64 bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, OAuthConfigError> {
        if bytes.len() != 64 {
            return Err(OAuthConfigError(OAuthConfigErrorKind::CookieKey));
        }
        cookie::Key::try_from(bytes)
            .map(Self)
            .map_err(|_| OAuthConfigError(OAuthConfigErrorKind::CookieKey))
    }

    /// The key from 128 hex digits (the example's `OAUTH_COOKIE_KEY`).
    ///
    /// ```
    /// use wecom_callback::oauth::CookieKey;
    /// assert!(CookieKey::from_hex(&"ab".repeat(64)).is_ok());
    /// assert!(CookieKey::from_hex("abcd").is_err());
    /// ```
    ///
    /// # Errors
    /// [`OAuthConfigErrorKind::CookieKey`] for anything but 128 hex digits.
    pub fn from_hex(hex: &str) -> Result<Self, OAuthConfigError> {
        let bad = || OAuthConfigError(OAuthConfigErrorKind::CookieKey);
        let mut bytes = [0u8; 64];
        hex::decode_to_slice(hex.trim(), &mut bytes).map_err(|_| bad())?;
        Self::from_bytes(&bytes)
    }

    /// A fresh key from the operating system's random source. Sessions
    /// signed with it end when the process does, and other instances cannot
    /// read them: for development only.
    ///
    /// # Errors
    /// [`OAuthConfigErrorKind::Random`] when the random source fails.
    pub fn generate() -> Result<Self, OAuthConfigError> {
        let mut bytes = [0u8; 64];
        OsRandom
            .fill(&mut bytes)
            .map_err(|_| OAuthConfigError(OAuthConfigErrorKind::Random))?;
        Self::from_bytes(&bytes)
    }

    fn signing_key(&self) -> [u8; 32] {
        let mut key = [0u8; 32];
        for (slot, byte) in key.iter_mut().zip(self.0.signing()) {
            *slot = *byte;
        }
        key
    }
}

impl fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CookieKey(..)")
    }
}

/// What was wrong with the layer's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OAuthConfigErrorKind {
    /// The cookie key is not 64 bytes (128 hex digits).
    CookieKey,
    /// The public URL is not `http://` or `https://` with a host, or has a
    /// query or fragment.
    PublicUrl,
    /// The callback (or logout) path is not `/` followed by visible ASCII
    /// without `?`, `#` or `\`, or the two paths are the same.
    CallbackPath,
    /// A lifetime is zero or longer than the format allows.
    Lifetime,
    /// The random source failed.
    Random,
}

/// A configuration error of [`OAuthLayer`], raised when it is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthConfigError(OAuthConfigErrorKind);

impl OAuthConfigError {
    /// What was wrong.
    #[must_use]
    pub fn kind(&self) -> OAuthConfigErrorKind {
        self.0
    }
}

impl fmt::Display for OAuthConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            OAuthConfigErrorKind::CookieKey => "the cookie key must be 64 bytes (128 hex digits)",
            OAuthConfigErrorKind::PublicUrl => {
                "the public URL must be http(s)://host[:port][/prefix] without query or fragment"
            }
            OAuthConfigErrorKind::CallbackPath => "the callback path must be an absolute path",
            OAuthConfigErrorKind::Lifetime => "a lifetime is zero or too long",
            OAuthConfigErrorKind::Random => "the random source failed",
        })
    }
}

impl std::error::Error for OAuthConfigError {}

/// The shared configuration of a layer and its services.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) provider: Arc<dyn LoginProvider>,
    pub(crate) public_url: String,
    pub(crate) callback_path: String,
    /// Where a `POST` signs the browser out.
    pub(crate) logout_path: String,
    pub(crate) signer: StateSigner,
    pub(crate) cookies: Cookies,
    pub(crate) store: Arc<dyn DedupStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) random: Arc<dyn RandomSource>,
    pub(crate) state_ttl: Duration,
}

impl Config {
    /// `redirect_uri`: the configured public URL and the callback path,
    /// never anything from the request (`Host`, `X-Forwarded-*`).
    pub(crate) fn redirect_uri(&self) -> String {
        format!("{}{}", self.public_url, self.callback_path)
    }

    /// `scheme://host[:port]` of the public URL, for the logout's
    /// same-origin check.
    pub(crate) fn public_origin(&self) -> &str {
        origin_of(&self.public_url)
    }
}

/// The Tower layer that signs browser routes in through WeCom or WeChat web
/// login (网页授权). See the [module docs](super) for what it does.
#[derive(Debug, Clone)]
#[must_use]
pub struct OAuthLayer {
    config: Arc<Config>,
}

/// `scheme://host[:port]` of a checked public URL (its path prefix cut).
fn origin_of(public_url: &str) -> &str {
    let after_scheme = public_url.find("://").map_or(0, |i| i + 3);
    let end = public_url
        .get(after_scheme..)
        .and_then(|rest| rest.find('/'))
        .map_or(public_url.len(), |i| after_scheme + i);
    public_url.get(..end).unwrap_or(public_url)
}

fn valid_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && path
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'?' | b'#' | b'\\'))
}

impl OAuthLayer {
    /// The default callback path, `/oauth/callback`.
    pub const DEFAULT_CALLBACK_PATH: &'static str = "/oauth/callback";
    /// The default logout path, `/oauth/logout`.
    pub const DEFAULT_LOGOUT_PATH: &'static str = "/oauth/logout";
    /// The default `state` lifetime: 10 minutes.
    pub const DEFAULT_STATE_TTL: Duration = Duration::from_secs(600);
    /// The default session lifetime: 8 hours.
    pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

    /// A layer that signs users in with `provider`, at the site whose
    /// external base URL is `public_url` (scheme, host, optional port and
    /// path prefix, e.g. `https://app.example.com`), with `key`.
    ///
    /// Defaults: callback at [`DEFAULT_CALLBACK_PATH`](Self::DEFAULT_CALLBACK_PATH),
    /// `state` valid [`DEFAULT_STATE_TTL`](Self::DEFAULT_STATE_TTL), sessions
    /// [`DEFAULT_SESSION_TTL`](Self::DEFAULT_SESSION_TTL), `Secure` cookies,
    /// an in-memory single-use store (use [`store`](Self::store) with a
    /// shared store when several instances serve the site), the system clock
    /// and the OS random source.
    ///
    /// # Errors
    /// [`OAuthConfigErrorKind::PublicUrl`] for a malformed `public_url`.
    pub fn new(
        provider: impl LoginProvider,
        public_url: &str,
        key: &CookieKey,
    ) -> Result<Self, OAuthConfigError> {
        let public_url = public_url.trim_end_matches('/');
        let rest = public_url
            .strip_prefix("https://")
            .or_else(|| public_url.strip_prefix("http://"));
        let ok = rest.is_some_and(|rest| {
            !rest.is_empty()
                && !rest.starts_with('/')
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b'?' | b'#' | b'\\' | b'@'))
        });
        if !ok {
            return Err(OAuthConfigError(OAuthConfigErrorKind::PublicUrl));
        }
        let signer = StateSigner::new(&key.signing_key())
            .ok_or(OAuthConfigError(OAuthConfigErrorKind::CookieKey))?;
        let mut cookies = Cookies::new(key.0.clone());
        cookies.session_ttl_secs = Self::DEFAULT_SESSION_TTL.as_secs();
        cookies.nonce_ttl_secs = Self::DEFAULT_STATE_TTL.as_secs();
        Ok(Self {
            config: Arc::new(Config {
                provider: Arc::new(provider),
                public_url: public_url.to_owned(),
                callback_path: Self::DEFAULT_CALLBACK_PATH.to_owned(),
                logout_path: Self::DEFAULT_LOGOUT_PATH.to_owned(),
                signer,
                cookies,
                store: Arc::new(MemoryDedupStore::new()),
                clock: Arc::new(SystemClock),
                random: Arc::new(OsRandom),
                state_ttl: Self::DEFAULT_STATE_TTL,
            }),
        })
    }

    /// Edits the configuration in place, or a copy of it when the layer
    /// was cloned (so the clone keeps its own).
    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// The path the vendor sends the browser back to (joined to the public
    /// URL for `redirect_uri`; register that URL's host as the app's
    /// trusted domain). Must be `/` and visible ASCII, without `?` or `#`.
    ///
    /// # Errors
    /// [`OAuthConfigErrorKind::CallbackPath`] otherwise.
    pub fn callback_path(self, path: &str) -> Result<Self, OAuthConfigError> {
        if !valid_path(path) || path == self.config.logout_path {
            return Err(OAuthConfigError(OAuthConfigErrorKind::CallbackPath));
        }
        Ok(self.edit(|c| c.callback_path = path.to_owned()))
    }

    /// The path where a `POST` signs the browser out (default
    /// [`DEFAULT_LOGOUT_PATH`](Self::DEFAULT_LOGOUT_PATH)): the layer
    /// answers it itself with a 303 to the public URL's root and clears
    /// the session and nonce cookies. Only a same-origin `POST` is honoured
    /// (`Sec-Fetch-Site`, else `Origin`, must name this site; a request
    /// with neither, from a client that is no browser, is honoured too):
    /// a cross-site form cannot sign a user out (403,
    /// [`OAuthRejectionKind::CrossSite`](super::OAuthRejectionKind::CrossSite)).
    /// Other methods get 405. The session lives in the cookie only, so a
    /// copy of the cookie taken before stays valid until it expires. Must
    /// be `/` and visible ASCII, without `?` or `#`, and not the callback
    /// path.
    ///
    /// # Errors
    /// [`OAuthConfigErrorKind::CallbackPath`] otherwise.
    pub fn logout_path(self, path: &str) -> Result<Self, OAuthConfigError> {
        if !valid_path(path) || path == self.config.callback_path {
            return Err(OAuthConfigError(OAuthConfigErrorKind::CallbackPath));
        }
        Ok(self.edit(|c| c.logout_path = path.to_owned()))
    }

    /// How long a `state` (and the nonce cookie) stays valid: between 1 s
    /// and 1 hour.
    ///
    /// # Errors
    /// [`OAuthConfigErrorKind::Lifetime`] outside that range.
    pub fn state_ttl(self, ttl: Duration) -> Result<Self, OAuthConfigError> {
        if ttl.as_secs() == 0 || ttl > Duration::from_secs(3600) {
            return Err(OAuthConfigError(OAuthConfigErrorKind::Lifetime));
        }
        Ok(self.edit(|c| {
            c.state_ttl = ttl;
            c.cookies.nonce_ttl_secs = ttl.as_secs();
        }))
    }

    /// How long a session lasts after signing in: at least 1 s.
    ///
    /// # Errors
    /// [`OAuthConfigErrorKind::Lifetime`] for less than a second.
    pub fn session_ttl(self, ttl: Duration) -> Result<Self, OAuthConfigError> {
        if ttl.as_secs() == 0 {
            return Err(OAuthConfigError(OAuthConfigErrorKind::Lifetime));
        }
        Ok(self.edit(|c| c.cookies.session_ttl_secs = ttl.as_secs()))
    }

    /// Whether cookies carry `Secure` (and the `__Host-` prefix); on by
    /// default. Turn it off only to develop on `http://127.0.0.1`, where
    /// browsers drop `Secure` cookies.
    pub fn secure_cookies(self, secure: bool) -> Self {
        self.edit(|c| c.cookies.secure = secure)
    }

    /// The store that makes each `state` and `code` single use. Several
    /// instances behind one site must share one (e.g.
    /// [`RedisDedupStore`](crate::dedup) with the `redis` feature), or a
    /// state could be used once per instance.
    pub fn store(self, store: Arc<dyn DedupStore>) -> Self {
        self.edit(|c| c.store = store)
    }

    /// The clock (tests: [`FixedClock`](crate::FixedClock)).
    pub fn clock(self, clock: impl Clock) -> Self {
        self.edit(|c| c.clock = Arc::new(clock))
    }

    /// The random source of nonces and salts (default: the OS).
    pub fn random(self, random: impl RandomSource) -> Self {
        self.edit(|c| c.random = Arc::new(random))
    }

    /// The `redirect_uri` this layer sends: public URL + callback path.
    #[must_use]
    pub fn redirect_uri(&self) -> String {
        self.config.redirect_uri()
    }
}

impl<S> Layer<S> for OAuthLayer {
    type Service = OAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OAuth::new(inner, Arc::clone(&self.config))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::oauth::exchange::{ExchangeError, VerifiedCode};
    use crate::oauth::flow::Flow;
    use crate::oauth::identity::Identity;

    #[derive(Debug)]
    struct Nobody;

    impl LoginProvider for Nobody {
        fn flow_for(&self, _: Option<&str>) -> Flow {
            Flow::OfficialAccount
        }
        fn authorize_url(&self, _: Flow, _: &str, _: &str) -> String {
            String::new()
        }
        fn exchange<'a>(
            &'a self,
            _: Flow,
            _: VerifiedCode,
        ) -> crate::dedup::BoxFuture<'a, Result<Identity, ExchangeError>> {
            Box::pin(async {
                Err(ExchangeError::new(
                    super::super::ExchangeErrorKind::NoIdentity,
                ))
            })
        }
    }

    fn key() -> CookieKey {
        CookieKey::from_bytes(&[9; 64]).unwrap()
    }

    #[test]
    fn configuration_is_checked_when_built() {
        let kind = |r: Result<OAuthLayer, OAuthConfigError>| r.map(|_| ()).unwrap_err().kind();
        for url in [
            "app.example.com",
            "ftp://a",
            "https://",
            "https:///x",
            "https://a?x=1",
            "https://a#f",
            "https://u@evil",
        ] {
            assert_eq!(
                kind(OAuthLayer::new(Nobody, url, &key())),
                OAuthConfigErrorKind::PublicUrl,
                "{url}"
            );
        }
        let layer = OAuthLayer::new(Nobody, "https://app.example.com/prefix/", &key()).unwrap();
        assert_eq!(
            layer.redirect_uri(),
            "https://app.example.com/prefix/oauth/callback"
        );
        assert_eq!(layer.config.public_origin(), "https://app.example.com");
        let layer = OAuthLayer::new(Nobody, "http://127.0.0.1:8080", &key()).unwrap();
        assert_eq!(layer.config.public_origin(), "http://127.0.0.1:8080");
        for path in ["oauth", "//evil", "/a?b", "/a#b", "/a b", "/a\\b", ""] {
            let layer = OAuthLayer::new(Nobody, "https://a", &key()).unwrap();
            assert_eq!(
                kind(layer.callback_path(path)),
                OAuthConfigErrorKind::CallbackPath,
                "{path}"
            );
        }
        let layer = OAuthLayer::new(Nobody, "https://a", &key()).unwrap();
        assert_eq!(
            layer.callback_path("/auth/wecom").unwrap().redirect_uri(),
            "https://a/auth/wecom"
        );
        // A clone keeps its own configuration when the other is edited.
        let original = OAuthLayer::new(Nobody, "https://a", &key()).unwrap();
        let moved = original.clone().callback_path("/auth/wecom").unwrap();
        assert_eq!(original.redirect_uri(), "https://a/oauth/callback");
        assert_eq!(moved.redirect_uri(), "https://a/auth/wecom");
        let layer = OAuthLayer::new(Nobody, "https://a", &key()).unwrap();
        assert_eq!(
            kind(layer.clone().state_ttl(Duration::ZERO)),
            OAuthConfigErrorKind::Lifetime
        );
        assert_eq!(
            kind(layer.clone().state_ttl(Duration::from_secs(3601))),
            OAuthConfigErrorKind::Lifetime
        );
        assert_eq!(
            kind(layer.session_ttl(Duration::ZERO)),
            OAuthConfigErrorKind::Lifetime
        );
        assert_eq!(
            CookieKey::from_bytes(&[1; 63]).unwrap_err().kind(),
            OAuthConfigErrorKind::CookieKey
        );
        assert_eq!(
            CookieKey::from_hex(&"zz".repeat(64)).unwrap_err().kind(),
            OAuthConfigErrorKind::CookieKey
        );
        assert_eq!(format!("{:?}", key()), "CookieKey(..)");
    }
}
