//! The stand-in's memory: tokens, codes, tickets and durable secrets it has
//! issued, with their lifetimes, and the counters and fault queues. Pure:
//! the clock comes in as an argument, no HTTP.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::config::{Consent, VendorConfig, VendorUser};
use super::endpoint::{Fault, VendorEndpoint, errmsg};

/// What the HTTP side sends back.
#[derive(Debug)]
pub(super) enum Answer {
    /// HTTP 200 with this JSON body.
    Json(Value),
    /// 302 to this URL.
    Redirect(String),
    /// An error page: this status and text.
    Page(u16, &'static str),
}

impl Answer {
    /// The vendor's error shape: HTTP 200, `errcode`, `errmsg` with a hint.
    pub(super) fn error(errcode: i64) -> Self {
        Self::Json(json!({
            "errcode": errcode,
            "errmsg": format!("{}, hint: [standin-{errcode}]", errmsg(errcode)),
        }))
    }

    fn ok(mut value: Value) -> Self {
        if let Some(object) = value.as_object_mut() {
            object.insert("errcode".to_owned(), json!(0));
            object.insert("errmsg".to_owned(), json!("ok"));
        }
        Self::Json(value)
    }

    /// Whether this answer issued what was asked (a success, or a page that
    /// redirects with a code).
    pub(super) fn is_success(&self) -> bool {
        match self {
            Self::Json(value) => value.get("errcode").and_then(Value::as_i64).unwrap_or(0) == 0,
            Self::Redirect(url) => url.contains("code="),
            Self::Page(..) => false,
        }
    }
}

/// Who a token belongs to; also the key of the "latest token" slot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Owner {
    /// A corp `access_token`: a self-built app's (`agentid`) or one from
    /// `get_corp_token`/`get_permanent_code` (`suite`).
    Corp {
        corpid: String,
        agentid: Option<i64>,
        suite: Option<String>,
    },
    Provider(String),
    Suite(String),
    OfficialAccount(String),
    Stable(String),
    Component(String),
    Authorizer {
        component: String,
        appid: String,
    },
    Sns {
        appid: String,
        openid: String,
        scope: String,
        component: Option<String>,
    },
}

#[derive(Debug)]
struct Token {
    owner: Owner,
    expires_at: Instant,
    killed_at: Option<Instant>,
}

/// How a token fails its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Invalid {
    Unknown,
    Expired,
    Killed,
}

/// Whether a token fetch gives back the live token or a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reuse {
    /// The same token while it is valid (`gettoken`, `get_suite_token`, …).
    SameWhileValid,
    /// A new token; the previous one dies after the grace period
    /// (`cgi-bin/token`, forced `stable_token`).
    NewKillPrevious,
    /// A new token; the previous ones live on to their expiry.
    NewKeepPrevious,
}

#[derive(Debug, Clone)]
enum CodeKind {
    /// WeCom web login (`connect/oauth2/authorize`, `wwlogin/sso/login`).
    WeCom { corpid: String, scope: String },
    /// WeChat web login, for an Official Account or through a component.
    Sns {
        appid: String,
        scope: String,
        component: Option<String>,
    },
    /// A suite install's `auth_code` (the `create_auth` push).
    SuiteAuth { suite_id: String, corpid: String },
    /// A component's `authorization_code` (the `authorized` push).
    ComponentAuth {
        component: String,
        authorizer_appid: String,
    },
}

#[derive(Debug)]
struct Code {
    kind: CodeKind,
    user: VendorUser,
    expires_at: Instant,
    used: bool,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    calls: u64,
    issued: u64,
}

