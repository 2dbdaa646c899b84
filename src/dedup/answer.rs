//! [`StoredAnswer`]: what was answered for a message, so that a retry gets
//! the same answer.

use std::fmt;

use bytes::Bytes;

/// What the first delivery of a message was answered, kept so that a retry
/// gets the same answer: the usual reason for a retry is that the first
/// answer was late or lost (WeCom doc 接收消息与事件 概述: "企业微信服务器在五秒内收不到响应会断掉连接，并且重新发起请求").
///
/// A reply is kept as plaintext, before encryption: each answer is encrypted
/// afresh (new random prefix, nonce and timestamp) for the request it
/// answers.
///
/// `Debug` shows the length of a reply, never its text.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoredAnswer {
    /// HTTP 200 with an empty body ("直接返回200（即以空串为返回包）", doc /90238).
    Empty,
    /// The callback kind's acknowledgement, e.g. the bare `success` that
    /// third-party instruction callbacks expect (doc 回调通知 概述 /90613).
    /// The kind is known again when the retry arrives, so only the fact is
    /// kept.
    Ack,
    /// A passive reply.
    Reply {
        /// The reply's plaintext (XML, or JSON for robot callbacks) exactly
        /// as it was encrypted for the first delivery.
        plaintext: String,
    },
    /// A 2xx response the handler built itself, without a
    /// [`Reply`](crate::Reply) (a bare `success` string, hand-made XML in
    /// Official Account plaintext mode), kept as it was sent so that a
    /// retry gets the same bytes. The layer keeps bodies of a known length
    /// up to [`MAX_KEPT_BODY`](crate::dedup::MAX_KEPT_BODY) bytes.
    Body {
        /// The response's `Content-Type`, if it had one (visible ASCII, at
        /// most 255 bytes; a longer or empty one is not kept).
        content_type: Option<String>,
        /// The body as it was sent.
        body: Bytes,
    },
}

/// The longest handler-made body (bytes) that the layer keeps as
/// [`StoredAnswer::Body`]: passive replies are a few KiB at most (WeChat
/// doc 被动回复用户消息). A longer one, or a streamed one of unknown length,
/// passes through untouched and a retry gets the kind's acknowledgement.
pub const MAX_KEPT_BODY: u64 = 64 * 1024;

/// The first byte of every encoded answer: the format's version.
const FORMAT: u8 = 1;
const TAG_EMPTY: u8 = b'E';
const TAG_ACK: u8 = b'A';
const TAG_REPLY: u8 = b'R';
const TAG_BODY: u8 = b'B';

