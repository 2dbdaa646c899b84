//! A WeCom third-party suite: `get_suite_token` from the stored
//! `suite_ticket` (WeCom doc 获取第三方应用凭证), `get_pre_auth_code`
//! (获取预授权码), `get_permanent_code` on `create_auth` (获取企业永久授权码)
//! and `get_corp_token` for each authorized corp (获取企业凭证).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Client;
use super::corp::TokenAnswer;
use super::credential::{BoxFuture, Credential, CredentialKind, Fetched, TokenReuse};
use super::error::{ApiError, ApiErrorKind};
use super::store::SecretStore;
use super::token::Secret;
use super::urls::Host;
use crate::message::Message;
use crate::tickets::{TicketKind, TicketStore};

/// How long a `suite_ticket` is valid after its push (WeCom doc
/// 推送suite_ticket): 30 minutes, seconds ([`TicketKind::lifetime`]).
pub const SUITE_TICKET_LIFETIME: u64 = TicketKind::SuiteTicket.lifetime().as_secs();

/// A suite's `suite_access_token`: `POST /cgi-bin/service/get_suite_token`
/// with `suite_id`, `suite_secret` and the newest `suite_ticket` read from
/// the [`TicketStore`] the callback handler saves pushes into (no glue:
/// save the push, and the next fetch uses it). A ticket older than
/// [`SUITE_TICKET_LIFETIME`] is not sent ([`ApiErrorKind::MissingTicket`]).
///
/// Permanent codes of the corps that authorized the suite go to the
/// [`SecretStore`] given here. `Debug` hides the secret. Cheap to clone.
#[derive(Clone)]
pub struct SuiteCredential {
    inner: Arc<SuiteInner>,
}

struct SuiteInner {
    suite_id: String,
    suite_secret: Secret,
    tickets: Arc<dyn TicketStore>,
    secrets: Arc<dyn SecretStore>,
    key: String,
}

#[derive(Serialize)]
struct SuiteTokenRequest<'a> {
    suite_id: &'a str,
    suite_secret: &'a str,
    suite_ticket: &'a str,
}

#[derive(Deserialize)]
struct SuiteTokenAnswer {
    suite_access_token: String,
    expires_in: u64,
}

/// `get_pre_auth_code`'s and `api_create_preauthcode`'s answer.
#[derive(Clone, Deserialize)]
#[non_exhaustive]
pub struct PreAuthCode {
    /// The pre-authorization code, for the authorization page.
    pub pre_auth_code: String,
    /// Its lifetime, seconds (the vendor says 1200 for WeCom).
    pub expires_in: u64,
}

impl fmt::Debug for PreAuthCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreAuthCode")
            .field("len", &self.pre_auth_code.len())
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// `auth_corp_info` of `get_permanent_code`'s answer (the fields this
/// crate reads; the rest is in the vendor's document).
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct AuthCorpInfo {
    /// The authorizing corp's id (`auth_corpid` for `get_corp_token`).
    pub corpid: String,
    /// Its short name.
    #[serde(default)]
    pub corp_name: String,
}

#[derive(Deserialize)]
struct PermanentCodeAnswer {
    permanent_code: String,
    auth_corp_info: AuthCorpInfo,
}

impl SuiteCredential {
    /// Suite `suite_id` with `suite_secret`, reading tickets from `tickets`
    /// and keeping permanent codes in `secrets`.
    #[must_use]
    pub fn new(
        suite_id: impl Into<String>,
        suite_secret: impl Into<Secret>,
        tickets: Arc<dyn TicketStore>,
        secrets: Arc<dyn SecretStore>,
    ) -> Self {
        let suite_id = suite_id.into();
        let key = format!("{}:{suite_id}", CredentialKind::SuiteAccessToken.as_str());
        Self {
            inner: Arc::new(SuiteInner {
                suite_id,
                suite_secret: suite_secret.into(),
                tickets,
                secrets,
                key,
            }),
        }
    }

