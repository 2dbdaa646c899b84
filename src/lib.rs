#![doc = include_str!("docs/crate.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod crypto;
pub mod envelope;
pub mod message;
mod xml;

#[cfg(feature = "layer")]
pub mod layer;

#[cfg(feature = "axum")]
pub mod extract;

#[cfg(feature = "test-util")]
pub mod testing;

pub use crypto::{ConfigError, ConfigErrorKind, CryptoError, CryptoErrorKind, MsgCrypt};
pub use message::{
    Article, Header, Message, MessageError, MessageErrorKind, MessageKind, NewsError, Reply,
};

#[cfg(feature = "layer")]
pub use layer::{
    CallbackBody, CallbackContext, CallbackKind, Clock, Endpoint, FixedClock, Rejection,
    RejectionKind, SystemClock, WeComCallback, WeComCallbackLayer,
};

#[cfg(feature = "axum")]
pub use extract::MissingLayer;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
