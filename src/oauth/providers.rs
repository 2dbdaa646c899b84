//! The three vendors' web logins as [`LoginProvider`]s: WeCom (in-app and
//! QR), an Official Account, and an Official Account on behalf of a
//! third-party platform.

use std::fmt;
use std::sync::Arc;

use serde_json::{Value, json};

use super::exchange::{
    ExchangeError, ExchangeErrorKind, LoginProvider, VerifiedCode, check_errcode, field,
};
use super::flow::{Flow, WeChatScope, WeComFlowPolicy, WeComScope, authorize_url, sso_url};
use super::identity::{Identity, Profile};
use crate::dedup::BoxFuture;

/// The vendor's JSON API, as the providers call it: a GET or a POST of a
/// JSON body to a full URL, answering the parsed JSON body (HTTP status
/// 2xx; the vendor's `errcode` is the provider's concern).
///
/// The seam between the login flows and the HTTP client
/// (the crate's client transport is one implementation);
/// tests plug in a double.
pub trait VendorApi: fmt::Debug + Send + Sync + 'static {
    /// `GET url`.
    fn get_json<'a>(&'a self, url: String) -> BoxFuture<'a, Result<Value, ExchangeError>>;
    /// `POST url` with `body` as JSON.
    fn post_json<'a>(
        &'a self,
        url: String,
        body: Value,
    ) -> BoxFuture<'a, Result<Value, ExchangeError>>;
}

/// Where an access token for the exchange comes from: the corp
/// `access_token` (WeCom doc 获取access_token) for WeCom logins, the
/// `component_access_token` (Open Platform doc 获取令牌) for logins on
/// behalf of an authorizer. Implementations cache (the crate's client
/// does); the login calls it once per exchange.
pub trait AccessTokenSource: fmt::Debug + Send + Sync + 'static {
    /// The current token's text. Never log it.
    fn access_token(&self) -> BoxFuture<'_, Result<String, ExchangeError>>;

    /// The vendor rejected `token` (`40001`, `40014`, `42001`): drop it if
    /// it is still the current one. Returns whether asking again may give
    /// another token; the login then retries its call once. The default
    /// drops nothing and returns `false`.
    fn rejected<'a>(&'a self, token: &'a str) -> BoxFuture<'a, bool> {
        let _ = token;
        Box::pin(async { false })
    }
}

/// Whether an error is the vendor rejecting the access token.
fn token_rejected(error: &ExchangeError) -> bool {
    matches!(
        error.kind(),
        ExchangeErrorKind::Vendor(40001 | 40014 | 42001)
    )
}

/// `call` with a token from `source`; once more with a new token when the
/// vendor rejected the first (the call failed before it used the code).
async fn with_token<F, Fut>(
    source: &dyn AccessTokenSource,
    call: F,
) -> Result<(Value, String), ExchangeError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Value, ExchangeError>>,
{
    let token = source.access_token().await?;
    match call(token.clone()).await.and_then(check_errcode) {
        Err(error) if token_rejected(&error) && source.rejected(&token).await => {
            let token = source.access_token().await?;
            let value = check_errcode(call(token.clone()).await?)?;
            Ok((value, token))
        }
        other => other.map(|value| (value, token)),
    }
}

/// `base` + `path` + `?` + the encoded `params`.
fn api_url(base: &str, path: &str, params: &[(&str, &str)]) -> String {
    let mut url = base.trim_end_matches('/').to_owned();
    url.push_str(path);
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    url.push('?');
    url.push_str(&query);
    url
}

/// WeCom web login for a self-built app: in-app (`snsapi_base` or
/// `snsapi_privateinfo`) and web (QR) login, chosen per browser by a
/// [`WeComFlowPolicy`].
///
/// Exchange: `GET /cgi-bin/auth/getuserinfo?access_token=&code=` (WeCom
/// doc 获取访问用户身份) gives the `userid` (members) or `openid` (others)
/// and, for `snsapi_privateinfo`, a `user_ticket`, which
/// `POST /cgi-bin/auth/getuserdetail` (获取访问用户敏感信息) turns into the
/// profile. The QR login's code goes through the same getuserinfo (WeCom
/// doc 企业微信Web登录: 获取用户登录身份).
#[derive(Debug, Clone)]
pub struct WeComLogin {
    corp_id: String,
    agent_id: String,
    scope: WeComScope,
    policy: WeComFlowPolicy,
    oauth_base: String,
    sso_base: String,
    api_base: String,
    api: Arc<dyn VendorApi>,
    token: Arc<dyn AccessTokenSource>,
}

