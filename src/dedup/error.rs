//! A malformed stored answer is a [`StoreError`] of kind `Corrupt`.

#[cfg(test)]
use std::error::Error;

use super::answer::AnswerDecodeError;
pub use crate::store::{StoreError, StoreErrorKind};

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
        assert_eq!(err.to_string(), "store unavailable");
        assert!(err.source().is_some());
        assert_eq!(
            StoreError::from(StoreErrorKind::Other).to_string(),
            "store failed"
        );
    }

    #[test]
    fn a_malformed_answer_is_corrupt() {
        let Err(decode) = StoredAnswer::from_bytes(b"?") else {
            panic!("decoded garbage");
        };
        let err = StoreError::from(decode);
        assert_eq!(err.kind(), StoreErrorKind::Corrupt);
        assert_eq!(err.to_string(), "store holds a malformed value");
        assert!(err.source().is_some());
    }
}
