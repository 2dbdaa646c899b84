//! Tickets the platform pushes to a callback, kept where every instance's
//! API client can read them: WeCom's `suite_ticket` and the WeChat Open
//! Platform's `component_verify_ticket`.
//!
//! A WeCom third-party suite receives a `suite_ticket` on its instruction
//! callback every ten minutes, valid for thirty (WeCom doc 推送suite_ticket,
//! /90628), and needs the latest one to obtain its `suite_access_token`. An
//! Open Platform component receives a `component_verify_ticket` every ten
//! minutes, valid for twelve hours (WeChat Open Platform doc 验证票据), and
//! needs it for its `component_access_token`. The push reaches one instance
//! of the callback server; the API client may run on any. A
//! [`TicketStore`] is where the handler hands the ticket over:
//! [`MemoryTicketStore`] within one process, `RedisTicketStore` (feature
//! `redis`) across instances.
//!
//! **Never older over newer.** Pushes can arrive late or out of order (a
//! retry of an earlier push reaching another instance after the next push),
//! so [`save`](TicketStore::save) keeps a ticket only if it was issued
//! strictly later than the stored one (`TimeStamp` of the suite push,
//! `CreateTime` of the Open Platform push, unix seconds); anything else is
//! [`SaveOutcome::Ignored`]. Two tickets issued in the same second: the
//! first saved stays. Tickets do not expire from a store; compare
//! [`Ticket::issued_at`] with the validity above before use.
//!
//! This module is pure (no I/O, no HTTP) except the Redis store.
//!
//! # Example: the handler hands the ticket over
//!
//! ```
//! use std::sync::Arc;
//! use wecom_callback::tickets::{MemoryTicketStore, SaveOutcome, TicketKind, TicketPush, TicketStore};
//! use wecom_callback::Message;
//!
//! /// Part of a suite's instruction-callback handler.
//! async fn on_push(tickets: &dyn TicketStore, message: &Message) -> Result<(), Box<dyn std::error::Error>> {
//!     if let Some(push) = TicketPush::from_message(message) {
//!         match tickets.save(&push.app, push.kind, &push.ticket, push.issued_at).await? {
//!             SaveOutcome::Saved => println!("{} for {} saved", push.kind, push.app),
//!             SaveOutcome::Ignored { stored_issued_at } => {
//!                 println!("late push ignored; the stored one is from {stored_issued_at}")
//!             }
//!         }
//!     }
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let tickets: Arc<dyn TicketStore> = Arc::new(MemoryTicketStore::new());
//! let push = "<xml><SuiteId><![CDATA[ww4asffe99e54c0f4c]]></SuiteId>\
//!     <InfoType><![CDATA[suite_ticket]]></InfoType><TimeStamp>1403610513</TimeStamp>\
//!     <SuiteTicket><![CDATA[asdfasfdasdfasdf]]></SuiteTicket></xml>";
//! on_push(tickets.as_ref(), &Message::parse(push)?).await?;
//!
//! // Elsewhere, the API client reads the latest ticket.
//! let ticket = tickets.latest("ww4asffe99e54c0f4c", TicketKind::SuiteTicket).await?.unwrap();
//! assert_eq!(ticket.ticket(), "asdfasfdasdfasdf");
//! assert_eq!(ticket.issued_at(), 1403610513);
//!
//! // A late retry of an older push does not replace it.
//! let old = tickets.save("ww4asffe99e54c0f4c", TicketKind::SuiteTicket, "older", 1403609913).await?;
//! assert_eq!(old, SaveOutcome::Ignored { stored_issued_at: 1403610513 });
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "redis")]
mod redis;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use crate::message::Message;

#[cfg(feature = "redis")]
pub use self::redis::{DEFAULT_TICKET_KEY_PREFIX, RedisTicketStore};

/// The future a [`TicketStore`] method returns: boxed and `Send`, so that
/// the trait can be used as `dyn TicketStore` on any executor thread.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Which ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TicketKind {
    /// A WeCom suite's `suite_ticket` (`InfoType` `suite_ticket`, element
    /// `SuiteTicket`; WeCom doc 推送suite_ticket).
    SuiteTicket,
    /// An Open Platform component's `component_verify_ticket` (`InfoType`
    /// `component_verify_ticket`, element `ComponentVerifyTicket`; WeChat
    /// Open Platform doc 验证票据).
    ComponentVerifyTicket,
}

impl TicketKind {
    /// Both kinds.
    pub const ALL: [Self; 2] = [Self::SuiteTicket, Self::ComponentVerifyTicket];

