//! [`OfficialAccountLogin`]: WeChat web login for an Official Account, by
//! the account itself or by a third-party platform on its behalf.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::exchange::{
    ExchangeError, ExchangeErrorKind, LoginProvider, VerifiedCode, check_errcode, field,
};
use super::flow::{Flow, WeChatScope, authorize_url};
use super::identity::{Identity, Profile};
use super::seams::{AccessTokenSource, VendorApi, api_url, with_token};
use crate::dedup::BoxFuture;

/// The user access token of a WeChat web login (`sns/oauth2/access_token`):
/// not the API `access_token`. `Debug` prints neither token.
#[derive(Clone, PartialEq, Eq)]
pub struct SnsTokens {
    /// The user's `access_token`, valid `expires_in` seconds (7200).
    pub access_token: String,
    /// Seconds.
    pub expires_in: u64,
    /// `refresh_token` (30 days), for [`OfficialAccountLogin::refresh`].
    pub refresh_token: String,
    /// `openid`.
    pub open_id: String,
    /// `scope` as granted.
    pub scope: String,
    /// `unionid`, if any.
    pub union_id: Option<String>,
}

impl fmt::Debug for SnsTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnsTokens")
            .field("expires_in", &self.expires_in)
            .field("open_id", &self.open_id)
            .field("scope", &self.scope)
            .field("union_id", &self.union_id)
            .finish_non_exhaustive()
    }
}

impl SnsTokens {
    fn read(value: Value) -> Result<Self, ExchangeError> {
        let value = check_errcode(value)?;
        let malformed = || ExchangeError::new(ExchangeErrorKind::MalformedResponse);
        Ok(Self {
            access_token: field(&value, "access_token").ok_or_else(malformed)?,
            expires_in: value.get("expires_in").and_then(Value::as_u64).unwrap_or(0),
            refresh_token: field(&value, "refresh_token").unwrap_or_default(),
            open_id: field(&value, "openid").ok_or_else(malformed)?,
            scope: field(&value, "scope").unwrap_or_default(),
            union_id: field(&value, "unionid"),
        })
    }
}

/// Who asks for the user's token: the Official Account with its secret, or
/// a third-party platform on its behalf.
#[derive(Debug, Clone)]
enum Asker {
    OwnSecret(Secret),
    Component {
        component_appid: String,
        token: Arc<dyn AccessTokenSource>,
    },
}

/// An `appsecret`, kept out of `Debug`.
#[derive(Clone)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// WeChat web login for an Official Account (`snsapi_base` or
/// `snsapi_userinfo`), by the account itself or, see
/// [`on_behalf`](Self::on_behalf), by a third-party platform.
///
/// Exchange (WeChat doc 网页授权): `GET /sns/oauth2/access_token?appid=&
/// secret=&code=&grant_type=authorization_code` gives the `openid` and a
/// user token; for `snsapi_userinfo`, `GET /sns/userinfo?access_token=&
/// openid=&lang=zh_CN` the profile. On behalf of an authorizer (Open
/// Platform doc 代公众号发起网页授权) the token comes from
/// `/sns/oauth2/component/access_token` with `component_appid` and
/// `component_access_token` instead of the secret, and the authorize URL
/// carries `component_appid`. [`refresh`](Self::refresh) renews a user
/// token (`/sns/oauth2/refresh_token`, or its `component` form).
#[derive(Debug, Clone)]
pub struct OfficialAccountLogin {
    appid: String,
    asker: Asker,
    scope: WeChatScope,
    oauth_base: String,
    api_base: String,
    api: Arc<dyn VendorApi>,
}

/// [`OfficialAccountLogin`] started by a third-party platform: the same
/// type, made by [`OfficialAccountLogin::on_behalf`].
pub type ComponentLogin = OfficialAccountLogin;

impl OfficialAccountLogin {
    /// The login of the account `appid` with its `appsecret`.
    pub fn new(
        appid: impl Into<String>,
        secret: impl Into<String>,
        api: Arc<dyn VendorApi>,
    ) -> Self {
        Self::with_asker(appid.into(), Asker::OwnSecret(Secret(secret.into())), api)
    }

    /// The login of the authorizer `appid`, started by the platform
    /// `component_appid` with its `component_access_token` from `token`.
    pub fn on_behalf(
        appid: impl Into<String>,
        component_appid: impl Into<String>,
        token: Arc<dyn AccessTokenSource>,
        api: Arc<dyn VendorApi>,
    ) -> Self {
        let asker = Asker::Component {
            component_appid: component_appid.into(),
            token,
        };
        Self::with_asker(appid.into(), asker, api)
    }

    fn with_asker(appid: String, asker: Asker, api: Arc<dyn VendorApi>) -> Self {
        Self {
            appid,
            asker,
            scope: WeChatScope::default(),
            oauth_base: "https://open.weixin.qq.com".into(),
            api_base: "https://api.weixin.qq.com".into(),
            api,
        }
    }

