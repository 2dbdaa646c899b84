//! [`CredentialLayer`]: the Tower middleware that attaches a credential's
//! token to each call.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;

use super::Client;
use super::api::authorized_call;
use super::credential::Credential;
use super::error::ApiError;
use super::transport::{ApiRequest, Transport};

/// Attaches `credential`'s token (as `access_token`,
/// `suite_access_token` or `component_access_token`, replacing any in the
/// query) to every request, turns a non-zero `errcode` or a non-2xx status
/// into an [`ApiError`], and on a rejected token (40001, 40014, 42001,
/// 40082, 42009) drops exactly that token from the client's cache and
/// sends the request once more with the next one.
///
/// The inner service is any `Service<ApiRequest, Response =
/// Response<Bytes>, Error = ApiError>`, such as [`Transport`] (which
/// [`Client::send`] uses) or a [`Transport`] under more layers.
///
/// ```no_run
/// use std::sync::Arc;
/// use tower::{ServiceBuilder, ServiceExt};
/// use wecom_callback::client::{Client, CorpCredential, CredentialLayer};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder().build()?;
/// let corp = CorpCredential::new("ww1234567890", "corp-secret");
/// let service = ServiceBuilder::new()
///     .layer(CredentialLayer::new(client.clone(), Arc::new(corp)))
///     .service(client.transport().clone());
/// let request = http::Request::get("https://qyapi.weixin.qq.com/cgi-bin/agent/list")
///     .body(http_body_util::Full::default())?;
/// let response = service.oneshot(request).await?;
/// println!("{}", String::from_utf8_lossy(response.body()));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct CredentialLayer {
    client: Client,
    credential: Arc<dyn Credential>,
}

impl CredentialLayer {
    /// A layer attaching `credential`'s tokens from `client`'s cache.
    #[must_use]
    pub fn new(client: Client, credential: Arc<dyn Credential>) -> Self {
        Self { client, credential }
    }
}

impl fmt::Debug for CredentialLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialLayer")
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for CredentialLayer {
    type Service = WithCredential<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WithCredential {
            inner,
            client: self.client.clone(),
            credential: Arc::clone(&self.credential),
        }
    }
}

/// The service [`CredentialLayer`] builds.
#[derive(Clone)]
pub struct WithCredential<S> {
    inner: S,
    client: Client,
    credential: Arc<dyn Credential>,
}

impl<S> fmt::Debug for WithCredential<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithCredential")
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

/// The future of [`WithCredential`]: the token lookup, the call and at most
/// one retry.
pub type WithCredentialFuture =
    Pin<Box<dyn Future<Output = Result<Response<Bytes>, ApiError>> + Send + 'static>>;

impl<S> Service<ApiRequest> for WithCredential<S>
where
    S: Service<ApiRequest, Response = Response<Bytes>, Error = ApiError>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Bytes>;
    type Error = ApiError;
    type Future = WithCredentialFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Each call (and its retry) drives a clone of the inner service to
        // readiness itself.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: ApiRequest) -> Self::Future {
        let inner = self.inner.clone();
        let client = self.client.clone();
        let credential = Arc::clone(&self.credential);
        Box::pin(async move {
            authorized_call(&client, credential.as_ref(), request, |request| {
                inner.clone().oneshot(request)
            })
            .await
        })
    }
}

impl Service<ApiRequest> for Transport {
    type Response = Response<Bytes>;
    type Error = ApiError;
    type Future = WithCredentialFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: ApiRequest) -> Self::Future {
        let transport = self.clone();
        Box::pin(async move { transport.send(request).await })
    }
}
