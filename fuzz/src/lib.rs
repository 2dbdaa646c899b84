//! Shared pieces of the fuzz targets: the fixed secrets, an AES-CBC sealer
//! written here (so a target can make the crate decrypt bytes the fuzzer
//! chose, bad padding and length fields included), a reference opener that
//! follows PROTOCOL.md rather than the crate's code, and the XML oracles.
//!
//! Everything under test is reached through the crate's public API only.

use aes::Aes256;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use cbc::cipher::array::Array;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use wecom_callback::MsgCrypt;

/// Token of the vendor's sample (WeCom doc 加解密方案说明).
pub const TOKEN: &str = "QDG6eK";
/// EncodingAESKey of the vendor's sample.
pub const ENCODING_AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
/// Corp id (receive id) of the vendor's sample.
pub const CORP_ID: &str = "wx5823bf96d3bd56c7";
/// The path the layer guards in the targets.
pub const PATH: &str = "/cb";

/// The crate's crypt for the sample secrets.
pub fn crypt() -> MsgCrypt {
    MsgCrypt::new(TOKEN, ENCODING_AES_KEY, CORP_ID).expect("sample secrets are valid")
}

/// The 32-byte AES key behind an EncodingAESKey (base64 of key + "=", the
/// unused low bits of the last character ignored, as the vendor does).
pub fn aes_key(encoding_aes_key: &str) -> [u8; 32] {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let mut key = [0u8; 32];
    let n = LENIENT
        .decode_slice(encoding_aes_key, &mut key)
        .expect("a 43-character key");
    assert_eq!(n, 32);
    key
}

fn key_and_iv(key: &[u8; 32]) -> ([u8; 32], [u8; 16]) {
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&key[..16]);
    (*key, iv)
}

/// AES-256-CBC without any padding of its own, IV = first 16 key bytes.
/// `plain` is zero-filled to a whole number of 16-byte blocks first (an empty
/// input stays empty), so whatever the last bytes are is what the decryptor
/// sees as padding.
pub fn aes_cbc_encrypt_raw(key: &[u8; 32], mut plain: Vec<u8>) -> Vec<u8> {
    let rem = plain.len() % 16;
    if rem != 0 {
        plain.resize(plain.len() + 16 - rem, 0);
    }
    let (key, iv) = key_and_iv(key);
    let mut enc = cbc::Encryptor::<Aes256>::new(&key.into(), &iv.into());
    let (blocks, rest) = Array::slice_as_chunks_mut(&mut plain);
    assert!(rest.is_empty());
    enc.encrypt_blocks(blocks);
    plain
}

/// The inverse of [`aes_cbc_encrypt_raw`]; `None` unless `data` is whole
/// blocks.
pub fn aes_cbc_decrypt_raw(key: &[u8; 32], mut data: Vec<u8>) -> Option<Vec<u8>> {
    if data.len() % 16 != 0 {
        return None;
    }
    let (key, iv) = key_and_iv(key);
    let mut dec = cbc::Decryptor::<Aes256>::new(&key.into(), &iv.into());
    let (blocks, _) = Array::slice_as_chunks_mut(&mut data);
    dec.decrypt_blocks(blocks);
    Some(data)
}

/// Base64 (standard alphabet, padded) of AES-CBC over `plain` as is.
pub fn seal_raw(plain: Vec<u8>) -> String {
    STANDARD.encode(aes_cbc_encrypt_raw(&aes_key(ENCODING_AES_KEY), plain))
}

/// A frame as PROTOCOL.md lays it out: 16 random bytes, the message length
/// (u32, big-endian), the message, the receive id, then PKCS#7 padding to a
/// multiple of 32 bytes.
pub fn frame(prefix: &[u8; 16], msg: &[u8], receive_id: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(20 + msg.len() + receive_id.len() + 32);
    out.extend_from_slice(prefix);
    out.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    out.extend_from_slice(msg);
    out.extend_from_slice(receive_id);
    let pad = 32 - out.len() % 32;
    out.resize(out.len() + pad, pad as u8);
    out
}

