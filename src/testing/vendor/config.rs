//! What the stand-in knows before it starts: the apps and their secrets,
//! the user who consents on its pages, and the lifetimes it gives out.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use super::endpoint::VendorEndpoint;

/// A WeCom self-built app registered with [`VendorConfig::wecom_app`].
#[derive(Clone)]
pub(super) struct WeComApp {
    pub(super) corpid: String,
    pub(super) agentid: i64,
    pub(super) corpsecret: String,
}

/// An app id with its secret (suite, Official Account, component, provider).
#[derive(Clone)]
pub(super) struct AppSecret {
    pub(super) id: String,
    pub(super) secret: String,
}

/// The configuration of a [`VendorStandIn`](super::VendorStandIn): which
/// apps exist with which secrets, who consents on the browser pages, and the
/// lifetimes of what it issues.
///
/// Nothing is registered by default: register every app the test uses.
/// Its `Debug` shows the app ids, never a secret.
///
/// # Example
/// ```
/// use std::time::Duration;
/// use wecom_callback::testing::vendor::{VendorConfig, VendorUser};
///
/// let config = VendorConfig::new()
///     .wecom_app("wwcorp", 1000002, "corp-secret")
///     .official_account("wxoa", "oa-secret")
///     .user(VendorUser::member("zhangsan"))
///     .expires_in(7200)
///     .token_grace(Duration::from_secs(300));
/// assert!(!format!("{config:?}").contains("corp-secret"));
/// ```
#[derive(Clone)]
pub struct VendorConfig {
    pub(super) wecom_apps: Vec<WeComApp>,
    pub(super) providers: Vec<AppSecret>,
    pub(super) suites: Vec<AppSecret>,
    pub(super) official_accounts: Vec<AppSecret>,
    pub(super) components: Vec<AppSecret>,
    pub(super) authorizer_appid: String,
    pub(super) install_corpid: String,
    pub(super) install_corp_name: String,
    pub(super) user: VendorUser,
    pub(super) expires_in: u64,
    pub(super) expires_in_for: HashMap<VendorEndpoint, u64>,
    pub(super) token_grace: Duration,
    pub(super) code_lifetime: Duration,
    pub(super) rotate_authorizer_refresh_token: bool,
}

impl Default for VendorConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl VendorConfig {
    /// No apps; tokens live 7200 s; a superseded Official Account token
    /// works 300 s more; web-login codes live 300 s; the consenting user is
    /// `VendorUser::member("zhangsan")`; the Open Platform authorizer is
    /// `wxstandinauthorizer` and the corp that installs suites is
    /// `wwstandininstalled`.
    #[must_use]
    pub fn new() -> Self {
        Self {
            wecom_apps: Vec::new(),
            providers: Vec::new(),
            suites: Vec::new(),
            official_accounts: Vec::new(),
            components: Vec::new(),
            authorizer_appid: "wxstandinauthorizer".to_owned(),
            install_corpid: "wwstandininstalled".to_owned(),
            install_corp_name: "测试企业 Stand-in Corp".to_owned(),
            user: VendorUser::member("zhangsan"),
            expires_in: 7200,
            expires_in_for: HashMap::new(),
            token_grace: Duration::from_secs(300),
            code_lifetime: Duration::from_secs(300),
            rotate_authorizer_refresh_token: false,
        }
    }

    /// Registers a WeCom self-built app: `gettoken` with this `corpid` and
    /// `corpsecret` gives an `access_token` for `message/send` (whose
    /// `agentid` must be this one, else `301002`) and `auth/getuserinfo`.
    #[must_use]
    pub fn wecom_app(mut self, corpid: &str, agentid: i64, corpsecret: &str) -> Self {
        self.wecom_apps.push(WeComApp {
            corpid: corpid.to_owned(),
            agentid,
            corpsecret: corpsecret.to_owned(),
        });
        self
    }

    /// Registers a WeCom service provider for `get_provider_token`.
    #[must_use]
    pub fn provider(mut self, corpid: &str, provider_secret: &str) -> Self {
        self.providers.push(AppSecret {
            id: corpid.to_owned(),
            secret: provider_secret.to_owned(),
        });
        self
    }