    /// The push's `InfoType`: `suite_ticket` or `component_verify_ticket`
    /// (also the kind's part of a Redis key).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SuiteTicket => "suite_ticket",
            Self::ComponentVerifyTicket => "component_verify_ticket",
        }
    }

    /// The kind whose push carries `InfoType` `info_type`; `None` for other
    /// pushes (`create_auth`, `authorized`, …).
    #[must_use]
    pub fn from_info_type(info_type: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == info_type)
    }

    /// The element that carries the ticket: `SuiteTicket` or
    /// `ComponentVerifyTicket`.
    #[must_use]
    pub fn element(self) -> &'static str {
        match self {
            Self::SuiteTicket => "SuiteTicket",
            Self::ComponentVerifyTicket => "ComponentVerifyTicket",
        }
    }
}

impl fmt::Display for TicketKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored ticket and when it was issued. `Debug` shows the ticket's
/// length, never its text (with the suite secret it yields an access
/// token).
#[derive(Clone, PartialEq, Eq)]
pub struct Ticket {
    ticket: String,
    issued_at: u64,
}

impl Ticket {
    /// A ticket issued at `issued_at` (unix seconds).
    #[must_use]
    pub fn new(ticket: impl Into<String>, issued_at: u64) -> Self {
        Self {
            ticket: ticket.into(),
            issued_at,
        }
    }

    /// The ticket text, as pushed.
    #[must_use]
    pub fn ticket(&self) -> &str {
        &self.ticket
    }

    /// When the platform issued it: the push's `TimeStamp` (suite) or
    /// `CreateTime` (Open Platform), unix seconds.
    #[must_use]
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }

    /// The ticket text, by value.
    #[must_use]
    pub fn into_ticket(self) -> String {
        self.ticket
    }
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticket")
            .field("ticket_len", &self.ticket.len())
            .field("issued_at", &self.issued_at)
            .finish()
    }
}

/// What [`TicketStore::save`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveOutcome {
    /// The ticket is now the latest of its app and kind.
    Saved,
    /// A ticket issued at the same time or later is stored; it stays.
    Ignored {
        /// When the stored ticket was issued, unix seconds.
        stored_issued_at: u64,
    },
}

/// A ticket push read from a decrypted [`Message`]: what a handler passes
/// to [`TicketStore::save`]. `Debug` hides the ticket text.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TicketPush {
    /// The suite id (`SuiteId`) or component appid (`AppId`) the ticket
    /// belongs to: the id the API client asks for.
    pub app: String,
    /// Which ticket.
    pub kind: TicketKind,
    /// The ticket text.
    pub ticket: String,
    /// `TimeStamp` (suite) or `CreateTime` (Open Platform), unix seconds.
    pub issued_at: u64,
}

impl TicketPush {
    /// The ticket a `suite_ticket` or `component_verify_ticket` push
    /// carries; `None` for any other message, or when the push has no
    /// `SuiteId`/`AppId` or an empty ticket.
    #[must_use]
    pub fn from_message(message: &Message) -> Option<Self> {
        let kind = TicketKind::from_info_type(message.info_type()?)?;
        let ticket = message.field(kind.element()).filter(|t| !t.is_empty())?;
        let app = message.to_user_name();
        if app.is_empty() {
            return None;
        }
        Some(Self {
            app: app.to_owned(),
            kind,
            ticket: ticket.to_owned(),
            issued_at: message.create_time(),
        })
    }
}

impl fmt::Debug for TicketPush {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TicketPush")
            .field("app", &self.app)
            .field("kind", &self.kind)
            .field("ticket_len", &self.ticket.len())
            .field("issued_at", &self.issued_at)
            .finish()
    }
}

/// A [`TicketStore`] call failed: the crate's one store error
/// ([`StoreError`](crate::store::StoreError)), under the name this module
/// has always used.
pub type TicketStoreError = crate::store::StoreError;

/// Why a [`TicketStore`] call failed (see [`TicketStoreError`]).
pub type TicketStoreErrorKind = crate::store::StoreErrorKind;

