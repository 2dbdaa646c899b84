//! [`StoredAnswer`]: what was answered for a message, so that a retry gets
//! the same answer.

use std::fmt;

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
}

/// The first byte of every encoded answer: the format's version.
const FORMAT: u8 = 1;
const TAG_EMPTY: u8 = b'E';
const TAG_ACK: u8 = b'A';
const TAG_REPLY: u8 = b'R';

impl StoredAnswer {
    /// The answer in a compact byte form, for stores that keep bytes
    /// (Redis): the format version `0x01`, then one tag byte (`E` empty,
    /// `A` acknowledgement, `R` reply), then for a reply its plaintext as
    /// UTF-8. [`from_bytes`](Self::from_bytes) reads it back.
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
            _ => Err(AnswerDecodeError(())),
        }
    }

    /// Bytes the answer holds beyond its tag (the reply's length; 0
    /// otherwise). Used to weigh entries in memory.
    pub(crate) fn payload_len(&self) -> usize {
        match self {
            Self::Empty | Self::Ack => 0,
            Self::Reply { plaintext } => plaintext.len(),
        }
    }
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
    fn debug_hides_the_reply_text() {
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
            tag in proptest::sample::select(vec![b'E', b'A', b'R', b'I', 0, 0xff]),
            tail in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut bytes = vec![FORMAT, tag];
            bytes.extend_from_slice(&tail);
            let decoded = StoredAnswer::from_bytes(&bytes);
            let expect_ok = match tag {
                b'E' | b'A' => tail.is_empty(),
                b'R' => std::str::from_utf8(&tail).is_ok(),
                _ => false,
            };
            prop_assert_eq!(decoded.is_ok(), expect_ok);
            if let Ok(a) = decoded {
                prop_assert_eq!(a.to_bytes(), bytes);
            }
        }
    }
}