    /// Registers a WeCom suite (third-party app) for `get_suite_token`. Its
    /// `suite_ticket` is set at run time with
    /// [`VendorStandIn::set_suite_ticket`](super::VendorStandIn::set_suite_ticket).
    #[must_use]
    pub fn suite(mut self, suite_id: &str, suite_secret: &str) -> Self {
        self.suites.push(AppSecret {
            id: suite_id.to_owned(),
            secret: suite_secret.to_owned(),
        });
        self
    }

    /// Registers an Official Account for `cgi-bin/token`, `stable_token`
    /// and its web login (`sns/oauth2/*`).
    #[must_use]
    pub fn official_account(mut self, appid: &str, secret: &str) -> Self {
        self.official_accounts.push(AppSecret {
            id: appid.to_owned(),
            secret: secret.to_owned(),
        });
        self
    }

    /// Registers an Open Platform third-party platform for
    /// `api_component_token`. Its `component_verify_ticket` is set at run
    /// time with
    /// [`VendorStandIn::set_component_verify_ticket`](super::VendorStandIn::set_component_verify_ticket).
    #[must_use]
    pub fn component(mut self, component_appid: &str, component_appsecret: &str) -> Self {
        self.components.push(AppSecret {
            id: component_appid.to_owned(),
            secret: component_appsecret.to_owned(),
        });
        self
    }

    /// The Official Account that authorizes components on
    /// `componentloginpage` (its `authorizer_appid`).
    #[must_use]
    pub fn authorizer(mut self, authorizer_appid: &str) -> Self {
        authorizer_appid.clone_into(&mut self.authorizer_appid);
        self
    }

    /// The corp that installs suites on `3rdapp/install` and whose
    /// `auth_corp_info` `get_permanent_code` returns.
    #[must_use]
    pub fn installing_corp(mut self, corpid: &str, corp_name: &str) -> Self {
        corpid.clone_into(&mut self.install_corpid);
        corp_name.clone_into(&mut self.install_corp_name);
        self
    }

    /// The user who consents on the web-login pages (changeable at run time
    /// with [`VendorStandIn::set_user`](super::VendorStandIn::set_user)).
    #[must_use]
    pub fn user(mut self, user: VendorUser) -> Self {
        self.user = user;
        self
    }

    /// The `expires_in` (seconds) of every token issued, unless
    /// [`expires_in_for`](Self::expires_in_for) says otherwise. Default 7200.
    /// Tokens expire on the stand-in's clock after that many seconds.
    #[must_use]
    pub fn expires_in(mut self, seconds: u64) -> Self {
        self.expires_in = seconds;
        self
    }

    /// The `expires_in` (seconds) of the tokens that `endpoint` issues.
    #[must_use]
    pub fn expires_in_for(mut self, endpoint: VendorEndpoint, seconds: u64) -> Self {
        self.expires_in_for.insert(endpoint, seconds);
        self
    }

    /// How long an Official Account token keeps working after a newer one
    /// was issued by `cgi-bin/token` (or a forced `stable_token`). The
    /// vendor says about 5 minutes (the default); `Duration::ZERO` kills it
    /// at once. A killed token answers `40001`.
    #[must_use]
    pub fn token_grace(mut self, grace: Duration) -> Self {
        self.token_grace = grace;
        self
    }

    /// How long a web-login `code` may be exchanged (default 300 s, the
    /// vendor's "about 5 minutes").
    #[must_use]
    pub fn code_lifetime(mut self, lifetime: Duration) -> Self {
        self.code_lifetime = lifetime;
        self
    }

    /// Whether `api_authorizer_token` answers a new
    /// `authorizer_refresh_token` each time (the old one then answers
    /// `61023`). Default `false`: the same one comes back.
    #[must_use]
    pub fn rotate_authorizer_refresh_token(mut self, rotate: bool) -> Self {
        self.rotate_authorizer_refresh_token = rotate;
        self
    }

    pub(super) fn expires_in_of(&self, endpoint: VendorEndpoint) -> u64 {
        self.expires_in_for
            .get(&endpoint)
            .copied()
            .unwrap_or(self.expires_in)
    }
}

