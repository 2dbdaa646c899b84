//! The WeChat Open Platform (third-party platform): `api_component_token`
//! from the stored `component_verify_ticket` (WeChat doc 获取令牌),
//! `api_create_preauthcode` (获取预授权码), the authorization page
//! (授权流程说明), `api_query_auth` (使用授权码获取授权信息) and
//! `api_authorizer_token` (获取/刷新接口调用令牌).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Client;
use super::api::url;
use super::credential::{BoxFuture, Credential, CredentialKind, Fetched};
use super::error::{ApiError, ApiErrorKind};
use super::store::SecretStore;
use super::suite::PreAuthCode;
use super::token::Secret;
use super::urls::Host;
use crate::message::Message;
use crate::tickets::{TicketKind, TicketStore};

/// How long a `component_verify_ticket` is valid after its push (WeChat
/// doc 验证票据): 12 hours, seconds ([`TicketKind::lifetime`]).
pub const COMPONENT_VERIFY_TICKET_LIFETIME: u64 =
    TicketKind::ComponentVerifyTicket.lifetime().as_secs();

/// A component's `component_access_token`:
/// `POST /cgi-bin/component/api_component_token` with `component_appid`,
/// `component_appsecret` and the newest `component_verify_ticket` from the
/// [`TicketStore`] (older than [`COMPONENT_VERIFY_TICKET_LIFETIME`]: not
/// sent, [`ApiErrorKind::MissingTicket`]). Authorizers' refresh tokens go
/// to the [`SecretStore`] given here. Cheap to clone; `Debug` hides the
/// secret.
#[derive(Clone)]
pub struct ComponentCredential {
    inner: Arc<ComponentInner>,
}

struct ComponentInner {
    component_appid: String,
    component_appsecret: Secret,
    tickets: Arc<dyn TicketStore>,
    secrets: Arc<dyn SecretStore>,
    key: String,
}

#[derive(Serialize)]
struct ComponentTokenBody<'a> {
    component_appid: &'a str,
    component_appsecret: &'a str,
    component_verify_ticket: &'a str,
}

#[derive(Deserialize)]
struct ComponentTokenAnswer {
    component_access_token: String,
    expires_in: u64,
}

/// `authorization_info` of `api_query_auth`'s answer.
#[derive(Clone, Deserialize)]
struct AuthorizationInfo {
    authorizer_appid: String,
    authorizer_access_token: String,
    expires_in: u64,
    authorizer_refresh_token: String,
}

#[derive(Deserialize)]
struct QueryAuthAnswer {
    authorization_info: AuthorizationInfo,
}

#[derive(Deserialize)]
struct AuthorizerTokenAnswer {
    authorizer_access_token: String,
    expires_in: u64,
    #[serde(default)]
    authorizer_refresh_token: String,
}

impl ComponentCredential {
    /// Component `component_appid` with `component_appsecret`, reading
    /// tickets from `tickets`, keeping refresh tokens in `secrets`.
    #[must_use]
    pub fn new(
        component_appid: impl Into<String>,
        component_appsecret: impl Into<Secret>,
        tickets: Arc<dyn TicketStore>,
        secrets: Arc<dyn SecretStore>,
    ) -> Self {
        let component_appid = component_appid.into();
        let key = format!(
            "{}:{component_appid}",
            CredentialKind::ComponentAccessToken.as_str()
        );
        Self {
            inner: Arc::new(ComponentInner {
                component_appid,
                component_appsecret: component_appsecret.into(),
                tickets,
                secrets,
                key,
            }),
        }
    }

    /// The component appid.
    #[must_use]
    pub fn component_appid(&self) -> &str {
        &self.inner.component_appid
    }

    /// The secret store key of `authorizer_appid`'s refresh token:
    /// `authorizer_refresh_token:<component_appid>:<authorizer_appid>`.
    #[must_use]
    pub fn refresh_token_key(&self, authorizer_appid: &str) -> String {
        format!(
            "authorizer_refresh_token:{}:{authorizer_appid}",
            self.inner.component_appid
        )
    }

