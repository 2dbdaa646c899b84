//! Rendering a [`Reply`] (XML for apps and accounts, JSON for the robot)
//! and the check of which callback kind can carry it.

use std::fmt;

use serde_json::{Value, json};

use super::card;
use super::parts::MAX_ARTICLES;
use super::reply::Reply;
use crate::endpoint::CallbackKind;
use crate::xml::{push_cdata, push_element as element};

/// A reply the callback kind cannot carry, from [`Reply::check_for`]: e.g.
/// `update_button` for an Official Account, anything but the
/// acknowledgement for a suite's instruction callback.
///
/// ```
/// use wecom_callback::message::Reply;
/// use wecom_callback::{CallbackKind, OfficialAccountMode};
///
/// let kind = CallbackKind::OfficialAccount(OfficialAccountMode::Safe);
/// let err = Reply::update_button("Done").check_for(kind).unwrap_err();
/// assert_eq!(err.msg_type(), "update_button");
/// assert_eq!(
///     err.to_string(),
///     "a official_account_safe callback cannot carry a `update_button` reply"
/// );
/// assert!(Reply::text("hi").check_for(kind).is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyNotAllowed {
    msg_type: &'static str,
    kind: CallbackKind,
}

impl ReplyNotAllowed {
    /// The refused reply's [`Reply::msg_type`].
    pub fn msg_type(&self) -> &'static str {
        self.msg_type
    }

    /// The kind that cannot carry it.
    pub fn kind(&self) -> CallbackKind {
        self.kind
    }
}

impl fmt::Display for ReplyNotAllowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a {} callback cannot carry a `{}` reply",
            self.kind, self.msg_type
        )
    }
}

impl std::error::Error for ReplyNotAllowed {}

impl Reply {
    /// Whether a callback of `kind` can carry this reply (see the table on
    /// [`Reply`]); the acknowledgement always can.
    ///
    /// # Errors
    /// [`ReplyNotAllowed`] naming the reply and the kind.
    pub fn check_for(&self, kind: CallbackKind) -> Result<(), ReplyNotAllowed> {
        let allowed = match kind {
            CallbackKind::WeComApp | CallbackKind::WeComSuiteData => matches!(
                self,
                Self::Text { .. }
                    | Self::Image { .. }
                    | Self::Voice { .. }
                    | Self::Video { .. }
                    | Self::News { .. }
                    | Self::UpdateButton { .. }
                    | Self::UpdateTaskcard { .. }
                    | Self::UpdateTemplateCard { .. }
            ),
            CallbackKind::OfficialAccount(_) => matches!(
                self,
                Self::Text { .. }
                    | Self::Image { .. }
                    | Self::Voice { .. }
                    | Self::Video { .. }
                    | Self::News { .. }
                    | Self::Music { .. }
                    | Self::TransferCustomerService { .. }
            ),
            CallbackKind::WeComBot => matches!(
                self,
                Self::Text { .. }
                    | Self::UpdateTemplateCard { .. }
                    | Self::TemplateCard { .. }
                    | Self::Stream { .. }
                    | Self::BotJson { .. }
            ),
            CallbackKind::WeComSuite | CallbackKind::OpenPlatform => false,
        };
        if allowed || *self == Self::Ack {
            Ok(())
        } else {
            Err(ReplyNotAllowed {
                msg_type: self.msg_type(),
                kind,
            })
        }
    }

    /// [`check_for`](Self::check_for) as a `bool`: what the layer asks
    /// before it seals a reply.
    pub fn allowed_for(&self, kind: CallbackKind) -> bool {
        self.check_for(kind).is_ok()
    }