/// The stand-in's whole memory, behind one lock in the server.
#[derive(Debug)]
pub(super) struct Vendor {
    config: VendorConfig,
    consent: Consent,
    serial: u64,
    tokens: HashMap<String, Token>,
    latest: HashMap<Owner, String>,
    codes: HashMap<String, Code>,
    /// `pre_auth_code` → (suite id or component appid, expiry).
    pre_auth_codes: HashMap<String, (String, Instant)>,
    /// `user_ticket` → (corpid, user, expiry).
    user_tickets: HashMap<String, (String, VendorUser, Instant)>,
    /// sns `refresh_token` → (owner of the access tokens it refreshes, expiry).
    sns_refresh: HashMap<String, (Owner, Instant)>,
    /// `openid` → the profile `sns/userinfo` answers.
    profiles: HashMap<String, VendorUser>,
    /// `permanent_code` → (suite id, corpid).
    permanent_codes: HashMap<String, (String, String)>,
    /// `authorizer_refresh_token` → (component appid, authorizer appid).
    authorizer_refresh: HashMap<String, (String, String)>,
    suite_tickets: HashMap<String, String>,
    component_tickets: HashMap<String, String>,
    counts: HashMap<VendorEndpoint, Counts>,
    faults: HashMap<VendorEndpoint, VecDeque<Fault>>,
    sent: Vec<Value>,
}

/// One request, as the HTTP side parsed it.
#[derive(Debug)]
pub(super) struct Call<'a> {
    pub(super) endpoint: VendorEndpoint,
    pub(super) query: &'a HashMap<String, String>,
    pub(super) body: &'a Value,
    pub(super) now: Instant,
}

impl Call<'_> {
    fn q(&self, name: &str) -> Option<&str> {
        self.query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn b(&self, name: &str) -> Option<&str> {
        self.body
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    }
}

const SNS_REFRESH_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
const SUITE_AUTH_CODE_LIFETIME: Duration = Duration::from_secs(1200);
const COMPONENT_AUTH_CODE_LIFETIME: Duration = Duration::from_secs(600);
const PRE_AUTH_CODE_LIFETIME: Duration = Duration::from_secs(1200);
const USER_TICKET_LIFETIME: Duration = Duration::from_secs(1800);

impl Vendor {
    pub(super) fn new(config: VendorConfig) -> Self {
        Self {
            config,
            consent: Consent::Grant,
            serial: 0,
            tokens: HashMap::new(),
            latest: HashMap::new(),
            codes: HashMap::new(),
            pre_auth_codes: HashMap::new(),
            user_tickets: HashMap::new(),
            sns_refresh: HashMap::new(),
            profiles: HashMap::new(),
            permanent_codes: HashMap::new(),
            authorizer_refresh: HashMap::new(),
            suite_tickets: HashMap::new(),
            component_tickets: HashMap::new(),
            counts: HashMap::new(),
            faults: HashMap::new(),
            sent: Vec::new(),
        }
    }

    // ----- controls (the handle's methods) -----

    pub(super) fn set_suite_ticket(&mut self, suite_id: &str, ticket: &str) {
        self.suite_tickets
            .insert(suite_id.to_owned(), ticket.to_owned());
    }

    pub(super) fn set_component_verify_ticket(&mut self, component_appid: &str, ticket: &str) {
        self.component_tickets
            .insert(component_appid.to_owned(), ticket.to_owned());
    }

    pub(super) fn set_user(&mut self, user: VendorUser) {
        self.config.user = user;
    }

    pub(super) fn set_consent(&mut self, consent: Consent) {
        self.consent = consent;
    }

    pub(super) fn set_expires_in(&mut self, endpoint: VendorEndpoint, seconds: u64) {
        self.config.expires_in_for.insert(endpoint, seconds);
    }

    pub(super) fn calls(&self, endpoint: VendorEndpoint) -> u64 {
        self.counts.get(&endpoint).map_or(0, |c| c.calls)
    }

    pub(super) fn issued(&self, endpoint: VendorEndpoint) -> u64 {
        self.counts.get(&endpoint).map_or(0, |c| c.issued)
    }

    pub(super) fn reset_counts(&mut self) {
        self.counts.clear();
    }

    pub(super) fn inject(&mut self, endpoint: VendorEndpoint, fault: Fault, times: usize) {
        let queue = self.faults.entry(endpoint).or_default();
        queue.extend(std::iter::repeat_n(fault, times));
    }

    pub(super) fn clear_faults(&mut self) {
        self.faults.clear();
    }

    pub(super) fn sent_messages(&self) -> Vec<Value> {
        self.sent.clone()
    }

    /// Every token issued so far expires now.
    pub(super) fn expire_tokens(&mut self, now: Instant) {
        for token in self.tokens.values_mut() {
            token.expires_at = token.expires_at.min(now);
        }
    }

