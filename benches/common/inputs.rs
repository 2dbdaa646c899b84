//! The inputs every benchmark shares (this package's benches and the peer
//! comparison in `benches/peers`): the vendor's sample credentials, a WeCom
//! text message of a given content size, its encrypted envelope and the
//! query values that sign it. Deterministic: the same size and MsgId give
//! the same bytes in every run and in both packages.

#![allow(dead_code, unreachable_pub)]

use wecom_callback::crypto::MsgCrypt;
use wecom_callback::{Message, MessageKind, Reply};

/// Token of WeCom doc 加解密方案说明's worked example.
pub const TOKEN: &str = "QDG6eK";
/// EncodingAESKey of the same example, with the unused low bits of its last
/// character cleared (`C` → `A`): the same AES key, but one that
/// wechat_work_crypto (a strict base64 decode) accepts too.
pub const ENCODING_AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2A";
/// The corp id (receive id) of the same example.
pub const CORP_ID: &str = "wx5823bf96d3bd56c7";
/// The member that sends the messages.
pub const FROM_USER: &str = "mycreate";
/// The request's timestamp (unix seconds); pair it with a fixed clock.
pub const TIMESTAMP: u64 = 1_409_659_813;
/// The request's nonce.
pub const NONCE: &str = "1372623149";
/// The reply's timestamp and nonce (the pure pipeline's `encrypt_msg`).
pub const REPLY_TIMESTAMP: &str = "1409659814";
/// See [`REPLY_TIMESTAMP`].
pub const REPLY_NONCE: &str = "1372623150";
/// The callback path of the layer benches.
pub const PATH: &str = "/wecom/callback";
/// The random prefix of the request's frame (WeCom's is random; fixed here
/// so that the bytes repeat).
pub const PREFIX: [u8; 16] = *b"0123456789abcdef";
/// The first MsgId; [`msg_id`] counts up from it with a fixed width.
const FIRST_MSG_ID: u64 = 1_000_000_000_000_000_000;

/// The message-content sizes of issue 11: (label, nominal bytes).
pub const SIZES: [(&str, usize); 4] = [
    ("100B", 100),
    ("1KiB", 1024),
    ("16KiB", 16 * 1024),
    ("256KiB", 256 * 1024),
];

/// The `i`-th MsgId: 19 digits, so every message of one size has the same
/// length.
pub fn msg_id(i: u64) -> u64 {
    FIRST_MSG_ID + i
}

/// What a message's Content is made of. Our users write Chinese, so every
/// bench runs both the ASCII and the mixed Chinese/ASCII content (issue 23).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    /// Printable ASCII words (the only content before issue 23).
    Ascii,
    /// Chinese and ASCII mixed, with full-width punctuation: [`MIXED`]
    /// repeated (issue 23's content for the pipeline, layer and peers).
    Mixed,
    /// About a quarter of the characters Chinese, a tenth emoji, the rest
    /// ASCII: [`HTTP_MIX`] repeated (issue 23's content for HTTP).
    HttpMix,
}

/// The contents the in-process benches run, with their labels.
pub const CONTENTS: [(&str, Text); 2] = [("ascii", Text::Ascii), ("mixed", Text::Mixed)];

/// Printable ASCII (never `]]>`).
pub const ASCII: &str =
    "Callback text for the benchmark: the quick brown fox jumps over the lazy dog, 0123456789. ";
/// Mixed Chinese/ASCII, as issue 23 measured it (3-byte CJK ideographs,
/// full-width `，` and `。`, whose UTF-8 lead bytes are 0xEF and 0xE3).
pub const MIXED: &str = "Hello, 世界! 企业微信回调 test 123. 你好，这是一条消息。abc ";
/// 20 characters: 5 Chinese, 2 emoji (4 UTF-8 bytes each), 13 ASCII.
pub const HTTP_MIX: &str = "ok 你好🙂 test 微信回😀 ab ";

impl Text {
    /// The unit the content repeats.
    pub fn unit(self) -> &'static str {
        match self {
            Self::Ascii => ASCII,
            Self::Mixed => MIXED,
            Self::HttpMix => HTTP_MIX,
        }
    }

    /// The label of a content kind in bench names (`""` for ASCII, whose
    /// names stay as before issue 23).
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Ascii => "",
            Self::Mixed => "_mixed",
            Self::HttpMix => "_http_mix",
        }
    }
}

/// `len` bytes of printable ASCII text (words, spaces, punctuation; never
/// `]]>`), the same for every run.
pub fn text(len: usize) -> String {
    text_of(Text::Ascii, len)
}

/// Exactly `len` bytes of `kind`'s text: its unit repeated, whole
/// characters only, the last one to three bytes filled with `x` when a
/// multi-byte character would not fit. The same for every run.
pub fn text_of(kind: Text, len: usize) -> String {
    let mut out = String::with_capacity(len);
    for c in kind.unit().chars().cycle() {
        if out.len() + c.len_utf8() > len {
            break;
        }
        out.push(c);
    }
    while out.len() < len {
        out.push('x');
    }
    out
}

