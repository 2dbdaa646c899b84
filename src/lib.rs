#![doc = include_str!("docs/crate.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod crypto;
pub mod envelope;
// pub mod message; (wired in when the message module lands)
mod xml;

pub use crypto::{ConfigError, ConfigErrorKind, CryptoError, CryptoErrorKind, MsgCrypt};
