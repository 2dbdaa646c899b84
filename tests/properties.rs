//! Property tests of the pure protocol code: sealing round-trips for any
//! message and every pad length, any tampering is caught by the signature,
//! and no input makes the decryptor or the XML parsers panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use wecom_callback::crypto::{CryptoErrorKind, MsgCrypt};
use wecom_callback::envelope::{Envelope, ReplyEnvelope};
use wecom_callback::{Message, Reply};

fn crypt() -> MsgCrypt {
    MsgCrypt::new(
        "QDG6eK",
        "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        "wx5823bf96d3bd56c7",
    )
    .unwrap()
}

/// `text` without the characters XML 1.0 cannot carry.
fn xml_chars(text: &str) -> String {
    text.chars()
        .filter(|&c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..))
        .collect()
}

/// Strings dense in what attacks a CDATA writer: brackets, `>`, markup and
/// characters XML cannot carry, in any order.
fn tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("]".to_owned()),
        Just(">".to_owned()),
        Just("]]>".to_owned()),
        Just("<![CDATA[".to_owned()),
        Just(
            "</Content><MsgType>image</MsgType><Image><MediaId>EVIL</MediaId></Image><Content>"
                .to_owned()
        ),
        prop::sample::select(vec![
            '\u{0}', '\u{1}', '\u{8}', '\u{b}', '\u{c}', '\u{1f}', '\u{fffe}', '\u{ffff}'
        ])
        .prop_map(String::from),
        "[a-z中]{0,3}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn seal_then_open_returns_the_message(msg in ".{0,2048}", prefix in any::<[u8; 16]>()) {
        let c = crypt();
        let encrypt = c.encrypt_with_prefix(msg.as_bytes(), prefix).unwrap();
        let raw = STANDARD.decode(&encrypt).unwrap();
        prop_assert_eq!(raw.len() % 32, 0);
        let sig = c.signature("1700000000", "42", &encrypt);
        let opened = c.decrypt(&sig, "1700000000", "42", &encrypt).unwrap();
        prop_assert_eq!(opened.msg(), msg.as_str());
        prop_assert_eq!(opened.receive_id(), "wx5823bf96d3bd56c7");
    }

    #[test]
    fn every_pad_length_round_trips(len in 0usize..=200) {
        let msg = "x".repeat(len);
        let c = crypt();
        let encrypt = c.encrypt_with_prefix(msg.as_bytes(), [9; 16]).unwrap();
        let opened = c.decrypt_unsigned(&encrypt).unwrap();
        prop_assert_eq!(opened.msg(), msg.as_str());
    }

    #[test]
    fn any_change_to_encrypt_fails_the_signature(msg in ".{1,256}", at in any::<prop::sample::Index>(), truncate in any::<bool>()) {
        let c = crypt();
        let encrypt = c.encrypt_with_prefix(msg.as_bytes(), [1; 16]).unwrap();
        let sig = c.signature("1700000000", "42", &encrypt);
        let mut tampered = encrypt.clone().into_bytes();
        let i = at.index(tampered.len());
        if truncate {
            tampered.truncate(i);
        } else {
            tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        }
        let tampered = String::from_utf8(tampered).unwrap();
        let err = c.decrypt(&sig, "1700000000", "42", &tampered).unwrap_err();
        prop_assert_eq!(err.kind(), CryptoErrorKind::ValidateSignature);
    }

    #[test]
    fn opening_arbitrary_ciphertext_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        // Errors are expected; panics are not. Also exercise text that is
        // not base64 at all.
        let _ = crypt().decrypt_unsigned(&STANDARD.encode(&bytes));
        let _ = crypt().decrypt_unsigned(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn parsers_never_panic(input in ".{0,512}", bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Envelope::parse(input.as_bytes());
        let _ = Envelope::parse(&bytes);
        let _ = ReplyEnvelope::parse(input.as_bytes());
        let _ = Message::parse(&input);
        let _ = Message::parse(&format!("<xml>{input}</xml>"));
    }

    #[test]
    fn reply_text_cannot_break_out_of_its_element(content in tricky_text()) {
        // SECURITY.md T28: text built from `]`, `>`, `<` and characters XML
        // cannot carry must come back as exactly one Content, minus the
        // characters XML cannot carry, and add no element.
        let xml = Reply::text(content.clone()).to_xml("zhangsan", "wx5823bf96d3bd56c7", 1_700_000_000);
        let parsed = Message::parse(&xml).unwrap();
        prop_assert_eq!(parsed.msg_type(), "text");
        let expected = xml_chars(&content);
        prop_assert_eq!(parsed.field("Content"), Some(expected.as_str()));
        prop_assert!(parsed.field("Image").is_none());

        // The envelope's Nonce goes through the same writer.
        let envelope = wecom_callback::envelope::reply("ab+/=", "0123456789abcdef0123456789abcdef01234567", "1700000000", &content);
        let opened = ReplyEnvelope::parse(envelope.as_bytes()).unwrap();
        prop_assert_eq!(opened.nonce, xml_chars(&content));
        prop_assert_eq!(opened.encrypt, "ab+/=");
    }

    #[test]
    fn reply_text_survives_rendering(content in ".{0,512}") {
        let xml = Reply::text(content.clone()).to_xml("zhangsan", "wx5823bf96d3bd56c7", 1_700_000_000);
        let parsed = Message::parse(&xml).unwrap();
        // XML cannot carry some control characters and normalises line
        // ends; everything else must come back exactly.
        let expected: String = content
            .replace("\r\n", "\n")
            .replace('\r', "\n")
            .chars()
            .filter(|&c| matches!(c, '\t' | '\n' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..))
            .collect();
        prop_assert_eq!(parsed.field("Content"), Some(expected.as_str()));
    }
}

/// The two payloads of the hostile-input issue, through the reply writer and
/// the envelope's Nonce: no second `MsgType`, no injected `Image`.
#[test]
fn issue_payloads_do_not_inject_elements() {
    for content in [
        "]]\u{FFFF}></Content><MsgType>image</MsgType><Image><MediaId>EVIL</MediaId></Image><Content><![CDATA[",
        "]\u{FFFF}]></Content><MsgType>image</MsgType><Image><MediaId>EVIL</MediaId></Image><Content><![CDATA[",
    ] {
        let xml = Reply::text(content).to_xml("zhangsan", "wx5823bf96d3bd56c7", 1_700_000_000);
        let parsed = Message::parse(&xml).unwrap();
        assert_eq!(parsed.msg_type(), "text");
        assert_eq!(parsed.field("Image"), None);
        assert_eq!(parsed.field("Content"), Some(xml_chars(content).as_str()));
        let envelope = wecom_callback::envelope::reply(
            "ab+/=",
            "0123456789abcdef0123456789abcdef01234567",
            "1700000000",
            content,
        );
        assert_eq!(
            ReplyEnvelope::parse(envelope.as_bytes()).unwrap().nonce,
            xml_chars(content)
        );
    }
}
