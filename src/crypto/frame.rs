//! The plaintext frame inside `Encrypt`:
//! `random(16) ‖ msg_len (u32 big-endian) ‖ msg ‖ receive_id`
//! (WeCom doc 加解密方案说明: "rand_msg = random(16B) + msg_len(4B) + msg + receiveid").

use super::error::{CryptoError, CryptoErrorKind};

/// Bytes before `msg`: the random prefix and the length field.
#[cfg(test)]
pub(crate) const HEADER_LEN: usize = 20;

/// The frame's length field for `msg`: its length as a big-endian `u32`.
///
/// # Errors
/// [`CryptoErrorKind::IllegalBuffer`] if `msg` is longer than `u32::MAX` bytes.
pub(crate) fn length_field(msg: &[u8]) -> Result<[u8; 4], CryptoError> {
    u32::try_from(msg.len())
        .map(u32::to_be_bytes)
        .map_err(|_| CryptoError::new(CryptoErrorKind::IllegalBuffer))
}

/// Builds the frame. The random prefix is opaque bytes. (Encryption streams
/// the same parts instead, see `cipher::encrypt_to_base64`; this is the
/// reference the tests compare with.)
///
/// # Errors
/// [`CryptoErrorKind::IllegalBuffer`] if `msg` is longer than `u32::MAX` bytes.
#[cfg(test)]
pub(crate) fn build(
    random: &[u8; 16],
    msg: &[u8],
    receive_id: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let len =
        u32::try_from(msg.len()).map_err(|_| CryptoError::new(CryptoErrorKind::IllegalBuffer))?;
    let mut frame = Vec::with_capacity(HEADER_LEN + msg.len() + receive_id.len() + 32);
    frame.extend_from_slice(random);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(msg);
    frame.extend_from_slice(receive_id);
    Ok(frame)
}

/// Splits an unpadded frame into `(msg, receive_id)`.
///
/// # Errors
/// [`CryptoErrorKind::IllegalBuffer`] if the frame is shorter than 20 bytes
/// or its length field points past the end (checked arithmetic: the field
/// may be `0xFFFFFFFF`).
pub(crate) fn open(frame: &[u8]) -> Result<(&[u8], &[u8]), CryptoError> {
    let illegal = || CryptoError::new(CryptoErrorKind::IllegalBuffer);
    let body = frame.get(16..).ok_or_else(illegal)?;
    let (len, rest) = body.split_first_chunk::<4>().ok_or_else(illegal)?;
    let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| illegal())?;
    if len > rest.len() {
        return Err(illegal());
    }
    Ok(rest.split_at(len))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn build_then_open() {
        let frame = build(&[7; 16], b"<xml/>", b"ww1").unwrap();
        assert_eq!(&frame[16..20], &[0, 0, 0, 6]);
        assert_eq!(open(&frame).unwrap(), (&b"<xml/>"[..], &b"ww1"[..]));
    }

    #[test]
    fn refuses_short_frames_and_overlong_lengths() {
        assert!(open(&[0; 19]).is_err());
        let mut frame = build(&[0; 16], b"abc", b"").unwrap();
        assert_eq!(open(&frame).unwrap(), (&b"abc"[..], &b""[..]));
        for len in [4u32, 0xFFFF_FFEC, u32::MAX] {
            frame[16..20].copy_from_slice(&len.to_be_bytes());
            assert_eq!(
                open(&frame).unwrap_err().kind(),
                CryptoErrorKind::IllegalBuffer
            );
        }
    }
}
