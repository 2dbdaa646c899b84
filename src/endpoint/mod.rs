//! Callback kinds and one callback URL's configuration, pure.
//!
//! Five dialects of the same WXBizMsgCrypt scheme reach a callback server
//! (this project's PROTOCOL.md §1, from WeCom doc 加解密方案说明 附注
//! ReceiveId 含义, WeCom doc 回调通知 概述, WeCom doc 智能机器人 回调和回复的加解密方案,
//! WeChat doc 消息加解密说明 and WeChat Open Platform doc 消息加解密接入指引).
//! They differ in the receive id inside the ciphertext, in how the `GET`
//! verification and the `POST` are signed, in the body format, in whether a
//! passive reply is allowed and in the "no reply" acknowledgement. All of
//! that is decided here, once per kind, by configuration: a request can
//! never switch an endpoint into another kind or a weaker mode.
//!
//! | constructor | kind | receive id | GET | POST | ack | passive reply |
//! |---|---|---|---|---|---|---|
//! | [`Endpoint::wecom_app`] | self-built app | corp id | `msg_signature`, decrypt `echostr` | `msg_signature`, XML (or JSON, [`Endpoint::json`]) | empty 200 | XML |
//! | [`Endpoint::wecom_suite`] | third-party suite, 指令回调 | suite id | as above | as above | `success` | none |
//! | [`Endpoint::wecom_individual_suite`] | individual-subject third-party app, 指令回调 | `""` | as above | as above | `success` | none |
//! | [`Endpoint::wecom_suite_data`] | third-party suite, 数据回调 | GET: provider corp id; POST: an authorized corp | as above | as above | empty 200 | XML |
//! | [`Endpoint::wecom_bot`] | intelligent robot (智能机器人) | `""` | as above | `msg_signature`, JSON | empty 200 | JSON |
//! | [`Endpoint::official_account_plain`] | Official Account, plaintext mode | — | `signature`, echo `echostr` | `signature` only: **body not authenticated** | `success` | XML, plaintext |
//! | [`Endpoint::official_account_compat`] | Official Account, compatible mode | appid | as above | `encrypt_type=aes` + `msg_signature` | `success` | XML, encrypted |
//! | [`Endpoint::official_account_safe`] | Official Account, safe mode | appid | as above | as above | `success` | XML, encrypted |
//! | [`Endpoint::open_platform`] | Open Platform component (第三方平台) | component appid | as above | as above (envelope `AppId` + `Encrypt`) | `success` | none |

use std::fmt;
use std::sync::Arc;

use crate::crypto::{ConfigError, ConfigErrorKind, MsgCrypt, ReceiveIdPredicate};

mod corps;
mod kind;

pub use corps::SharedCorpList;
pub(crate) use kind::Scheme;
pub use kind::{BodyFormat, CallbackKind, OfficialAccountMode, ReplyFormat};

/// Which corps may send a WeCom third-party data callback (数据回调): the
/// receive id of each POST must pass this check, never "anything".
#[derive(Clone)]
pub enum AuthorizedCorps {
    /// A fixed set of corp ids.
    List(Vec<String>),
    /// A run-time check, e.g. a lookup in your table of the corps that
    /// authorized the suite. That table is filled from the suite's
    /// instruction callback: a `create_auth` push carries a temporary
    /// `AuthCode`, which the permanent-code exchange (WeCom doc
    /// 获取企业永久授权码, in the crate's credentials module, `client`) turns
    /// into the corp id and its `permanent_code`; `cancel_auth` removes the
    /// corp. [`AuthorizedCorps::shared`] is such a table, ready made.
    Predicate(ReceiveIdPredicate),
}

impl AuthorizedCorps {
    /// The corps in `ids`.
    pub fn list<I, S>(ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::List(ids.into_iter().map(Into::into).collect())
    }

    /// Every corp id for which `accept` returns `true`.
    pub fn predicate(accept: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        Self::Predicate(Arc::new(accept))
    }

    /// The corps in `list` at the time of each POST: add a corp when its
    /// `create_auth` has been handled, remove it on `cancel_auth`, while
    /// the server runs, with no lock of yours (see [`SharedCorpList`]).
    pub fn shared(list: &SharedCorpList) -> Self {
        let list = list.clone();
        Self::predicate(move |corp_id| list.contains(corp_id))
    }
}