    /// `POST /cgi-bin/component/api_create_preauthcode` (WeChat doc
    /// 获取预授权码).
    ///
    /// # Errors
    /// The vendor's, the transport's [`ApiError`]; no token.
    pub async fn pre_auth_code(&self, client: &Client) -> Result<PreAuthCode, ApiError> {
        #[derive(Serialize)]
        struct Body<'a> {
            component_appid: &'a str,
        }
        client
            .post_json(
                self,
                "/cgi-bin/component/api_create_preauthcode",
                &[],
                &Body {
                    component_appid: &self.inner.component_appid,
                },
            )
            .await
    }

    /// The authorization page an admin opens to authorize this component:
    /// `{mp}/cgi-bin/componentloginpage?component_appid=&pre_auth_code=&redirect_uri=&auth_type=`
    /// (WeChat doc 授权流程说明), values percent-encoded. `auth_type`: 1
    /// Official Accounts only, 2 Mini Programs only, 3 both; `None` leaves
    /// it out.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use wecom_callback::client::{Client, ComponentCredential, MemorySecretStore, Transport};
    /// use wecom_callback::tickets::MemoryTicketStore;
    ///
    /// let client = Client::builder()
    ///     .transport(Transport::new(tower::service_fn(|_req| async {
    ///         Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::<bytes::Bytes>::default()))
    ///     })))
    ///     .build()
    ///     .unwrap();
    /// let component = ComponentCredential::new(
    ///     "wxcomponent", "secret", Arc::new(MemoryTicketStore::new()), Arc::new(MemorySecretStore::new()),
    /// );
    /// let url = component.authorization_url(&client, "preauthcode@@@x", "https://example.com/cb?a=1", Some(3));
    /// assert_eq!(
    ///     url,
    ///     "https://mp.weixin.qq.com/cgi-bin/componentloginpage?component_appid=wxcomponent\
    ///      &pre_auth_code=preauthcode%40%40%40x&redirect_uri=https%3A%2F%2Fexample.com%2Fcb%3Fa%3D1&auth_type=3"
    /// );
    /// ```
    #[must_use]
    pub fn authorization_url(
        &self,
        client: &Client,
        pre_auth_code: &str,
        redirect_uri: &str,
        auth_type: Option<u8>,
    ) -> String {
        let auth_type = auth_type.map(|t| t.to_string());
        let mut query = vec![
            ("component_appid", self.inner.component_appid.as_str()),
            ("pre_auth_code", pre_auth_code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(auth_type) = auth_type.as_deref() {
            query.push(("auth_type", auth_type));
        }
        url(
            client.urls().mp_weixin_base(),
            "/cgi-bin/componentloginpage",
            &query,
        )
    }

    /// Exchanges `authorization_code` (from an `authorized` or
    /// `updateauthorized` push, or the authorization page's redirect) with
    /// `POST /cgi-bin/component/api_query_auth` (WeChat doc
    /// 使用授权码获取授权信息): stores the `authorizer_refresh_token` in the
    /// secret store and seeds the authorizer's token in the cache.
    ///
    /// # Errors
    /// The vendor's [`ApiError`]; [`ApiErrorKind::Store`] when the refresh
    /// token could not be kept.
    pub async fn exchange_authorization_code(
        &self,
        client: &Client,
        authorization_code: &str,
    ) -> Result<AuthorizerCredential, ApiError> {
        #[derive(Serialize)]
        struct Body<'a> {
            component_appid: &'a str,
            authorization_code: &'a str,
        }
        let answer: QueryAuthAnswer = client
            .post_json(
                self,
                "/cgi-bin/component/api_query_auth",
                &[],
                &Body {
                    component_appid: &self.inner.component_appid,
                    authorization_code,
                },
            )
            .await?;
        let info = answer.authorization_info;
        if info.authorizer_appid.is_empty() || info.authorizer_refresh_token.is_empty() {
            return Err(ApiError::new(ApiErrorKind::MalformedResponse));
        }
        self.inner
            .secrets
            .put_secret(
                &self.refresh_token_key(&info.authorizer_appid),
                &Secret::new(info.authorizer_refresh_token),
            )
            .await?;
        tracing::info!(
            target: "wecom_callback::client",
            component_appid = %self.inner.component_appid,
            authorizer_appid = %info.authorizer_appid,
            "authorizer_refresh_token stored"
        );
        let authorizer = self.authorizer(info.authorizer_appid);
        client
            .seed(
                &authorizer,
                Fetched::new(info.authorizer_access_token, info.expires_in),
            )
            .await;
        Ok(authorizer)
    }

    /// The one call for an `authorized` or `updateauthorized` push:
    /// exchanges its `AuthorizationCode` and stores the refresh token.
    /// `Ok(None)` for any other push or a push of another component.
    ///
    /// # Errors
    /// As [`exchange_authorization_code`](Self::exchange_authorization_code).
    pub async fn on_authorized(
        &self,
        client: &Client,
        message: &Message,
    ) -> Result<Option<AuthorizerCredential>, ApiError> {
        if !matches!(message.info_type(), Some("authorized" | "updateauthorized"))
            || message.to_user_name() != self.inner.component_appid
        {
            return Ok(None);
        }
        let Some(code) = message.field("AuthorizationCode").filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        self.exchange_authorization_code(client, code)
            .await
            .map(Some)
    }

    /// The credential of `authorizer_appid` (its refresh token must be in
    /// the secret store).
    #[must_use]
    pub fn authorizer(&self, authorizer_appid: impl Into<String>) -> AuthorizerCredential {
        let authorizer_appid = authorizer_appid.into();
        let key = format!(
            "{}:{}:{authorizer_appid}",
            CredentialKind::AuthorizerAccessToken.as_str(),
            self.inner.component_appid
        );
        AuthorizerCredential {
            inner: Arc::new(AuthorizerInner {
                component: self.clone(),
                authorizer_appid,
                key,
            }),
        }
    }
}