    /// Renders the robot's JSON reply (WeCom doc 智能机器人 被动回复消息):
    /// `{"msgtype":"text","text":{"content":…}}` for a text reply,
    /// `{"msgtype":"template_card","template_card":{…}}`,
    /// `{"msgtype":"stream","stream":{"id","finish","content"}}`,
    /// `{"response_type":"update_template_card","userids":[…],"template_card":{…}}`
    /// (`userids` omitted when empty), the object itself for
    /// [`Reply::BotJson`]; `None` for replies the robot cannot carry.
    ///
    /// ```
    /// use wecom_callback::Reply;
    ///
    /// assert_eq!(
    ///     Reply::text("hi \"you\"").to_bot_json().as_deref(),
    ///     Some(r#"{"msgtype":"text","text":{"content":"hi \"you\""}}"#)
    /// );
    /// assert_eq!(Reply::image("MEDIA").to_bot_json(), None);
    /// ```
    pub fn to_bot_json(&self) -> Option<String> {
        let value = match self {
            Self::Text { content } => json!({"msgtype": "text", "text": {"content": content}}),
            Self::TemplateCard { card } => {
                json!({"msgtype": "template_card", "template_card": card})
            }
            Self::Stream {
                id,
                content,
                finish,
            } => {
                json!({"msgtype": "stream", "stream": {"id": id, "finish": finish, "content": content}})
            }
            Self::UpdateTemplateCard { card, user_ids } => {
                let mut reply = serde_json::Map::new();
                reply.insert("response_type".into(), json!("update_template_card"));
                if !user_ids.is_empty() {
                    reply.insert("userids".into(), json!(user_ids));
                }
                reply.insert("template_card".into(), card.clone());
                Value::Object(reply)
            }
            Self::BotJson { value } => return Some(value.to_string()),
            _ => return None,
        };
        Some(value.to_string())
    }

    /// Renders the plaintext reply XML of WeCom doc 被动回复消息格式 / WeChat
    /// doc 被动回复用户消息, on one line, e.g. for a text reply:
    ///
    /// ```text
    /// <xml><ToUserName><![CDATA[member]]></ToUserName><FromUserName><![CDATA[corp]]></FromUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[this is a test]]></Content></xml>
    /// ```
    ///
    /// * `to_user_name`: the member's UserID or follower's openid (the
    ///   message's `FromUserName`);
    /// * `from_user_name`: the corp id or account id (the message's
    ///   `ToUserName`);
    /// * `create_time`: unix seconds.
    ///
    /// Every string goes into CDATA, so any text is safe: a `]]>` inside is
    /// split across two sections (`]]]]><![CDATA[>`), and `<`, `&`, quotes
    /// need no escaping. Characters that XML 1.0 cannot carry at all (C0
    /// controls other than tab, LF and CR, such as U+0000, and U+FFFE,
    /// U+FFFF) are dropped: no conforming parser would accept the document
    /// otherwise. Note that XML parsers read CR LF and a lone CR as LF, so
    /// those line breaks arrive as LF. A news reply renders its first 8
    /// articles (the constructor never makes more). Replies without an XML
    /// form ([`is_xml`](Self::is_xml) is false) render as `""`.
    pub fn to_xml(&self, to_user_name: &str, from_user_name: &str, create_time: u64) -> String {
        if !self.is_xml() {
            return String::new();
        }
        // Sized once: the fixed markup (well under 256 bytes) plus the
        // texts, so that the Content is never copied by a reallocation.
        let mut out = String::with_capacity(
            256 + to_user_name.len() + from_user_name.len() + self.text_len(),
        );
        out.push_str("<xml><ToUserName>");
        push_cdata(&mut out, to_user_name);
        out.push_str("</ToUserName><FromUserName>");
        push_cdata(&mut out, from_user_name);
        out.push_str("</FromUserName><CreateTime>");
        out.push_str(itoa::Buffer::new().format(create_time));
        // `msg_type` is one of this crate's names (lowercase ASCII and
        // `_`): nothing the CDATA writer would change.
        out.push_str("</CreateTime><MsgType><![CDATA[");
        out.push_str(self.msg_type());
        out.push_str("]]></MsgType>");
        self.push_body(&mut out);
        out.push_str("</xml>");
        out
    }