impl fmt::Debug for AuthorizedCorps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::List(ids) => f.debug_tuple("List").field(ids).finish(),
            Self::Predicate(_) => f.write_str("Predicate(..)"),
        }
    }
}

/// One Token/EncodingAESKey pair of an endpoint, with the crypts built
/// from it. `get` differs from `post` only for data callbacks.
#[derive(Clone)]
#[cfg_attr(not(feature = "layer"), allow(dead_code))]
pub(crate) struct Secret {
    pub(crate) token: String,
    /// For POSTs (and replies); `None` in Official Account plaintext mode.
    pub(crate) post: Option<MsgCrypt>,
    /// For the GET verification of WeCom kinds.
    pub(crate) get: Option<MsgCrypt>,
    /// The secret's part of deduplication keys: a fingerprint of Token and
    /// EncodingAESKey (`DedupScope::secret_id`), never the secret itself.
    #[cfg(feature = "dedup")]
    pub(crate) dedup_id: String,
}

/// The settings of one callback URL: its kind, secrets, body format and a
/// name for logs and the handler's context.
///
/// Build it with the constructor of its kind; each one checks everything at
/// construction (Token: 1–32 of `[A-Za-z0-9]`, WeCom doc 回调配置;
/// EncodingAESKey: 43 of `[A-Za-z0-9]`; receive ids: printable ASCII).
/// `Debug` never prints a Token or key.
///
/// ```
/// use wecom_callback::{CallbackKind, Endpoint};
///
/// let app = Endpoint::wecom_app("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")?;
/// assert_eq!(app.kind(), CallbackKind::WeComApp);
/// assert_eq!(app.kind().ack_body(), "");
///
/// let suite = Endpoint::wecom_suite("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "ww4asffe99e54c0f")?
///     .named("crm-suite");
/// assert_eq!(suite.kind().ack_body(), "success");
/// assert_eq!(suite.name(), "crm-suite");
/// assert!(!format!("{suite:?}").contains("QDG6eK"));
/// # Ok::<(), wecom_callback::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Endpoint {
    kind: CallbackKind,
    format: BodyFormat,
    name: Arc<str>,
    secrets: Vec<Secret>,
    /// The receive ids accepted on POST (and used for `previous_secret`).
    post_ids: (Vec<String>, Option<ReceiveIdPredicate>),
    /// The receive id of the GET verification, when it differs.
    get_id: Option<String>,
}

fn nonempty(id: &str) -> Result<(), ConfigError> {
    if id.is_empty() {
        Err(ConfigError::new(ConfigErrorKind::InvalidReceiveId))
    } else {
        Ok(())
    }
}

impl Endpoint {
    fn build(
        kind: CallbackKind,
        format: BodyFormat,
        token: &str,
        encoding_aes_key: Option<&str>,
        post_ids: (Vec<String>, Option<ReceiveIdPredicate>),
        get_id: Option<String>,
    ) -> Result<Self, ConfigError> {
        let name: Arc<str> = match post_ids.0.first() {
            Some(id) if !id.is_empty() => Arc::from(id.as_str()),
            _ => Arc::from(kind.name()),
        };
        let mut endpoint = Self {
            kind,
            format,
            name,
            secrets: Vec::new(),
            post_ids,
            get_id,
        };
        endpoint.add_secret(token, encoding_aes_key)?;
        Ok(endpoint)
    }

    fn add_secret(
        &mut self,
        token: &str,
        encoding_aes_key: Option<&str>,
    ) -> Result<(), ConfigError> {
        let secret = match encoding_aes_key {
            None => {
                // Plaintext mode: the Token alone; checked like the others.
                MsgCrypt::new(token, &"A".repeat(43), "")?;
                Secret {
                    token: token.to_owned(),
                    post: None,
                    get: None,
                    #[cfg(feature = "dedup")]
                    dedup_id: crate::dedup::DedupScope::secret_id(token, None),
                }
            }
            Some(key) => {
                let (ids, accept) = &self.post_ids;
                let mut post = if ids.is_empty() {
                    MsgCrypt::with_receive_id_predicate(token, key)?
                } else {
                    MsgCrypt::with_receive_ids(token, key, ids.iter().cloned())?
                };
                if let Some(accept) = accept {
                    post = post.accept_receive_ids(Arc::clone(accept));
                }
                let get = match &self.get_id {
                    Some(id) => Some(MsgCrypt::new(token, key, id)?),
                    None => Some(post.clone()),
                };
                Secret {
                    token: token.to_owned(),
                    post: Some(post),
                    get,
                    #[cfg(feature = "dedup")]
                    dedup_id: crate::dedup::DedupScope::secret_id(token, Some(key)),
                }
            }
        };
        self.secrets.push(secret);
        Ok(())
    }