    /// The scope (default `snsapi_base`).
    #[must_use]
    pub fn scope(mut self, scope: WeChatScope) -> Self {
        self.scope = scope;
        self
    }

    /// The authorize page's base (default `https://open.weixin.qq.com`).
    #[must_use]
    pub fn oauth_base(mut self, base: impl Into<String>) -> Self {
        self.oauth_base = base.into();
        self
    }

    /// The API base (default `https://api.weixin.qq.com`).
    #[must_use]
    pub fn api_base(mut self, base: impl Into<String>) -> Self {
        self.api_base = base.into();
        self
    }

    /// Swaps `code` for the user's token.
    async fn token_for(&self, code: &str) -> Result<SnsTokens, ExchangeError> {
        let url = match &self.asker {
            Asker::OwnSecret(secret) => api_url(
                &self.api_base,
                "/sns/oauth2/access_token",
                &[
                    ("appid", &self.appid),
                    ("secret", &secret.0),
                    ("code", code),
                    ("grant_type", "authorization_code"),
                ],
            ),
            Asker::Component {
                component_appid,
                token,
            } => {
                let (value, _) = with_token(&**token, |token| {
                    let url = api_url(
                        &self.api_base,
                        "/sns/oauth2/component/access_token",
                        &[
                            ("appid", &self.appid),
                            ("code", code),
                            ("grant_type", "authorization_code"),
                            ("component_appid", component_appid),
                            ("component_access_token", &token),
                        ],
                    );
                    self.api.get_json(url)
                })
                .await?;
                return SnsTokens::read(value);
            }
        };
        SnsTokens::read(self.api.get_json(url).await?)
    }

    /// Renews a user token with its `refresh_token` (WeChat doc 网页授权,
    /// 刷新access_token; on behalf: 代公众号发起网页授权).
    ///
    /// # Errors
    /// [`ExchangeError`]: the vendor's `errcode` (e.g. an expired refresh
    /// token), a transport failure or a malformed answer.
    pub async fn refresh(&self, refresh_token: &str) -> Result<SnsTokens, ExchangeError> {
        let url = match &self.asker {
            Asker::OwnSecret(_) => api_url(
                &self.api_base,
                "/sns/oauth2/refresh_token",
                &[
                    ("appid", &self.appid),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                ],
            ),
            Asker::Component {
                component_appid,
                token,
            } => {
                let token = token.access_token().await?;
                api_url(
                    &self.api_base,
                    "/sns/oauth2/component/refresh_token",
                    &[
                        ("appid", &self.appid),
                        ("grant_type", "refresh_token"),
                        ("component_appid", component_appid),
                        ("component_access_token", &token),
                        ("refresh_token", refresh_token),
                    ],
                )
            }
        };
        SnsTokens::read(self.api.get_json(url).await?)
    }

    /// Reads the profile with a user token (`sns/userinfo`).
    ///
    /// # Errors
    /// As [`refresh`](Self::refresh).
    pub async fn user_info(&self, tokens: &SnsTokens) -> Result<Value, ExchangeError> {
        let url = api_url(
            &self.api_base,
            "/sns/userinfo",
            &[
                ("access_token", &tokens.access_token),
                ("openid", &tokens.open_id),
                ("lang", "zh_CN"),
            ],
        );
        check_errcode(self.api.get_json(url).await?)
    }

    async fn identify(&self, code: VerifiedCode) -> Result<Identity, ExchangeError> {
        let tokens = self.token_for(code.secret()).await?;
        let mut profile = Profile::default();
        let mut union_id = tokens.union_id.clone();
        if tokens
            .scope
            .split(',')
            .any(|s| s == WeChatScope::UserInfo.as_str())
        {
            let info = self.user_info(&tokens).await?;
            profile.nickname = field(&info, "nickname");
            profile.avatar = field(&info, "headimgurl");
            profile.gender = field(&info, "sex");
            union_id = union_id.or_else(|| field(&info, "unionid"));
        }
        Ok(Identity {
            app_id: self.appid.clone(),
            user_id: None,
            open_id: Some(tokens.open_id),
            union_id,
            profile,
        })
    }
}

impl LoginProvider for OfficialAccountLogin {
    fn flow_for(&self, _user_agent: Option<&str>) -> Flow {
        match self.asker {
            Asker::OwnSecret(_) => Flow::OfficialAccount,
            Asker::Component { .. } => Flow::Component,
        }
    }

    fn authorize_url(&self, _flow: Flow, redirect_uri: &str, state: &str) -> String {
        let component = match &self.asker {
            Asker::OwnSecret(_) => None,
            Asker::Component {
                component_appid, ..
            } => Some(component_appid.as_str()),
        };
        authorize_url(
            &self.oauth_base,
            &self.appid,
            redirect_uri,
            self.scope.as_str(),
            state,
            None,
            component,
        )
    }

    fn exchange<'a>(
        &'a self,
        _flow: Flow,
        code: VerifiedCode,
    ) -> BoxFuture<'a, Result<Identity, ExchangeError>> {
        Box::pin(self.identify(code))
    }
}
