//! [`StoreError`]: a shared store (the deduplication store, the ticket
//! store) could not answer. One type for both, so that a Redis error maps
//! to it once.

use std::error::Error;
use std::fmt;

/// Why a store call failed: a `DedupStore` (feature `dedup`) or a
/// [`TicketStore`](crate::tickets::TicketStore).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store cannot be reached (connection refused or lost, not yet
    /// connected).
    Unavailable,
    /// The store did not answer in time.
    Timeout,
    /// The store answered with a value this crate did not write.
    Corrupt,
    /// Any other failure.
    Other,
}

impl StoreErrorKind {
    fn describe(self) -> &'static str {
        match self {
            Self::Unavailable => "store unavailable",
            Self::Timeout => "store timed out",
            Self::Corrupt => "store holds a malformed value",
            Self::Other => "store failed",
        }
    }
}

/// A store call failed.
///
/// `Display` names the kind only; the underlying error, if the store
/// attached one, is available through [`Error::source`]. The in-memory store
/// never fails; a shared store (Redis) builds these with
/// [`new`](Self::new) or [`with_source`](Self::with_source).
///
/// ```
/// use wecom_callback::store::{StoreError, StoreErrorKind};
///
/// let err = StoreError::new(StoreErrorKind::Timeout);
/// assert_eq!(err.kind(), StoreErrorKind::Timeout);
/// assert_eq!(err.to_string(), "store timed out");
/// ```
#[derive(Debug)]
pub struct StoreError {
    kind: StoreErrorKind,
    source: Option<Box<dyn Error + Send + Sync + 'static>>,
}

impl StoreError {
    /// An error of `kind` without an underlying cause.
    #[must_use]
    pub fn new(kind: StoreErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// An error of `kind` caused by `source` (e.g. the Redis client's
    /// error). The source's text is not part of this error's `Display`.
    #[must_use]
    pub fn with_source(
        kind: StoreErrorKind,
        source: impl Into<Box<dyn Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// What failed.
    #[must_use]
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.describe())
    }
}

impl Error for StoreError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn Error + 'static))
    }
}

impl From<StoreErrorKind> for StoreError {
    fn from(kind: StoreErrorKind) -> Self {
        Self::new(kind)
    }
}

/// A decimal `u64` a shared store wrote (unix seconds or milliseconds, a
/// generation): ASCII digits only, no sign, no spaces, in range; anything
/// else is [`StoreErrorKind::Corrupt`]. Shared by the Redis stores.
#[cfg(feature = "redis")]
pub(crate) fn decimal_u64(bytes: &[u8]) -> Result<u64, StoreError> {
    std::str::from_utf8(bytes)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| StoreError::new(StoreErrorKind::Corrupt))
}
