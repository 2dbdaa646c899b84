//! The stand-in's memory: tokens, codes, tickets and durable secrets it has
//! issued, with their lifetimes, and the counters and fault queues. Pure:
//! the clock comes in as an argument, no HTTP.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::config::{Consent, VendorConfig, VendorUser};
use super::endpoint::{Fault, VendorEndpoint, errmsg};

mod official_account;
mod open_platform;
mod pages;
mod wecom;

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
}
