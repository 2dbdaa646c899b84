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
//! first saved stays.
//!
//! **Only authentic pushes, only from their own kind.** A push is read
//! with [`TicketPush::from_authenticated`] (in a handler:
//! `CallbackContext::ticket_push`), which refuses ([`TicketPushError`]):
//! a ticket from a kind that never delivers it (a `suite_ticket` only comes
//! to a suite's instruction callback, a `component_verify_ticket` only to
//! an Open Platform component; Official Account plaintext mode, whose body
//! is not authenticated, never delivers one); a `SuiteId`/`AppId` other
//! than the receive id the request was authenticated with; and an issue
//! time later than the server clock plus the timestamp tolerance (a ticket
//! "from the future" would otherwise shadow every genuine push after it).
//!
//! **Tickets expire** with the vendor's lifetimes ([`TicketKind::lifetime`]:
//! 30 minutes for a `suite_ticket`, 12 hours for a
//! `component_verify_ticket`), counted from their issue time: `latest`
//! returns `None` for an expired ticket, and the Redis store lets Redis
//! delete it then.
//!
//! This module is pure (no I/O, no HTTP) except the Redis store.
//!
//! # Example: the handler hands the ticket over
//!
//! ```
//! use std::sync::Arc;
//! use wecom_callback::tickets::{
//!     MemoryTicketStore, PushOrigin, SaveOutcome, TicketKind, TicketPush, TicketStore,
//! };
//! use wecom_callback::{CallbackKind, Message};
//!
//! /// Part of a suite's instruction-callback handler.
//! async fn on_push(tickets: &dyn TicketStore, message: &Message) -> Result<(), Box<dyn std::error::Error>> {
//!     let origin = PushOrigin {
//!         kind: CallbackKind::WeComSuite,
//!         receive_id: "ww4asffe99e54c0f4c",
//!         now: 1403610600,
//!         tolerance_secs: 300,
//!     };
//!     if let Some(push) = TicketPush::from_authenticated(message, &origin)? {
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
//! // The store's clock, here the push's own time (a seam for tests).
//! let tickets: Arc<dyn TicketStore> = Arc::new(MemoryTicketStore::new().with_clock(|| 1403610600));
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

use crate::endpoint::CallbackKind;
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

    /// How long a ticket is valid after it was issued: 30 minutes for a
    /// `suite_ticket` (WeCom doc 推送suite_ticket: pushed every 10 minutes,
    /// valid 30), 12 hours for a `component_verify_ticket` (WeChat Open
    /// Platform doc 验证票据).
    #[must_use]
    pub const fn lifetime(self) -> std::time::Duration {
        match self {
            Self::SuiteTicket => std::time::Duration::from_secs(30 * 60),
            Self::ComponentVerifyTicket => std::time::Duration::from_secs(12 * 60 * 60),
        }
    }

    /// The callback kind that delivers this ticket: a suite's instruction
    /// callback ([`CallbackKind::WeComSuite`]) or an Open Platform
    /// component ([`CallbackKind::OpenPlatform`]).
    #[must_use]
    pub fn delivered_by(self) -> CallbackKind {
        match self {
            Self::SuiteTicket => CallbackKind::WeComSuite,
            Self::ComponentVerifyTicket => CallbackKind::OpenPlatform,
        }
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

    /// Whether a ticket of `kind` issued at [`issued_at`](Self::issued_at)
    /// is past its [`lifetime`](TicketKind::lifetime) at `now` (unix
    /// seconds).
    #[must_use]
    pub fn is_expired(&self, kind: TicketKind, now: u64) -> bool {
        self.issued_at.saturating_add(kind.lifetime().as_secs()) <= now
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

/// Where a push came from, as the layer authenticated it: what
/// [`TicketPush::from_authenticated`] checks a push against. In a handler,
/// `CallbackContext::ticket_push` fills it from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushOrigin<'a> {
    /// The kind of the endpoint that accepted the request.
    pub kind: CallbackKind,
    /// The receive id the request was authenticated with (the suite id or
    /// component appid the ciphertext carried). For an individual suite,
    /// whose receive id is empty, the endpoint's name: name such an
    /// endpoint after its suite id (`Endpoint::named`).
    pub receive_id: &'a str,
    /// The server clock, unix seconds.
    pub now: u64,
    /// The timestamp tolerance, seconds (the layer's, 300 by default): how
    /// far ahead of `now` an issue time may be.
    pub tolerance_secs: u64,
}

/// Why [`TicketPush::from_authenticated`] refused a ticket push: the push
/// was authentic, but not a ticket this request may deliver. The pushes
/// follow WeCom's 推送suite_ticket (`SuiteId`, `TimeStamp`) and the Open
/// Platform's 验证票据 (`AppId`, `CreateTime`). `Display` names the kind and
/// the app id, never the ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TicketPushError {
    /// This kind of callback never delivers this ticket (e.g. a
    /// `component_verify_ticket` on an Official Account URL, or any ticket
    /// in plaintext mode, whose body is not authenticated).
    WrongKind {
        /// The ticket the body claims to carry.
        ticket: TicketKind,
        /// The kind that accepted the request.
        kind: CallbackKind,
    },
    /// The body's `SuiteId`/`AppId` is not the receive id the request was
    /// authenticated with.
    AppMismatch {
        /// The id in the body.
        app: String,
    },
    /// The issue time is later than the server clock plus the tolerance.
    FromTheFuture {
        /// The body's issue time, unix seconds.
        issued_at: u64,
        /// The latest acceptable issue time, unix seconds.
        latest_acceptable: u64,
    },
}

