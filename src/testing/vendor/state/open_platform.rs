//! Open Platform (third-party platform) tokens (获取令牌, 获取预授权码,
//! 使用授权码获取授权信息, 获取/刷新接口调用令牌).

use serde_json::json;

use std::time::Duration;

use super::{Answer, Call, CodeKind, Owner, Reuse, Vendor};

impl Vendor {
    pub(super) fn component_token(&mut self, call: &Call<'_>) -> Answer {
        let appid = call.b("component_appid").unwrap_or_default();
        let Some(component) = self.config.components.iter().find(|c| c.id == appid) else {
            return Answer::error(61011);
        };
        if call.b("component_appsecret") != Some(component.secret.as_str()) {
            return Answer::error(40001);
        }
        let registered = self.component_tickets.get(appid).map(String::as_str);
        if registered.is_none() || call.b("component_verify_ticket") != registered {
            return Answer::error(61006);
        }
        let owner = Owner::Component(appid.to_owned());
        let (token, expires_in) = self.issue(owner, call, Reuse::SameWhileValid);
        Answer::Json(json!({"component_access_token": token, "expires_in": expires_in}))
    }

    pub(super) fn create_pre_auth_code(&mut self, call: &Call<'_>) -> Answer {
        let component = match self.component_token_owner(call) {
            Ok(component) => component,
            Err(answer) => return answer,
        };
        let code = self.fresh("preauthcode@@@");
        self.pre_auth_codes.insert(
            code.clone(),
            (component, call.now + Duration::from_secs(1800)),
        );
        Answer::Json(json!({"pre_auth_code": code, "expires_in": 1800}))
    }

    pub(super) fn query_auth(&mut self, call: &Call<'_>) -> Answer {
        let component = match self.component_token_owner(call) {
            Ok(component) => component,
            Err(answer) => return answer,
        };
        let taken = self.take_code(
            call.b("authorization_code"),
            call.now,
            40029,
            |kind| matches!(kind, CodeKind::ComponentAuth { component: c, .. } if *c == component),
        );
        let (kind, _) = match taken {
            Ok(taken) => taken,
            Err(answer) => return answer,
        };
        let CodeKind::ComponentAuth {
            authorizer_appid, ..
        } = kind
        else {
            return Answer::error(40029);
        };
        let owner = Owner::Authorizer {
            component: component.clone(),
            appid: authorizer_appid.clone(),
        };
        let (token, expires_in) = self.issue(owner, call, Reuse::NewKeepPrevious);
        let refresh = self.grant_authorizer_refresh_token(&component, &authorizer_appid);
        Answer::Json(json!({
            "authorization_info": {
                "authorizer_appid": authorizer_appid,
                "authorizer_access_token": token,
                "expires_in": expires_in,
                "authorizer_refresh_token": refresh,
                "func_info": [{"funcscope_category": {"id": 1}}],
            }
        }))
    }

    pub(super) fn authorizer_token(&mut self, call: &Call<'_>) -> Answer {
        let component = match self.component_token_owner(call) {
            Ok(component) => component,
            Err(answer) => return answer,
        };
        let appid = call.b("authorizer_appid").unwrap_or_default().to_owned();
        let Some(refresh) = call.b("authorizer_refresh_token") else {
            return Answer::error(61023);
        };
        if self.authorizer_refresh.get(refresh) != Some(&(component.clone(), appid.clone())) {
            return Answer::error(61023);
        }
        let refresh = if self.config.rotate_authorizer_refresh_token {
            self.authorizer_refresh.remove(refresh);
            self.grant_authorizer_refresh_token(&component, &appid)
        } else {
            refresh.to_owned()
        };
        let owner = Owner::Authorizer { component, appid };
        let (token, expires_in) = self.issue(owner, call, Reuse::NewKeepPrevious);
        Answer::Json(json!({
            "authorizer_access_token": token,
            "expires_in": expires_in,
            "authorizer_refresh_token": refresh,
        }))
    }

    /// The component behind the query's `component_access_token`, which
    /// must also be the body's `component_appid`.
    pub(super) fn component_token_owner(&self, call: &Call<'_>) -> Result<String, Answer> {
        let component = self.component_access(call)?;
        if call.b("component_appid") != Some(component.as_str()) {
            return Err(Answer::error(40013));
        }
        Ok(component)
    }
}
