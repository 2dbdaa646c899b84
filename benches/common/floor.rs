//! The crypto floor of one callback: what any implementation of the scheme
//! must compute, with the crates this project uses and nothing else.
//!
//! Request: SHA-1 over the sorted token, timestamp, nonce and Encrypt (fed
//! part by part, no concatenation), base64 decode, AES-256-CBC decrypt in
//! place. Reply: AES-256-CBC encrypt of the padded reply frame, base64
//! encode, SHA-1 over the sorted parts. Buffers are allocated once, outside
//! the measured work; copying the reply frame into the work buffer is in
//! (any implementation writes the frame somewhere before encrypting it).
//!
//! Two floors: base64 by the scalar `STANDARD` engine (the floor of
//! issue #11, and what the Rust peers use), and by the base64 crate's
//! runtime-detected SIMD engine, which this crate uses since the fourth
//! round. The second is the honest floor for "what does everything beyond
//! the cryptography cost".

#![allow(dead_code, unreachable_pub)]

use aes::Aes256;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig, Simd};
use cbc::cipher::array::Array;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use sha1::{Digest, Sha1};

/// Decodes the 43-character EncodingAESKey (trailing bits ignored, as
/// every vendor library does).
pub fn aes_key(encoding_aes_key: &str) -> [u8; 32] {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let mut key = [0u8; 32];
    let written = LENIENT
        .decode_slice(encoding_aes_key, &mut key)
        .unwrap_or_else(|e| panic!("key: {e}"));
    assert_eq!(written, 32);
    key
}

/// SHA-1 of the byte-wise sorted parts, fed one by one.
pub fn sorted_sha1(mut parts: [&str; 4]) -> [u8; 20] {
    parts.sort_unstable();
    let mut hasher = Sha1::new();
    for part in parts {
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

/// The reply frame `random(16) ‖ u32be(len) ‖ msg ‖ receive_id`, padded to
/// 32 bytes the protocol's way.
pub fn padded_frame(msg: &[u8], receive_id: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(20 + msg.len() + receive_id.len() + 32);
    frame.extend_from_slice(&[7u8; 16]);
    frame.extend_from_slice(&u32::try_from(msg.len()).unwrap_or(u32::MAX).to_be_bytes());
    frame.extend_from_slice(msg);
    frame.extend_from_slice(receive_id);
    let pad = 32 - frame.len() % 32;
    frame.resize(frame.len() + pad, u8::try_from(pad).unwrap_or(32));
    frame
}

/// The floor's state for one input: its values and reusable buffers.
#[derive(Debug)]
pub struct Floor {
    key: [u8; 32],
    token: String,
    timestamp: String,
    nonce: String,
    encrypt: String,
    reply_timestamp: String,
    reply_nonce: String,
    reply_frame: Vec<u8>,
    decoded: Vec<u8>,
    work: Vec<u8>,
    encoded: String,
    simd: Option<Simd>,
}

impl Floor {
    /// The floor of one of the benches' inputs: its Encrypt, its echo
    /// reply, and the shared credentials, timestamps and nonce.
    pub fn for_input(input: &super::inputs::Input) -> Self {
        use super::inputs::{CORP_ID, ENCODING_AES_KEY, REPLY_NONCE, REPLY_TIMESTAMP, TOKEN};
        Self::new(
            ENCODING_AES_KEY,
            TOKEN,
            &input.timestamp,
            &input.nonce,
            &input.encrypt,
            &input.reply_plain(),
            REPLY_TIMESTAMP,
            REPLY_NONCE,
            CORP_ID,
        )
    }

    /// The same floor with base64 by the SIMD engine.
    pub fn for_input_simd(input: &super::inputs::Input) -> Self {
        Self::for_input(input).with_simd(true)
    }

    /// Base64 by the SIMD engine (`true`) or the scalar `STANDARD` one.
    pub fn with_simd(mut self, simd: bool) -> Self {
        self.simd = simd.then(|| Simd::standard(GeneralPurposeConfig::new()));
        self
    }

    /// Prepares the floor for a request whose Encrypt is `encrypt` and
    /// whose reply plaintext is `reply_plain`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        encoding_aes_key: &str,
        token: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
        reply_plain: &str,
        reply_timestamp: &str,
        reply_nonce: &str,
        receive_id: &str,
    ) -> Self {
        let reply_frame = padded_frame(reply_plain.as_bytes(), receive_id.as_bytes());
        Self {
            key: aes_key(encoding_aes_key),
            token: token.to_owned(),
            timestamp: timestamp.to_owned(),
            nonce: nonce.to_owned(),
            encrypt: encrypt.to_owned(),
            reply_timestamp: reply_timestamp.to_owned(),
            reply_nonce: reply_nonce.to_owned(),
            decoded: vec![0; encrypt.len() / 4 * 3 + 3],
            work: Vec::with_capacity(reply_frame.len()),
            encoded: String::with_capacity(reply_frame.len() / 3 * 4 + 4),
            reply_frame,
            simd: None,
        }
    }

    /// The request half: verify, decode, decrypt. Returns the signature
    /// digest and the last plaintext byte (so nothing is optimised away).
    pub fn open(&mut self) -> ([u8; 20], u8) {
        let digest = sorted_sha1([&self.token, &self.timestamp, &self.nonce, &self.encrypt]);
        let len = match &self.simd {
            Some(engine) => engine.decode_slice(&self.encrypt, &mut self.decoded),
            None => STANDARD.decode_slice(&self.encrypt, &mut self.decoded),
        }
        .unwrap_or_else(|e| panic!("base64: {e}"));
        let data = self.decoded.get_mut(..len).unwrap_or_default();
        let iv: [u8; 16] = self.key[..16].try_into().unwrap_or_default();
        let mut decryptor = cbc::Decryptor::<Aes256>::new(&self.key.into(), &iv.into());
        let (blocks, _) = Array::slice_as_chunks_mut(data);
        decryptor.decrypt_blocks(blocks);
        (digest, data.last().copied().unwrap_or_default())
    }

    /// The reply half: encrypt, encode, sign.
    pub fn seal(&mut self) -> [u8; 20] {
        self.work.clear();
        self.work.extend_from_slice(&self.reply_frame);
        let iv: [u8; 16] = self.key[..16].try_into().unwrap_or_default();
        let mut encryptor = cbc::Encryptor::<Aes256>::new(&self.key.into(), &iv.into());
        let (blocks, _) = Array::slice_as_chunks_mut(&mut self.work);
        encryptor.encrypt_blocks(blocks);
        self.encoded.clear();
        match &self.simd {
            Some(engine) => engine.encode_string(&self.work, &mut self.encoded),
            None => STANDARD.encode_string(&self.work, &mut self.encoded),
        }
        sorted_sha1([
            &self.token,
            &self.reply_timestamp,
            &self.reply_nonce,
            &self.encoded,
        ])
    }

    /// Both halves: the floor of one callback with a reply.
    pub fn run(&mut self) -> ([u8; 20], u8, [u8; 20]) {
        let (a, b) = self.open();
        (a, b, self.seal())
    }
}