impl StoredAnswer {
    /// The answer in a compact byte form, for stores that keep bytes
    /// (Redis): the format version `0x01`, then one tag byte (`E` empty,
    /// `A` acknowledgement, `R` reply, `B` handler-made body), then for a
    /// reply its plaintext as UTF-8, and for a body one byte with the
    /// length of its `Content-Type` (0: none), that many bytes of it, and
    /// the body. [`from_bytes`](Self::from_bytes) reads it back.
    ///
    /// ```
    /// use wecom_callback::dedup::StoredAnswer;
    ///
    /// assert_eq!(StoredAnswer::Ack.to_bytes(), b"\x01A");
    /// let reply = StoredAnswer::Reply { plaintext: "<xml/>".into() };
    /// assert_eq!(reply.to_bytes(), b"\x01R<xml/>");
    /// assert_eq!(StoredAnswer::from_bytes(&reply.to_bytes()), Ok(reply));
    /// ```
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::Empty => vec![FORMAT, TAG_EMPTY],
            Self::Ack => vec![FORMAT, TAG_ACK],
            Self::Reply { plaintext } => {
                let mut out = Vec::with_capacity(2 + plaintext.len());
                out.extend_from_slice(&[FORMAT, TAG_REPLY]);
                out.extend_from_slice(plaintext.as_bytes());
                out
            }
            Self::Body { content_type, body } => {
                let content_type = content_type
                    .as_deref()
                    .filter(|c| kept_content_type(c))
                    .unwrap_or_default();
                let mut out = Vec::with_capacity(3 + content_type.len() + body.len());
                out.extend_from_slice(&[FORMAT, TAG_BODY]);
                // `kept_content_type`: at most 255 bytes.
                out.push(u8::try_from(content_type.len()).unwrap_or(0));
                out.extend_from_slice(content_type.as_bytes());
                out.extend_from_slice(body);
                out
            }
        }
    }

    /// Reads the form written by [`to_bytes`](Self::to_bytes).
    ///
    /// # Errors
    /// [`AnswerDecodeError`] when `bytes` is not such a form: empty, another
    /// version or tag, bytes after an empty answer or acknowledgement, or a
    /// reply that is not UTF-8. Never panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AnswerDecodeError> {
        match bytes {
            [FORMAT, TAG_EMPTY] => Ok(Self::Empty),
            [FORMAT, TAG_ACK] => Ok(Self::Ack),
            [FORMAT, TAG_REPLY, text @ ..] => std::str::from_utf8(text)
                .map(|text| Self::Reply {
                    plaintext: text.to_owned(),
                })
                .map_err(|_| AnswerDecodeError(())),
            [FORMAT, TAG_BODY, len, rest @ ..] => {
                let (content_type, body) = rest
                    .split_at_checked(usize::from(*len))
                    .ok_or(AnswerDecodeError(()))?;
                let content_type = match std::str::from_utf8(content_type) {
                    Ok("") => None,
                    Ok(c) if kept_content_type(c) => Some(c.to_owned()),
                    _ => return Err(AnswerDecodeError(())),
                };
                Ok(Self::Body {
                    content_type,
                    body: Bytes::copy_from_slice(body),
                })
            }
            _ => Err(AnswerDecodeError(())),
        }
    }

    /// Bytes the answer holds beyond its tag (the reply's length; 0
    /// otherwise). Used to weigh entries in memory.
    pub(crate) fn payload_len(&self) -> usize {
        match self {
            Self::Empty | Self::Ack => 0,
            Self::Reply { plaintext } => plaintext.len(),
            Self::Body { content_type, body } => {
                content_type.as_ref().map_or(0, String::len) + body.len()
            }
        }
    }
}

/// Whether a `Content-Type` is kept with a [`StoredAnswer::Body`]: 1 to
/// 255 bytes of visible ASCII or spaces (what a header value may hold).
pub(crate) fn kept_content_type(content_type: &str) -> bool {
    (1..=255).contains(&content_type.len())
        && content_type
            .bytes()
            .all(|b| b == b' ' || b.is_ascii_graphic())
}

impl fmt::Debug for StoredAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("Empty"),
            Self::Ack => f.write_str("Ack"),
            Self::Reply { plaintext } => f
                .debug_struct("Reply")
                .field("plaintext_len", &plaintext.len())
                .finish_non_exhaustive(),
            Self::Body { content_type, body } => f
                .debug_struct("Body")
                .field("content_type", content_type)
                .field("body_len", &body.len())
                .finish_non_exhaustive(),
        }
    }
}

/// Bytes that are not a [`StoredAnswer`] (see
/// [`StoredAnswer::from_bytes`]). A store turns it into a
/// [`StoreError`](super::StoreError) of kind
/// [`Corrupt`](super::StoreErrorKind::Corrupt) through `From`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerDecodeError(());

impl fmt::Display for AnswerDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stored answer is malformed")
    }
}

