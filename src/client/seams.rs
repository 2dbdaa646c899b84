//! Seams for time and randomness: the token cache reads the clock and
//! draws backoff jitter through these, so tests can fix both.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// The wall clock the token cache reads: expiry, refresh-ahead and the
/// generation of a fetched token are unix milliseconds from it.
pub trait Clock: fmt::Debug + Send + Sync + 'static {
    /// Now, unix milliseconds.
    fn now_ms(&self) -> u64;
}

/// The system clock. The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// The random source of backoff jitter and lock owner tokens.
pub trait Random: fmt::Debug + Send + Sync + 'static {
    /// A uniformly random `u64`.
    fn next_u64(&self) -> u64;
}

/// rand's thread-local generator (seeded from the OS). The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadRandom;

impl Random for ThreadRandom {
    fn next_u64(&self) -> u64 {
        rand::random()
    }
}