    /// The bytes of the texts [`push_body`](Self::push_body) writes (their
    /// markup aside): the size hint of [`to_xml`](Self::to_xml)'s buffer.
    /// Template cards count as 0 (their buffer grows as needed).
    fn text_len(&self) -> usize {
        let len = |text: &Option<String>| text.as_deref().map_or(0, str::len);
        match self {
            Self::Text { content } => content.len(),
            Self::Image { media_id } | Self::Voice { media_id } => media_id.len(),
            Self::Video {
                media_id,
                title,
                description,
            } => media_id.len() + len(title) + len(description),
            Self::News { articles } => articles
                .iter()
                .take(MAX_ARTICLES)
                .map(|a| a.title.len() + len(&a.description) + len(&a.pic_url) + len(&a.url) + 64)
                .sum(),
            Self::Music { music } => {
                len(&music.title)
                    + len(&music.description)
                    + len(&music.music_url)
                    + len(&music.hq_music_url)
                    + music.thumb_media_id.len()
            }
            Self::UpdateButton { replace_name } | Self::UpdateTaskcard { replace_name } => {
                replace_name.len()
            }
            Self::TransferCustomerService { kf_account } => len(kf_account),
            Self::UpdateTemplateCard { .. }
            | Self::TemplateCard { .. }
            | Self::Stream { .. }
            | Self::Ack
            | Self::BotJson { .. } => 0,
        }
    }

    /// The elements after `MsgType`.
    fn push_body(&self, out: &mut String) {
        match self {
            Self::Text { content } => element(out, "Content", content),
            Self::Image { media_id } => wrapped(out, "Image", "MediaId", media_id),
            Self::Voice { media_id } => wrapped(out, "Voice", "MediaId", media_id),
            Self::Video {
                media_id,
                title,
                description,
            } => {
                out.push_str("<Video>");
                element(out, "MediaId", media_id);
                optional_element(out, "Title", title.as_deref());
                optional_element(out, "Description", description.as_deref());
                out.push_str("</Video>");
            }
            Self::News { articles } => {
                let articles = articles.iter().take(MAX_ARTICLES);
                out.push_str("<ArticleCount>");
                out.push_str(&articles.len().to_string());
                out.push_str("</ArticleCount><Articles>");
                for article in articles {
                    out.push_str("<item>");
                    element(out, "Title", &article.title);
                    optional_element(out, "Description", article.description.as_deref());
                    optional_element(out, "PicUrl", article.pic_url.as_deref());
                    optional_element(out, "Url", article.url.as_deref());
                    out.push_str("</item>");
                }
                out.push_str("</Articles>");
            }
            Self::Music { music } => {
                out.push_str("<Music>");
                optional_element(out, "Title", music.title.as_deref());
                optional_element(out, "Description", music.description.as_deref());
                optional_element(out, "MusicUrl", music.music_url.as_deref());
                optional_element(out, "HQMusicUrl", music.hq_music_url.as_deref());
                element(out, "ThumbMediaId", &music.thumb_media_id);
                out.push_str("</Music>");
            }
            Self::UpdateButton { replace_name } => {
                wrapped(out, "Button", "ReplaceName", replace_name);
            }
            Self::UpdateTaskcard { replace_name } => {
                wrapped(out, "TaskCard", "ReplaceName", replace_name);
            }
            Self::UpdateTemplateCard { card, .. } => {
                out.push_str("<TemplateCard>");
                card::push_card_xml(out, card);
                out.push_str("</TemplateCard>");
            }
            Self::TransferCustomerService { kf_account } => {
                if let Some(account) = kf_account {
                    wrapped(out, "TransInfo", "KfAccount", account);
                }
            }
            Self::TemplateCard { .. } | Self::Stream { .. } | Self::Ack | Self::BotJson { .. } => {}
        }
    }
}

/// `<outer><inner><![CDATA[text]]></inner></outer>`.
fn wrapped(out: &mut String, outer: &str, inner: &str, text: &str) {
    out.push('<');
    out.push_str(outer);
    out.push('>');
    element(out, inner, text);
    out.push_str("</");
    out.push_str(outer);
    out.push('>');
}

fn optional_element(out: &mut String, name: &str, text: Option<&str>) {
    if let Some(text) = text {
        element(out, name, text);
    }
}
