//! The body type the layer hands on: either the original body, untouched,
//! or bytes the layer made (the decrypted message XML on the way in; a
//! reply envelope or a rejection on the way out).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use pin_project_lite::pin_project;

pin_project! {
    /// Request body seen by the inner service, and response body sent by
    /// the layer: the original body, or a buffer the layer produced.
    ///
    /// Its `Data` is [`Bytes`] and its `Error` is the original body's, so it
    /// fits axum, hyper and tower-http like any body.
    #[derive(Debug)]
    pub struct CallbackBody<B> {
        #[pin]
        inner: Inner<B>,
    }
}

pin_project! {
    #[project = InnerProj]
    #[derive(Debug)]
    enum Inner<B> {
        Original { #[pin] body: B },
        Buffered { #[pin] body: Full<Bytes> },
    }
}

impl<B> CallbackBody<B> {
    /// The original body, passed through.
    pub(crate) fn original(body: B) -> Self {
        Self {
            inner: Inner::Original { body },
        }
    }

    /// A body made by the layer.
    pub(crate) fn buffered(bytes: impl Into<Bytes>) -> Self {
        Self {
            inner: Inner::Buffered {
                body: Full::new(bytes.into()),
            },
        }
    }

    pub(crate) fn from_full(body: Full<Bytes>) -> Self {
        Self {
            inner: Inner::Buffered { body },
        }
    }
}

/// An empty body made by the layer (what `tower_http::timeout::TimeoutLayer`
/// and other middleware use for the responses they make themselves).
impl<B> Default for CallbackBody<B> {
    fn default() -> Self {
        Self::buffered(Bytes::new())
    }
}

impl<B> Body for CallbackBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project().inner.project() {
            InnerProj::Original { body } => body.poll_frame(cx),
            InnerProj::Buffered { body } => match body.poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
                Poll::Ready(Some(Err(never))) => match never {},
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Original { body } => body.is_end_stream(),
            Inner::Buffered { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Original { body } => body.size_hint(),
            Inner::Buffered { body } => body.size_hint(),
        }
    }
}