    /// `token` answers `40001` from now on; false when it was never issued.
    pub(super) fn kill_token(&mut self, token: &str, now: Instant) -> bool {
        match self.tokens.get_mut(token) {
            Some(record) => {
                record.killed_at = Some(now);
                true
            }
            None => false,
        }
    }

    pub(super) fn issue_suite_auth_code(&mut self, suite_id: &str, now: Instant) -> String {
        let kind = CodeKind::SuiteAuth {
            suite_id: suite_id.to_owned(),
            corpid: self.config.install_corpid.clone(),
        };
        self.issue_code("authcode", kind, now + SUITE_AUTH_CODE_LIFETIME)
    }

    pub(super) fn issue_authorization_code(
        &mut self,
        component_appid: &str,
        now: Instant,
    ) -> String {
        let kind = CodeKind::ComponentAuth {
            component: component_appid.to_owned(),
            authorizer_appid: self.config.authorizer_appid.clone(),
        };
        self.issue_code("queryauthcode@@@", kind, now + COMPONENT_AUTH_CODE_LIFETIME)
    }

    pub(super) fn grant_permanent_code(&mut self, suite_id: &str, corpid: &str) -> String {
        let code = self.fresh("permanentcode");
        self.permanent_codes
            .insert(code.clone(), (suite_id.to_owned(), corpid.to_owned()));
        code
    }

    pub(super) fn grant_authorizer_refresh_token(
        &mut self,
        component_appid: &str,
        authorizer_appid: &str,
    ) -> String {
        let token = self.fresh("refreshtoken@@@");
        self.authorizer_refresh.insert(
            token.clone(),
            (component_appid.to_owned(), authorizer_appid.to_owned()),
        );
        token
    }

    // ----- the request path -----

    /// Counts a call and takes its injected fault, if one is queued.
    pub(super) fn arrive(&mut self, endpoint: VendorEndpoint) -> Option<Fault> {
        self.counts.entry(endpoint).or_default().calls += 1;
        self.faults.get_mut(&endpoint).and_then(VecDeque::pop_front)
    }

    /// Answers one call and counts what it issued.
    pub(super) fn answer(&mut self, call: &Call<'_>) -> Answer {
        let answer = self.dispatch(call);
        if answer.is_success() {
            self.counts.entry(call.endpoint).or_default().issued += 1;
        }
        answer
    }

    fn dispatch(&mut self, call: &Call<'_>) -> Answer {
        use VendorEndpoint as E;
        match call.endpoint {
            E::GetToken => self.get_token(call),
            E::MessageSend => self.message_send(call),
            E::GetCallbackIp => self.get_callback_ip(call),
            E::GetProviderToken => self.get_provider_token(call),
            E::GetSuiteToken => self.get_suite_token(call),
            E::GetPreAuthCode => self.get_pre_auth_code(call),
            E::GetPermanentCode => self.get_permanent_code(call),
            E::GetCorpToken => self.get_corp_token(call),
            E::GetUserInfo => self.get_user_info(call),
            E::GetUserDetail => self.get_user_detail(call),
            E::Authorize => self.authorize_page(call),
            E::SsoLogin => self.sso_login_page(call),
            E::SuiteInstall => self.suite_install_page(call),
            E::Token => self.oa_token(call),
            E::StableToken => self.stable_token(call),
            E::SnsAccessToken => self.sns_access_token(call),
            E::SnsRefreshToken => self.sns_refresh_token(call),
            E::SnsUserInfo => self.sns_user_info(call),
            E::SnsComponentAccessToken => self.sns_component_access_token(call),
            E::ComponentToken => self.component_token(call),
            E::CreatePreAuthCode => self.create_pre_auth_code(call),
            E::QueryAuth => self.query_auth(call),
            E::AuthorizerToken => self.authorizer_token(call),
            E::ComponentLoginPage => self.component_login_page(call),
        }
    }

    // ----- tokens and codes -----

    fn fresh(&mut self, prefix: &str) -> String {
        self.serial += 1;
        let random: u64 = rand::Rng::random(&mut rand::rng());
        format!("{prefix}{}x{random:016x}", self.serial)
    }

