//! [`Transport`]: the seam through which the client sends HTTP requests.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;
use tower_service::Service;

use super::error::{ApiError, ApiErrorKind, BoxError};

/// The request a [`Transport`] sends: the client's own bodies are small and
/// in memory.
pub type ApiRequest = Request<Full<Bytes>>;

/// Any `tower::Service` that sends an [`ApiRequest`] and answers with an
/// `http::Response`, erased: the client's way out to the network.
///
/// The default, [`Transport::https`], is hyper-util's pooled (legacy)
/// client over rustls with the ring provider and the webpki (Mozilla)
/// roots; it also speaks plain `http://`, for a stand-in on loopback.
/// [`Transport::new`] takes any other service: a proxy stack, a service
/// with `tower::timeout`, a test double built with `tower::service_fn`.
///
/// Every call is bounded by [`timeout`](Self::timeout) (default 10 s) and
/// the answer's body by [`body_limit`](Self::body_limit) (default 4 MiB);
/// past either the call fails with [`ApiErrorKind::Transport`]. Clones
/// share the underlying service.
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use wecom_callback::client::{ApiRequest, Transport};
///
/// // A transport that answers every request itself (a test double).
/// let transport = Transport::new(tower::service_fn(|_req: ApiRequest| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from_static(
///         br#"{"errcode":0,"errmsg":"ok","access_token":"T","expires_in":7200}"#,
///     ))))
/// }));
/// # let _ = transport;
/// ```
#[derive(Clone)]
pub struct Transport {
    service: BoxCloneSyncService<ApiRequest, Response<Bytes>, BoxError>,
    timeout: Duration,
    body_limit: usize,
}

impl Transport {
    /// The default per-call bound.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    /// The default limit on an answer's body, bytes.
    pub const DEFAULT_BODY_LIMIT: usize = 4 * 1024 * 1024;

    /// A transport over `service`.
    pub fn new<S, B>(service: S) -> Self
    where
        S: Service<ApiRequest, Response = Response<B>> + Clone + Send + Sync + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let limit = Self::DEFAULT_BODY_LIMIT;
        Self::erase(service, limit, Self::DEFAULT_TIMEOUT)
    }

    fn erase<S, B>(service: S, limit: usize, timeout: Duration) -> Self
    where
        S: Service<ApiRequest, Response = Response<B>> + Clone + Send + Sync + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let service = service.map_err(Into::<BoxError>::into).and_then(
            move |response: Response<B>| async move {
                let (parts, body) = response.into_parts();
                let bytes = Limited::new(body, limit).collect().await?.to_bytes();
                Ok::<_, BoxError>(Response::from_parts(parts, bytes))
            },
        );
        Self {
            service: BoxCloneSyncService::new(service),
            timeout,
            body_limit: limit,
        }
    }

    /// The default HTTPS transport: hyper-util's pooled client with
    /// hyper-rustls (ring, webpki roots, HTTP/1.1); `http://` URLs are
    /// allowed too. Needs a Tokio runtime when called.
    ///
    /// # Errors
    /// [`ApiErrorKind::Transport`] when rustls cannot build its
    /// configuration (it always can with the ring provider).
    pub fn https() -> Result<Self, ApiError> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(ring_provider())
            .map_err(|e| ApiError::with_source(ApiErrorKind::Transport, e))?
            .https_or_http()
            .enable_http1()
            .build();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(60))
                .build::<_, Full<Bytes>>(connector);
        Ok(Self::new(client))
    }

    /// Bounds every call by `timeout` instead.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Refuses answers whose body is over `limit` bytes (below
    /// [`DEFAULT_BODY_LIMIT`](Self::DEFAULT_BODY_LIMIT), which bounds what
    /// is read in any case).
    #[must_use]
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// Sends `request`; the whole answer, bounded in time and size.
    ///
    /// # Errors
    /// [`ApiErrorKind::Transport`] when the service fails, times out or the
    /// body is over the limit.
    pub async fn send(&self, request: ApiRequest) -> Result<Response<Bytes>, ApiError> {
        let service = self.service.clone();
        match tokio::time::timeout(self.timeout, service.oneshot(request)).await {
            Ok(Ok(response)) if response.body().len() <= self.body_limit => Ok(response),
            Ok(Ok(_)) => Err(ApiError::with_source(
                ApiErrorKind::Transport,
                "answer larger than the body limit",
            )),
            Ok(Err(error)) => Err(ApiError::with_source(ApiErrorKind::Transport, error)),
            Err(_) => Err(ApiError::with_source(
                ApiErrorKind::Transport,
                "vendor call timed out",
            )),
        }
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("timeout", &self.timeout)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

/// rustls's ring provider. rustls 0.23.48 deprecated it for lacking
/// post-quantum key exchange; it stays the default here because it builds
/// with no C toolchain (aws-lc-rs needs one) and the vendor's hosts do not
/// offer post-quantum groups. A transport with aws-lc-rs is one
/// [`Transport::new`] away.
#[allow(deprecated)]
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}