    /// A WeCom self-built app's "接收消息" settings: Token, EncodingAESKey
    /// (the app's 接收消息 → 设置API接收 page) and the corp id (我的企业 →
    /// 企业ID). Also for 服务商代开发 apps.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidToken`], [`ConfigErrorKind::IllegalAesKey`]
    /// (-40004), or [`ConfigErrorKind::InvalidReceiveId`] for an empty or
    /// non-printable corp id.
    pub fn wecom_app(
        token: &str,
        encoding_aes_key: &str,
        corp_id: &str,
    ) -> Result<Self, ConfigError> {
        nonempty(corp_id)?;
        Self::build(
            CallbackKind::WeComApp,
            BodyFormat::Xml,
            token,
            Some(encoding_aes_key),
            (vec![corp_id.to_owned()], None),
            None,
        )
    }

    /// A WeCom third-party suite's instruction callback URL (指令回调URL):
    /// receive id = the suite id (WeCom doc 回调通知 概述:
    /// "receiveid的内容为suiteid"). The handler's answer is always the bare
    /// `success`; passive replies are refused.
    ///
    /// # Errors
    /// As [`Endpoint::wecom_app`], for an empty suite id too.
    pub fn wecom_suite(
        token: &str,
        encoding_aes_key: &str,
        suite_id: &str,
    ) -> Result<Self, ConfigError> {
        nonempty(suite_id)?;
        Self::build(
            CallbackKind::WeComSuite,
            BodyFormat::Xml,
            token,
            Some(encoding_aes_key),
            (vec![suite_id.to_owned()], None),
            None,
        )
    }

