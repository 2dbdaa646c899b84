//! The body type the layer hands on: either the original body, untouched,
//! or bytes the layer made (the decrypted message XML on the way in; a
//! reply envelope or a rejection on the way out).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
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

/// The data frames of a request body received so far: what
/// `Collected::to_bytes` gives, without a queue (and its allocation) for
/// the usual body that arrives as one frame. Trailers are ignored, as
/// `to_bytes` ignores them.
#[derive(Debug, Default)]
pub(crate) enum Received {
    #[default]
    Nothing,
    One(Bytes),
    Many(Vec<Bytes>),
}

impl Received {
    /// Keeps `frame`'s data, if it has any (a `Bytes` frame as it is).
    pub(crate) fn push<D: Buf>(&mut self, frame: Frame<D>) {
        let Ok(mut data) = frame.into_data() else {
            return;
        };
        if !data.has_remaining() {
            return;
        }
        let data = data.copy_to_bytes(data.remaining());
        *self = match std::mem::take(self) {
            Self::Nothing => Self::One(data),
            Self::One(first) => Self::Many(vec![first, data]),
            Self::Many(mut chunks) => {
                chunks.push(data);
                Self::Many(chunks)
            }
        };
    }

    /// The body: the one frame as it came, or the frames copied into one
    /// buffer of their total length.
    pub(crate) fn take(&mut self) -> Bytes {
        match std::mem::take(self) {
            Self::Nothing => Bytes::new(),
            Self::One(data) => data,
            Self::Many(chunks) => Bytes::from(chunks.concat()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(frames: Vec<Frame<Bytes>>) -> Bytes {
        let mut received = Received::default();
        frames.into_iter().for_each(|f| received.push(f));
        received.take()
    }

    #[test]
    fn received_is_the_concatenated_data() {
        let data = |s: &'static str| Frame::data(Bytes::from_static(s.as_bytes()));
        assert_eq!(received(vec![]), "");
        assert_eq!(received(vec![data("")]), "");
        let one = Bytes::from_static(b"one frame");
        let kept = received(vec![data(""), Frame::data(one.clone())]);
        assert_eq!(kept, one);
        // The one frame is handed on as it came, not copied.
        assert_eq!(kept.as_ptr(), one.as_ptr());
        let trailers = Frame::trailers(http::HeaderMap::new());
        assert_eq!(
            received(vec![data("a"), data(""), data("bc"), trailers, data("d")]),
            "abcd"
        );
    }
}