impl fmt::Display for TicketPushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongKind { ticket, kind } => {
                write!(
                    f,
                    "a {ticket} push on a {kind} callback, which never delivers one"
                )
            }
            Self::AppMismatch { app } => write!(
                f,
                "a ticket push for `{app}`, not the receive id the request was authenticated with"
            ),
            Self::FromTheFuture {
                issued_at,
                latest_acceptable,
            } => write!(
                f,
                "a ticket issued at {issued_at}, after the latest acceptable time {latest_acceptable}"
            ),
        }
    }
}

impl std::error::Error for TicketPushError {}

impl TicketPush {
    /// The ticket a `suite_ticket` or `component_verify_ticket` push
    /// carries, checked against where it came from.
    ///
    /// `Ok(None)` for any other message, or a push without `SuiteId`/`AppId`
    /// or with an empty ticket.
    ///
    /// # Errors
    /// [`TicketPushError::WrongKind`] when `origin.kind` is not the kind
    /// that delivers the ticket ([`TicketKind::delivered_by`]; Official
    /// Account plaintext mode never does); [`TicketPushError::AppMismatch`]
    /// when the body's `SuiteId`/`AppId` differs from `origin.receive_id`;
    /// [`TicketPushError::FromTheFuture`] when its `TimeStamp`/`CreateTime`
    /// is later than `origin.now + origin.tolerance_secs`.
    pub fn from_authenticated(
        message: &Message,
        origin: &PushOrigin<'_>,
    ) -> Result<Option<Self>, TicketPushError> {
        let Some(kind) = message.info_type().and_then(TicketKind::from_info_type) else {
            return Ok(None);
        };
        let Some(ticket) = message.field(kind.element()).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let app = message.to_user_name();
        if app.is_empty() {
            return Ok(None);
        }
        // `delivered_by` names encrypted kinds only, so this also refuses
        // Official Account plaintext mode (an unauthenticated body).
        if origin.kind != kind.delivered_by() {
            return Err(TicketPushError::WrongKind {
                ticket: kind,
                kind: origin.kind,
            });
        }
        if app != origin.receive_id {
            return Err(TicketPushError::AppMismatch {
                app: app.to_owned(),
            });
        }
        let issued_at = message.create_time();
        let latest_acceptable = origin.now.saturating_add(origin.tolerance_secs);
        if issued_at > latest_acceptable {
            return Err(TicketPushError::FromTheFuture {
                issued_at,
                latest_acceptable,
            });
        }
        Ok(Some(Self {
            app: app.to_owned(),
            kind,
            ticket: ticket.to_owned(),
            issued_at,
        }))
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
/// [`latest`](TicketStore::latest) returns `None` for a ticket past its
/// [`lifetime`](TicketKind::lifetime) by the store's clock (the system
/// clock; [`with_clock`](Self::with_clock) for tests). Clones share one
/// store.
#[derive(Clone, Default)]
pub struct MemoryTicketStore {
    tickets: Arc<Mutex<HashMap<(String, TicketKind), Ticket>>>,
    clock: Option<Arc<dyn Fn() -> u64 + Send + Sync>>,
}

impl fmt::Debug for MemoryTicketStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.tickets.lock().map_or(0, |tickets| tickets.len());
        f.debug_struct("MemoryTicketStore")
            .field("tickets", &len)
            .field(
                "clock",
                &if self.clock.is_some() {
                    "custom"
                } else {
                    "system"
                },
            )
            .finish()
    }
}