    /// Issues (or gives back) a token for `owner`: (token, `expires_in`).
    fn issue(&mut self, owner: Owner, call: &Call<'_>, reuse: Reuse) -> (String, u64) {
        let now = call.now;
        if let Some(previous) = self.latest.get(&owner).cloned() {
            match reuse {
                Reuse::SameWhileValid => {
                    let live = self.tokens.get(&previous).filter(|token| {
                        token.killed_at.is_none_or(|at| at > now) && token.expires_at > now
                    });
                    if let Some(token) = live {
                        let left = token.expires_at.duration_since(now);
                        let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                        return (previous, seconds);
                    }
                }
                Reuse::NewKillPrevious => {
                    let dies = now + self.config.token_grace;
                    if let Some(token) = self.tokens.get_mut(&previous) {
                        token.killed_at = Some(token.killed_at.map_or(dies, |at| at.min(dies)));
                    }
                }
                Reuse::NewKeepPrevious => {}
            }
        }
        let seconds = self.config.expires_in_of(call.endpoint);
        let token = self.fresh("standin_token_");
        self.tokens.insert(
            token.clone(),
            Token {
                owner: owner.clone(),
                expires_at: now + Duration::from_secs(seconds),
                killed_at: None,
            },
        );
        self.latest.insert(owner, token.clone());
        (token, seconds)
    }

    fn check(&self, token: Option<&str>, now: Instant) -> Result<&Owner, Invalid> {
        let record = token
            .and_then(|t| self.tokens.get(t))
            .ok_or(Invalid::Unknown)?;
        if record.killed_at.is_some_and(|at| at <= now) {
            return Err(Invalid::Killed);
        }
        if record.expires_at <= now {
            return Err(Invalid::Expired);
        }
        Ok(&record.owner)
    }

    /// A corp `access_token` (query `access_token`): its corpid and agentid.
    fn corp_token(&self, call: &Call<'_>) -> Result<(String, Option<i64>), Answer> {
        let Some(token) = call.q("access_token") else {
            return Err(Answer::error(41001));
        };
        match self.check(Some(token), call.now) {
            Ok(Owner::Corp {
                corpid, agentid, ..
            }) => Ok((corpid.clone(), *agentid)),
            Ok(_) | Err(Invalid::Unknown) => Err(Answer::error(40014)),
            Err(Invalid::Expired) => Err(Answer::error(42001)),
            Err(Invalid::Killed) => Err(Answer::error(40001)),
        }
    }

    /// A `suite_access_token` (query): its suite id.
    fn suite_token(&self, call: &Call<'_>) -> Result<String, Answer> {
        match self.check(call.q("suite_access_token"), call.now) {
            Ok(Owner::Suite(suite_id)) => Ok(suite_id.clone()),
            Ok(_) | Err(Invalid::Unknown | Invalid::Killed) => Err(Answer::error(40082)),
            Err(Invalid::Expired) => Err(Answer::error(42009)),
        }
    }

    /// A `component_access_token` (query): its component appid.
    fn component_access(&self, call: &Call<'_>) -> Result<String, Answer> {
        match self.check(call.q("component_access_token"), call.now) {
            Ok(Owner::Component(appid)) => Ok(appid.clone()),
            Ok(_) | Err(Invalid::Unknown) => Err(Answer::error(40014)),
            Err(Invalid::Expired) => Err(Answer::error(42001)),
            Err(Invalid::Killed) => Err(Answer::error(40001)),
        }
    }

    fn issue_code(&mut self, prefix: &str, kind: CodeKind, expires_at: Instant) -> String {
        let code = self.fresh(prefix);
        let user = self.config.user.clone();
        self.codes.insert(
            code.clone(),
            Code {
                kind,
                user,
                expires_at,
                used: false,
            },
        );
        code
    }

