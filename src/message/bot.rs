//! [`BotMessage`]: the decrypted JSON callback of the WeCom intelligent
//! robot (智能机器人, API mode), WeCom doc 智能机器人 接收消息 and 回调和回复的加解密方案.

use std::fmt;

use serde_json::Value;

use super::MessageError;

/// A decrypted robot callback: a JSON object such as
///
/// ```json
/// {"msgid":"CAIQ…","aibotid":"AIBOTID","chatid":"CHATID","chattype":"group",
///  "from":{"userid":"USERID"},"response_url":"https://…","msgtype":"text",
///  "text":{"content":"@robot hello"}}
/// ```
///
/// The members the vendor documents are typed (each `None` when absent or
/// not a string); everything else stays readable in [`raw`](Self::raw),
/// e.g. `raw()["image"]["url"]`. Only a payload that is not a JSON object
/// is refused: an authentic callback always reaches the handler.
///
/// ```
/// use wecom_callback::message::BotMessage;
///
/// let m = BotMessage::parse(r#"{"msgid":"m1","aibotid":"b1","chattype":"single",
///     "from":{"userid":"zhangsan"},"msgtype":"text","text":{"content":"hi"}}"#)?;
/// assert_eq!(m.msg_type(), "text");
/// assert_eq!(m.text_content(), Some("hi"));
/// assert_eq!(m.from_user_id(), Some("zhangsan"));
/// assert_eq!(m.raw()["chattype"], "single");
/// # Ok::<(), wecom_callback::MessageError>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct BotMessage {
    raw: Value,
}

impl BotMessage {
    /// Parses the decrypted JSON.
    ///
    /// # Errors
    /// [`MessageErrorKind::Json`](super::MessageErrorKind::Json) unless it is
    /// a JSON object whose strings hold only characters XML 1.0 allows (no
    /// C0 control but tab, LF and CR, no U+FFFE or U+FFFF, escaped or not):
    /// the same characters the XML callbacks refuse.
    pub fn parse(json: &str) -> Result<Self, MessageError> {
        match serde_json::from_str(json) {
            Ok(raw @ Value::Object(_)) if super::chars::json_is_xml_text(&raw) => Ok(Self { raw }),
            _ => Err(MessageError::json()),
        }
    }

    fn str_at(&self, pointer: &str) -> Option<&str> {
        self.raw.pointer(pointer).and_then(Value::as_str)
    }

    /// `msgid`: the message id, the key for de-duplicating retries
    /// ("开发者需据此进行事件排重").
    pub fn msg_id(&self) -> Option<&str> {
        self.str_at("/msgid")
    }

    /// `aibotid`: the robot's id.
    pub fn aibot_id(&self) -> Option<&str> {
        self.str_at("/aibotid")
    }

    /// `chatid`: the group chat's id (group chats only).
    pub fn chat_id(&self) -> Option<&str> {
        self.str_at("/chatid")
    }

    /// `chattype`: `single` or `group`.
    pub fn chat_type(&self) -> Option<&str> {
        self.str_at("/chattype")
    }

    /// `from.userid`: the sender's UserID.
    pub fn from_user_id(&self) -> Option<&str> {
        self.str_at("/from/userid")
    }

    /// `response_url`: where to send a reply later (active reply).
    pub fn response_url(&self) -> Option<&str> {
        self.str_at("/response_url")
    }

    /// `msgtype` (`text`, `image`, `mixed`, `stream`, `event`, …); empty
    /// when absent.
    pub fn msg_type(&self) -> &str {
        self.str_at("/msgtype").unwrap_or("")
    }

    /// `text.content` of a text message.
    pub fn text_content(&self) -> Option<&str> {
        self.str_at("/text/content")
    }

    /// `event.eventtype` of an event callback.
    pub fn event_type(&self) -> Option<&str> {
        self.str_at("/event/eventtype")
    }

    /// The whole decrypted object.
    pub fn raw(&self) -> &Value {
        &self.raw
    }
}

impl fmt::Debug for BotMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BotMessage")
            .field("msgid", &self.msg_id())
            .field("msgtype", &self.msg_type())
            .field("chattype", &self.chat_type())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::message::MessageErrorKind;

    #[test]
    fn reads_documented_members_and_keeps_the_rest() {
        let m = BotMessage::parse(
            r#"{"msgid":"CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=","aibotid":"AIBOTID","chatid":"CHATID","chattype":"group",
                "from":{"userid":"USERID"},"response_url":"https://example.invalid/r","msgtype":"text",
                "text":{"content":"@RobotA hello robot"},"extra":[1,2]}"#,
        )
        .unwrap();
        assert_eq!(m.msg_id(), Some("CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI="));
        assert_eq!(m.aibot_id(), Some("AIBOTID"));
        assert_eq!(m.chat_id(), Some("CHATID"));
        assert_eq!(m.chat_type(), Some("group"));
        assert_eq!(m.from_user_id(), Some("USERID"));
        assert_eq!(m.response_url(), Some("https://example.invalid/r"));
        assert_eq!(m.text_content(), Some("@RobotA hello robot"));
        assert_eq!(m.raw()["extra"][1], 2);
        assert_eq!(m.event_type(), None);
    }

    #[test]
    fn only_non_objects_are_refused() {
        assert!(BotMessage::parse("{}").is_ok());
        for bad in ["", "[]", "\"x\"", "{", "<xml/>"] {
            assert_eq!(
                BotMessage::parse(bad).unwrap_err().kind(),
                MessageErrorKind::Json
            );
        }
    }
}
