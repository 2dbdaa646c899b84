//! [`WeComLogin`]: WeCom web login for a self-built app, in-app and QR.

use std::fmt;
use std::sync::Arc;

use serde_json::json;

use super::exchange::{
    ExchangeError, ExchangeErrorKind, LoginProvider, VerifiedCode, check_errcode, field,
};
use super::flow::{Flow, WeComFlowPolicy, WeComScope, authorize_url, sso_url};
use super::identity::{Identity, Profile};
use super::seams::{AccessTokenSource, VendorApi, api_url, with_token};
use crate::dedup::BoxFuture;

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
