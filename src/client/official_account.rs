//! An Official Account's `access_token`: `cgi-bin/token` (WeChat doc
//! 获取Access token) or `stable_token` (获取稳定版接口调用凭据).

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use super::Client;
use super::corp::TokenAnswer;
use super::credential::{BoxFuture, Credential, CredentialKind, Fetched, TokenReuse};
use super::error::ApiError;
use super::token::Secret;
use super::urls::Host;

/// An Official Account's (or Mini Program's) `access_token`.
///
/// [`new`](Self::new) uses `GET /cgi-bin/token?grant_type=client_credential`:
/// each fetch issues a new token and the previous one dies about five
/// minutes later, so instances must share one cache (a `RedisTokenStore`)
/// or they kill each other's tokens. [`stable`](Self::stable) uses
/// `POST /cgi-bin/stable_token` with `force_refresh: false`, which returns
/// the same token during its validity. The two are cached under different
/// keys. `Debug` hides the secret. Cheap to clone.
///
/// ```
/// use wecom_callback::client::{Credential, OfficialAccountCredential};
///
/// let oa = OfficialAccountCredential::stable("wx1234567890abcdef", "app-secret");
/// assert_eq!(oa.cache_key(), "oa_stable_token:wx1234567890abcdef");
/// ```
#[derive(Clone)]
pub struct OfficialAccountCredential {
    inner: Arc<OaInner>,
}

struct OaInner {
    appid: String,
    secret: Secret,
    stable: bool,
    key: String,
}

impl OfficialAccountCredential {
    /// The account `appid` with `secret`, through `cgi-bin/token`.
    #[must_use]
    pub fn new(appid: impl Into<String>, secret: impl Into<Secret>) -> Self {
        Self::build(appid.into(), secret.into(), false)
    }

    /// The account `appid` with `secret`, through `stable_token`.
    #[must_use]
    pub fn stable(appid: impl Into<String>, secret: impl Into<Secret>) -> Self {
        Self::build(appid.into(), secret.into(), true)
    }

    fn build(appid: String, secret: Secret, stable: bool) -> Self {
        let key = if stable {
            format!("oa_stable_token:{appid}")
        } else {
            format!(
                "{}:{appid}",
                CredentialKind::OfficialAccountAccessToken.as_str()
            )
        };
        Self {
            inner: Arc::new(OaInner {
                appid,
                secret,
                stable,
                key,
            }),
        }
    }

    /// The appid.
    #[must_use]
    pub fn appid(&self) -> &str {
        &self.inner.appid
    }
}

impl fmt::Debug for OfficialAccountCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OfficialAccountCredential")
            .field("appid", &self.inner.appid)
            .field("secret", &self.inner.secret)
            .field("stable", &self.inner.stable)
            .finish()
    }
}

#[derive(Serialize)]
struct StableBody<'a> {
    grant_type: &'a str,
    appid: &'a str,
    secret: &'a str,
    force_refresh: bool,
}

impl Credential for OfficialAccountCredential {
    fn reuse(&self) -> TokenReuse {
        if self.inner.stable {
            TokenReuse::SameWhileValid
        } else {
            TokenReuse::NewEachFetch
        }
    }

    fn kind(&self) -> CredentialKind {
        CredentialKind::OfficialAccountAccessToken
    }

    fn app(&self) -> &str {
        &self.inner.appid
    }

    fn cache_key(&self) -> &str {
        &self.inner.key
    }

    fn host(&self) -> Host {
        Host::WeChatApi
    }

    fn fetch<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, Result<Fetched, ApiError>> {
        Box::pin(async move {
            let answer: TokenAnswer = if self.inner.stable {
                client
                    .post_plain(
                        Host::WeChatApi,
                        "/cgi-bin/stable_token",
                        &[],
                        &StableBody {
                            grant_type: "client_credential",
                            appid: &self.inner.appid,
                            secret: self.inner.secret.expose(),
                            force_refresh: false,
                        },
                    )
                    .await?
            } else {
                client
                    .get_plain(
                        Host::WeChatApi,
                        "/cgi-bin/token",
                        &[
                            ("grant_type", "client_credential"),
                            ("appid", &self.inner.appid),
                            ("secret", self.inner.secret.expose()),
                        ],
                    )
                    .await?
            };
            Ok(Fetched::new(answer.access_token, answer.expires_in))
        })
    }

    fn shared(&self) -> Arc<dyn Credential> {
        Arc::new(self.clone())
    }
}
