//! WeCom's API calls: corp, provider and suite tokens, the suite's codes,
//! `message/send` and web-login identity (获取access_token, 获取第三方应用凭证,
//! 获取企业永久授权码, 获取企业凭证, 发送应用消息, 获取访问用户身份).

use serde_json::{Value, json};

use super::{
    Answer, Call, CodeKind, Invalid, Owner, PRE_AUTH_CODE_LIFETIME, Reuse, USER_TICKET_LIFETIME,
    Vendor,
};

impl Vendor {
    pub(super) fn get_token(&mut self, call: &Call<'_>) -> Answer {
        let corpid = call.q("corpid").unwrap_or_default();
        let mut apps = self.config.wecom_apps.iter().filter(|a| a.corpid == corpid);
        let Some(first) = apps.next() else {
            return Answer::error(40013);
        };
        let secret = call.q("corpsecret").unwrap_or_default();
        let app = std::iter::once(first)
            .chain(apps)
            .find(|a| a.corpsecret == secret);
        let Some(app) = app.cloned() else {
            return Answer::error(40001);
        };
        let owner = Owner::Corp {
            corpid: app.corpid,
            agentid: Some(app.agentid),
            suite: None,
        };
        let (token, expires_in) = self.issue(owner, call, Reuse::SameWhileValid);
        Answer::ok(json!({"access_token": token, "expires_in": expires_in}))
    }

    pub(super) fn message_send(&mut self, call: &Call<'_>) -> Answer {
        let (_, agentid) = match self.corp_token(call) {
            Ok(found) => found,
            Err(answer) => return answer,
        };
        if !call.body.is_object() {
            return Answer::error(44002);
        }
        if call.b("touser").is_none() && call.b("toparty").is_none() && call.b("totag").is_none() {
            return Answer::error(40035);
        }
        let sent_agentid = match call.body.get("agentid") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        if agentid.is_some_and(|own| sent_agentid != Some(own)) {
            return Answer::error(301002);
        }
        self.sent.push(call.body.clone());
        let msgid = self.fresh("msg");
        Answer::ok(json!({"invaliduser": "", "msgid": msgid}))
    }

    pub(super) fn get_callback_ip(&mut self, call: &Call<'_>) -> Answer {
        let Some(token) = call.q("access_token") else {
            return Answer::error(41001);
        };
        match self.check(Some(token), call.now) {
            Ok(
                Owner::Corp { .. }
                | Owner::OfficialAccount(_)
                | Owner::Stable(_)
                | Owner::Authorizer { .. },
            ) => Answer::ok(json!({"ip_list": ["127.0.0.1"]})),
            Ok(_) | Err(Invalid::Unknown) => Answer::error(40014),
            Err(Invalid::Expired) => Answer::error(42001),
            Err(Invalid::Killed) => Answer::error(40001),
        }
    }

    pub(super) fn get_provider_token(&mut self, call: &Call<'_>) -> Answer {
        let corpid = call.b("corpid").unwrap_or_default();
        let Some(provider) = self.config.providers.iter().find(|p| p.id == corpid) else {
            return Answer::error(40013);
        };
        if call.b("provider_secret") != Some(provider.secret.as_str()) {
            return Answer::error(40001);
        }
        let owner = Owner::Provider(corpid.to_owned());
        let (token, expires_in) = self.issue(owner, call, Reuse::SameWhileValid);
        Answer::ok(json!({"provider_access_token": token, "expires_in": expires_in}))
    }

    pub(super) fn get_suite_token(&mut self, call: &Call<'_>) -> Answer {
        let suite_id = call.b("suite_id").unwrap_or_default();
        let Some(suite) = self.config.suites.iter().find(|s| s.id == suite_id) else {
            return Answer::error(40013);
        };
        if call.b("suite_secret") != Some(suite.secret.as_str()) {
            return Answer::error(40001);
        }
        let registered = self.suite_tickets.get(suite_id).map(String::as_str);
        if registered.is_none() || call.b("suite_ticket") != registered {
            return Answer::error(40085);
        }
        let owner = Owner::Suite(suite_id.to_owned());
        let (token, expires_in) = self.issue(owner, call, Reuse::SameWhileValid);
        Answer::ok(json!({"suite_access_token": token, "expires_in": expires_in}))
    }

    pub(super) fn get_pre_auth_code(&mut self, call: &Call<'_>) -> Answer {
        let suite_id = match self.suite_token(call) {
            Ok(suite_id) => suite_id,
            Err(answer) => return answer,
        };
        let code = self.fresh("preauthcode");
        self.pre_auth_codes
            .insert(code.clone(), (suite_id, call.now + PRE_AUTH_CODE_LIFETIME));
        Answer::ok(json!({
            "pre_auth_code": code,
            "expires_in": PRE_AUTH_CODE_LIFETIME.as_secs(),
        }))
    }

