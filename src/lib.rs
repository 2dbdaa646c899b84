#![doc = include_str!("docs/crate.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod crypto;
pub mod endpoint;
pub mod envelope;
pub mod message;
pub mod store;
mod xml;

#[cfg(feature = "dedup")]
pub mod dedup;

#[cfg(feature = "layer")]
pub mod layer;

pub mod tickets;

#[cfg(feature = "oauth")]
pub mod oauth;

#[cfg(feature = "axum")]
pub mod extract;

#[cfg(feature = "client")]
pub mod client;

#[cfg(feature = "test-util")]
pub mod testing;

pub mod guide {
    #![doc = include_str!("docs/guide.md")]
    // Its "Testing" section links to `testing`, which exists only with the
    // `test-util` feature (docs.rs builds with every feature); without it
    // those links render as plain code.
    #![cfg_attr(not(feature = "test-util"), allow(rustdoc::broken_intra_doc_links))]
}

pub use crypto::{ConfigError, ConfigErrorKind, CryptoError, CryptoErrorKind, MsgCrypt};
pub use endpoint::{AuthorizedCorps, BodyFormat, CallbackKind, Endpoint, OfficialAccountMode};
pub use message::{
    Article, BotMessage, Header, Message, MessageError, MessageErrorKind, MessageKind, NewsError,
    Reply,
};

#[cfg(feature = "layer")]
pub use layer::{
    CallbackBody, CallbackContext, Clock, FixedClock, Rejection, RejectionKind, StoreFailure,
    SystemClock, WeComCallback, WeComCallbackLayer,
};

#[cfg(feature = "dedup")]
pub use dedup::{DedupStore, MemoryDedupStore};

#[cfg(feature = "axum")]
pub use extract::MissingLayer;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
