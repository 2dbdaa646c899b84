//! The XML envelopes (`wecom_callback::envelope`): parsing POST bodies and
//! reply envelopes, and writing reply envelopes.
//!
//! Input: byte 0 picks the mode (mod 2), the rest is
//! * 0: a body, given to `Envelope::parse` and `ReplyEnvelope::parse`;
//! * 1: `Encrypt`, `MsgSignature`, `TimeStamp` and `Nonce` separated by
//!   0x00, given to `envelope::reply`, whose output must be well-formed XML
//!   with exactly those four elements and texts (minus characters XML
//!   cannot carry), and must parse back with `ReplyEnvelope::parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wecom_callback::envelope::{self, Envelope, ReplyEnvelope};
use wecom_callback_fuzz::{crypt, differential, eol, fields, strict_children, xml_chars_only};

const TS: &str = "1409659813";
const NONCE: &str = "1372623149";

fn parse(body: &[u8]) {
    let _ = ReplyEnvelope::parse(body);
    let Ok(env) = Envelope::parse(body) else {
        return;
    };
    let encrypt = env.encrypt();
    assert!(!encrypt.is_empty(), "an empty Encrypt was accepted");
    assert!(
        encrypt
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')),
        "Encrypt outside the base64 alphabet was accepted: {encrypt:?}"
    );
    // Opening the whole body is parsing it, then decrypting its Encrypt.
    let c = crypt();
    let sig = c.signature(TS, NONCE, encrypt);
    let whole = c.decrypt_msg(&sig, TS, NONCE, body);
    let part = c.decrypt(&sig, TS, NONCE, encrypt);
    assert_eq!(
        whole.map(|d| d.into_msg()).map_err(|e| e.kind()),
        part.map(|d| d.into_msg()).map_err(|e| e.kind())
    );
    if differential() {
        let text = std::str::from_utf8(body).expect("accepted bodies are UTF-8");
        let (root, children) = strict_children(text, "an accepted envelope");
        assert_eq!(root, "xml");
        let encrypts: Vec<_> = children.iter().filter(|c| c.0 == "Encrypt").collect();
        assert_eq!(
            encrypts.len(),
            1,
            "Encrypt count differs from a strict parser"
        );
        assert_eq!(
            encrypts[0].1, encrypt,
            "Encrypt differs from a strict parser"
        );
    }
}

fn write(data: &[u8]) {
    let [encrypt, signature, timestamp, nonce] = fields::<4>(data, 0);
    // The crate always passes its own decimal clock reading as the
    // timestamp; only the other three carry foreign text.
    let timestamp: String = timestamp.chars().filter(char::is_ascii_digit).collect();
    let out = envelope::reply(&encrypt, &signature, &timestamp, &nonce);
    let want = |s: &str| eol(&xml_chars_only(s));

    let (root, children) = strict_children(&out, "a reply envelope");
    assert_eq!(root, "xml");
    let got: Vec<(&str, String)> = children
        .iter()
        .map(|(name, text, nested)| {
            assert!(!nested, "{name} has element children: {out:?}");
            (name.as_str(), text.clone())
        })
        .collect();
    assert_eq!(
        got,
        [
            ("Encrypt", want(&encrypt)),
            ("MsgSignature", want(&signature)),
            ("TimeStamp", timestamp.clone()),
            ("Nonce", want(&nonce)),
        ],
        "reply envelope reads differently to a strict parser: {out:?}"
    );

    // The crate reads its own output back (Encrypt must look like base64
    // once the characters XML cannot carry are gone).
    let kept = want(&encrypt);
    let b64 = !kept.is_empty()
        && kept
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    match ReplyEnvelope::parse(out.as_bytes()) {
        Ok(env) => {
            assert!(b64, "accepted a non-base64 Encrypt");
            assert_eq!(env.encrypt, kept);
            assert_eq!(eol(&env.msg_signature), want(&signature));
            assert_eq!(env.timestamp, timestamp);
            assert_eq!(eol(&env.nonce), want(&nonce));
        }
        Err(e) => assert!(!b64, "own reply envelope refused ({e}): {out:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        parse(rest);
    } else {
        write(rest);
    }
});
