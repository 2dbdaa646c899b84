//! [`Client`]: the transport, the base URLs and the token cache, and the
//! calls that use them.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, Uri};
use http_body_util::Full;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::cache::{CachePolicy, TokenCache};
use super::credential::{Credential, Fetched};
use super::error::{ApiError, ApiErrorKind};
use super::seams::{Clock, Random, SystemClock, ThreadRandom};
use super::store::{MemoryTokenStore, TokenStore};
use super::token::AccessToken;
use super::transport::{ApiRequest, Transport};
use super::urls::{BaseUrls, Host};

/// The API client: a [`Transport`], the [`BaseUrls`] and one token cache
/// shared by every credential. Cheap to clone (clones share all three).
///
/// Build it with [`Client::builder`]. Every call that needs a token gets
/// it from the cache ([`token`](Self::token)), attaches it as the query
/// parameter of its kind, decodes `errcode`/`errmsg` into an
/// [`ApiError`] and, when the vendor rejects the token (40001, 40014,
/// 42001, 40082, 42009), drops exactly that token and retries once.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    urls: BaseUrls,
    cache: TokenCache,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("transport", &self.inner.transport)
            .field("urls", &self.inner.urls)
            .field("cache", &self.inner.cache)
            .finish()
    }
}

/// Builds a [`Client`]. Defaults: [`Transport::https`], the vendor's hosts,
/// a [`MemoryTokenStore`] of its own, [`CachePolicy::default`], the system
/// clock and rand's thread-local generator.
#[derive(Debug, Default)]
#[must_use]
pub struct ClientBuilder {
    transport: Option<Transport>,
    urls: BaseUrls,
    store: Option<Arc<dyn TokenStore>>,
    policy: CachePolicy,
    clock: Option<Arc<dyn Clock>>,
    random: Option<Arc<dyn Random>>,
}

impl ClientBuilder {
    /// Sends calls through `transport`.
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Uses these hosts.
    pub fn urls(mut self, urls: BaseUrls) -> Self {
        self.urls = urls;
        self
    }

    /// Shares tokens, fences and the fetch lock through `store`: one
    /// `RedisTokenStore` (feature `redis`) for every instance, or one
    /// [`MemoryTokenStore`] for the clients of one process.
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Uses `policy` for refresh, retries and cool-downs.
    pub fn policy(mut self, policy: CachePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Reads time from `clock` (a seam for tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Draws jitter and lock owners from `random` (a seam for tests).
    pub fn random(mut self, random: Arc<dyn Random>) -> Self {
        self.random = Some(random);
        self
    }

    /// The client.
    ///
    /// # Errors
    /// [`ApiErrorKind::Transport`] when no transport was given and the
    /// default one cannot be built.
    pub fn build(self) -> Result<Client, ApiError> {
        let transport = match self.transport {
            Some(transport) => transport,
            None => Transport::https()?,
        };
        let cache = TokenCache::new(
            self.store
                .unwrap_or_else(|| Arc::new(MemoryTokenStore::new())),
            self.policy,
            self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            self.random.unwrap_or_else(|| Arc::new(ThreadRandom)),
        );
        Ok(Client {
            inner: Arc::new(Inner {
                transport,
                urls: self.urls,
                cache,
            }),
        })
    }
}

/// The error fields every vendor answer may carry.
#[derive(serde::Deserialize)]
struct Status {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

/// Whether `response` is a success: a 2xx status and, for a JSON object
/// body, `errcode` 0 or absent.
pub(crate) fn check(response: &Response<Bytes>) -> Result<(), ApiError> {
    let status = response.status();
    if !status.is_success() {
        return Err(ApiError::new(ApiErrorKind::HttpStatus(status.as_u16())));
    }
    let body = response.body();
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Ok(());
    }
    match serde_json::from_slice::<Status>(body) {
        Ok(Status { errcode: 0, .. }) => Ok(()),
        Ok(Status { errcode, errmsg }) => Err(ApiError::from_vendor(errcode, errmsg)),
        Err(error) => Err(ApiError::with_source(
            ApiErrorKind::MalformedResponse,
            error,
        )),
    }
}

/// `body` as `T`.
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::with_source(ApiErrorKind::MalformedResponse, e))
}

