//! [`MessageError`]: why a decrypted message was refused.

use std::fmt;

use crate::xml::XmlError;

/// What went wrong with a decrypted message: why
/// [`Message::parse`](super::Message::parse) refused it ([`Xml`](Self::Xml),
/// [`Json`](Self::Json)), or which element did not fit
/// ([`Message::problem`](super::Message::problem): the other kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageErrorKind {
    /// The text is not well-formed XML, or uses something the reader
    /// refuses: a DOCTYPE, a processing instruction, an unknown entity, a
    /// second root, text after the root, nesting deeper than 32 levels.
    Xml,
    /// The root element is not `<xml>` (a problem, not a refusal).
    WrongRoot,
    /// A required element is absent: one of the header elements
    /// (`ToUserName`, `FromUserName`, `CreateTime`, `MsgType`) or an element
    /// that a typed [`MessageKind`](super::MessageKind) variant reads (a
    /// problem, not a refusal).
    MissingField,
    /// An element that is read has the wrong shape: a number that is not
    /// decimal text (`CreateTime`, `AgentID`, `MsgId`, `Scale`,
    /// `Location_X`, `Latitude`, …), or element children where text is
    /// expected.
    InvalidField,
    /// An element that is read appears more than once at the top level, so
    /// its value would be ambiguous.
    DuplicateField,
    /// A JSON payload (robot messages, the vendor's JSON callback format)
    /// is not a JSON object.
    Json,
}

/// A refused decrypted message, or the problem of one that parsed (WeCom
/// doc 消息格式, 事件格式).
///
/// Opaque: ask [`kind`](Self::kind) what went wrong and
/// [`element`](Self::element) which element it was about. `Display` names
/// the element and the rule it broke but never prints a value from the
/// message, so it is safe to log.
///
/// ```
/// use wecom_callback::message::{Message, MessageErrorKind};
///
/// // Well-formed: it parses, and the problem is reported.
/// let message = Message::parse(
///     "<xml><ToUserName>corp</ToUserName><FromUserName>u</FromUserName>\
///      <CreateTime>soon</CreateTime><MsgType>text</MsgType><Content>hi</Content></xml>",
/// )?;
/// let problem = message.problem().unwrap();
/// assert_eq!(problem.kind(), MessageErrorKind::InvalidField);
/// assert_eq!(problem.element(), Some("CreateTime"));
/// assert!(!problem.to_string().contains("soon"));
///
/// // Not well-formed: refused.
/// let err = Message::parse("<xml><Content>hi</xml>").unwrap_err();
/// assert_eq!(err.kind(), MessageErrorKind::Xml);
/// # Ok::<(), wecom_callback::MessageError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MessageError {
    kind: MessageErrorKind,
    element: Option<&'static str>,
    detail: Detail,
}

/// Extra words for `Display`, all fixed texts.
#[derive(Debug, Clone, PartialEq)]
enum Detail {
    None,
    Xml(XmlError),
    Expected(&'static str),
}

impl MessageError {
    pub(crate) fn xml(error: XmlError) -> Self {
        Self {
            kind: MessageErrorKind::Xml,
            element: None,
            detail: Detail::Xml(error),
        }
    }

    pub(crate) fn json() -> Self {
        Self {
            kind: MessageErrorKind::Json,
            element: None,
            detail: Detail::None,
        }
    }

    pub(crate) fn wrong_root() -> Self {
        Self {
            kind: MessageErrorKind::WrongRoot,
            element: None,
            detail: Detail::None,
        }
    }

    pub(crate) fn missing(element: &'static str) -> Self {
        Self {
            kind: MessageErrorKind::MissingField,
            element: Some(element),
            detail: Detail::None,
        }
    }

    /// `expected` completes "element `<X>` is not …", e.g. "an unsigned
    /// decimal integer".
    pub(crate) fn invalid(element: &'static str, expected: &'static str) -> Self {
        Self {
            kind: MessageErrorKind::InvalidField,
            element: Some(element),
            detail: Detail::Expected(expected),
        }
    }

    pub(crate) fn duplicate(element: &'static str) -> Self {
        Self {
            kind: MessageErrorKind::DuplicateField,
            element: Some(element),
            detail: Detail::None,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> MessageErrorKind {
        self.kind
    }

    /// The element the error is about (`"CreateTime"`, `"Content"`, …), for
    /// [`MissingField`](MessageErrorKind::MissingField),
    /// [`InvalidField`](MessageErrorKind::InvalidField) and
    /// [`DuplicateField`](MessageErrorKind::DuplicateField); `None` otherwise.
    pub fn element(&self) -> Option<&'static str> {
        self.element
    }
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let element = self.element.unwrap_or("?");
        match (self.kind, &self.detail) {
            (MessageErrorKind::Xml, Detail::Xml(reason)) => {
                write!(f, "decrypted message refused: {reason}")
            }
            (MessageErrorKind::Xml, _) => f.write_str("decrypted message is not acceptable XML"),
            (MessageErrorKind::WrongRoot, _) => {
                f.write_str("decrypted message's root element is not <xml>")
            }
            (MessageErrorKind::MissingField, _) => {
                write!(f, "decrypted message lacks the element <{element}>")
            }
            (MessageErrorKind::InvalidField, Detail::Expected(expected)) => {
                write!(
                    f,
                    "element <{element}> of the decrypted message is not {expected}"
                )
            }
            (MessageErrorKind::InvalidField, _) => {
                write!(
                    f,
                    "element <{element}> of the decrypted message is malformed"
                )
            }
            (MessageErrorKind::DuplicateField, _) => {
                write!(
                    f,
                    "element <{element}> appears more than once in the decrypted message"
                )
            }
            (MessageErrorKind::Json, _) => f.write_str("decrypted message is not a JSON object"),
        }
    }
}

impl std::error::Error for MessageError {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_element_and_rule_only() {
        assert_eq!(
            MessageError::missing("Content").to_string(),
            "decrypted message lacks the element <Content>"
        );
        assert_eq!(
            MessageError::invalid("CreateTime", "an unsigned decimal integer").to_string(),
            "element <CreateTime> of the decrypted message is not an unsigned decimal integer"
        );
        assert_eq!(
            MessageError::duplicate("MsgType").to_string(),
            "element <MsgType> appears more than once in the decrypted message"
        );
        assert_eq!(
            MessageError::wrong_root().to_string(),
            "decrypted message's root element is not <xml>"
        );
        let xml = MessageError::xml(crate::xml::parse("<xml>").unwrap_err());
        assert_eq!(xml.kind(), MessageErrorKind::Xml);
        assert_eq!(xml.element(), None);
        assert!(xml.to_string().starts_with("decrypted message refused: "));
    }
}
