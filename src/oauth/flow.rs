//! The login flows, the policy that picks one, and the authorize URLs the
//! browser is sent to. Pure: strings in, a URL out.

use std::fmt;

/// Which vendor page a login went through; it rides in the signed `state`,
/// so the callback knows how to exchange the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Flow {
    /// WeCom in-app login (`open.weixin.qq.com/connect/oauth2/authorize`
    /// with the corp id and `agentid`, opened inside the WeCom client).
    /// WeCom doc 构造网页授权链接.
    WeComApp,
    /// WeCom web login: a QR code to scan with the WeCom client
    /// (`login.work.weixin.qq.com/wwlogin/sso/login`), for desktop
    /// browsers. WeCom doc 企业微信Web登录 (构造企业微信登录链接).
    WeComWeb,
    /// Official Account web login inside WeChat. WeChat doc 网页授权.
    OfficialAccount,
    /// Official Account web login started by a third-party platform on
    /// behalf of an authorizer (`component_appid`). WeChat Open Platform
    /// doc 代公众号发起网页授权.
    Component,
}

impl Flow {
    pub(crate) fn tag(self) -> u8 {
        match self {
            Self::WeComApp => 1,
            Self::WeComWeb => 2,
            Self::OfficialAccount => 3,
            Self::Component => 4,
        }
    }

    pub(crate) fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            1 => Self::WeComApp,
            2 => Self::WeComWeb,
            3 => Self::OfficialAccount,
            4 => Self::Component,
            _ => return None,
        })
    }

    /// A short name for logs: `wecom_app`, `wecom_web`,
    /// `official_account`, `component`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WeComApp => "wecom_app",
            Self::WeComWeb => "wecom_web",
            Self::OfficialAccount => "official_account",
            Self::Component => "component",
        }
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a WeCom login picks between the in-app page and the QR page.
///
/// The in-app page only signs in inside the WeCom client; a desktop
/// browser needs the QR page (WeCom doc 企业微信Web登录).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WeComFlowPolicy {
    /// In-app login when the `User-Agent` contains `wxwork` (the WeCom
    /// client's token, any case), the QR page otherwise. The default.
    #[default]
    ByUserAgent,
    /// Always the in-app page.
    AlwaysApp,
    /// Always the QR page.
    AlwaysWeb,
}

impl WeComFlowPolicy {
    /// The flow for a browser sending `user_agent`.
    ///
    /// ```
    /// use wecom_callback::oauth::{Flow, WeComFlowPolicy};
    ///
    /// let wecom = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 wxwork/4.1.22 MicroMessenger/7.0.1";
    /// assert_eq!(WeComFlowPolicy::ByUserAgent.choose(Some(wecom)), Flow::WeComApp);
    /// assert_eq!(WeComFlowPolicy::ByUserAgent.choose(Some("Mozilla/5.0 Firefox/128.0")), Flow::WeComWeb);
    /// assert_eq!(WeComFlowPolicy::ByUserAgent.choose(None), Flow::WeComWeb);
    /// ```
    #[must_use]
    pub fn choose(self, user_agent: Option<&str>) -> Flow {
        match self {
            Self::AlwaysApp => Flow::WeComApp,
            Self::AlwaysWeb => Flow::WeComWeb,
            Self::ByUserAgent => {
                let is_wecom = user_agent.is_some_and(|ua| {
                    ua.as_bytes()
                        .windows(6)
                        .any(|w| w.eq_ignore_ascii_case(b"wxwork"))
                });
                if is_wecom {
                    Flow::WeComApp
                } else {
                    Flow::WeComWeb
                }
            }
        }
    }
}

/// The scope of a WeCom in-app login (WeCom doc 构造网页授权链接).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WeComScope {
    /// `snsapi_base`: silent, gives the `userid`. The default.
    #[default]
    Base,
    /// `snsapi_privateinfo`: the member consents; gives a `user_ticket`
    /// that the layer exchanges for details (auth/getuserdetail).
    PrivateInfo,
}

impl WeComScope {
    /// The value of `scope`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Base => "snsapi_base",
            Self::PrivateInfo => "snsapi_privateinfo",
        }
    }
}

/// The scope of an Official Account login (WeChat doc 网页授权).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WeChatScope {
    /// `snsapi_base`: silent, gives the `openid`. The default.
    #[default]
    Base,
    /// `snsapi_userinfo`: the user consents; the layer then reads the
    /// profile (sns/userinfo).
    UserInfo,
}

impl WeChatScope {
    /// The value of `scope`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Base => "snsapi_base",
            Self::UserInfo => "snsapi_userinfo",
        }
    }
}