impl fmt::Debug for ComponentCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentCredential")
            .field("component_appid", &self.inner.component_appid)
            .field("component_appsecret", &self.inner.component_appsecret)
            .finish_non_exhaustive()
    }
}

impl Credential for ComponentCredential {
    fn kind(&self) -> CredentialKind {
        CredentialKind::ComponentAccessToken
    }

    fn app(&self) -> &str {
        &self.inner.component_appid
    }

    fn cache_key(&self) -> &str {
        &self.inner.key
    }

    fn host(&self) -> Host {
        Host::WeChatApi
    }

    fn fetch<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, Result<Fetched, ApiError>> {
        Box::pin(async move {
            let ticket = self
                .inner
                .tickets
                .latest(
                    &self.inner.component_appid,
                    TicketKind::ComponentVerifyTicket,
                )
                .await?
                .filter(|t| {
                    !t.is_expired(TicketKind::ComponentVerifyTicket, client.now_ms() / 1000)
                })
                .ok_or_else(|| ApiError::new(ApiErrorKind::MissingTicket))?;
            let answer: ComponentTokenAnswer = client
                .post_plain(
                    Host::WeChatApi,
                    "/cgi-bin/component/api_component_token",
                    &[],
                    &ComponentTokenBody {
                        component_appid: &self.inner.component_appid,
                        component_appsecret: self.inner.component_appsecret.expose(),
                        component_verify_ticket: ticket.ticket(),
                    },
                )
                .await?;
            Ok(Fetched::new(
                answer.component_access_token,
                answer.expires_in,
            ))
        })
    }

    fn shared(&self) -> Arc<dyn Credential> {
        Arc::new(self.clone())
    }
}

/// An authorizer's `authorizer_access_token` (sent as `access_token`):
/// `POST /cgi-bin/component/api_authorizer_token` with the stored
/// `authorizer_refresh_token` (WeChat doc 获取/刷新接口调用令牌). When the
/// answer carries a different refresh token, the new one replaces the
/// stored one before the token is used. `61023` means the refresh token is
/// gone: the authorizer must authorize again. Cheap to clone.
#[derive(Clone)]
pub struct AuthorizerCredential {
    inner: Arc<AuthorizerInner>,
}

struct AuthorizerInner {
    component: ComponentCredential,
    authorizer_appid: String,
    key: String,
}

impl AuthorizerCredential {
    /// The authorizer's appid.
    #[must_use]
    pub fn authorizer_appid(&self) -> &str {
        &self.inner.authorizer_appid
    }

    /// The component it authorized.
    #[must_use]
    pub fn component(&self) -> &ComponentCredential {
        &self.inner.component
    }
}

impl fmt::Debug for AuthorizerCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizerCredential")
            .field("component_appid", &self.inner.component.component_appid())
            .field("authorizer_appid", &self.inner.authorizer_appid)
            .finish()
    }
}

impl Credential for AuthorizerCredential {
    fn kind(&self) -> CredentialKind {
        CredentialKind::AuthorizerAccessToken
    }

    fn app(&self) -> &str {
        &self.inner.authorizer_appid
    }

    fn cache_key(&self) -> &str {
        &self.inner.key
    }

    fn host(&self) -> Host {
        Host::WeChatApi
    }

    fn fetch<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, Result<Fetched, ApiError>> {
        Box::pin(async move {
            #[derive(Serialize)]
            struct Body<'a> {
                component_appid: &'a str,
                authorizer_appid: &'a str,
                authorizer_refresh_token: &'a str,
            }
            let component = &self.inner.component;
            let key = component.refresh_token_key(&self.inner.authorizer_appid);
            let refresh = component
                .inner
                .secrets
                .get_secret(&key)
                .await?
                .ok_or_else(|| ApiError::new(ApiErrorKind::MissingSecret))?;
            let answer: AuthorizerTokenAnswer = client
                .post_json(
                    component,
                    "/cgi-bin/component/api_authorizer_token",
                    &[],
                    &Body {
                        component_appid: component.component_appid(),
                        authorizer_appid: &self.inner.authorizer_appid,
                        authorizer_refresh_token: refresh.expose(),
                    },
                )
                .await?;
            if !answer.authorizer_refresh_token.is_empty()
                && answer.authorizer_refresh_token != refresh.expose()
            {
                component
                    .inner
                    .secrets
                    .put_secret(&key, &Secret::new(answer.authorizer_refresh_token))
                    .await?;
                tracing::info!(
                    target: "wecom_callback::client",
                    component_appid = %component.component_appid(),
                    authorizer_appid = %self.inner.authorizer_appid,
                    "authorizer_refresh_token rotated and stored"
                );
            }
            Ok(Fetched::new(
                answer.authorizer_access_token,
                answer.expires_in,
            ))
        })
    }

    fn shared(&self) -> Arc<dyn Credential> {
        Arc::new(self.clone())
    }
}
