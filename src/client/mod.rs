//! The API client (feature `client`): the token chain behind the callbacks,
//! one fetch at a time across every instance.
//!
//! - [`Client`]: a [`Transport`] (any `tower::Service` sending
//!   `http::Request<Full<Bytes>>`; the default is hyper-util's pooled
//!   client over rustls), the [`BaseUrls`] (every vendor host is
//!   configurable) and one token cache. [`Client::get_json`] and
//!   [`Client::post_json`] call any API with any credential;
//!   [`CredentialLayer`] does the same as Tower middleware.
//! - Credentials, one per kind, each a [`Credential`]:
//!   [`CorpCredential`] (`gettoken`; [`CorpCredential::send_message`]),
//!   [`SuiteCredential`] (`get_suite_token` from the stored `suite_ticket`,
//!   `get_pre_auth_code`, `get_permanent_code`) and
//!   [`AuthorizedCorpCredential`] (`get_corp_token`),
//!   [`OfficialAccountCredential`] (`token`, `stable_token`),
//!   [`ComponentCredential`] (`api_component_token` from the stored
//!   `component_verify_ticket`, `api_create_preauthcode`, the authorization
//!   page, `api_query_auth`) and [`AuthorizerCredential`]
//!   (`api_authorizer_token`); [`ProviderCredential`]
//!   (`get_provider_token`). Tickets come from the
//!   [`TicketStore`](crate::tickets::TicketStore) the callback handler saves
//!   pushes into; [`SuiteCredential::on_create_auth`] and
//!   [`ComponentCredential::on_authorized`] turn an authorization push into
//!   a durable secret in one call.
//! - Errors: [`ApiError`], whose [`ApiErrorKind`] names the codes a client
//!   acts on (40001, 40014, 42001, 45009, 40029, 61023, -1, 40082, 40085,
//!   42009, 40013).
//!
//! # The cache
//!
//! - **One fetch at a time.** In a process, callers of one credential
//!   share one fetch (single flight). Across instances sharing a
//!   [`TokenStore`] (`RedisTokenStore`, feature `redis`), the fetcher holds
//!   a lock (`SET NX PX` with a random owner, released by a compare-and-
//!   delete script); the others poll the store and adopt its token.
//! - **Fenced writes.** A token's generation is when it was received; the
//!   store keeps a token only over an older one, so a slow instance never
//!   puts back a token that the vendor already replaced.
//! - **Refresh ahead.** From the vendor's `expires_in` (never a constant):
//!   after [`CachePolicy::refresh_ratio`] of the lifetime one caller starts
//!   a background refresh while everyone keeps the still-valid token, also
//!   when the refresh is slow or fails. Tokens the vendor gives back
//!   unchanged while valid (WeCom's; [`TokenReuse::SameWhileValid`]) are
//!   fetched once they expired instead, since an early fetch returns the
//!   same token.
//! - **No loops, no stampedes.** `-1`, 5xx and transport failures are
//!   retried a bounded number of times with exponential backoff and jitter;
//!   `45009` stops fetching that credential for a cool-down, in every
//!   instance sharing the store; a rejected
//!   token (40001, 40014, 42001, 40082, 42009) is dropped (exactly that one,
//!   by generation) and the call retried once, and at most one such forced
//!   refresh happens per [`CachePolicy::forced_refresh_interval`].
//! - **Redis down.** Every store failure is logged and the instance goes on
//!   with its own in-memory cache and fetches (one per instance instead of
//!   one for all) until Redis answers again; no call fails because of it.
//! - **Durable secrets** (`permanent_code`, `authorizer_refresh_token`) go
//!   to the [`SecretStore`] you choose. A Redis **without persistence**
//!   loses them on restart, and every corp or authorizer must authorize
//!   again (61023): run that Redis with `appendonly yes` (and keep RDB
//!   snapshots), or keep them in your database behind [`SecretStore`].
//!
//! Every token fetch is a `tracing` event (target `wecom_callback::client`)
//! with the credential kind, the app id, `expires_in` or the error and
//! attempt: never a token, secret, ticket or code.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use wecom_callback::client::{AppMessage, ApiRequest, BaseUrls, Client, CorpCredential, Transport};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A fake vendor: `gettoken` answers a token, `message/send` checks it.
//! let fetches = Arc::new(AtomicUsize::new(0));
//! let counter = Arc::clone(&fetches);
//! let vendor = tower::service_fn(move |req: ApiRequest| {
//!     let counter = Arc::clone(&counter);
//!     async move {
//!         let body = match req.uri().path() {
//!             "/cgi-bin/gettoken" => {
//!                 counter.fetch_add(1, Ordering::SeqCst);
//!                 r#"{"errcode":0,"errmsg":"ok","access_token":"TOKEN-1","expires_in":7200}"#
//!             }
//!             "/cgi-bin/message/send" if req.uri().query().unwrap_or("").contains("access_token=TOKEN-1") => {
//!                 r#"{"errcode":0,"errmsg":"ok","msgid":"m1","invaliduser":""}"#
//!             }
//!             _ => r#"{"errcode":40014,"errmsg":"invalid access_token"}"#,
//!         };
//!         Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from_static(body.as_bytes()))))
//!     }
//! });
//! let client = Client::builder()
//!     .transport(Transport::new(vendor))
//!     .urls(BaseUrls::all("http://vendor.test"))
//!     .build()?;
//! let corp = CorpCredential::new("ww1234567890abcdef", "corp-secret");
//!
//! let message = AppMessage::text("zhangsan", 1000002, "processed: Hello, 世界!");
//! let sent = corp.send_message(&client, &message).await?;
//! assert_eq!(sent.msgid, "m1");
//! corp.send_message(&client, &message).await?;
//! assert_eq!(fetches.load(Ordering::SeqCst), 1); // the token was cached
//! # Ok(())
//! # }
//! ```

mod api;
mod cache;
mod corp;
mod credential;
mod error;
mod layer;
mod official_account;
mod open_platform;
mod provider;
mod seams;
mod store;
mod suite;
mod token;
mod transport;
mod urls;

pub use api::{Client, ClientBuilder};
pub use cache::CachePolicy;
pub use corp::{AppMessage, CorpCredential, SendResult, TextContent};
pub use credential::{BoxFuture, Credential, CredentialKind, Fetched, TokenReuse};
pub use error::{ApiError, ApiErrorKind, BoxError};
pub use layer::{CredentialLayer, WithCredential, WithCredentialFuture};
pub use official_account::OfficialAccountCredential;
pub use open_platform::{
    AuthorizerCredential, COMPONENT_VERIFY_TICKET_LIFETIME, ComponentCredential,
};
pub use provider::ProviderCredential;
pub use seams::{Clock, Random, SystemClock, ThreadRandom};
#[cfg(feature = "redis")]
pub use store::{DEFAULT_CLIENT_KEY_PREFIX, RedisSecretStore, RedisTokenStore};
pub use store::{MemorySecretStore, MemoryTokenStore, PutOutcome, SecretStore, TokenStore};
pub use suite::{
    AuthCorpInfo, AuthorizedCorpCredential, PreAuthCode, SUITE_TICKET_LIFETIME, SuiteCredential,
};
pub use token::{AccessToken, Secret};
pub use transport::{ApiRequest, Transport};
pub use urls::{BaseUrls, Host};

#[cfg(test)]
mod tests;
