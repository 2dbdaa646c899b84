//! A WeCom self-built app: `gettoken` (WeCom doc 获取access_token) and
//! `message/send` (WeCom doc 发送应用消息).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Client;
use super::credential::{BoxFuture, Credential, CredentialKind, Fetched, TokenReuse};
use super::error::ApiError;
use super::token::Secret;
use super::urls::Host;

/// The `access_token` of a self-built app (or the contacts/customer
/// contact secret) of a corp: `GET /cgi-bin/gettoken?corpid=&corpsecret=`
/// (WeCom doc 获取access_token). Each secret has its own token, so the
/// cache key carries a digest of the secret (never the secret).
///
/// `Debug` shows the corp id, never the secret. Cheap to clone.
///
/// ```
/// use wecom_callback::client::{CorpCredential, Credential};
///
/// let corp = CorpCredential::new("ww1234567890abcdef", "the-corp-secret");
/// assert!(corp.cache_key().starts_with("access_token:ww1234567890abcdef:"));
/// assert!(!format!("{corp:?}").contains("the-corp-secret"));
/// ```
#[derive(Clone)]
pub struct CorpCredential {
    inner: Arc<CorpInner>,
}

struct CorpInner {
    corpid: String,
    corpsecret: Secret,
    key: String,
}

/// A digest of `secret` for a cache key: 8 bytes of SHA-256, hex.
pub(crate) fn secret_tag(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    hex::encode(digest.get(..8).unwrap_or_default())
}

impl CorpCredential {
    /// The app of `corpid` with secret `corpsecret`.
    #[must_use]
    pub fn new(corpid: impl Into<String>, corpsecret: impl Into<Secret>) -> Self {
        let corpid = corpid.into();
        let corpsecret = corpsecret.into();
        let key = format!(
            "{}:{corpid}:{}",
            CredentialKind::CorpAccessToken.as_str(),
            secret_tag(corpsecret.expose())
        );
        Self {
            inner: Arc::new(CorpInner {
                corpid,
                corpsecret,
                key,
            }),
        }
    }

    /// The corp id.
    #[must_use]
    pub fn corpid(&self) -> &str {
        &self.inner.corpid
    }

    /// `POST /cgi-bin/message/send` (WeCom doc 发送应用消息) with this
    /// app's `access_token`.
    ///
    /// # Errors
    /// The vendor's [`ApiError`] (e.g. 81013 as `Other` when every
    /// recipient is invalid), the transport's, a token that cannot be had.
    pub async fn send_message(
        &self,
        client: &Client,
        message: &AppMessage,
    ) -> Result<SendResult, ApiError> {
        client
            .post_json(self, "/cgi-bin/message/send", &[], message)
            .await
    }
}

impl fmt::Debug for CorpCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorpCredential")
            .field("corpid", &self.inner.corpid)
            .field("corpsecret", &self.inner.corpsecret)
            .finish()
    }
}

/// `gettoken`'s answer.
#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    pub(crate) access_token: String,
    pub(crate) expires_in: u64,
}

impl Credential for CorpCredential {
    fn reuse(&self) -> TokenReuse {
        TokenReuse::SameWhileValid
    }

    fn kind(&self) -> CredentialKind {
        CredentialKind::CorpAccessToken
    }

    fn app(&self) -> &str {
        &self.inner.corpid
    }

    fn cache_key(&self) -> &str {
        &self.inner.key
    }

    fn host(&self) -> Host {
        Host::WeComApi
    }

    fn fetch<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, Result<Fetched, ApiError>> {
        Box::pin(async move {
            let answer: TokenAnswer = client
                .get_plain(
                    Host::WeComApi,
                    "/cgi-bin/gettoken",
                    &[
                        ("corpid", &self.inner.corpid),
                        ("corpsecret", self.inner.corpsecret.expose()),
                    ],
                )
                .await?;
            Ok(Fetched::new(answer.access_token, answer.expires_in))
        })
    }

    fn shared(&self) -> Arc<dyn Credential> {
        Arc::new(self.clone())
    }
}

/// The text of a text message: `{"content": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextContent {
    /// The text, at most 2048 bytes.
    pub content: String,
}

/// An application message for `message/send` (WeCom doc 发送应用消息).
/// [`AppMessage::text`] builds the text kind; other kinds are sent with
/// [`Client::post_json`] and a JSON value of your own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AppMessage {
    /// Recipients' `UserID`s separated by `|`, or `@all`.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub touser: String,
    /// Department ids separated by `|`.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub toparty: String,
    /// Tag ids separated by `|`.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub totag: String,
    /// `text`.
    pub msgtype: String,
    /// The app's `AgentID`.
    pub agentid: i64,
    /// The text, for `msgtype` `text`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub text: Option<TextContent>,
    /// 1: confidential (no forwarding), 0 (default): normal.
    #[serde(skip_serializing_if = "is_zero", default)]
    pub safe: u8,
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(value: &u8) -> bool {
    *value == 0
}

impl AppMessage {
    /// A text message from app `agentid` to `touser`.
    ///
    /// ```
    /// use wecom_callback::client::AppMessage;
    ///
    /// let message = AppMessage::text("zhangsan", 1000002, "processed: 你好 world");
    /// assert_eq!(
    ///     serde_json::to_string(&message).unwrap(),
    ///     r#"{"touser":"zhangsan","msgtype":"text","agentid":1000002,"text":{"content":"processed: 你好 world"}}"#
    /// );
    /// ```
    #[must_use]
    pub fn text(touser: impl Into<String>, agentid: i64, content: impl Into<String>) -> Self {
        Self {
            touser: touser.into(),
            toparty: String::new(),
            totag: String::new(),
            msgtype: "text".to_owned(),
            agentid,
            text: Some(TextContent {
                content: content.into(),
            }),
            safe: 0,
        }
    }
}

/// `message/send`'s answer (errcode 0). Recipients the vendor could not
/// reach are listed, `|`-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SendResult {
    /// The message id, for recalling it.
    #[serde(default)]
    pub msgid: String,
    /// Invalid or unreachable users.
    #[serde(default)]
    pub invaliduser: String,
    /// Invalid departments.
    #[serde(default)]
    pub invalidparty: String,
    /// Invalid tags.
    #[serde(default)]
    pub invalidtag: String,
}