/// The decrypted WeCom text message (WeCom doc 接收消息与事件 消息格式, 文本消息).
pub fn message_xml(content: &str, msg_id: u64) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{FROM_USER}]]></FromUserName><CreateTime>{TIMESTAMP}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>218</AgentID></xml>"
    )
}

/// The content length used for a nominal size: the nominal size plus 0 to
/// 31 bytes, so that the encrypted frame's padding is 1 to 16 bytes. Two of
/// the peers (wechat-oa-sdk, wechat_work_crypto) unpad to the 16-byte AES
/// block and refuse WeCom's pad values 17 to 32; with these lengths every
/// crate opens every input.
pub fn content_len(nominal: usize) -> usize {
    let frame = |len: usize| 20 + message_xml(&text(len), msg_id(0)).len() + CORP_ID.len();
    (nominal..nominal + 32)
        .find(|&len| frame(len) % 32 >= 16)
        .unwrap_or(nominal)
}

/// One signed, encrypted POST and what went into it.
///
/// The content's byte length depends only on the nominal size, not on
/// [`Text`], so the floor of an ASCII and a mixed input of one size is the
/// same computation.
#[derive(Debug, Clone)]
pub struct Input {
    /// The message's Content.
    pub content: String,
    /// The decrypted message XML.
    pub plain: String,
    /// The Encrypt text.
    pub encrypt: String,
    /// The POST body: the XML envelope around Encrypt.
    pub body: String,
    /// `msg_signature` over Encrypt.
    pub signature: String,
    /// `timestamp` as sent.
    pub timestamp: String,
    /// `nonce` as sent.
    pub nonce: String,
}

/// The crypt of the vendor's sample credentials.
pub fn crypt() -> MsgCrypt {
    MsgCrypt::new(TOKEN, ENCODING_AES_KEY, CORP_ID).unwrap_or_else(|e| panic!("sample key: {e}"))
}

/// The POST envelope as WeCom lays it out.
pub fn envelope(encrypt: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
    )
}

impl Input {
    /// The text message of `content_len(nominal)` bytes with MsgId
    /// `msg_id(i)`, encrypted and signed.
    pub fn new(crypt: &MsgCrypt, nominal: usize, i: u64) -> Self {
        Self::at(crypt, nominal, i, TIMESTAMP)
    }

    /// As [`Input::new`], sent at `timestamp` (unix seconds).
    pub fn at(crypt: &MsgCrypt, nominal: usize, i: u64, timestamp: u64) -> Self {
        Self::of_at(Text::Ascii, crypt, nominal, i, timestamp)
    }

    /// As [`Input::new`], with `kind`'s content.
    pub fn of(kind: Text, crypt: &MsgCrypt, nominal: usize, i: u64) -> Self {
        Self::of_at(kind, crypt, nominal, i, TIMESTAMP)
    }

    /// As [`Input::at`], with `kind`'s content.
    pub fn of_at(kind: Text, crypt: &MsgCrypt, nominal: usize, i: u64, timestamp: u64) -> Self {
        let content = text_of(kind, content_len(nominal));
        let plain = message_xml(&content, msg_id(i));
        let encrypt = crypt
            .encrypt_with_prefix(plain.as_bytes(), PREFIX)
            .unwrap_or_else(|e| panic!("encrypt: {e}"));
        let timestamp = timestamp.to_string();
        let signature = crypt.signature(&timestamp, NONCE, &encrypt);
        Self {
            body: envelope(&encrypt),
            content,
            plain,
            encrypt,
            signature,
            timestamp,
            nonce: NONCE.to_owned(),
        }
    }

    /// The reply plaintext the echo handler's text reply becomes, of the
    /// same shape as the crate's `Reply::text(content).to_xml(..)`: used by
    /// the floor for the reply's size.
    pub fn reply_plain(&self) -> String {
        format!(
            "<xml><ToUserName><![CDATA[{FROM_USER}]]></ToUserName><FromUserName><![CDATA[{CORP_ID}]]></FromUserName><CreateTime>{TIMESTAMP}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{}]]></Content></xml>",
            self.content
        )
    }

    /// The POST query string.
    pub fn query(&self) -> String {
        format!(
            "msg_signature={}&timestamp={}&nonce={}",
            self.signature, self.timestamp, self.nonce
        )
    }
}

/// The pure pipeline: open, parse, build the echo reply, seal.
pub fn pure(crypt: &MsgCrypt, input: &Input) -> String {
    let decrypted = crypt
        .decrypt_msg(
            &input.signature,
            &input.timestamp,
            &input.nonce,
            input.body.as_bytes(),
        )
        .unwrap();
    let message = Message::try_from(decrypted.into_msg()).unwrap();
    let (header, kind) = message.into_parts();
    let MessageKind::Text(text) = kind else {
        panic!("not a text message")
    };
    let reply =
        Reply::text(text.content).to_xml(&header.from_user_name, &header.to_user_name, TIMESTAMP);
    crypt
        .encrypt_msg(&reply, REPLY_TIMESTAMP, REPLY_NONCE)
        .unwrap()
}