/// Where the latest ticket of each app and kind is kept.
///
/// Contract of every implementation: [`save`](Self::save) stores the ticket
/// only when none is stored for `(app, kind)` or the stored one was issued
/// strictly earlier, as one atomic step (of concurrent saves, the newest
/// wins whatever the order); [`latest`](Self::latest) returns what is
/// stored. Apps and kinds never share an entry.
pub trait TicketStore: fmt::Debug + Send + Sync + 'static {
    /// Saves `ticket`, issued at `issued_at` (unix seconds), as the latest
    /// `kind` of `app`, unless an equal or newer one is stored.
    ///
    /// # Errors
    /// [`TicketStoreError`] when the store cannot answer.
    fn save<'a>(
        &'a self,
        app: &'a str,
        kind: TicketKind,
        ticket: &'a str,
        issued_at: u64,
    ) -> BoxFuture<'a, Result<SaveOutcome, TicketStoreError>>;

    /// The latest `kind` of `app`, if any was saved.
    ///
    /// # Errors
    /// [`TicketStoreError`] when the store cannot answer or holds a value
    /// it did not write.
    fn latest<'a>(
        &'a self,
        app: &'a str,
        kind: TicketKind,
    ) -> BoxFuture<'a, Result<Option<Ticket>, TicketStoreError>>;
}

impl<T: TicketStore + ?Sized> TicketStore for Arc<T> {
    fn save<'a>(
        &'a self,
        app: &'a str,
        kind: TicketKind,
        ticket: &'a str,
        issued_at: u64,
    ) -> BoxFuture<'a, Result<SaveOutcome, TicketStoreError>> {
        (**self).save(app, kind, ticket, issued_at)
    }

    fn latest<'a>(
        &'a self,
        app: &'a str,
        kind: TicketKind,
    ) -> BoxFuture<'a, Result<Option<Ticket>, TicketStoreError>> {
        (**self).latest(app, kind)
    }
}

/// The in-process [`TicketStore`]: a map from `(app, kind)` to the latest
/// ticket, behind a mutex. For one instance, or tests; several instances
/// need a shared store (`RedisTicketStore`, feature `redis`).
///
/// Never fails. Holds one entry per app and kind it was given (the apps
/// come from authenticated pushes, so their number is the deployment's).
/// Clones share one store.
#[derive(Debug, Clone, Default)]
pub struct MemoryTicketStore {
    tickets: Arc<Mutex<HashMap<(String, TicketKind), Ticket>>>,
}

impl MemoryTicketStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn save_now(&self, app: &str, kind: TicketKind, ticket: &str, issued_at: u64) -> SaveOutcome {
        // A panic elsewhere while holding the lock leaves a consistent map
        // (each write is one insert), so a poisoned lock is still usable.
        let mut tickets = self.tickets.lock().unwrap_or_else(PoisonError::into_inner);
        match tickets.get(&(app.to_owned(), kind)) {
            Some(stored) if stored.issued_at >= issued_at => SaveOutcome::Ignored {
                stored_issued_at: stored.issued_at,
            },
            _ => {
                tickets.insert((app.to_owned(), kind), Ticket::new(ticket, issued_at));
                SaveOutcome::Saved
            }
        }
    }

    fn latest_now(&self, app: &str, kind: TicketKind) -> Option<Ticket> {
        let tickets = self.tickets.lock().unwrap_or_else(PoisonError::into_inner);
        tickets.get(&(app.to_owned(), kind)).cloned()
    }
}

