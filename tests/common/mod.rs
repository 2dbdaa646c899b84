//! Helpers shared by the integration tests.

use bytes::Bytes;
use http_body_util::BodyExt;

/// The whole body of a response or request, as bytes.
pub(crate) async fn body_bytes<B>(body: B) -> Bytes
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    body.collect().await.unwrap().to_bytes()
}
