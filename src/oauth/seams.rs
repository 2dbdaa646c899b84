//! The seams between the login flows and HTTP: [`VendorApi`] (the
//! vendor's JSON API) and [`AccessTokenSource`] (the access token a call
//! needs), with the one-retry rule for a rejected token.

use std::fmt;

use serde_json::Value;

use super::exchange::{ExchangeError, ExchangeErrorKind, check_errcode};
use crate::dedup::BoxFuture;

/// The vendor's JSON API, as the providers call it: a GET or a POST of a
/// JSON body to a full URL, answering the parsed JSON body (HTTP status
/// 2xx; the vendor's `errcode` is the provider's concern).
///
/// The seam between the login flows and the HTTP client
/// (the crate's client transport is one implementation);
/// tests plug in a double.
pub trait VendorApi: fmt::Debug + Send + Sync + 'static {
    /// `GET url`.
    fn get_json<'a>(&'a self, url: String) -> BoxFuture<'a, Result<Value, ExchangeError>>;
    /// `POST url` with `body` as JSON.
    fn post_json<'a>(
        &'a self,
        url: String,
        body: Value,
    ) -> BoxFuture<'a, Result<Value, ExchangeError>>;
}

/// Where an access token for the exchange comes from: the corp
/// `access_token` (WeCom doc 获取access_token) for WeCom logins, the
/// `component_access_token` (Open Platform doc 获取令牌) for logins on
/// behalf of an authorizer. Implementations cache (the crate's client
/// does); the login calls it once per exchange.
pub trait AccessTokenSource: fmt::Debug + Send + Sync + 'static {
    /// The current token's text. Never log it.
    fn access_token(&self) -> BoxFuture<'_, Result<String, ExchangeError>>;

    /// The vendor rejected `token` (`40001`, `40014`, `42001`): drop it if
    /// it is still the current one. Returns whether asking again may give
    /// another token; the login then retries its call once. The default
    /// drops nothing and returns `false`.
    fn rejected<'a>(&'a self, token: &'a str) -> BoxFuture<'a, bool> {
        let _ = token;
        Box::pin(async { false })
    }
}

/// Whether an error is the vendor rejecting the access token.
fn token_rejected(error: &ExchangeError) -> bool {
    matches!(
        error.kind(),
        ExchangeErrorKind::Vendor(40001 | 40014 | 42001)
    )
}

/// `call` with a token from `source`; once more with a new token when the
/// vendor rejected the first (the call failed before it used the code).
pub(crate) async fn with_token<F, Fut>(
    source: &dyn AccessTokenSource,
    call: F,
) -> Result<(Value, String), ExchangeError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Value, ExchangeError>>,
{
    let token = source.access_token().await?;
    match call(token.clone()).await.and_then(check_errcode) {
        Err(error) if token_rejected(&error) && source.rejected(&token).await => {
            let token = source.access_token().await?;
            let value = check_errcode(call(token.clone()).await?)?;
            Ok((value, token))
        }
        other => other.map(|value| (value, token)),
    }
}

/// `base` + `path` + `?` + the encoded `params`.
pub(crate) fn api_url(base: &str, path: &str, params: &[(&str, &str)]) -> String {
    let mut url = base.trim_end_matches('/').to_owned();
    url.push_str(path);
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    url.push('?');
    url.push_str(&query);
    url
}