/// What a decryptor that follows the protocol must return for the decrypted
/// bytes `plain` (ciphertext length checks already passed): the message and
/// the receive id, or `None` for any defect.
///
/// Rules (SECURITY.md pipeline steps 8–11): PKCS#7 with a pad of 1..=32 whose
/// bytes all equal the pad; then at least 20 bytes; the length field must not
/// run past the end; the rest is the receive id and must equal one of
/// `receive_ids` exactly; the message must be UTF-8.
pub fn reference_open(plain: &[u8], receive_ids: &[&str]) -> Option<(String, String)> {
    let pad = usize::from(*plain.last()?);
    if pad == 0 || pad > 32 || pad > plain.len() {
        return None;
    }
    let (body, padding) = plain.split_at(plain.len() - pad);
    if padding.iter().any(|&b| usize::from(b) != pad) {
        return None;
    }
    if body.len() < 20 {
        return None;
    }
    let len = u32::from_be_bytes([body[16], body[17], body[18], body[19]]) as usize;
    let rest = &body[20..];
    if len > rest.len() {
        return None;
    }
    let (msg, id) = rest.split_at(len);
    let id = receive_ids.iter().find(|r| r.as_bytes() == id)?;
    let msg = String::from_utf8(msg.to_vec()).ok()?;
    Some((msg, (*id).to_owned()))
}

/// The whole protocol for an `Encrypt` text: base64 (standard, padded), a
/// non-empty multiple of 32 bytes, then [`reference_open`].
pub fn reference_decrypt(encrypt: &str, receive_ids: &[&str]) -> Option<(String, String)> {
    let data = STANDARD.decode(encrypt).ok()?;
    if data.is_empty() || data.len() % 32 != 0 {
        return None;
    }
    let plain = aes_cbc_decrypt_raw(&aes_key(ENCODING_AES_KEY), data)?;
    reference_open(&plain, receive_ids)
}

/// Whether XML 1.0 can carry `c` (production `Char`; a `char` is never a
/// surrogate).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `text` minus the characters XML 1.0 cannot carry: what a reply writer
/// that drops them must produce.
pub fn xml_chars_only(text: &str) -> String {
    text.chars().filter(|&c| is_xml_char(c)).collect()
}

/// XML end-of-line handling (XML 1.0 §2.11): every parser reads `\r\n` and a
/// lone `\r` as `\n`, inside CDATA too.
pub fn eol(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Parses `xml` with roxmltree (strict XML 1.0) and returns the root's name
/// and its direct children as (name, text, has element children). Panics
/// with the document when it is not well-formed: callers use it on what the
/// crate itself wrote, which must always be well-formed.
pub fn strict_children(xml: &str, what: &str) -> (String, Vec<(String, String, bool)>) {
    let doc = match roxmltree::Document::parse(xml) {
        Ok(doc) => doc,
        Err(e) => panic!("{what} is not well-formed XML ({e}): {xml:?}"),
    };
    let root = doc.root_element();
    let children = root
        .children()
        .filter(|n| n.is_element())
        .map(|n| {
            let text: String = n
                .children()
                .filter(|c| c.is_text())
                .filter_map(|c| c.text())
                .collect();
            let nested = n.children().any(|c| c.is_element());
            (n.tag_name().name().to_owned(), text, nested)
        })
        .collect();
    (root.tag_name().name().to_owned(), children)
}

/// Splits `data` at the first `sep` byte: (before, after). Without `sep`,
/// all of `data` and an empty rest.
pub fn split_at_byte(data: &[u8], sep: u8) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == sep) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// Escapes `text` for element content with entities only (no CDATA): every
/// character, XML-legal or not, reaches the parser as written.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            _ => out.push(c),
        }
    }
    out
}

/// Writes `text` as CDATA, splitting `]]>` only; characters XML cannot carry
/// are left in on purpose, so the parser sees them.
pub fn cdata_text(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

/// Whether the optional parser-differential checks are on
/// (`WECOM_FUZZ_DIFFERENTIAL=1`): everything the crate's parsers accept must
/// also be well-formed XML to a strict parser, with the same texts. Off by
/// default because known differentials would stop every run at once; see
/// README.md.
pub fn differential() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("WECOM_FUZZ_DIFFERENTIAL").is_some_and(|v| v == "1"))
}

/// Splits `data` at every `sep` byte into exactly `N` lossy UTF-8 strings
/// (missing ones empty, the last one takes the rest, separators included).
pub fn fields<const N: usize>(data: &[u8], sep: u8) -> [String; N] {
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    let mut rest = data;
    for (i, slot) in out.iter_mut().enumerate() {
        let piece = if i + 1 == N {
            std::mem::take(&mut rest)
        } else {
            let (head, tail) = split_at_byte(rest, sep);
            rest = tail;
            head
        };
        *slot = String::from_utf8_lossy(piece).into_owned();
    }
    out
}

/// An element as a strict parser reads it: its name, its own text (direct
/// text and CDATA children joined), and its element children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Element name.
    pub name: String,
    /// Direct text, end-of-line normalised by the parser.
    pub text: String,
    /// Element children, in order.
    pub children: Vec<Node>,
}

