//! The vendor endpoints the stand-in serves, by path, and the faults it can
//! inject into them. Pure: no HTTP, no clock.

use std::fmt;
use std::time::Duration;

/// One endpoint of the vendor API that [`VendorStandIn`](super::VendorStandIn)
/// serves, named after the vendor document it follows.
///
/// Every endpoint has its own call counter
/// ([`calls`](super::VendorStandIn::calls), [`issued`](super::VendorStandIn::issued))
/// and its own queue of injected faults
/// ([`inject`](super::VendorStandIn::inject)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum VendorEndpoint {
    /// WeCom `GET /cgi-bin/gettoken?corpid=&corpsecret=` (获取access_token).
    GetToken,
    /// WeCom `POST /cgi-bin/message/send?access_token=` (发送应用消息).
    MessageSend,
    /// `GET /cgi-bin/getcallbackip?access_token=` (WeCom 获取企业微信回调IP段,
    /// WeChat 获取微信推送服务器IP地址): the plainest call that checks an API
    /// token. Accepts any corp, Official Account (`token` or `stable_token`)
    /// or authorizer `access_token`.
    GetCallbackIp,
    /// WeCom `POST /cgi-bin/service/get_provider_token` (获取服务商凭证).
    GetProviderToken,
    /// WeCom `POST /cgi-bin/service/get_suite_token` (获取第三方应用凭证).
    GetSuiteToken,
    /// WeCom `GET /cgi-bin/service/get_pre_auth_code?suite_access_token=` (获取预授权码).
    GetPreAuthCode,
    /// WeCom `POST /cgi-bin/service/get_permanent_code?suite_access_token=` (获取企业永久授权码).
    GetPermanentCode,
    /// WeCom `POST /cgi-bin/service/get_corp_token?suite_access_token=` (获取企业凭证).
    GetCorpToken,
    /// WeCom `GET /cgi-bin/auth/getuserinfo?access_token=&code=` (获取访问用户身份).
    GetUserInfo,
    /// WeCom `POST /cgi-bin/auth/getuserdetail?access_token=` (获取访问用户敏感信息).
    GetUserDetail,
    /// Browser page `GET /connect/oauth2/authorize` of `open.weixin.qq.com`
    /// (构造网页授权链接 for WeCom, 网页授权 for WeChat): consents at once.
    Authorize,
    /// Browser page `GET /wwlogin/sso/login` of `login.work.weixin.qq.com`
    /// (企业微信Web登录): consents at once.
    SsoLogin,
    /// Browser page `GET /3rdapp/install` of `open.work.weixin.qq.com`
    /// (从服务商网站发起授权安装): installs the suite at once.
    SuiteInstall,
    /// Official Account `GET /cgi-bin/token?grant_type=client_credential&appid=&secret=`
    /// (获取Access token).
    Token,
    /// Official Account `POST /cgi-bin/stable_token` (获取稳定版接口调用凭据).
    StableToken,
    /// `GET /sns/oauth2/access_token` (网页授权: code → access_token).
    SnsAccessToken,
    /// `GET /sns/oauth2/refresh_token` (网页授权: refresh).
    SnsRefreshToken,
    /// `GET /sns/userinfo?access_token=&openid=` (网页授权: profile).
    SnsUserInfo,
    /// `GET /sns/oauth2/component/access_token` (代公众号发起网页授权).
    SnsComponentAccessToken,
    /// Open Platform `POST /cgi-bin/component/api_component_token` (获取令牌).
    ComponentToken,
    /// Open Platform `POST /cgi-bin/component/api_create_preauthcode` (获取预授权码).
    CreatePreAuthCode,
    /// Open Platform `POST /cgi-bin/component/api_query_auth` (使用授权码获取授权信息).
    QueryAuth,
    /// Open Platform `POST /cgi-bin/component/api_authorizer_token`
    /// (获取/刷新接口调用令牌).
    AuthorizerToken,
    /// Browser page `GET /cgi-bin/componentloginpage` of `mp.weixin.qq.com`
    /// (授权流程说明): authorizes at once.
    ComponentLoginPage,
}