impl TicketStore for MemoryTicketStore {
    fn save<'a>(
        &'a self,
        app: &'a str,
        kind: TicketKind,
        ticket: &'a str,
        issued_at: u64,
    ) -> BoxFuture<'a, Result<SaveOutcome, TicketStoreError>> {
        let outcome = self.save_now(app, kind, ticket, issued_at);
        Box::pin(std::future::ready(Ok(outcome)))
    }

    fn latest<'a>(
        &'a self,
        app: &'a str,
        kind: TicketKind,
    ) -> BoxFuture<'a, Result<Option<Ticket>, TicketStoreError>> {
        let latest = self.latest_now(app, kind);
        Box::pin(std::future::ready(Ok(latest)))
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn kinds_map_to_info_types_and_elements() {
        for kind in TicketKind::ALL {
            assert_eq!(TicketKind::from_info_type(kind.as_str()), Some(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!(TicketKind::from_info_type("create_auth"), None);
        assert_eq!(TicketKind::SuiteTicket.element(), "SuiteTicket");
        assert_eq!(
            TicketKind::ComponentVerifyTicket.element(),
            "ComponentVerifyTicket"
        );
    }

    #[test]
    fn pushes_are_read_from_messages() {
        // The vendor's sample, with the space before CDATA (PROTOCOL.md).
        let suite = Message::parse(
            "<xml><SuiteId><![CDATA[ww4asffe99e54c0f4c]]></SuiteId>\
             <InfoType> <![CDATA[suite_ticket]]></InfoType>\
             <TimeStamp>1403610513</TimeStamp>\
             <SuiteTicket><![CDATA[asdfasfdasdfasdf]]></SuiteTicket></xml>",
        )
        .unwrap();
        let push = TicketPush::from_message(&suite).unwrap();
        assert_eq!(push.app, "ww4asffe99e54c0f4c");
        assert_eq!(push.kind, TicketKind::SuiteTicket);
        assert_eq!(push.ticket, "asdfasfdasdfasdf");
        assert_eq!(push.issued_at, 1_403_610_513);
        assert!(!format!("{push:?}").contains("asdfasfdasdfasdf"));

        let component = Message::parse(
            "<xml><AppId>some_appid</AppId><CreateTime>1413192605</CreateTime>\
             <InfoType>component_verify_ticket</InfoType>\
             <ComponentVerifyTicket>some_verify_ticket</ComponentVerifyTicket></xml>",
        )
        .unwrap();
        let push = TicketPush::from_message(&component).unwrap();
        assert_eq!(
            (
                push.app.as_str(),
                push.kind,
                push.ticket.as_str(),
                push.issued_at
            ),
            (
                "some_appid",
                TicketKind::ComponentVerifyTicket,
                "some_verify_ticket",
                1_413_192_605
            )
        );

        let other = Message::parse(
            "<xml><SuiteId>s</SuiteId><InfoType>create_auth</InfoType>\
             <TimeStamp>1</TimeStamp><AuthCode>x</AuthCode></xml>",
        )
        .unwrap();
        assert_eq!(TicketPush::from_message(&other), None);
        let empty = Message::parse(
            "<xml><SuiteId>s</SuiteId><InfoType>suite_ticket</InfoType>\
             <TimeStamp>1</TimeStamp><SuiteTicket></SuiteTicket></xml>",
        )
        .unwrap();
        assert_eq!(TicketPush::from_message(&empty), None);
        let text = Message::parse(
            "<xml><ToUserName>c</ToUserName><FromUserName>u</FromUserName>\
             <CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content></xml>",
        )
        .unwrap();
        assert_eq!(TicketPush::from_message(&text), None);
    }

    #[test]
    fn the_memory_store_keeps_the_newest() {
        block_on(async {
            let store = MemoryTicketStore::new();
            let kind = TicketKind::SuiteTicket;
            assert_eq!(store.latest("s", kind).await.unwrap(), None);
            assert_eq!(
                store.save("s", kind, "t1", 100).await.unwrap(),
                SaveOutcome::Saved
            );
            assert_eq!(
                store.save("s", kind, "t2", 700).await.unwrap(),
                SaveOutcome::Saved
            );
            // Late, and same-second, deliveries are ignored.
            assert_eq!(
                store.save("s", kind, "t1", 100).await.unwrap(),
                SaveOutcome::Ignored {
                    stored_issued_at: 700
                }
            );
            assert_eq!(
                store.save("s", kind, "t2b", 700).await.unwrap(),
                SaveOutcome::Ignored {
                    stored_issued_at: 700
                }
            );
            assert_eq!(
                store.latest("s", kind).await.unwrap(),
                Some(Ticket::new("t2", 700))
            );
            // Other apps and kinds are separate; clones share.
            let clone = store.clone();
            assert_eq!(
                clone
                    .save("s", TicketKind::ComponentVerifyTicket, "c", 1)
                    .await
                    .unwrap(),
                SaveOutcome::Saved
            );
            assert_eq!(store.latest("other", kind).await.unwrap(), None);
            assert_eq!(
                store
                    .latest("s", TicketKind::ComponentVerifyTicket)
                    .await
                    .unwrap()
                    .map(Ticket::into_ticket),
                Some("c".to_owned())
            );
        });
    }

    #[test]
    fn errors_name_the_kind_only() {
        let err = TicketStoreError::with_source(
            TicketStoreErrorKind::Unavailable,
            "redis://:hunter2@db refused",
        );
        assert_eq!(err.to_string(), "store unavailable");
        assert_eq!(err.kind(), TicketStoreErrorKind::Unavailable);
        assert!(err.source().is_some());
        assert!(
            TicketStoreError::new(TicketStoreErrorKind::Timeout)
                .source()
                .is_none()
        );
        assert!(!format!("{:?}", Ticket::new("secret", 1)).contains("secret"));
    }
}