impl WeComLogin {
    /// The login of the app `agent_id` (`AgentID`) of corp `corp_id`,
    /// calling the vendor through `api` with the corp access token from
    /// `token`. Defaults: `snsapi_base`, policy by User-Agent, the vendor's
    /// hosts.
    pub fn new(
        corp_id: impl Into<String>,
        agent_id: impl fmt::Display,
        api: Arc<dyn VendorApi>,
        token: Arc<dyn AccessTokenSource>,
    ) -> Self {
        Self {
            corp_id: corp_id.into(),
            agent_id: agent_id.to_string(),
            scope: WeComScope::default(),
            policy: WeComFlowPolicy::default(),
            oauth_base: "https://open.weixin.qq.com".into(),
            sso_base: "https://login.work.weixin.qq.com".into(),
            api_base: "https://qyapi.weixin.qq.com".into(),
            api,
            token,
        }
    }

    /// The in-app scope.
    #[must_use]
    pub fn scope(mut self, scope: WeComScope) -> Self {
        self.scope = scope;
        self
    }

    /// How to choose between in-app and QR login.
    #[must_use]
    pub fn policy(mut self, policy: WeComFlowPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The in-app authorize page's base (default
    /// `https://open.weixin.qq.com`).
    #[must_use]
    pub fn oauth_base(mut self, base: impl Into<String>) -> Self {
        self.oauth_base = base.into();
        self
    }

    /// The QR login page's base (default
    /// `https://login.work.weixin.qq.com`).
    #[must_use]
    pub fn sso_base(mut self, base: impl Into<String>) -> Self {
        self.sso_base = base.into();
        self
    }

    /// The API base (default `https://qyapi.weixin.qq.com`).
    #[must_use]
    pub fn api_base(mut self, base: impl Into<String>) -> Self {
        self.api_base = base.into();
        self
    }

    async fn identify(&self, code: VerifiedCode) -> Result<Identity, ExchangeError> {
        let (info, token) = with_token(&*self.token, |token| {
            let url = api_url(
                &self.api_base,
                "/cgi-bin/auth/getuserinfo",
                &[("access_token", &token), ("code", code.secret())],
            );
            self.api.get_json(url)
        })
        .await?;
        let user_id = field(&info, "userid").or_else(|| field(&info, "UserId"));
        let open_id = field(&info, "openid").or_else(|| field(&info, "OpenId"));
        if user_id.is_none() && open_id.is_none() {
            return Err(ExchangeError::new(ExchangeErrorKind::NoIdentity));
        }
        let mut profile = Profile::default();
        if let Some(ticket) = field(&info, "user_ticket") {
            let url = api_url(
                &self.api_base,
                "/cgi-bin/auth/getuserdetail",
                &[("access_token", &token)],
            );
            let detail = check_errcode(
                self.api
                    .post_json(url, json!({ "user_ticket": ticket }))
                    .await?,
            )?;
            profile.avatar = field(&detail, "avatar");
            profile.mobile = field(&detail, "mobile");
            profile.email = field(&detail, "email");
            profile.gender = field(&detail, "gender");
            profile.nickname = field(&detail, "name");
        }
        Ok(Identity {
            app_id: self.corp_id.clone(),
            user_id,
            open_id,
            union_id: None,
            profile,
        })
    }
}

impl LoginProvider for WeComLogin {
    fn flow_for(&self, user_agent: Option<&str>) -> Flow {
        self.policy.choose(user_agent)
    }

    fn authorize_url(&self, flow: Flow, redirect_uri: &str, state: &str) -> String {
        match flow {
            Flow::WeComWeb => sso_url(
                &self.sso_base,
                &self.corp_id,
                &self.agent_id,
                redirect_uri,
                state,
            ),
            _ => authorize_url(
                &self.oauth_base,
                &self.corp_id,
                redirect_uri,
                self.scope.as_str(),
                state,
                Some(&self.agent_id),
                None,
            ),
        }
    }

    fn exchange<'a>(
        &'a self,
        _flow: Flow,
        code: VerifiedCode,
    ) -> BoxFuture<'a, Result<Identity, ExchangeError>> {
        Box::pin(self.identify(code))
    }
}

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
