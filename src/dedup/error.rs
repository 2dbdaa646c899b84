//! [`StoreError`]: a deduplication store could not answer.

use std::error::Error;
use std::fmt;

use super::answer::AnswerDecodeError;

/// Why a [`DedupStore`](super::DedupStore) call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store cannot be reached (connection refused or lost, not yet
    /// connected).
    Unavailable,
    /// The store did not answer in time.
    Timeout,
    /// The store answered with a value this crate did not write (see
    /// [`StoredAnswer::from_bytes`](super::StoredAnswer::from_bytes)).
    Corrupt,
    /// Any other failure.
    Other,
}

impl StoreErrorKind {
    fn describe(self) -> &'static str {
        match self {
            Self::Unavailable => "deduplication store unavailable",
            Self::Timeout => "deduplication store timed out",
            Self::Corrupt => "deduplication store holds a malformed value",
            Self::Other => "deduplication store failed",
        }
    }
}

/// A [`DedupStore`](super::DedupStore) call failed.
///
/// `Display` names the kind only; the underlying error, if the store
/// attached one, is available through [`Error::source`]. The in-memory store
/// never fails; a shared store (Redis) builds these with
/// [`new`](Self::new) or [`with_source`](Self::with_source).
///
/// ```
/// use wecom_callback::dedup::{StoreError, StoreErrorKind};
///
/// let err = StoreError::new(StoreErrorKind::Timeout);
/// assert_eq!(err.kind(), StoreErrorKind::Timeout);
/// assert_eq!(err.to_string(), "deduplication store timed out");
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

impl From<AnswerDecodeError> for StoreError {
    fn from(err: AnswerDecodeError) -> Self {
        Self::with_source(StoreErrorKind::Corrupt, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::StoredAnswer;

    #[test]
    fn display_names_the_kind_only() {
        let io = std::io::Error::other("redis://:hunter2@db:6379 refused");
        let err = StoreError::with_source(StoreErrorKind::Unavailable, io);
        assert_eq!(err.to_string(), "deduplication store unavailable");
        assert!(err.source().is_some());
        assert_eq!(
            StoreError::from(StoreErrorKind::Other).to_string(),
            "deduplication store failed"
        );
    }

    #[test]
    fn a_malformed_answer_is_corrupt() {
        let Err(decode) = StoredAnswer::from_bytes(b"?") else {
            panic!("decoded garbage");
        };
        let err = StoreError::from(decode);
        assert_eq!(err.kind(), StoreErrorKind::Corrupt);
        assert_eq!(
            err.to_string(),
            "deduplication store holds a malformed value"
        );
        assert!(err.source().is_some());
    }
}