    /// Takes a code for one exchange: `matches` says whether it is the right
    /// kind for this caller; a used code answers `used_code`.
    fn take_code(
        &mut self,
        code: Option<&str>,
        now: Instant,
        used_code: i64,
        matches: impl Fn(&CodeKind) -> bool,
    ) -> Result<(CodeKind, VendorUser), Answer> {
        let record = code
            .and_then(|c| self.codes.get_mut(c))
            .filter(|record| matches(&record.kind))
            .ok_or_else(|| Answer::error(40029))?;
        if record.used {
            return Err(Answer::error(used_code));
        }
        if record.expires_at <= now {
            return Err(Answer::error(40029));
        }
        record.used = true;
        Ok((record.kind.clone(), record.user.clone()))
    }

    // ----- WeCom -----

    fn get_token(&mut self, call: &Call<'_>) -> Answer {
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

    fn message_send(&mut self, call: &Call<'_>) -> Answer {
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

    fn get_callback_ip(&mut self, call: &Call<'_>) -> Answer {
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

    fn get_provider_token(&mut self, call: &Call<'_>) -> Answer {
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

    fn get_suite_token(&mut self, call: &Call<'_>) -> Answer {
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

    fn get_pre_auth_code(&mut self, call: &Call<'_>) -> Answer {
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

    fn get_permanent_code(&mut self, call: &Call<'_>) -> Answer {
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

    fn get_corp_token(&mut self, call: &Call<'_>) -> Answer {
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

    fn get_user_info(&mut self, call: &Call<'_>) -> Answer {
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

    fn get_user_detail(&mut self, call: &Call<'_>) -> Answer {
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

    // ----- browser pages -----

    fn authorize_page(&mut self, call: &Call<'_>) -> Answer {
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

    fn sso_login_page(&mut self, call: &Call<'_>) -> Answer {
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

    fn suite_install_page(&mut self, call: &Call<'_>) -> Answer {
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

    fn component_login_page(&mut self, call: &Call<'_>) -> Answer {
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

    fn is_corp(&self, appid: &str) -> bool {
        self.config.wecom_apps.iter().any(|a| a.corpid == appid)
            || self.config.install_corpid == appid
    }

    fn pre_auth_valid(&self, code: Option<&str>, owner: &str, now: Instant) -> bool {
        code.and_then(|c| self.pre_auth_codes.get(c))
            .is_some_and(|(o, expires_at)| o == owner && *expires_at > now)
    }

    /// The 302 of a page: with a fresh code (named `param`) on consent,
    /// without one on refusal; `state` comes back as given.
    fn consent_redirect(
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

    // ----- Official Account -----

    fn oa_secret_check(&self, appid: Option<&str>, secret: Option<&str>) -> Result<(), Answer> {
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

    fn oa_token(&mut self, call: &Call<'_>) -> Answer {
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

    fn stable_token(&mut self, call: &Call<'_>) -> Answer {
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
    fn sns_grant(&mut self, owner: Owner, refresh: Option<String>, call: &Call<'_>) -> Answer {
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

    fn sns_exchange(&mut self, call: &Call<'_>, component: Option<String>) -> Answer {
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

    fn sns_access_token(&mut self, call: &Call<'_>) -> Answer {
        if let Err(answer) = self.oa_secret_check(call.q("appid"), call.q("secret")) {
            return answer;
        }
        self.sns_exchange(call, None)
    }

    fn sns_component_access_token(&mut self, call: &Call<'_>) -> Answer {
        let component = match self.component_access(call) {
            Ok(component) => component,
            Err(answer) => return answer,
        };
        if call.q("component_appid") != Some(component.as_str()) {
            return Answer::error(40013);
        }
        self.sns_exchange(call, Some(component))
    }

    fn sns_refresh_token(&mut self, call: &Call<'_>) -> Answer {
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

    fn sns_user_info(&mut self, call: &Call<'_>) -> Answer {
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

    // ----- Open Platform -----

    fn component_token(&mut self, call: &Call<'_>) -> Answer {
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

    fn create_pre_auth_code(&mut self, call: &Call<'_>) -> Answer {
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

    fn query_auth(&mut self, call: &Call<'_>) -> Answer {
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

    fn authorizer_token(&mut self, call: &Call<'_>) -> Answer {
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
    fn component_token_owner(&self, call: &Call<'_>) -> Result<String, Answer> {
        let component = self.component_access(call)?;
        if call.b("component_appid") != Some(component.as_str()) {
            return Err(Answer::error(40013));
        }
        Ok(component)
    }
}