    pub(super) fn get_permanent_code(&mut self, call: &Call<'_>) -> Answer {
        let suite_id = match self.suite_token(call) {
            Ok(suite_id) => suite_id,
            Err(answer) => return answer,
        };
        let taken = self.take_code(
            call.b("auth_code"),
            call.now,
            40029,
            |kind| matches!(kind, CodeKind::SuiteAuth { suite_id: s, .. } if *s == suite_id),
        );
        let (kind, user) = match taken {
            Ok(taken) => taken,
            Err(answer) => return answer,
        };
        let CodeKind::SuiteAuth { corpid, .. } = kind else {
            return Answer::error(40029);
        };
        let permanent_code = self.grant_permanent_code(&suite_id, &corpid);
        let owner = Owner::Corp {
            corpid: corpid.clone(),
            agentid: None,
            suite: Some(suite_id),
        };
        let (token, expires_in) = self.issue(owner, call, Reuse::SameWhileValid);
        Answer::ok(json!({
            "access_token": token,
            "expires_in": expires_in,
            "permanent_code": permanent_code,
            "auth_corp_info": {
                "corpid": corpid,
                "corp_name": self.config.install_corp_name,
            },
            "auth_info": {"agent": [{"agentid": 1_000_001, "name": "stand-in suite app"}]},
            "auth_user_info": {"userid": user.userid.unwrap_or_default()},
        }))
    }

    pub(super) fn get_corp_token(&mut self, call: &Call<'_>) -> Answer {
        let suite_id = match self.suite_token(call) {
            Ok(suite_id) => suite_id,
            Err(answer) => return answer,
        };
        let corpid = call.b("auth_corpid").unwrap_or_default();
        let known = call
            .b("permanent_code")
            .and_then(|code| self.permanent_codes.get(code));
        if known != Some(&(suite_id.clone(), corpid.to_owned())) {
            return Answer::error(40084);
        }
        let owner = Owner::Corp {
            corpid: corpid.to_owned(),
            agentid: None,
            suite: Some(suite_id),
        };
        let (token, expires_in) = self.issue(owner, call, Reuse::SameWhileValid);
        Answer::ok(json!({"access_token": token, "expires_in": expires_in}))
    }

    pub(super) fn get_user_info(&mut self, call: &Call<'_>) -> Answer {
        let corpid = match self.corp_token(call) {
            Ok((corpid, _)) => corpid,
            Err(answer) => return answer,
        };
        let taken = self.take_code(
            call.q("code"),
            call.now,
            40029,
            |kind| matches!(kind, CodeKind::WeCom { corpid: c, .. } if *c == corpid),
        );
        let (kind, user) = match taken {
            Ok(taken) => taken,
            Err(answer) => return answer,
        };
        let CodeKind::WeCom { scope, .. } = kind else {
            return Answer::error(40029);
        };
        let Some(userid) = user.userid.clone() else {
            let mut answer = json!({"openid": user.openid});
            if let (Some(external), Some(object)) = (&user.external_userid, answer.as_object_mut())
            {
                object.insert("external_userid".to_owned(), json!(external));
            }
            return Answer::ok(answer);
        };
        if scope == "snsapi_privateinfo" {
            let ticket = self.fresh("userticket");
            self.user_tickets.insert(
                ticket.clone(),
                (corpid, user, call.now + USER_TICKET_LIFETIME),
            );
            return Answer::ok(json!({
                "userid": userid,
                "user_ticket": ticket,
                "expires_in": USER_TICKET_LIFETIME.as_secs(),
            }));
        }
        Answer::ok(json!({"userid": userid}))
    }

    pub(super) fn get_user_detail(&mut self, call: &Call<'_>) -> Answer {
        let corpid = match self.corp_token(call) {
            Ok((corpid, _)) => corpid,
            Err(answer) => return answer,
        };
        let found = call
            .b("user_ticket")
            .and_then(|t| self.user_tickets.get(t))
            .filter(|(c, _, expires_at)| *c == corpid && *expires_at > call.now);
        let Some((_, user, _)) = found else {
            return Answer::error(40029);
        };
        Answer::ok(json!({
            "userid": user.userid.clone().unwrap_or_default(),
            "name": user.nickname,
            "gender": user.gender,
            "avatar": user.avatar,
            "qr_code": format!("https://open.work.weixin.qq.com/wwopen/userQRCode?vcode=standin{}", user.openid),
            "mobile": user.mobile,
            "email": user.email,
            "biz_mail": user.email,
            "address": "",
        }))
    }
}