impl VendorEndpoint {
    /// Every endpoint, in declaration order.
    pub const ALL: &'static [Self] = &[
        Self::GetToken,
        Self::MessageSend,
        Self::GetCallbackIp,
        Self::GetProviderToken,
        Self::GetSuiteToken,
        Self::GetPreAuthCode,
        Self::GetPermanentCode,
        Self::GetCorpToken,
        Self::GetUserInfo,
        Self::GetUserDetail,
        Self::Authorize,
        Self::SsoLogin,
        Self::SuiteInstall,
        Self::Token,
        Self::StableToken,
        Self::SnsAccessToken,
        Self::SnsRefreshToken,
        Self::SnsUserInfo,
        Self::SnsComponentAccessToken,
        Self::ComponentToken,
        Self::CreatePreAuthCode,
        Self::QueryAuth,
        Self::AuthorizerToken,
        Self::ComponentLoginPage,
    ];

    /// The path the endpoint answers on, e.g. `/cgi-bin/gettoken`.
    #[must_use]
    pub const fn path(self) -> &'static str {
        match self {
            Self::GetToken => "/cgi-bin/gettoken",
            Self::MessageSend => "/cgi-bin/message/send",
            Self::GetCallbackIp => "/cgi-bin/getcallbackip",
            Self::GetProviderToken => "/cgi-bin/service/get_provider_token",
            Self::GetSuiteToken => "/cgi-bin/service/get_suite_token",
            Self::GetPreAuthCode => "/cgi-bin/service/get_pre_auth_code",
            Self::GetPermanentCode => "/cgi-bin/service/get_permanent_code",
            Self::GetCorpToken => "/cgi-bin/service/get_corp_token",
            Self::GetUserInfo => "/cgi-bin/auth/getuserinfo",
            Self::GetUserDetail => "/cgi-bin/auth/getuserdetail",
            Self::Authorize => "/connect/oauth2/authorize",
            Self::SsoLogin => "/wwlogin/sso/login",
            Self::SuiteInstall => "/3rdapp/install",
            Self::Token => "/cgi-bin/token",
            Self::StableToken => "/cgi-bin/stable_token",
            Self::SnsAccessToken => "/sns/oauth2/access_token",
            Self::SnsRefreshToken => "/sns/oauth2/refresh_token",
            Self::SnsUserInfo => "/sns/userinfo",
            Self::SnsComponentAccessToken => "/sns/oauth2/component/access_token",
            Self::ComponentToken => "/cgi-bin/component/api_component_token",
            Self::CreatePreAuthCode => "/cgi-bin/component/api_create_preauthcode",
            Self::QueryAuth => "/cgi-bin/component/api_query_auth",
            Self::AuthorizerToken => "/cgi-bin/component/api_authorizer_token",
            Self::ComponentLoginPage => "/cgi-bin/componentloginpage",
        }
    }

    /// The endpoint that answers on `path`, if any.
    #[must_use]
    pub fn from_path(path: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|endpoint| endpoint.path() == path)
    }

    /// Whether the vendor wants a `POST` with a JSON body here (it answers
    /// `43002 require POST method` to a `GET`).
    #[must_use]
    pub const fn is_post(self) -> bool {
        matches!(
            self,
            Self::MessageSend
                | Self::GetProviderToken
                | Self::GetSuiteToken
                | Self::GetPermanentCode
                | Self::GetCorpToken
                | Self::GetUserDetail
                | Self::StableToken
                | Self::ComponentToken
                | Self::CreatePreAuthCode
                | Self::QueryAuth
                | Self::AuthorizerToken
        )
    }

    /// Whether this is a browser page (answers a redirect, not JSON).
    #[must_use]
    pub const fn is_page(self) -> bool {
        matches!(
            self,
            Self::Authorize | Self::SsoLogin | Self::SuiteInstall | Self::ComponentLoginPage
        )
    }
}

impl fmt::Display for VendorEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

/// An answer the stand-in gives instead of the normal one, queued per
/// endpoint with [`VendorStandIn::inject`](super::VendorStandIn::inject).
///
/// Vendor errors answer HTTP 200 with `{"errcode":…,"errmsg":"…"}`, as
/// the vendor does; only [`Fault::Status`] changes the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// HTTP 200 with this `errcode` and the vendor's `errmsg` for it.
    ErrCode(i64),
    /// This HTTP status (e.g. 502) with a short text body, as a proxy in
    /// front of the vendor answers.
    Status(u16),
    /// Wait this long, then answer normally (a slow vendor).
    Delay(Duration),
    /// HTTP 200 with a JSON body cut in the middle.
    MalformedJson,
}

impl Fault {
    /// `-1` system busy (全局错误码: 系统繁忙).
    pub const BUSY: Self = Self::ErrCode(-1);
    /// `40001` invalid credential (a wrong secret, or a token that is not the latest).
    pub const INVALID_CREDENTIAL: Self = Self::ErrCode(40001);
    /// `40014` invalid access_token.
    pub const INVALID_ACCESS_TOKEN: Self = Self::ErrCode(40014);
    /// `42001` access_token expired.
    pub const ACCESS_TOKEN_EXPIRED: Self = Self::ErrCode(42001);
    /// `45009` API daily quota reached.
    pub const QUOTA: Self = Self::ErrCode(45009);
}

/// The vendor's `errmsg` for the codes the stand-in answers (全局错误码).
pub(super) fn errmsg(errcode: i64) -> &'static str {
    match errcode {
        -1 => "system busy",
        40001 => "invalid credential, access_token is invalid or not latest",
        40002 => "invalid grant_type",
        40003 => "invalid openid",
        40013 => "invalid corpid",
        40014 => "invalid access_token",
        40029 => "invalid code",
        40030 => "invalid refresh_token",
        40035 => "invalid parameter",
        40082 => "invalid suite_token",
        40084 => "invalid permanent_code",
        40085 => "invalid suite_ticket",
        40163 => "code been used",
        41001 => "access_token missing",
        42001 => "access_token expired",
        42009 => "suite_token expired",
        43002 => "require POST method",
        44002 => "empty post data",
        45009 => "api freq out of limit",
        47001 => "data format error",
        48001 => "api unauthorized",
        61006 => "component ticket is invalid",
        61011 => "invalid component",
        61023 => "refresh_token is invalid",
        301002 => "not allow operate another agent with this accesstoken",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_maps_back_to_its_endpoint() {
        for &endpoint in VendorEndpoint::ALL {
            assert_eq!(VendorEndpoint::from_path(endpoint.path()), Some(endpoint));
        }
        assert_eq!(VendorEndpoint::from_path("/cgi-bin/gettoken/"), None);
        assert_eq!(VendorEndpoint::from_path("/"), None);
    }
}