impl fmt::Debug for VendorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids = |apps: &[AppSecret]| apps.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
        f.debug_struct("VendorConfig")
            .field(
                "wecom_apps",
                &self
                    .wecom_apps
                    .iter()
                    .map(|a| (a.corpid.clone(), a.agentid))
                    .collect::<Vec<_>>(),
            )
            .field("providers", &ids(&self.providers))
            .field("suites", &ids(&self.suites))
            .field("official_accounts", &ids(&self.official_accounts))
            .field("components", &ids(&self.components))
            .field("authorizer_appid", &self.authorizer_appid)
            .field("install_corpid", &self.install_corpid)
            .field("user", &self.user)
            .field("expires_in", &self.expires_in)
            .field("expires_in_for", &self.expires_in_for)
            .field("token_grace", &self.token_grace)
            .field("code_lifetime", &self.code_lifetime)
            .field(
                "rotate_authorizer_refresh_token",
                &self.rotate_authorizer_refresh_token,
            )
            .finish_non_exhaustive()
    }
}

/// The person who consents on the stand-in's web-login pages, and what
/// `auth/getuserinfo`, `auth/getuserdetail` and `sns/userinfo` say about
/// them. A code is bound to the user configured when it was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VendorUser {
    /// WeCom member `userid`; `None` for a non-member (then
    /// `auth/getuserinfo` answers `openid` and `external_userid`).
    pub userid: Option<String>,
    /// The `openid` (WeChat web login; WeCom non-members).
    pub openid: String,
    /// The `unionid`, when the app is bound to an Open Platform account.
    pub unionid: Option<String>,
    /// WeCom `external_userid` of a non-member.
    pub external_userid: Option<String>,
    /// The display name (`nickname` on WeChat, `name` on WeCom).
    pub nickname: String,
    /// The avatar URL (`headimgurl` on WeChat, `avatar` on WeCom).
    pub avatar: String,
    /// `gender`/`sex`: "0" unknown, "1" male, "2" female.
    pub gender: String,
    /// Mobile number (WeCom `getuserdetail`, sensitive).
    pub mobile: String,
    /// E-mail (WeCom `getuserdetail`, sensitive).
    pub email: String,
}

impl VendorUser {
    /// A WeCom member with this `userid` (its `openid` is `o` + userid).
    #[must_use]
    pub fn member(userid: &str) -> Self {
        Self {
            userid: Some(userid.to_owned()),
            openid: format!("o{userid}"),
            unionid: None,
            external_userid: None,
            nickname: userid.to_owned(),
            avatar: format!("https://wework.qpic.cn/standin/{userid}/0"),
            gender: "1".to_owned(),
            mobile: "13800000000".to_owned(),
            email: format!("{userid}@example.com"),
        }
    }

    /// A WeChat user (or a WeCom non-member) with this `openid`.
    #[must_use]
    pub fn wechat(openid: &str) -> Self {
        Self {
            userid: None,
            openid: openid.to_owned(),
            unionid: None,
            external_userid: None,
            nickname: "微信用户 WeChat user".to_owned(),
            avatar: format!("https://thirdwx.qlogo.cn/standin/{openid}/132"),
            gender: "0".to_owned(),
            mobile: String::new(),
            email: String::new(),
        }
    }

    /// With this `unionid`.
    #[must_use]
    pub fn with_unionid(mut self, unionid: &str) -> Self {
        self.unionid = Some(unionid.to_owned());
        self
    }

    /// With this `external_userid` (a WeCom non-member).
    #[must_use]
    pub fn with_external_userid(mut self, external_userid: &str) -> Self {
        self.external_userid = Some(external_userid.to_owned());
        self
    }

    /// With this display name.
    #[must_use]
    pub fn with_nickname(mut self, nickname: &str) -> Self {
        nickname.clone_into(&mut self.nickname);
        self
    }
}

/// What the user does on the stand-in's web-login pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Consent {
    /// Consents at once: 302 to `redirect_uri?code=…&state=…`.
    #[default]
    Grant,
    /// Refuses: 302 to `redirect_uri?state=…` with no `code` (what WeChat
    /// does when the user refuses `snsapi_userinfo`).
    Deny,
}
