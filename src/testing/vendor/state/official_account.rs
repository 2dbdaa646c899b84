//! Official Account tokens and WeChat web login (获取Access token,
//! 获取稳定版接口调用凭据, 网页授权, 代公众号发起网页授权).

use serde_json::{Value, json};

use super::{Answer, Call, CodeKind, Invalid, Owner, Reuse, SNS_REFRESH_LIFETIME, Vendor};

impl Vendor {
    pub(super) fn oa_secret_check(
        &self,
        appid: Option<&str>,
        secret: Option<&str>,
    ) -> Result<(), Answer> {
        let Some(account) = self
            .config
            .official_accounts
            .iter()
            .find(|a| Some(a.id.as_str()) == appid)
        else {
            return Err(Answer::error(40013));
        };
        if secret != Some(account.secret.as_str()) {
            return Err(Answer::error(40001));
        }
        Ok(())
    }

    pub(super) fn oa_token(&mut self, call: &Call<'_>) -> Answer {
        if call.q("grant_type") != Some("client_credential") {
            return Answer::error(40002);
        }
        if let Err(answer) = self.oa_secret_check(call.q("appid"), call.q("secret")) {
            return answer;
        }
        let owner = Owner::OfficialAccount(call.q("appid").unwrap_or_default().to_owned());
        let (token, expires_in) = self.issue(owner, call, Reuse::NewKillPrevious);
        Answer::Json(json!({"access_token": token, "expires_in": expires_in}))
    }

    pub(super) fn stable_token(&mut self, call: &Call<'_>) -> Answer {
        if call.b("grant_type") != Some("client_credential") {
            return Answer::error(40002);
        }
        if let Err(answer) = self.oa_secret_check(call.b("appid"), call.b("secret")) {
            return answer;
        }
        let force = call
            .body
            .get("force_refresh")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let reuse = if force {
            Reuse::NewKillPrevious
        } else {
            Reuse::SameWhileValid
        };
        let owner = Owner::Stable(call.b("appid").unwrap_or_default().to_owned());
        let (token, expires_in) = self.issue(owner, call, reuse);
        Answer::Json(json!({"access_token": token, "expires_in": expires_in}))
    }

    /// The sns answer for a code or refresh: a new access token for `owner`.
    pub(super) fn sns_grant(
        &mut self,
        owner: Owner,
        refresh: Option<String>,
        call: &Call<'_>,
    ) -> Answer {
        let Owner::Sns { openid, scope, .. } = owner.clone() else {
            return Answer::error(40029);
        };
        let (token, expires_in) = self.issue(owner.clone(), call, Reuse::NewKeepPrevious);
        let refresh = refresh.unwrap_or_else(|| {
            let fresh = self.fresh("snsrefresh");
            self.sns_refresh
                .insert(fresh.clone(), (owner, call.now + SNS_REFRESH_LIFETIME));
            fresh
        });
        let mut answer = json!({
            "access_token": token,
            "expires_in": expires_in,
            "refresh_token": refresh,
            "openid": openid,
            "scope": scope,
        });
        let unionid = self.profiles.get(&openid).and_then(|u| u.unionid.clone());
        if let (Some(unionid), Some(object)) = (unionid, answer.as_object_mut()) {
            object.insert("unionid".to_owned(), json!(unionid));
        }
        Answer::Json(answer)
    }

    pub(super) fn sns_exchange(&mut self, call: &Call<'_>, component: Option<String>) -> Answer {
        if call.q("grant_type") != Some("authorization_code") {
            return Answer::error(40002);
        }
        let appid = call.q("appid").unwrap_or_default().to_owned();
        let wanted = component.clone();
        let taken = self.take_code(call.q("code"), call.now, 40163, |kind| {
            matches!(kind, CodeKind::Sns { appid: a, component: c, .. } if *a == appid && *c == wanted)
        });
        let (kind, user) = match taken {
            Ok(taken) => taken,
            Err(answer) => return answer,
        };
        let CodeKind::Sns { scope, .. } = kind else {
            return Answer::error(40029);
        };
        let openid = user.openid.clone();
        self.profiles.insert(openid.clone(), user);
        let owner = Owner::Sns {
            appid,
            openid,
            scope,
            component,
        };
        self.sns_grant(owner, None, call)
    }

    pub(super) fn sns_access_token(&mut self, call: &Call<'_>) -> Answer {
        if let Err(answer) = self.oa_secret_check(call.q("appid"), call.q("secret")) {
            return answer;
        }
        self.sns_exchange(call, None)
    }

    pub(super) fn sns_component_access_token(&mut self, call: &Call<'_>) -> Answer {
        let component = match self.component_access(call) {
            Ok(component) => component,
            Err(answer) => return answer,
        };
        if call.q("component_appid") != Some(component.as_str()) {
            return Answer::error(40013);
        }
        self.sns_exchange(call, Some(component))
    }

    pub(super) fn sns_refresh_token(&mut self, call: &Call<'_>) -> Answer {
        if call.q("grant_type") != Some("refresh_token") {
            return Answer::error(40002);
        }
        let appid = call.q("appid").unwrap_or_default();
        let found = call
            .q("refresh_token")
            .and_then(|r| self.sns_refresh.get(r))
            .filter(|(owner, expires_at)| {
                matches!(owner, Owner::Sns { appid: a, .. } if a == appid) && *expires_at > call.now
            })
            .map(|(owner, _)| owner.clone());
        let Some(owner) = found else {
            return Answer::error(40030);
        };
        let refresh = call.q("refresh_token").map(str::to_owned);
        self.sns_grant(owner, refresh, call)
    }

    pub(super) fn sns_user_info(&mut self, call: &Call<'_>) -> Answer {
        let owner = match self.check(call.q("access_token"), call.now) {
            Ok(owner @ Owner::Sns { .. }) => owner.clone(),
            Ok(_) | Err(Invalid::Unknown) => return Answer::error(40014),
            Err(Invalid::Expired) => return Answer::error(42001),
            Err(Invalid::Killed) => return Answer::error(40001),
        };
        let Owner::Sns { openid, scope, .. } = owner else {
            return Answer::error(40014);
        };
        if call.q("openid") != Some(openid.as_str()) {
            return Answer::error(40003);
        }
        if scope != "snsapi_userinfo" {
            return Answer::error(48001);
        }
        let Some(user) = self.profiles.get(&openid) else {
            return Answer::error(40003);
        };
        let mut answer = json!({
            "openid": openid,
            "nickname": user.nickname,
            "sex": user.gender.parse::<u8>().unwrap_or(0),
            "province": "",
            "city": "",
            "country": "",
            "headimgurl": user.avatar,
            "privilege": [],
        });
        if let (Some(unionid), Some(object)) = (&user.unionid, answer.as_object_mut()) {
            object.insert("unionid".to_owned(), json!(unionid));
        }
        Answer::Json(answer)
    }
}
