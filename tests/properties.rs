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