    /// The suite id.
    #[must_use]
    pub fn suite_id(&self) -> &str {
        &self.inner.suite_id
    }

    /// The secret store key of `corpid`'s permanent code:
    /// `permanent_code:<suite_id>:<corpid>`.
    #[must_use]
    pub fn permanent_code_key(&self, corpid: &str) -> String {
        format!("permanent_code:{}:{corpid}", self.inner.suite_id)
    }

    /// `GET /cgi-bin/service/get_pre_auth_code` (WeCom doc 获取预授权码).
    ///
    /// # Errors
    /// The vendor's, the transport's [`ApiError`]; no token.
    pub async fn pre_auth_code(&self, client: &Client) -> Result<PreAuthCode, ApiError> {
        client
            .get_json(self, "/cgi-bin/service/get_pre_auth_code", &[])
            .await
    }

    /// Exchanges `auth_code` (from a `create_auth` push) with
    /// `POST /cgi-bin/service/get_permanent_code` (WeCom doc
    /// 获取企业永久授权码), stores the permanent code in the secret store
    /// and returns the authorized corp's credential. (The answer's own
    /// `access_token` is not used: the corp's token comes from
    /// `get_corp_token`, like every later one.)
    ///
    /// # Errors
    /// The vendor's [`ApiError`] (an `auth_code` is single use), the
    /// store's ([`ApiErrorKind::Store`]: the code was exchanged but not
    /// kept; the corp must authorize again).
    pub async fn exchange_auth_code(
        &self,
        client: &Client,
        auth_code: &str,
    ) -> Result<AuthorizedCorpCredential, ApiError> {
        #[derive(Serialize)]
        struct Body<'a> {
            auth_code: &'a str,
        }
        let answer: PermanentCodeAnswer = client
            .post_json(
                self,
                "/cgi-bin/service/get_permanent_code",
                &[],
                &Body { auth_code },
            )
            .await?;
        let corpid = answer.auth_corp_info.corpid;
        if corpid.is_empty() {
            return Err(ApiError::new(ApiErrorKind::MalformedResponse));
        }
        let key = self.permanent_code_key(&corpid);
        self.inner
            .secrets
            .put_secret(&key, &Secret::new(answer.permanent_code))
            .await?;
        tracing::info!(
            target: "wecom_callback::client",
            suite_id = %self.inner.suite_id,
            corpid = %corpid,
            "permanent_code stored"
        );
        Ok(self.authorized_corp(corpid))
    }

    /// The one call for a `create_auth` push: exchanges its `AuthCode` and
    /// stores the permanent code. `Ok(None)` for any other push or a push
    /// of another suite.
    ///
    /// # Errors
    /// As [`exchange_auth_code`](Self::exchange_auth_code).
    pub async fn on_create_auth(
        &self,
        client: &Client,
        message: &Message,
    ) -> Result<Option<AuthorizedCorpCredential>, ApiError> {
        if message.info_type() != Some("create_auth")
            || message.to_user_name() != self.inner.suite_id
        {
            return Ok(None);
        }
        let Some(auth_code) = message.field("AuthCode").filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        self.exchange_auth_code(client, auth_code).await.map(Some)
    }

    /// The credential of `corpid`, a corp that authorized this suite (its
    /// permanent code must be in the secret store).
    #[must_use]
    pub fn authorized_corp(&self, corpid: impl Into<String>) -> AuthorizedCorpCredential {
        let corpid = corpid.into();
        let key = format!(
            "{}:{}:{corpid}",
            CredentialKind::AuthorizedCorpAccessToken.as_str(),
            self.inner.suite_id
        );
        AuthorizedCorpCredential {
            inner: Arc::new(AuthorizedInner {
                suite: self.clone(),
                corpid,
                key,
            }),
        }
    }
}

impl fmt::Debug for SuiteCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SuiteCredential")
            .field("suite_id", &self.inner.suite_id)
            .field("suite_secret", &self.inner.suite_secret)
            .finish_non_exhaustive()
    }
}

