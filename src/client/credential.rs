//! [`Credential`]: one kind of token and how to fetch it.

use std::fmt;
use std::sync::Arc;

use super::Client;
use super::error::ApiError;
use super::urls::Host;

/// The future a [`Credential`] or store method returns: boxed and `Send`.
pub type BoxFuture<'a, T> = crate::tickets::BoxFuture<'a, T>;

/// Which kind of token a credential yields; names the query parameter
/// that carries it on API calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialKind {
    /// A WeCom self-built app's `access_token` (`gettoken`; WeCom doc
    /// 获取access_token).
    CorpAccessToken,
    /// A WeCom suite's `suite_access_token` (WeCom doc 获取第三方应用凭证).
    SuiteAccessToken,
    /// The `access_token` of a corp that authorized a suite
    /// (`get_corp_token`; WeCom doc 获取企业凭证).
    AuthorizedCorpAccessToken,
    /// An Official Account's `access_token` (`cgi-bin/token` or
    /// `stable_token`; WeChat docs 获取Access token, 获取稳定版接口调用凭据).
    OfficialAccountAccessToken,
    /// An Open Platform component's `component_access_token` (WeChat Open
    /// Platform doc 获取令牌).
    ComponentAccessToken,
    /// An authorizer's `authorizer_access_token` (WeChat Open Platform doc
    /// 获取/刷新接口调用令牌); sent as `access_token`.
    AuthorizerAccessToken,
    /// A WeCom service provider's `provider_access_token` (WeCom doc
    /// 获取服务商凭证).
    ProviderAccessToken,
}

impl CredentialKind {
    /// A short name for logs and cache keys.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CorpAccessToken => "access_token",
            Self::SuiteAccessToken => "suite_access_token",
            Self::AuthorizedCorpAccessToken => "corp_access_token",
            Self::OfficialAccountAccessToken => "oa_access_token",
            Self::ComponentAccessToken => "component_access_token",
            Self::AuthorizerAccessToken => "authorizer_access_token",
            Self::ProviderAccessToken => "provider_access_token",
        }
    }

    /// The query parameter that carries this token on an API call:
    /// `access_token`, `suite_access_token`, `component_access_token` or
    /// `provider_access_token`.
    #[must_use]
    pub fn query_param(self) -> &'static str {
        match self {
            Self::SuiteAccessToken => "suite_access_token",
            Self::ProviderAccessToken => "provider_access_token",
            Self::ComponentAccessToken => "component_access_token",
            _ => "access_token",
        }
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the vendor does when a token is fetched again before it expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenReuse {
    /// A new token each time (Official Account `cgi-bin/token`,
    /// `api_component_token`, `api_authorizer_token`): the cache refreshes
    /// ahead of expiry, in the background, after
    /// [`CachePolicy::refresh_ratio`](super::CachePolicy::refresh_ratio) of
    /// the lifetime.
    NewEachFetch,
    /// The same token while it is valid (WeCom `gettoken`,
    /// `get_suite_token`, `get_corp_token`; `stable_token` in normal mode):
    /// a refresh ahead would only get the old token back, so the cache
    /// fetches once the token expired (one shared fetch; a call that meets
    /// the expiry first gets 42001 and is retried once).
    SameWhileValid,
}

/// A token as a fetch returned it: the text and the vendor's `expires_in`
/// (seconds). `Debug` hides the text.
#[derive(Clone)]
pub struct Fetched {
    pub(crate) token: String,
    pub(crate) expires_in: u64,
}

impl Fetched {
    /// The token `token`, valid `expires_in` seconds from now.
    #[must_use]
    pub fn new(token: impl Into<String>, expires_in: u64) -> Self {
        Self {
            token: token.into(),
            expires_in,
        }
    }
}

impl fmt::Debug for Fetched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetched")
            .field("len", &self.token.len())
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// A source of one token: what to fetch, from where, and under which cache
/// key. The crate's kinds are [`CorpCredential`](super::CorpCredential),
/// [`SuiteCredential`](super::SuiteCredential),
/// [`AuthorizedCorpCredential`](super::AuthorizedCorpCredential),
/// [`OfficialAccountCredential`](super::OfficialAccountCredential),
/// [`ComponentCredential`](super::ComponentCredential),
/// [`AuthorizerCredential`](super::AuthorizerCredential) and
/// [`ProviderCredential`](super::ProviderCredential); implement it for
/// any other token.
///
/// [`fetch`](Self::fetch) asks the vendor once; the
/// [`Client`]'s cache decides when (single flight, fences, refresh-ahead,
/// backoff) and records the fetch as a `tracing` event.
pub trait Credential: fmt::Debug + Send + Sync + 'static {
    /// The token's kind.
    fn kind(&self) -> CredentialKind;

    /// The app it belongs to (corp id, suite id, appid), for logs.
    fn app(&self) -> &str;

    /// The cache key: unique among every credential sharing a cache (the
    /// crate's kinds use kind, app and, for a corp app, a digest of the
    /// secret). Must not contain a secret.
    fn cache_key(&self) -> &str;

    /// The host its API calls go to.
    fn host(&self) -> Host;

    /// Asks the vendor for a new token, once.
    ///
    /// # Errors
    /// The vendor's or the transport's [`ApiError`]; a missing ticket or
    /// secret.
    fn fetch<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, Result<Fetched, ApiError>>;

    /// Whether a fetch before expiry gives a new token or the same one
    /// back; decides when the cache refreshes. Default
    /// [`TokenReuse::NewEachFetch`].
    fn reuse(&self) -> TokenReuse {
        TokenReuse::NewEachFetch
    }

    /// This credential behind an `Arc`, for a background refresh (clone the
    /// credential: the crate's kinds are cheap to clone).
    fn shared(&self) -> Arc<dyn Credential>;
}