    /// The instruction callback of a WeCom third-party app of an individual
    /// (个人主体第三方应用): as [`Endpoint::wecom_suite`] with receive id `""`
    /// (WeCom doc 加解密方案说明, 附注 ReceiveId 含义).
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidToken`], [`ConfigErrorKind::IllegalAesKey`].
    pub fn wecom_individual_suite(
        token: &str,
        encoding_aes_key: &str,
    ) -> Result<Self, ConfigError> {
        Self::build(
            CallbackKind::WeComSuite,
            BodyFormat::Xml,
            token,
            Some(encoding_aes_key),
            (vec![String::new()], None),
            None,
        )
    }

    /// A WeCom third-party suite's data callback URL (数据回调URL): the GET
    /// verification decrypts with the provider's own corp id, each POST
    /// with the id of the corp the message comes from, which must be one
    /// of `authorized` (WeCom staff answer quoted in this project's
    /// PROTOCOL.md §1: "get请求都需以服务商本身的corpid来解密；post请求，数据回调url，以授权企业的corpid进行解密").
    ///
    /// # Errors
    /// As [`Endpoint::wecom_app`]; [`ConfigErrorKind::InvalidReceiveId`] also
    /// for an empty list of authorized corps or an empty id in it.
    pub fn wecom_suite_data(
        token: &str,
        encoding_aes_key: &str,
        provider_corp_id: &str,
        authorized: AuthorizedCorps,
    ) -> Result<Self, ConfigError> {
        nonempty(provider_corp_id)?;
        let post_ids = match authorized {
            AuthorizedCorps::List(ids) => {
                if ids.is_empty() {
                    return Err(ConfigError::new(ConfigErrorKind::InvalidReceiveId));
                }
                for id in &ids {
                    nonempty(id)?;
                }
                (ids, None)
            }
            AuthorizedCorps::Predicate(accept) => (Vec::new(), Some(accept)),
        };
        let mut endpoint = Self::build(
            CallbackKind::WeComSuiteData,
            BodyFormat::Xml,
            token,
            Some(encoding_aes_key),
            post_ids,
            Some(provider_corp_id.to_owned()),
        )?;
        endpoint.name = Arc::from(provider_corp_id);
        Ok(endpoint)
    }

    /// The WeCom intelligent robot's callback URL (智能机器人, API mode):
    /// JSON bodies `{"encrypt": …}`, receive id `""` (WeCom doc 智能机器人
    /// 回调和回复的加解密方案), JSON replies.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidToken`], [`ConfigErrorKind::IllegalAesKey`].
    pub fn wecom_bot(token: &str, encoding_aes_key: &str) -> Result<Self, ConfigError> {
        Self::build(
            CallbackKind::WeComBot,
            BodyFormat::Json,
            token,
            Some(encoding_aes_key),
            (vec![String::new()], None),
            None,
        )
    }

    /// A WeChat Official Account in plaintext mode (明文模式): only the
    /// query `signature` over Token, `timestamp` and `nonce` is checked
    /// (WeChat doc 消息推送). **The body is not authenticated**: the
    /// signature does not cover it, so anyone holding one signed URL can
    /// post any message with it while its `timestamp` is inside the window.
    /// This constructor exists because accounts are configured that way;
    /// prefer [`Endpoint::official_account_safe`].
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidToken`]; [`ConfigErrorKind::InvalidReceiveId`]
    /// for an empty appid.
    pub fn official_account_plain(token: &str, appid: &str) -> Result<Self, ConfigError> {
        nonempty(appid)?;
        Self::build(
            CallbackKind::OfficialAccount(OfficialAccountMode::Plaintext),
            BodyFormat::Xml,
            token,
            None,
            (vec![appid.to_owned()], None),
            None,
        )
    }

    /// A WeChat Official Account in compatible mode (兼容模式): the POST must
    /// carry `encrypt_type=aes` and `msg_signature`, which is verified over
    /// `Encrypt`; the plaintext copy in the body is ignored. Replies are
    /// encrypted.
    ///
    /// # Errors
    /// As [`Endpoint::wecom_app`].
    pub fn official_account_compat(
        token: &str,
        encoding_aes_key: &str,
        appid: &str,
    ) -> Result<Self, ConfigError> {
        Self::official_account(
            OfficialAccountMode::Compatible,
            token,
            encoding_aes_key,
            appid,
        )
    }

    /// A WeChat Official Account in safe mode (安全模式): `encrypt_type=aes`
    /// and `msg_signature` on every POST, envelope `ToUserName` + `Encrypt`
    /// (WeChat doc 消息加解密说明).
    ///
    /// # Errors
    /// As [`Endpoint::wecom_app`].
    pub fn official_account_safe(
        token: &str,
        encoding_aes_key: &str,
        appid: &str,
    ) -> Result<Self, ConfigError> {
        Self::official_account(OfficialAccountMode::Safe, token, encoding_aes_key, appid)
    }

    fn official_account(
        mode: OfficialAccountMode,
        token: &str,
        encoding_aes_key: &str,
        appid: &str,
    ) -> Result<Self, ConfigError> {
        nonempty(appid)?;
        Self::build(
            CallbackKind::OfficialAccount(mode),
            BodyFormat::Xml,
            token,
            Some(encoding_aes_key),
            (vec![appid.to_owned()], None),
            None,
        )
    }

    /// A WeChat Open Platform component's 授权事件接收URL: envelope `AppId` +
    /// `Encrypt`, receive id = the component appid, answer `success`
    /// (WeChat Open Platform doc 消息加解密接入指引, 验证票据).
    ///
    /// # Errors
    /// As [`Endpoint::wecom_app`].
    pub fn open_platform(
        token: &str,
        encoding_aes_key: &str,
        component_appid: &str,
    ) -> Result<Self, ConfigError> {
        nonempty(component_appid)?;
        Self::build(
            CallbackKind::OpenPlatform,
            BodyFormat::Xml,
            token,
            Some(encoding_aes_key),
            (vec![component_appid.to_owned()], None),
            None,
        )
    }

    /// Switches a WeCom app, suite or data callback to the vendor's JSON
    /// callback format (`{"tousername","encrypt","agentid"}` in, the JSON
    /// reply envelope out). The robot is always JSON; WeChat kinds stay XML.
    #[must_use]
    pub fn json(mut self) -> Self {
        if matches!(
            self.kind,
            CallbackKind::WeComApp | CallbackKind::WeComSuite | CallbackKind::WeComSuiteData
        ) {
            self.format = BodyFormat::Json;
        }
        self
    }

    /// Names the endpoint for logs and [`CallbackContext`](crate::CallbackContext)
    /// (default: the receive id, or the kind's name when that is empty; for
    /// a data callback, [`Endpoint::wecom_suite_data`], the provider corp id).
    ///
    /// `TestKit::for_layer_app(layer, name)` (feature `test-util`) finds the
    /// endpoint by this name: for a data callback that was not renamed, pass
    /// the **provider corp id**, not an authorized corp's id (the kit then
    /// encrypts for an authorized corp with `.receive_id(corp_id)`).
    #[must_use]
    pub fn named(mut self, name: &str) -> Self {
        self.name = Arc::from(name);
        self
    }

    /// Also accepts a previous Token and EncodingAESKey, for the minutes in
    /// which an admin switches them in the console (rotation). Requests are
    /// matched by whichever Token verifies the signature; replies are
    /// sealed with the pair that matched. In Official Account plaintext mode
    /// `encoding_aes_key` is ignored.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidToken`], [`ConfigErrorKind::IllegalAesKey`].
    pub fn previous_secret(
        mut self,
        token: &str,
        encoding_aes_key: &str,
    ) -> Result<Self, ConfigError> {
        let key = match self.kind.scheme() {
            Scheme::WeChat { encrypted: false } => None,
            _ => Some(encoding_aes_key),
        };
        self.add_secret(token, key)?;
        Ok(self)
    }

    /// The callback kind.
    pub fn kind(&self) -> CallbackKind {
        self.kind
    }

    /// The body format.
    pub fn format(&self) -> BodyFormat {
        self.format
    }

    /// The name given with [`named`](Self::named), or the default.
    pub fn name(&self) -> &str {
        &self.name
    }

    #[cfg_attr(not(feature = "layer"), allow(dead_code))]
    pub(crate) fn shared_name(&self) -> Arc<str> {
        Arc::clone(&self.name)
    }

    #[cfg_attr(not(feature = "layer"), allow(dead_code))]
    pub(crate) fn secrets(&self) -> &[Secret] {
        &self.secrets
    }

    /// The secret at `index` (the one that verified a request).
    #[cfg_attr(not(feature = "layer"), allow(dead_code))]
    pub(crate) fn secret(&self, index: usize) -> Option<&Secret> {
        self.secrets.get(index)
    }

    /// The current secrets' crypt for the pure API, or `None` in Official
    /// Account plaintext mode (no EncodingAESKey).
    pub fn crypt(&self) -> Option<&MsgCrypt> {
        self.secrets.first().and_then(|s| s.post.as_ref())
    }

    /// The current Token.
    // Used by the test kit only.
    #[cfg_attr(not(feature = "test-util"), allow(dead_code))]
    pub(crate) fn token(&self) -> &str {
        self.secrets.first().map_or("", |s| s.token.as_str())
    }

    /// The receive id the GET verification's `echostr` carries.
    // Used by the test kit only.
    #[cfg_attr(not(feature = "test-util"), allow(dead_code))]
    pub(crate) fn get_receive_id(&self) -> &str {
        match &self.get_id {
            Some(id) => id,
            None => self.post_ids.0.first().map_or("", String::as_str),
        }
    }

    /// The receive id a POST carries by default (the first listed one).
    // Used by the test kit only.
    #[cfg_attr(not(feature = "test-util"), allow(dead_code))]
    pub(crate) fn post_receive_id(&self) -> &str {
        self.post_ids.0.first().map_or("", String::as_str)
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("kind", &self.kind)
            .field("format", &self.format)
            .field("name", &self.name)
            .field("receive_ids", &self.post_ids.0)
            .field("accepts_more", &self.post_ids.1.is_some())
            .field("get_receive_id", &self.get_id)
            .field("secrets", &self.secrets.len())
            .finish()
    }
}