impl Credential for SuiteCredential {
    fn reuse(&self) -> TokenReuse {
        TokenReuse::SameWhileValid
    }

    fn kind(&self) -> CredentialKind {
        CredentialKind::SuiteAccessToken
    }

    fn app(&self) -> &str {
        &self.inner.suite_id
    }

    fn cache_key(&self) -> &str {
        &self.inner.key
    }

    fn host(&self) -> Host {
        Host::WeComApi
    }

    fn fetch<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, Result<Fetched, ApiError>> {
        Box::pin(async move {
            let ticket = self
                .inner
                .tickets
                .latest(&self.inner.suite_id, TicketKind::SuiteTicket)
                .await?
                .filter(|t| !t.is_expired(TicketKind::SuiteTicket, client.now_ms() / 1000))
                .ok_or_else(|| ApiError::new(ApiErrorKind::MissingTicket))?;
            let answer: SuiteTokenAnswer = client
                .post_plain(
                    Host::WeComApi,
                    "/cgi-bin/service/get_suite_token",
                    &[],
                    &SuiteTokenRequest {
                        suite_id: &self.inner.suite_id,
                        suite_secret: self.inner.suite_secret.expose(),
                        suite_ticket: ticket.ticket(),
                    },
                )
                .await?;
            Ok(Fetched::new(answer.suite_access_token, answer.expires_in))
        })
    }

    fn shared(&self) -> Arc<dyn Credential> {
        Arc::new(self.clone())
    }
}

/// The `access_token` of a corp that authorized a suite:
/// `POST /cgi-bin/service/get_corp_token` with `auth_corpid` and the
/// stored permanent code (WeCom doc 获取企业凭证). Built by
/// [`SuiteCredential::authorized_corp`] or returned by
/// [`SuiteCredential::on_create_auth`]. Cheap to clone.
#[derive(Clone)]
pub struct AuthorizedCorpCredential {
    inner: Arc<AuthorizedInner>,
}

struct AuthorizedInner {
    suite: SuiteCredential,
    corpid: String,
    key: String,
}

impl AuthorizedCorpCredential {
    /// The authorized corp's id.
    #[must_use]
    pub fn corpid(&self) -> &str {
        &self.inner.corpid
    }

    /// The suite it authorized.
    #[must_use]
    pub fn suite(&self) -> &SuiteCredential {
        &self.inner.suite
    }
}

impl fmt::Debug for AuthorizedCorpCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizedCorpCredential")
            .field("suite_id", &self.inner.suite.suite_id())
            .field("corpid", &self.inner.corpid)
            .finish()
    }
}

impl Credential for AuthorizedCorpCredential {
    fn reuse(&self) -> TokenReuse {
        TokenReuse::SameWhileValid
    }

    fn kind(&self) -> CredentialKind {
        CredentialKind::AuthorizedCorpAccessToken
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

    fn fetch<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, Result<Fetched, ApiError>> {
        Box::pin(async move {
            #[derive(Serialize)]
            struct Body<'a> {
                auth_corpid: &'a str,
                permanent_code: &'a str,
            }
            let suite = &self.inner.suite;
            let permanent_code = suite
                .inner
                .secrets
                .get_secret(&suite.permanent_code_key(&self.inner.corpid))
                .await?
                .ok_or_else(|| ApiError::new(ApiErrorKind::MissingSecret))?;
            let answer: TokenAnswer = client
                .post_json(
                    suite,
                    "/cgi-bin/service/get_corp_token",
                    &[],
                    &Body {
                        auth_corpid: &self.inner.corpid,
                        permanent_code: permanent_code.expose(),
                    },
                )
                .await?;
            Ok(Fetched::new(answer.access_token, answer.expires_in))
        })
    }

    fn shared(&self) -> Arc<dyn Credential> {
        Arc::new(self.clone())
    }
}