/// Appends `name=value` to a query, percent-encoding the value.
fn push_param(url: &mut String, first: bool, name: &str, value: &str) {
    url.push(if first { '?' } else { '&' });
    url.push_str(name);
    url.push('=');
    url.extend(form_urlencoded::byte_serialize(value.as_bytes()));
}

/// `base` without a trailing `/`, then `path`.
fn join(base: &str, path: &str) -> String {
    let mut url = base.trim_end_matches('/').to_owned();
    url.push_str(path);
    url
}

/// The authorize page URL of `open.weixin.qq.com/connect/oauth2/authorize`
/// (WeCom in-app, Official Account, and on behalf of an authorizer), with
/// the parameters in the documents' order: the WeChat page refuses links
/// whose parameters are out of order (doc 网页授权, "参数顺序").
pub(crate) fn authorize_url(
    oauth_base: &str,
    appid: &str,
    redirect_uri: &str,
    scope: &str,
    state: &str,
    agentid: Option<&str>,
    component_appid: Option<&str>,
) -> String {
    let mut url = join(oauth_base, "/connect/oauth2/authorize");
    push_param(&mut url, true, "appid", appid);
    push_param(&mut url, false, "redirect_uri", redirect_uri);
    push_param(&mut url, false, "response_type", "code");
    push_param(&mut url, false, "scope", scope);
    push_param(&mut url, false, "state", state);
    if let Some(agentid) = agentid {
        push_param(&mut url, false, "agentid", agentid);
    }
    if let Some(component_appid) = component_appid {
        push_param(&mut url, false, "component_appid", component_appid);
    }
    url.push_str("#wechat_redirect");
    url
}

/// The WeCom web (QR) login URL (WeCom doc 企业微信Web登录:
/// `login_type=CorpApp&appid=CORPID&agentid=AGENTID&redirect_uri=…&state=…`).
pub(crate) fn sso_url(
    sso_base: &str,
    corp_id: &str,
    agent_id: &str,
    redirect_uri: &str,
    state: &str,
) -> String {
    let mut url = join(sso_base, "/wwlogin/sso/login");
    push_param(&mut url, true, "login_type", "CorpApp");
    push_param(&mut url, false, "appid", corp_id);
    push_param(&mut url, false, "agentid", agent_id);
    push_param(&mut url, false, "redirect_uri", redirect_uri);
    push_param(&mut url, false, "state", state);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_documented_order() {
        let url = authorize_url(
            "https://open.weixin.qq.com/",
            "wwcorp",
            "https://app.example.com/oauth/callback",
            "snsapi_base",
            "S1",
            Some("1000002"),
            None,
        );
        assert_eq!(
            url,
            "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wwcorp\
             &redirect_uri=https%3A%2F%2Fapp.example.com%2Foauth%2Fcallback&response_type=code\
             &scope=snsapi_base&state=S1&agentid=1000002#wechat_redirect"
        );
        let url = authorize_url(
            "http://x",
            "wxoa",
            "https://a/cb",
            "snsapi_userinfo",
            "S",
            None,
            Some("wxcomp"),
        );
        assert!(
            url.ends_with("&scope=snsapi_userinfo&state=S&component_appid=wxcomp#wechat_redirect"),
            "{url}"
        );
        let url = sso_url(
            "https://login.work.weixin.qq.com",
            "wwcorp",
            "1000002",
            "https://a/cb?x=1",
            "S",
        );
        assert_eq!(
            url,
            "https://login.work.weixin.qq.com/wwlogin/sso/login?login_type=CorpApp&appid=wwcorp\
             &agentid=1000002&redirect_uri=https%3A%2F%2Fa%2Fcb%3Fx%3D1&state=S"
        );
    }

    #[test]
    fn policy_reads_the_user_agent() {
        let p = WeComFlowPolicy::default();
        assert_eq!(
            p.choose(Some("Mozilla/5.0 ... wxwork/4.1.0 ...")),
            Flow::WeComApp
        );
        assert_eq!(
            p.choose(Some("Mozilla/5.0 ... WXWork/4.1.0 ...")),
            Flow::WeComApp
        );
        // WeChat (not WeCom) is not the WeCom client.
        assert_eq!(
            p.choose(Some("Mozilla/5.0 ... MicroMessenger/8.0.40")),
            Flow::WeComWeb
        );
        assert_eq!(WeComFlowPolicy::AlwaysApp.choose(None), Flow::WeComApp);
        assert_eq!(
            WeComFlowPolicy::AlwaysWeb.choose(Some("wxwork")),
            Flow::WeComWeb
        );
        for flow in [
            Flow::WeComApp,
            Flow::WeComWeb,
            Flow::OfficialAccount,
            Flow::Component,
        ] {
            assert_eq!(Flow::from_tag(flow.tag()), Some(flow));
        }
        assert_eq!(Flow::from_tag(0), None);
    }
}