impl std::error::Error for AnswerDecodeError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn answer() -> impl Strategy<Value = StoredAnswer> {
        prop_oneof![
            Just(StoredAnswer::Empty),
            Just(StoredAnswer::Ack),
            any::<String>().prop_map(|plaintext| StoredAnswer::Reply { plaintext }),
            (
                proptest::option::of("[ -~]{1,255}"),
                proptest::collection::vec(any::<u8>(), 0..300)
            )
                .prop_map(|(content_type, body)| StoredAnswer::Body {
                    content_type,
                    body: Bytes::from(body),
                }),
        ]
    }

    #[test]
    fn forms() {
        assert_eq!(StoredAnswer::Empty.to_bytes(), b"\x01E");
        assert_eq!(StoredAnswer::Ack.to_bytes(), b"\x01A");
        let empty_reply = StoredAnswer::Reply {
            plaintext: String::new(),
        };
        assert_eq!(empty_reply.to_bytes(), b"\x01R");
        assert_eq!(StoredAnswer::from_bytes(b"\x01R"), Ok(empty_reply));
    }

    #[test]
    fn malformed_bytes_are_refused() {
        for bad in [
            &b""[..],
            b"\x01",
            b"\x00E",
            b"\x02A",
            b"E",
            b"\x01X",
            b"\x01I",
            b"\x01E\x00",
            b"\x01Asuccess",
            b"\x01R\xff\xfe",
            b"\x01R<xml>\xc3</xml>",
            b"\x01B",
            b"\x01B\x05text",
            b"\x01B\x02\xc3\xa9body",
            b"\x01B\x02a\nbody",
        ] {
            assert_eq!(
                StoredAnswer::from_bytes(bad),
                Err(AnswerDecodeError(())),
                "{bad:?}"
            );
        }
        assert_eq!(
            AnswerDecodeError(()).to_string(),
            "stored answer is malformed"
        );
    }

    #[test]
    fn bodies_keep_their_content_type_and_bytes() {
        let body = StoredAnswer::Body {
            content_type: Some("text/plain; charset=utf-8".into()),
            body: Bytes::from_static("收到 ok".as_bytes()),
        };
        let bytes = body.to_bytes();
        assert_eq!(&bytes[..3], b"\x01B\x19");
        assert_eq!(&bytes[3..28], b"text/plain; charset=utf-8");
        assert_eq!(&bytes[28..], "收到 ok".as_bytes());
        assert_eq!(StoredAnswer::from_bytes(&bytes), Ok(body));
        let bare = StoredAnswer::Body {
            content_type: None,
            body: Bytes::from_static(b"success"),
        };
        assert_eq!(bare.to_bytes(), b"\x01B\x00success");
        assert_eq!(StoredAnswer::from_bytes(b"\x01B\x00success"), Ok(bare));
        // A content type no header could carry is not kept.
        let odd = StoredAnswer::Body {
            content_type: Some("a\nb".into()),
            body: Bytes::from_static(b"x"),
        };
        assert_eq!(odd.to_bytes(), b"\x01B\x00x");
    }

    #[test]
    fn debug_hides_the_reply_text() {
        let body = StoredAnswer::Body {
            content_type: None,
            body: Bytes::from_static(b"member's secret words"),
        };
        let shown = format!("{body:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("21"), "{shown}");
        let reply = StoredAnswer::Reply {
            plaintext: "<xml>secret</xml>".into(),
        };
        let shown = format!("{reply:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("17"), "{shown}");
    }

    proptest! {
        #[test]
        fn round_trip(a in answer()) {
            prop_assert_eq!(StoredAnswer::from_bytes(&a.to_bytes()), Ok(a));
        }

        /// Any bytes: an answer or an error, never a panic; and whatever
        /// decodes encodes back to the same bytes.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(a) = StoredAnswer::from_bytes(&bytes) {
                prop_assert_eq!(a.to_bytes(), bytes);
            }
        }

        /// The same behind a valid version byte and a likely tag, so the
        /// decoder's inner branches are exercised too.
        #[test]
        fn tagged_bytes_never_panic(
            tag in proptest::sample::select(vec![b'E', b'A', b'R', b'I', b'B', 0, 0xff]),
            tail in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut bytes = vec![FORMAT, tag];
            bytes.extend_from_slice(&tail);
            let decoded = StoredAnswer::from_bytes(&bytes);
            let expect_ok = match tag {
                b'E' | b'A' => tail.is_empty(),
                b'R' => std::str::from_utf8(&tail).is_ok(),
                b'B' => match tail.split_first() {
                    Some((&len, rest)) => rest.get(..usize::from(len)).is_some_and(|c| {
                        std::str::from_utf8(c).is_ok_and(|c| c.is_empty() || kept_content_type(c))
                    }),
                    None => false,
                },
                _ => false,
            };
            prop_assert_eq!(decoded.is_ok(), expect_ok);
            if let Ok(a) = decoded {
                prop_assert_eq!(a.to_bytes(), bytes);
            }
        }
    }
}