/// `base` + `path` + `?query`.
pub(crate) fn url(base: &str, path: &str, query: &[(&str, &str)]) -> String {
    let mut url = String::with_capacity(base.len() + path.len() + 64);
    url.push_str(base);
    url.push_str(path);
    if !query.is_empty() {
        url.push(if path.contains('?') { '&' } else { '?' });
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        for (name, value) in query {
            serializer.append_pair(name, value);
        }
        url.push_str(&serializer.finish());
    }
    url
}

fn request(method: &Method, uri: &str, body: Option<Bytes>) -> Result<ApiRequest, ApiError> {
    let uri: Uri = uri
        .parse()
        .map_err(|e| ApiError::with_source(ApiErrorKind::InvalidUrl, e))?;
    let mut builder = Request::builder().method(method.clone()).uri(uri);
    if body.is_some() {
        builder = builder.header(http::header::CONTENT_TYPE, "application/json");
    }
    builder
        .body(Full::new(body.unwrap_or_default()))
        .map_err(|e| ApiError::with_source(ApiErrorKind::InvalidUrl, e))
}

/// `uri` with the query parameter `name` set to `value` (any earlier one
/// removed).
fn with_param(uri: &Uri, name: &str, value: &str) -> Result<Uri, ApiError> {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    if let Some(query) = uri.query() {
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if k != name {
                serializer.append_pair(&k, &v);
            }
        }
    }
    serializer.append_pair(name, value);
    let query = serializer.finish();
    let mut parts = uri.clone().into_parts();
    let path_and_query = format!("{}?{query}", uri.path());
    parts.path_and_query = Some(
        path_and_query
            .parse()
            .map_err(|e| ApiError::with_source(ApiErrorKind::InvalidUrl, e))?,
    );
    Uri::from_parts(parts).map_err(|e| ApiError::with_source(ApiErrorKind::InvalidUrl, e))
}

/// `request` with the token attached.
fn attach(
    template: &http::request::Parts,
    body: &Bytes,
    param: &str,
    token: &AccessToken,
) -> Result<ApiRequest, ApiError> {
    let mut request = Request::new(Full::new(body.clone()));
    *request.method_mut() = template.method.clone();
    *request.uri_mut() = with_param(&template.uri, param, token.secret())?;
    *request.headers_mut() = template.headers.clone();
    *request.version_mut() = template.version;
    Ok(request)
}

/// Sends `request` with `credential`'s token through `send`; on a rejected
/// token drops exactly that token and retries once with the next.
pub(crate) async fn authorized_call<F, Fut>(
    client: &Client,
    credential: &dyn Credential,
    request: ApiRequest,
    mut send: F,
) -> Result<Response<Bytes>, ApiError>
where
    F: FnMut(ApiRequest) -> Fut,
    Fut: Future<Output = Result<Response<Bytes>, ApiError>>,
{
    let (parts, body) = request.into_parts();
    let body = body_bytes(body).await;
    let param = credential.kind().query_param();
    let token = client.token(credential).await?;
    let response = send(attach(&parts, &body, param, &token)?).await?;
    let error = match check(&response) {
        Ok(()) => return Ok(response),
        Err(error) => error.scrub(token.secret()),
    };
    if !error.kind().is_token_rejected() || !client.invalidate(credential, &token).await {
        return Err(error);
    }
    let retry = client.token(credential).await?;
    if retry.generation() == token.generation() {
        return Err(error);
    }
    let response = send(attach(&parts, &body, param, &retry)?).await?;
    check(&response).map_err(|e| e.scrub(retry.secret()))?;
    Ok(response)
}

async fn body_bytes(body: Full<Bytes>) -> Bytes {
    use http_body_util::BodyExt as _;
    match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    }
}

impl Client {
    /// A builder with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The hosts.
    #[must_use]
    pub fn urls(&self) -> &BaseUrls {
        &self.inner.urls
    }

    /// The transport.
    #[must_use]
    pub fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    pub(crate) fn cache(&self) -> &TokenCache {
        &self.inner.cache
    }

    /// Now, unix milliseconds, from the client's clock.
    #[must_use]
    pub fn now_ms(&self) -> u64 {
        self.inner.cache.now_ms()
    }

