//! The response future of [`OAuth`](super::OAuth): the handler's
//! response, an answer made at once (401, a redirect to the vendor), or
//! the callback's vendor calls.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use http_body_util::{Either, Full};
use pin_project_lite::pin_project;

use crate::dedup::BoxFuture;

/// The body of the layer's responses: the handler's body, or the layer's
/// own (a redirect, a rejection page).
pub type OAuthBody<B> = Either<B, Full<Bytes>>;

pin_project! {
    /// The future of [`OAuth`](super::OAuth)'s responses.
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Inner { #[pin] future: F },
        Answer { response: Option<Response<Full<Bytes>>> },
        // The callback's store and vendor calls go through `dyn` traits
        // (boxed futures already); one more box for the whole step.
        Callback { future: BoxFuture<'static, Response<Full<Bytes>>> },
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseFuture")
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn inner(future: F) -> Self {
        Self {
            state: State::Inner { future },
        }
    }

    pub(crate) fn answer(response: Response<Full<Bytes>>) -> Self {
        Self {
            state: State::Answer {
                response: Some(response),
            },
        }
    }

    pub(crate) fn callback(future: BoxFuture<'static, Response<Full<Bytes>>>) -> Self {
        Self {
            state: State::Callback { future },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<OAuthBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future
                .poll(cx)
                .map(|result| result.map(|response| response.map(Either::Left))),
            StateProj::Answer { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response.map(Either::Right))),
                // Polled after it completed: stays pending, as futures may.
                None => Poll::Pending,
            },
            StateProj::Callback { future } => future
                .as_mut()
                .poll(cx)
                .map(|response| Ok(response.map(Either::Right))),
        }
    }
}
