//! The randomness seam: the 16-byte random prefix of each encrypted reply and
//! the reply `Nonce`.
//!
//! Production code uses [`ThreadRandom`] (rand's thread-local CSPRNG, seeded
//! from the operating system), or [`OsRandom`] (a `getrandom` system call per
//! fill). Known-answer tests inject [`FixedRandom`] so that encryption
//! becomes deterministic, the way every `encrypt` vector of the vendor
//! libraries is produced.

use std::fmt;

/// The random source could not deliver bytes (the OS CSPRNG failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomUnavailable;

impl fmt::Display for RandomUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("random source unavailable")
    }
}

impl std::error::Error for RandomUnavailable {}

/// A source of random bytes for reply encryption.
///
/// Implement it only to make output deterministic in tests; production code
/// should keep the default [`ThreadRandom`] (or [`OsRandom`]). A weak source makes the first
/// ciphertext block predictable, because the protocol's IV is fixed
/// (IV = key\[0..16\]) and the random prefix is the only thing that varies.
pub trait RandomSource: fmt::Debug + Send + Sync + 'static {
    /// Fills `dest` entirely with random bytes.
    ///
    /// # Errors
    /// [`RandomUnavailable`] if no bytes can be had.
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomUnavailable>;
}

/// The operating system's CSPRNG (`getrandom`): one system call per fill.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomUnavailable> {
        getrandom::fill(dest).map_err(|_| RandomUnavailable)
    }
}

/// The thread-local CSPRNG of the `rand` crate (`rand::rng()`: ChaCha12,
/// seeded from the operating system's source on first use in each thread
/// and reseeded from it every 64 KiB of output). The default: it costs no
/// system call per reply (one `getrandom` call was about 8 % of a 100-byte
/// callback; BENCHMARKS.md).
///
/// Two caveats from rand's documentation: the generator is not reseeded on
/// `fork()` (a process that forks after replying should use [`OsRandom`] in
/// the children), and first use in a thread panics if the operating system
/// cannot seed it at all — no input can cause that.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadRandom;

impl RandomSource for ThreadRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomUnavailable> {
        rand::RngCore::fill_bytes(&mut rand::rng(), dest);
        Ok(())
    }
}

/// Fixed bytes, repeated cyclically: every `fill` starts again at the first
/// byte. For known-answer tests only.
///
/// ```
/// use wecom_callback::crypto::{FixedRandom, RandomSource};
///
/// let random = FixedRandom::new(*b"0123456789abcdef");
/// let mut prefix = [0u8; 16];
/// random.fill(&mut prefix)?;
/// assert_eq!(&prefix, b"0123456789abcdef");
/// # Ok::<(), wecom_callback::crypto::RandomUnavailable>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedRandom {
    bytes: Vec<u8>,
}

impl FixedRandom {
    /// A source that yields `bytes` over and over. An empty `bytes` yields
    /// zeros.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            bytes: bytes.into(),
        }
    }
}

impl RandomSource for FixedRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomUnavailable> {
        if self.bytes.is_empty() {
            dest.fill(0);
        } else {
            for (d, s) in dest.iter_mut().zip(self.bytes.iter().cycle()) {
                *d = *s;
            }
        }
        Ok(())
    }
}

/// A fresh reply nonce: ten decimal digits, like the nonces WeCom sends
/// (the test kit's; the layer writes its own without allocating).
#[cfg(any(feature = "test-util", test))]
pub(crate) fn nonce(random: &dyn RandomSource) -> Result<String, RandomUnavailable> {
    let mut bytes = [0u8; 8];
    random.fill(&mut bytes)?;
    Ok(format!(
        "{:010}",
        u64::from_be_bytes(bytes) % 10_000_000_000
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn thread_random_fills_every_byte_differently_each_time() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        assert_eq!(ThreadRandom.fill(&mut a), Ok(()));
        assert_eq!(ThreadRandom.fill(&mut b), Ok(()));
        // 2^-256 to fail by chance; an all-zero or repeated output means no fill.
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }

    #[test]
    fn os_random_differs_between_calls() {
        let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
        OsRandom.fill(&mut a).unwrap();
        OsRandom.fill(&mut b).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn nonce_is_ten_digits() {
        let n = nonce(&FixedRandom::new([0xff; 8])).unwrap();
        assert_eq!(n.len(), 10);
        assert!(n.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(nonce(&FixedRandom::new(vec![])).unwrap(), "0000000000");
    }
}
