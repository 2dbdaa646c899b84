//! The browser pages that consent at once: web login (构造网页授权链接,
//! 网页授权, 企业微信Web登录), the suite install page and the Open Platform
//! authorization page (授权流程说明).

use tokio::time::Instant;

use super::super::config::Consent;
use super::{
    Answer, COMPONENT_AUTH_CODE_LIFETIME, Call, CodeKind, SUITE_AUTH_CODE_LIFETIME, Vendor,
};

impl Vendor {
    pub(super) fn authorize_page(&mut self, call: &Call<'_>) -> Answer {
        let (Some(appid), Some(redirect_uri)) = (call.q("appid"), call.q("redirect_uri")) else {
            return Answer::Page(400, "appid and redirect_uri are required");
        };
        if call.q("response_type") != Some("code") {
            return Answer::Page(400, "response_type must be code");
        }
        let scope = call.q("scope").unwrap_or_default().to_owned();
        let kind = if let Some(component) = call.q("component_appid") {
            if !self.config.components.iter().any(|c| c.id == component) {
                return Answer::Page(400, "unknown component_appid");
            }
            if !matches!(scope.as_str(), "snsapi_base" | "snsapi_userinfo") {
                return Answer::Page(400, "scope must be snsapi_base or snsapi_userinfo");
            }
            CodeKind::Sns {
                appid: appid.to_owned(),
                scope,
                component: Some(component.to_owned()),
            }
        } else if self.is_corp(appid) {
            if !matches!(
                scope.as_str(),
                "snsapi_base" | "snsapi_privateinfo" | "snsapi_userinfo"
            ) {
                return Answer::Page(400, "scope must be snsapi_base or snsapi_privateinfo");
            }
            CodeKind::WeCom {
                corpid: appid.to_owned(),
                scope,
            }
        } else if self.config.official_accounts.iter().any(|a| a.id == appid) {
            if !matches!(scope.as_str(), "snsapi_base" | "snsapi_userinfo") {
                return Answer::Page(400, "scope must be snsapi_base or snsapi_userinfo");
            }
            CodeKind::Sns {
                appid: appid.to_owned(),
                scope,
                component: None,
            }
        } else {
            return Answer::Page(400, "unknown appid");
        };
        self.consent_redirect(redirect_uri, call.q("state"), kind, call.now, "code")
    }

    pub(super) fn sso_login_page(&mut self, call: &Call<'_>) -> Answer {
        let (Some(appid), Some(redirect_uri)) = (call.q("appid"), call.q("redirect_uri")) else {
            return Answer::Page(400, "appid and redirect_uri are required");
        };
        if !self.is_corp(appid) {
            return Answer::Page(400, "unknown appid");
        }
        let kind = CodeKind::WeCom {
            corpid: appid.to_owned(),
            scope: "snsapi_base".to_owned(),
        };
        self.consent_redirect(redirect_uri, call.q("state"), kind, call.now, "code")
    }

    pub(super) fn suite_install_page(&mut self, call: &Call<'_>) -> Answer {
        let (Some(suite_id), Some(redirect_uri)) = (call.q("suite_id"), call.q("redirect_uri"))
        else {
            return Answer::Page(400, "suite_id and redirect_uri are required");
        };
        if !self.pre_auth_valid(call.q("pre_auth_code"), suite_id, call.now) {
            return Answer::Page(400, "invalid pre_auth_code");
        }
        let kind = CodeKind::SuiteAuth {
            suite_id: suite_id.to_owned(),
            corpid: self.config.install_corpid.clone(),
        };
        self.consent_redirect(redirect_uri, call.q("state"), kind, call.now, "auth_code")
    }

    pub(super) fn component_login_page(&mut self, call: &Call<'_>) -> Answer {
        let (Some(component), Some(redirect_uri)) =
            (call.q("component_appid"), call.q("redirect_uri"))
        else {
            return Answer::Page(400, "component_appid and redirect_uri are required");
        };
        if !self.pre_auth_valid(call.q("pre_auth_code"), component, call.now) {
            return Answer::Page(400, "invalid pre_auth_code");
        }
        let kind = CodeKind::ComponentAuth {
            component: component.to_owned(),
            authorizer_appid: self.config.authorizer_appid.clone(),
        };
        self.consent_redirect(redirect_uri, call.q("state"), kind, call.now, "auth_code")
    }

    pub(super) fn is_corp(&self, appid: &str) -> bool {
        self.config.wecom_apps.iter().any(|a| a.corpid == appid)
            || self.config.install_corpid == appid
    }

    pub(super) fn pre_auth_valid(&self, code: Option<&str>, owner: &str, now: Instant) -> bool {
        code.and_then(|c| self.pre_auth_codes.get(c))
            .is_some_and(|(o, expires_at)| o == owner && *expires_at > now)
    }

    /// The 302 of a page: with a fresh code (named `param`) on consent,
    /// without one on refusal; `state` comes back as given.
    pub(super) fn consent_redirect(
        &mut self,
        redirect_uri: &str,
        state: Option<&str>,
        kind: CodeKind,
        now: Instant,
        param: &str,
    ) -> Answer {
        if !(redirect_uri.starts_with("http://") || redirect_uri.starts_with("https://")) {
            return Answer::Page(400, "redirect_uri must be an absolute http(s) URL");
        }
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        if self.consent == Consent::Grant {
            let (prefix, lifetime) = match kind {
                CodeKind::SuiteAuth { .. } => ("authcode", SUITE_AUTH_CODE_LIFETIME),
                CodeKind::ComponentAuth { .. } => {
                    ("queryauthcode@@@", COMPONENT_AUTH_CODE_LIFETIME)
                }
                CodeKind::WeCom { .. } | CodeKind::Sns { .. } => {
                    ("code", self.config.code_lifetime)
                }
            };
            let code = self.issue_code(prefix, kind.clone(), now + lifetime);
            pairs.append_pair(param, &code);
            if matches!(
                kind,
                CodeKind::SuiteAuth { .. } | CodeKind::ComponentAuth { .. }
            ) {
                pairs.append_pair("expires_in", &lifetime.as_secs().to_string());
            }
        }
        if let Some(state) = state {
            pairs.append_pair("state", state);
        }
        let query = pairs.finish();
        let (base, fragment) = redirect_uri
            .split_once('#')
            .map_or((redirect_uri, None), |(b, f)| (b, Some(f)));
        let separator = if base.contains('?') { '&' } else { '?' };
        let mut location = format!("{base}{separator}{query}");
        if let Some(fragment) = fragment {
            location.push('#');
            location.push_str(fragment);
        }
        Answer::Redirect(location)
    }
}
