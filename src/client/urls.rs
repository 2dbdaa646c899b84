//! [`BaseUrls`]: where the client sends calls and points browsers.

use std::fmt;

/// The hosts the client talks to and the browser-facing pages it builds
/// URLs for, each configurable for tests (a loopback stand-in), proxies and
/// private deployments. Each is a scheme and authority, optionally with a
/// path prefix, without a trailing `/`.
///
/// ```
/// use wecom_callback::client::BaseUrls;
///
/// let urls = BaseUrls::default().wecom_api("http://127.0.0.1:8080");
/// assert_eq!(urls.wecom_api_base(), "http://127.0.0.1:8080");
/// assert_eq!(urls.wechat_api_base(), "https://api.weixin.qq.com");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrls {
    wecom_api: String,
    wechat_api: String,
    open_weixin: String,
    wecom_login: String,
    mp_weixin: String,
}

impl Default for BaseUrls {
    fn default() -> Self {
        Self {
            wecom_api: Self::WECOM_API.to_owned(),
            wechat_api: Self::WECHAT_API.to_owned(),
            open_weixin: Self::OPEN_WEIXIN.to_owned(),
            wecom_login: Self::WECOM_LOGIN.to_owned(),
            mp_weixin: Self::MP_WEIXIN.to_owned(),
        }
    }
}

fn trimmed(url: impl Into<String>) -> String {
    let mut url = url.into();
    while url.ends_with('/') {
        url.pop();
    }
    url
}

impl BaseUrls {
    /// WeCom's API host (`/cgi-bin/...`).
    pub const WECOM_API: &'static str = "https://qyapi.weixin.qq.com";
    /// WeChat's API host (Official Account, Open Platform, `sns/*`).
    pub const WECHAT_API: &'static str = "https://api.weixin.qq.com";
    /// The in-app web login page's host (`/connect/oauth2/authorize`).
    pub const OPEN_WEIXIN: &'static str = "https://open.weixin.qq.com";
    /// WeCom's web (QR) login host (`/wwlogin/sso/login`).
    pub const WECOM_LOGIN: &'static str = "https://login.work.weixin.qq.com";
    /// The Open Platform authorization page's host
    /// (`/cgi-bin/componentloginpage`).
    pub const MP_WEIXIN: &'static str = "https://mp.weixin.qq.com";

    /// Every host at `base` (a stand-in that serves them all).
    #[must_use]
    pub fn all(base: &str) -> Self {
        let base = trimmed(base);
        Self {
            wecom_api: base.clone(),
            wechat_api: base.clone(),
            open_weixin: base.clone(),
            wecom_login: base.clone(),
            mp_weixin: base,
        }
    }

    /// Sets WeCom's API host.
    #[must_use]
    pub fn wecom_api(mut self, base: impl Into<String>) -> Self {
        self.wecom_api = trimmed(base);
        self
    }

    /// Sets WeChat's API host.
    #[must_use]
    pub fn wechat_api(mut self, base: impl Into<String>) -> Self {
        self.wechat_api = trimmed(base);
        self
    }

    /// Sets the in-app web login page's host.
    #[must_use]
    pub fn open_weixin(mut self, base: impl Into<String>) -> Self {
        self.open_weixin = trimmed(base);
        self
    }

    /// Sets WeCom's web (QR) login host.
    #[must_use]
    pub fn wecom_login(mut self, base: impl Into<String>) -> Self {
        self.wecom_login = trimmed(base);
        self
    }

    /// Sets the Open Platform authorization page's host.
    #[must_use]
    pub fn mp_weixin(mut self, base: impl Into<String>) -> Self {
        self.mp_weixin = trimmed(base);
        self
    }

    /// WeCom's API host.
    #[must_use]
    pub fn wecom_api_base(&self) -> &str {
        &self.wecom_api
    }

    /// WeChat's API host.
    #[must_use]
    pub fn wechat_api_base(&self) -> &str {
        &self.wechat_api
    }

    /// The in-app web login page's host.
    #[must_use]
    pub fn open_weixin_base(&self) -> &str {
        &self.open_weixin
    }

    /// WeCom's web (QR) login host.
    #[must_use]
    pub fn wecom_login_base(&self) -> &str {
        &self.wecom_login
    }

    /// The Open Platform authorization page's host.
    #[must_use]
    pub fn mp_weixin_base(&self) -> &str {
        &self.mp_weixin
    }

    /// The base of `host`.
    #[must_use]
    pub fn base(&self, host: Host) -> &str {
        match host {
            Host::WeComApi => &self.wecom_api,
            Host::WeChatApi => &self.wechat_api,
        }
    }
}

impl fmt::Debug for BaseUrls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BaseUrls")
            .field("wecom_api", &self.wecom_api)
            .field("wechat_api", &self.wechat_api)
            .field("open_weixin", &self.open_weixin)
            .field("wecom_login", &self.wecom_login)
            .field("mp_weixin", &self.mp_weixin)
            .finish()
    }
}

/// Which API host a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Host {
    /// WeCom: `qyapi.weixin.qq.com`.
    WeComApi,
    /// WeChat: `api.weixin.qq.com`.
    WeChatApi,
}