impl Node {
    /// An element with text only; `text` is what the crate was given, so
    /// the expectation drops the characters XML cannot carry and applies
    /// end-of-line handling.
    pub fn leaf(name: &str, text: &str) -> Self {
        Self {
            name: name.to_owned(),
            text: eol(&xml_chars_only(text)),
            children: Vec::new(),
        }
    }

    /// An element with element children only.
    pub fn parent(name: &str, children: Vec<Node>) -> Self {
        Self {
            name: name.to_owned(),
            text: String::new(),
            children,
        }
    }
}

fn to_node(n: roxmltree::Node<'_, '_>) -> Node {
    Node {
        name: n.tag_name().name().to_owned(),
        text: n
            .children()
            .filter(|c| c.is_text())
            .filter_map(|c| c.text())
            .collect(),
        children: n
            .children()
            .filter(|c| c.is_element())
            .map(to_node)
            .collect(),
    }
}

/// The root element of `xml` as a strict XML 1.0 parser reads it. Panics
/// (naming `what`) when `xml` is not well-formed: used on what the crate
/// wrote, which must always be.
pub fn strict_tree(xml: &str, what: &str) -> Node {
    match roxmltree::Document::parse(xml) {
        Ok(doc) => to_node(doc.root_element()),
        Err(e) => panic!("{what} is not well-formed XML ({e}): {xml:?}"),
    }
}

/// The tree `Reply::to_xml` must produce: the header, then `body`.
pub fn reply_tree(to: &str, from: &str, time: u64, msg_type: &str, body: Vec<Node>) -> Node {
    let mut children = vec![
        Node::leaf("ToUserName", to),
        Node::leaf("FromUserName", from),
        Node::leaf("CreateTime", &time.to_string()),
        Node::leaf("MsgType", msg_type),
    ];
    children.extend(body);
    Node::parent("xml", children)
}

/// Which reply a target makes from three strings, and the tree it must read
/// as once written (without the header).
pub fn make_reply(choice: u8, a: &str, b: &str, c: &str) -> (wecom_callback::Reply, Vec<Node>) {
    use wecom_callback::Reply;
    use wecom_callback::message::Article;
    match choice % 5 {
        0 => (Reply::text(a), vec![Node::leaf("Content", a)]),
        1 => (
            Reply::image(a),
            vec![Node::parent("Image", vec![Node::leaf("MediaId", a)])],
        ),
        2 => (
            Reply::voice(a),
            vec![Node::parent("Voice", vec![Node::leaf("MediaId", a)])],
        ),
        3 => (
            Reply::video(a).title(b).description(c),
            vec![Node::parent(
                "Video",
                vec![
                    Node::leaf("MediaId", a),
                    Node::leaf("Title", b),
                    Node::leaf("Description", c),
                ],
            )],
        ),
        _ => {
            let article = Article::new(a).description(b).url(c).pic_url(b);
            let reply = Reply::news([article]).expect("one article");
            let item = Node::parent(
                "item",
                vec![
                    Node::leaf("Title", a),
                    Node::leaf("Description", b),
                    Node::leaf("PicUrl", b),
                    Node::leaf("Url", c),
                ],
            );
            (
                reply,
                vec![
                    Node::leaf("ArticleCount", "1"),
                    Node::parent("Articles", vec![item]),
                ],
            )
        }
    }
}

/// Checks that `xml`, written by `Reply::to_xml`, reads to exactly `want`
/// for a strict parser and, for text replies, for `Message::parse` too.
pub fn check_reply_xml(xml: &str, want: &Node) {
    let got = strict_tree(xml, "a reply");
    assert_eq!(&got, want, "reply reads differently than written: {xml:?}");
    let msg_type = want
        .children
        .iter()
        .find(|n| n.name == "MsgType")
        .map(|n| n.text.as_str());
    if msg_type == Some("text") {
        let parsed = match wecom_callback::Message::parse(xml) {
            Ok(m) => m,
            Err(e) => panic!("the crate refuses its own text reply ({e}): {xml:?}"),
        };
        let want_content = want
            .children
            .iter()
            .find(|n| n.name == "Content")
            .map(|n| n.text.as_str());
        assert_eq!(parsed.field("Content").map(eol).as_deref(), want_content);
        assert_eq!(parsed.msg_type(), "text");
    }
}

/// Percent-decodes `raw` once (`%XX` with two hex digits; anything else,
/// `+` included, is kept as is), as bytes.
pub fn percent_decode(raw: &str) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// A current-thread tokio runtime for driving the layer, one per thread
/// (with timers: the layer reads bodies under a deadline).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    thread_local! {
        static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread runtime");
    }
    RT.with(|rt| rt.block_on(future))
}