impl MemoryTicketStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The same store with `now` as its clock (unix seconds), for tests;
    /// the default is the system clock.
    #[must_use]
    pub fn with_clock(mut self, now: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(now));
        self
    }

    fn now(&self) -> u64 {
        match &self.clock {
            Some(clock) => clock(),
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
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
        let now = self.now();
        let tickets = self.tickets.lock().unwrap_or_else(PoisonError::into_inner);
        tickets
            .get(&(app.to_owned(), kind))
            .filter(|ticket| !ticket.is_expired(kind, now))
            .cloned()
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
    use crate::endpoint::OfficialAccountMode;

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

    fn origin(kind: CallbackKind, receive_id: &str, now: u64) -> PushOrigin<'_> {
        PushOrigin {
            kind,
            receive_id,
            now,
            tolerance_secs: 300,
        }
    }

    const SUITE_PUSH: &str = "<xml><SuiteId><![CDATA[ww4asffe99e54c0f4c]]></SuiteId>\
         <InfoType> <![CDATA[suite_ticket]]></InfoType>\
         <TimeStamp>1403610513</TimeStamp>\
         <SuiteTicket><![CDATA[asdfasfdasdfasdf]]></SuiteTicket></xml>";

    #[test]
    fn pushes_are_read_from_messages() {
        // The vendor's sample, with the space before CDATA (PROTOCOL.md).
        let suite = Message::parse(SUITE_PUSH).unwrap();
        let at = origin(
            CallbackKind::WeComSuite,
            "ww4asffe99e54c0f4c",
            1_403_610_513,
        );
        let push = TicketPush::from_authenticated(&suite, &at)
            .unwrap()
            .unwrap();
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
        let at = origin(CallbackKind::OpenPlatform, "some_appid", 1_413_192_605);
        let push = TicketPush::from_authenticated(&component, &at)
            .unwrap()
            .unwrap();
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

        let suite_at = origin(CallbackKind::WeComSuite, "s", 1);
        let other = Message::parse(
            "<xml><SuiteId>s</SuiteId><InfoType>create_auth</InfoType>\
             <TimeStamp>1</TimeStamp><AuthCode>x</AuthCode></xml>",
        )
        .unwrap();
        assert_eq!(TicketPush::from_authenticated(&other, &suite_at), Ok(None));
        let empty = Message::parse(
            "<xml><SuiteId>s</SuiteId><InfoType>suite_ticket</InfoType>\
             <TimeStamp>1</TimeStamp><SuiteTicket></SuiteTicket></xml>",
        )
        .unwrap();
        assert_eq!(TicketPush::from_authenticated(&empty, &suite_at), Ok(None));
        let text = Message::parse(
            "<xml><ToUserName>c</ToUserName><FromUserName>u</FromUserName>\
             <CreateTime>1</CreateTime><MsgType>text</MsgType><Content>你好 hi</Content></xml>",
        )
        .unwrap();
        assert_eq!(TicketPush::from_authenticated(&text, &suite_at), Ok(None));
    }

    #[test]
    fn pushes_from_another_kind_or_mode_are_refused() {
        let suite = Message::parse(SUITE_PUSH).unwrap();
        for kind in [
            CallbackKind::WeComApp,
            CallbackKind::WeComSuiteData,
            CallbackKind::WeComBot,
            CallbackKind::OpenPlatform,
            CallbackKind::OfficialAccount(OfficialAccountMode::Plaintext),
            CallbackKind::OfficialAccount(OfficialAccountMode::Compatible),
            CallbackKind::OfficialAccount(OfficialAccountMode::Safe),
        ] {
            let at = origin(kind, "ww4asffe99e54c0f4c", 1_403_610_513);
            assert_eq!(
                TicketPush::from_authenticated(&suite, &at),
                Err(TicketPushError::WrongKind {
                    ticket: TicketKind::SuiteTicket,
                    kind
                }),
                "{kind}"
            );
        }
        // A component ticket in plaintext mode (the body is not
        // authenticated there): refused, even for the right appid.
        let forged = Message::parse(
            "<xml><AppId>wxcomponent</AppId><CreateTime>9999999999</CreateTime>\
             <InfoType>component_verify_ticket</InfoType>\
             <ComponentVerifyTicket>ticket@@@ATTACKER</ComponentVerifyTicket></xml>",
        )
        .unwrap();
        let plain = origin(
            CallbackKind::OfficialAccount(OfficialAccountMode::Plaintext),
            "wxcomponent",
            1_700_000_000,
        );
        assert!(matches!(
            TicketPush::from_authenticated(&forged, &plain),
            Err(TicketPushError::WrongKind { .. })
        ));
    }

    #[test]
    fn pushes_for_another_app_are_refused() {
        let suite = Message::parse(SUITE_PUSH).unwrap();
        let at = origin(CallbackKind::WeComSuite, "wwothersuite", 1_403_610_513);
        let refused = TicketPush::from_authenticated(&suite, &at).unwrap_err();
        assert_eq!(
            refused,
            TicketPushError::AppMismatch {
                app: "ww4asffe99e54c0f4c".to_owned()
            }
        );
        assert!(refused.to_string().contains("ww4asffe99e54c0f4c"));
    }

    #[test]
    fn pushes_from_the_future_are_refused() {
        let component = |create_time: u64| {
            Message::parse(&format!(
                "<xml><AppId>wxcomponent</AppId><CreateTime>{create_time}</CreateTime>\
                 <InfoType>component_verify_ticket</InfoType>\
                 <ComponentVerifyTicket>t</ComponentVerifyTicket></xml>"
            ))
            .unwrap()
        };
        let now = 1_700_000_000;
        let at = origin(CallbackKind::OpenPlatform, "wxcomponent", now);
        // Up to the tolerance ahead: accepted (clock skew).
        assert!(
            TicketPush::from_authenticated(&component(now + 300), &at)
                .unwrap()
                .is_some()
        );
        for future in [now + 301, 9_999_999_999] {
            assert_eq!(
                TicketPush::from_authenticated(&component(future), &at),
                Err(TicketPushError::FromTheFuture {
                    issued_at: future,
                    latest_acceptable: now + 300
                })
            );
        }
    }

    #[test]
    fn tickets_expire_with_the_vendor_lifetimes() {
        assert_eq!(TicketKind::SuiteTicket.lifetime().as_secs(), 1800);
        assert_eq!(
            TicketKind::ComponentVerifyTicket.lifetime().as_secs(),
            43_200
        );
        let now = Arc::new(std::sync::atomic::AtomicU64::new(1_000));
        let clock = Arc::clone(&now);
        let store = MemoryTicketStore::new()
            .with_clock(move || clock.load(std::sync::atomic::Ordering::Relaxed));
        block_on(async {
            for kind in TicketKind::ALL {
                store.save("app", kind, "t", 1_000).await.unwrap();
            }
            let set = |secs| now.store(secs, std::sync::atomic::Ordering::Relaxed);
            set(1_000 + 1_799);
            assert!(
                store
                    .latest("app", TicketKind::SuiteTicket)
                    .await
                    .unwrap()
                    .is_some()
            );
            set(1_000 + 1_800);
            assert_eq!(
                store.latest("app", TicketKind::SuiteTicket).await.unwrap(),
                None
            );
            assert!(
                store
                    .latest("app", TicketKind::ComponentVerifyTicket)
                    .await
                    .unwrap()
                    .is_some()
            );
            set(1_000 + 43_200);
            assert_eq!(
                store
                    .latest("app", TicketKind::ComponentVerifyTicket)
                    .await
                    .unwrap(),
                None
            );
            // A newer push replaces the expired one.
            store
                .save("app", TicketKind::SuiteTicket, "t2", 1_000 + 43_200)
                .await
                .unwrap();
            assert_eq!(
                store
                    .latest("app", TicketKind::SuiteTicket)
                    .await
                    .unwrap()
                    .map(Ticket::into_ticket),
                Some("t2".to_owned())
            );
        });
    }

    #[test]
    fn the_memory_store_keeps_the_newest() {
        block_on(async {
            // The store's clock within the tickets' lifetime.
            let store = MemoryTicketStore::new().with_clock(|| 800);
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
