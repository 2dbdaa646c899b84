//! Handlers without axum: [`handler_fn`] makes the layer's inner service
//! from an async function, and `Response::from(reply)` makes a response
//! that carries a [`Reply`] for the layer to seal.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::CallbackContext;
use crate::message::{BotMessage, Message, Reply};

/// A response with an empty body and `reply` in its extensions: what the
/// layer seals into the encrypted reply envelope. A handler of a plain
/// Tower service returns it as it would any response; with axum, return
/// the [`Reply`] itself.
///
/// ```
/// use http::Response;
/// use http_body_util::Full;
/// use bytes::Bytes;
/// use wecom_callback::Reply;
///
/// let response: Response<Full<Bytes>> = Reply::text("hi").into();
/// assert_eq!(response.extensions().get::<Reply>(), Some(&Reply::text("hi")));
/// ```
impl<B: Default> From<Reply> for Response<B> {
    fn from(reply: Reply) -> Self {
        let mut response = Response::new(B::default());
        response.extensions_mut().insert(reply);
        response
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::message::Message {}
    impl Sealed for crate::message::BotMessage {}
}

/// What a [`handler_fn`] handler takes: [`Message`] (every kind but the
/// robot) or [`BotMessage`] (the robot, [`Endpoint::wecom_bot`](crate::Endpoint::wecom_bot)).
/// Sealed.
pub trait CallbackMessage: sealed::Sealed + Send + Sync + 'static {}
impl CallbackMessage for Message {}
impl CallbackMessage for BotMessage {}

/// Makes the layer's inner service from an async function of the decrypted
/// message and its [`CallbackContext`], for servers without axum (hyper,
/// plain Tower). The function's [`Reply`] is sealed by the layer.
///
/// Requests that carry no message of the handler's type get an empty 404
/// and the function is not called: requests to paths a path-bound layer
/// does not serve, and callbacks of the other family (a [`Message`]
/// handler behind a robot endpoint, or the reverse).
///
/// ```
/// use http::{Request, StatusCode};
/// use tower::{ServiceBuilder, ServiceExt};
/// use wecom_callback::layer::handler_fn;
/// use wecom_callback::testing::TestKit;
/// use wecom_callback::{CallbackContext, Endpoint, Message, Reply, WeComCallbackLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let endpoint = Endpoint::wecom_app("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")?;
/// let layer = WeComCallbackLayer::new("/wecom", endpoint)?;
/// let kit = TestKit::for_layer(&layer);
/// let mut service = ServiceBuilder::new()
///     .layer(layer)
///     .service(handler_fn(|message: Message, context: CallbackContext| async move {
///         Reply::text(format!("{} for {}", message.msg_type(), context.app))
///     }));
///
/// let request = kit.post(&TestKit::text_message("wx5823bf96d3bd56c7", "zhangsan", "hi"));
/// let reply = kit.send(&mut service, request).await?.xml()?;
/// assert_eq!(reply.reply, Some(Reply::text("text for wx5823bf96d3bd56c7")));
///
/// let other = Request::get("/elsewhere").body(http_body_util::Full::<bytes::Bytes>::default())?;
/// assert_eq!(service.oneshot(other).await?.status(), StatusCode::NOT_FOUND);
/// # Ok(())
/// # }
/// ```
pub fn handler_fn<F, M, Fut>(f: F) -> HandlerFn<F, M>
where
    F: FnMut(M, CallbackContext) -> Fut,
    M: CallbackMessage,
    Fut: Future<Output = Reply>,
{
    HandlerFn {
        f,
        _message: std::marker::PhantomData,
    }
}

/// The service made by [`handler_fn`]. `Clone` when the function is.
pub struct HandlerFn<F, M> {
    f: F,
    _message: std::marker::PhantomData<fn(M)>,
}

impl<F: Clone, M> Clone for HandlerFn<F, M> {
    fn clone(&self) -> Self {
        Self {
            f: self.f.clone(),
            _message: std::marker::PhantomData,
        }
    }
}

impl<F, M> fmt::Debug for HandlerFn<F, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerFn")
            .field("message", &std::any::type_name::<M>())
            .finish_non_exhaustive()
    }
}

impl<F, M, Fut, B> Service<Request<B>> for HandlerFn<F, M>
where
    F: FnMut(M, CallbackContext) -> Fut,
    M: CallbackMessage,
    Fut: Future<Output = Reply>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = HandlerFuture<Fut>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let extensions = request.extensions_mut();
        let state = match (
            extensions.remove::<M>(),
            extensions.remove::<CallbackContext>(),
        ) {
            (Some(message), Some(context)) => State::Running {
                future: (self.f)(message, context),
            },
            _ => State::NotFound,
        };
        HandlerFuture { state }
    }
}

pin_project! {
    /// Response future of [`HandlerFn`].
    pub struct HandlerFuture<Fut> {
        #[pin]
        state: State<Fut>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<Fut> {
        Running { #[pin] future: Fut },
        NotFound,
    }
}

impl<Fut> fmt::Debug for HandlerFuture<Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerFuture").finish_non_exhaustive()
    }
}

impl<Fut> Future for HandlerFuture<Fut>
where
    Fut: Future<Output = Reply>,
{
    type Output = Result<Response<Full<Bytes>>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Running { future } => future.poll(cx).map(|reply| Ok(reply.into())),
            StateProj::NotFound => {
                let mut response = Response::new(Full::default());
                *response.status_mut() = StatusCode::NOT_FOUND;
                Poll::Ready(Ok(response))
            }
        }
    }
}
