//! A WeCom service provider's `provider_access_token` (WeCom doc
//! 获取服务商凭证).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Client;
use super::credential::{BoxFuture, Credential, CredentialKind, Fetched, TokenReuse};
use super::error::ApiError;
use super::token::Secret;
use super::urls::Host;

/// A service provider's `provider_access_token`:
/// `POST /cgi-bin/service/get_provider_token` with the provider's `corpid`
/// and `provider_secret` (WeCom doc 获取服务商凭证); sent as
/// `provider_access_token` (e.g. `get_login_info`, `get_register_code`).
/// `Debug` hides the secret. Cheap to clone.
///
/// ```
/// use wecom_callback::client::{Credential, ProviderCredential};
///
/// let provider = ProviderCredential::new("wwprovider", "provider-secret");
/// assert_eq!(provider.cache_key(), "provider_access_token:wwprovider");
/// assert!(!format!("{provider:?}").contains("provider-secret"));
/// ```
#[derive(Clone)]
pub struct ProviderCredential {
    inner: Arc<ProviderInner>,
}

struct ProviderInner {
    corpid: String,
    provider_secret: Secret,
    key: String,
}

impl ProviderCredential {
    /// The provider `corpid` with `provider_secret`.
    #[must_use]
    pub fn new(corpid: impl Into<String>, provider_secret: impl Into<Secret>) -> Self {
        let corpid = corpid.into();
        let key = format!("{}:{corpid}", CredentialKind::ProviderAccessToken.as_str());
        Self {
            inner: Arc::new(ProviderInner {
                corpid,
                provider_secret: provider_secret.into(),
                key,
            }),
        }
    }
}

impl fmt::Debug for ProviderCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderCredential")
            .field("corpid", &self.inner.corpid)
            .field("provider_secret", &self.inner.provider_secret)
            .finish()
    }
}

#[derive(Serialize)]
struct Body<'a> {
    corpid: &'a str,
    provider_secret: &'a str,
}

#[derive(Deserialize)]
struct Answer {
    provider_access_token: String,
    expires_in: u64,
}

impl Credential for ProviderCredential {
    fn kind(&self) -> CredentialKind {
        CredentialKind::ProviderAccessToken
    }

    fn app(&self) -> &str {
        &self.inner.corpid
    }

    fn cache_key(&self) -> &str {
        &self.inner.key
    }

    fn host(&self) -> Host {
        Host::WeComApi
    }

    fn reuse(&self) -> TokenReuse {
        TokenReuse::SameWhileValid
    }

    fn fetch<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, Result<Fetched, ApiError>> {
        Box::pin(async move {
            let answer: Answer = client
                .post_plain(
                    Host::WeComApi,
                    "/cgi-bin/service/get_provider_token",
                    &[],
                    &Body {
                        corpid: &self.inner.corpid,
                        provider_secret: self.inner.provider_secret.expose(),
                    },
                )
                .await?;
            Ok(Fetched::new(
                answer.provider_access_token,
                answer.expires_in,
            ))
        })
    }

    fn shared(&self) -> Arc<dyn Credential> {
        Arc::new(self.clone())
    }
}