    /// A valid token of `credential`: the cached one (no I/O), or one
    /// fetched once for every concurrent caller and, through a shared
    /// store, every instance. While a refresh ahead of expiry runs (in the
    /// background) or fails, the still-valid token is served.
    ///
    /// # Errors
    /// The fetch's [`ApiError`] when no valid token is cached;
    /// [`ApiErrorKind::CoolingDown`] during a cool-down.
    pub async fn token(&self, credential: &dyn Credential) -> Result<AccessToken, ApiError> {
        self.inner.cache.token(credential, self).await
    }

    /// Puts a token the vendor gave outside a fetch (such as
    /// `api_query_auth`'s `authorizer_access_token`) in the cache as if it
    /// had just been fetched; an older one never replaces a newer one.
    pub async fn seed(&self, credential: &dyn Credential, fetched: Fetched) {
        let token = AccessToken::new(fetched.token, self.now_ms(), fetched.expires_in);
        self.inner.cache.seed(credential, token).await;
    }

    /// Tells the cache the vendor rejected `token`: drops it if it is still
    /// the cached one (never a newer one). Whether asking again may give
    /// another token (false when a forced refresh of this credential
    /// happened within [`CachePolicy::forced_refresh_interval`]).
    pub async fn invalidate(&self, credential: &dyn Credential, token: &AccessToken) -> bool {
        self.inner.cache.invalidate(credential, token).await
    }

    /// Sends `request` with `credential`'s token attached, as the
    /// [`CredentialLayer`](super::CredentialLayer) does: any API, not only
    /// the typed ones.
    ///
    /// # Errors
    /// The vendor's `errcode` as [`ApiError`] (a JSON body), a non-2xx
    /// status, a transport failure, a token that cannot be had.
    pub async fn send(
        &self,
        credential: &dyn Credential,
        request: ApiRequest,
    ) -> Result<Response<Bytes>, ApiError> {
        let transport = self.inner.transport.clone();
        authorized_call(self, credential, request, move |request| {
            let transport = transport.clone();
            async move { transport.send(request).await }
        })
        .await
    }

    /// `GET {host}{path}?{query}&{param}=<token>` with `credential`'s
    /// token, decoded as `T`. `path` starts with `/`, e.g.
    /// `/cgi-bin/user/get`.
    ///
    /// # Errors
    /// As [`send`](Self::send); [`ApiErrorKind::MalformedResponse`] when
    /// the body is not a `T`.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        credential: &dyn Credential,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ApiError> {
        let base = self.inner.urls.base(credential.host());
        let request = request(&Method::GET, &url(base, path, query), None)?;
        let response = self.send(credential, request).await?;
        decode(response.body())
    }

    /// `POST {host}{path}?{query}&{param}=<token>` with `body` as JSON,
    /// decoded as `T`.
    ///
    /// # Errors
    /// As [`get_json`](Self::get_json).
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        credential: &dyn Credential,
        path: &str,
        query: &[(&str, &str)],
        body: &B,
    ) -> Result<T, ApiError> {
        let base = self.inner.urls.base(credential.host());
        let body = serde_json::to_vec(body)
            .map_err(|e| ApiError::with_source(ApiErrorKind::MalformedResponse, e))?;
        let request = request(&Method::POST, &url(base, path, query), Some(body.into()))?;
        let response = self.send(credential, request).await?;
        decode(response.body())
    }

    /// `GET {host}{path}?{query}` without a token (the token fetches
    /// themselves), decoded as `T`.
    ///
    /// # Errors
    /// As [`get_json`](Self::get_json), without the retry.
    pub async fn get_plain<T: DeserializeOwned>(
        &self,
        host: Host,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ApiError> {
        let base = self.inner.urls.base(host);
        let request = request(&Method::GET, &url(base, path, query), None)?;
        let response = self.inner.transport.send(request).await?;
        check(&response)?;
        decode(response.body())
    }

    /// `POST {host}{path}?{query}` with `body` as JSON, without a token,
    /// decoded as `T`.
    ///
    /// # Errors
    /// As [`get_plain`](Self::get_plain).
    pub async fn post_plain<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        host: Host,
        path: &str,
        query: &[(&str, &str)],
        body: &B,
    ) -> Result<T, ApiError> {
        let base = self.inner.urls.base(host);
        let body = serde_json::to_vec(body)
            .map_err(|e| ApiError::with_source(ApiErrorKind::MalformedResponse, e))?;
        let request = request(&Method::POST, &url(base, path, query), Some(body.into()))?;
        let response = self.inner.transport.send(request).await?;
        check(&response)?;
        decode(response.body())
    }
}
