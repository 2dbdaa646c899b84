//! The clock seam: the layer reads the time to check `timestamp` and to
//! stamp replies. Production uses [`SystemClock`]; tests inject a
//! [`FixedClock`] set to a vector's timestamp.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: fmt::Debug + Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock. The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock stopped at one instant, for tests.
///
/// ```
/// use wecom_callback::FixedClock;
/// let clock = FixedClock::from_unix(1_409_659_589);
/// # let _ = clock;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(SystemTime);

impl FixedClock {
    /// Stopped at `time`.
    pub fn new(time: SystemTime) -> Self {
        Self(time)
    }

    /// Stopped at `secs` seconds after the Unix epoch.
    pub fn from_unix(secs: u64) -> Self {
        Self(UNIX_EPOCH + Duration::from_secs(secs))
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

/// Seconds since the Unix epoch (0 for a clock set before it).
pub(crate) fn unix_secs(clock: &dyn Clock) -> u64 {
    clock
        .now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
