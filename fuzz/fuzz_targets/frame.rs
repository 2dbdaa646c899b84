//! Frame and unpad: the fuzzer picks what `MsgCrypt::decrypt` sees after
//! each stage (the Encrypt text, or the decrypted bytes, or a well-formed
//! frame with one defect). The target signs it correctly itself, so every
//! input gets past the signature to base64, AES, unpad, the length field,
//! the receive id and UTF-8, and compares the crate with a reference opener
//! written from the protocol.
//!
//! Input: byte 0 picks the mode (mod 3), the rest is
//! * 0: the Encrypt text (lossy UTF-8);
//! * 1: the decrypted bytes (zero-filled to whole AES blocks);
//! * 2: `[16 prefix][receive id choice][length delta: i8][pad override][msg…]`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wecom_callback::MsgCrypt;
use wecom_callback::crypto::CryptoErrorKind;
use wecom_callback_fuzz::{CORP_ID, ENCODING_AES_KEY, TOKEN, frame, reference_decrypt, seal_raw};

const TS: &str = "1409659589";
const NONCE: &str = "263014780";

/// Receive ids a frame may carry: the configured ones and near misses.
const IDS: [&str; 5] = [
    CORP_ID,
    "",
    "wx5823bf96d3bd56c",
    "wx5823bf96d3bd56c7x",
    "ww2",
];

fn encrypt_text(data: &[u8]) -> Option<String> {
    let (&mode, rest) = data.split_first()?;
    Some(match mode % 3 {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => seal_raw(rest.to_vec()),
        _ => {
            let prefix: [u8; 16] = rest.get(..16)?.try_into().ok()?;
            let [id, delta, pad, ref msg @ ..] = *rest.get(16..)? else {
                return None;
            };
            let id = IDS[usize::from(id) % IDS.len()];
            let mut plain = frame(&prefix, msg, id.as_bytes());
            let len = (msg.len() as u32).wrapping_add(i32::from(delta as i8) as u32);
            plain[16..20].copy_from_slice(&len.to_be_bytes());
            if pad != 0 {
                *plain.last_mut()? = pad;
            }
            seal_raw(plain)
        }
    })
}

fn check(crypt: &MsgCrypt, ids: &[&str], encrypt: &str) {
    let sig = crypt.signature(TS, NONCE, encrypt);
    let got = crypt.decrypt(&sig, TS, NONCE, encrypt);
    let want = reference_decrypt(encrypt, ids);
    match (&got, &want) {
        (Ok(d), Some((msg, id))) => {
            assert_eq!(d.msg(), msg, "decrypted message differs from the reference");
            assert_eq!(d.receive_id(), id, "receive id differs from the reference");
            // What comes out goes back in.
            let again = crypt
                .encrypt_with_prefix(msg.as_bytes(), [7; 16])
                .expect("a short message seals");
            let reopened = crypt.decrypt_unsigned(&again).expect("own output opens");
            assert_eq!(reopened.msg(), msg);
        }
        (Err(e), None) => assert_ne!(
            e.kind(),
            CryptoErrorKind::ValidateSignature,
            "a correct signature was refused"
        ),
        (Ok(_), None) => panic!("accepted what the protocol refuses: {encrypt:?}"),
        (Err(e), Some(_)) => panic!("refused ({e:?}) what the protocol accepts: {encrypt:?}"),
    }
    // Skipping the signature must not change the outcome.
    assert_eq!(
        crypt.decrypt_unsigned(encrypt).map(|d| d.into_msg()).ok(),
        got.map(|d| d.into_msg()).ok()
    );
    // Any other signature is refused before anything else.
    let mut bad = sig.into_bytes();
    bad[0] = if bad[0] == b'0' { b'1' } else { b'0' };
    let bad = String::from_utf8(bad).expect("hex");
    let err = crypt
        .decrypt(&bad, TS, NONCE, encrypt)
        .expect_err("a wrong signature must not verify");
    assert_eq!(err.kind(), CryptoErrorKind::ValidateSignature);
}

fuzz_target!(|data: &[u8]| {
    let Some(encrypt) = encrypt_text(data) else {
        return;
    };
    let one = MsgCrypt::new(TOKEN, ENCODING_AES_KEY, CORP_ID).expect("valid secrets");
    check(&one, &[CORP_ID], &encrypt);
    let two =
        MsgCrypt::with_receive_ids(TOKEN, ENCODING_AES_KEY, ["", "ww2"]).expect("valid secrets");
    check(&two, &["", "ww2"], &encrypt);
});
