//! Sending: the hyper client, WeCom's per-request timeout and its retries.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::args::Target;

/// A request as the test kit built it, kept so that a retry resends the
/// very same bytes (WeCom retries the same message).
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) method: Method,
    /// Path and query from the test kit (`/path?msg_signature=…`).
    pub(crate) path_and_query: String,
    pub(crate) body: Bytes,
}

impl Prepared {
    /// Takes a request of the test kit apart.
    pub(crate) async fn from_request(request: Request<Full<Bytes>>) -> Self {
        let (parts, body) = request.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(never) => match never {},
        };
        Self {
            method: parts.method,
            path_and_query: parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned()),
            body,
        }
    }
}

/// An answer: status, headers and the whole body.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// An answer arrived in time.
    Answered(Answer),
    /// No complete answer within the timeout.
    TimedOut,
    /// No connection: refused, unknown host, unroutable (the server is not
    /// reachable at all).
    Unreachable(String),
    /// Connected, but sending or reading failed.
    Failed(String),
}

/// One attempt and how long it took.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub(crate) outcome: Outcome,
    pub(crate) elapsed: Duration,
}

impl Attempt {
    /// The HTTP status, when an answer arrived.
    pub(crate) fn status(&self) -> Option<u16> {
        match &self.outcome {
            Outcome::Answered(answer) => Some(answer.status.as_u16()),
            _ => None,
        }
    }

    /// A short account: `200`, `timeout`, or the error.
    pub(crate) fn describe(&self, timeout: Duration) -> String {
        match &self.outcome {
            Outcome::Answered(answer) => answer.status.as_u16().to_string(),
            Outcome::TimedOut => format!("no answer within {}", seconds(timeout)),
            Outcome::Unreachable(error) | Outcome::Failed(error) => error.clone(),
        }
    }

    fn delivered(&self) -> bool {
        matches!(&self.outcome, Outcome::Answered(a) if a.status == StatusCode::OK)
    }

    /// A 4xx: the server read the request and refused it. Sending the same
    /// bytes again cannot change that, so it is never retried.
    pub(crate) fn refused(&self) -> bool {
        matches!(&self.outcome, Outcome::Answered(a) if a.status.is_client_error())
    }
}

/// The start of one try, for a progress display: try `number` (from 1) of
/// at most `of`, and the try before it when this is a retry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Try<'a> {
    pub(crate) number: usize,
    pub(crate) of: usize,
    pub(crate) previous: Option<&'a Attempt>,
}

/// `5 s`, `0.25 s`.
pub(crate) fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

/// Sends prepared requests to the target, WeCom's way.
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    client: Client<HttpConnector, Full<Bytes>>,
    target: Target,
    timeout: Duration,
    retries: u8,
    content_type: HeaderValue,
}

impl Sender {
    /// A sender with `timeout` per attempt and up to `retries` retries;
    /// POST bodies are labelled `content_type`.
    pub(crate) fn new(
        target: Target,
        timeout: Duration,
        retries: u8,
        content_type: &'static str,
    ) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            // A new connection for every attempt, as a retry after a timeout
            // is (WeCom drops the connection, then sends again); this also
            // keeps a connection the server closed after an early 413 from
            // being reused for the next request.
            client: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build(connector),
            target,
            timeout,
            retries,
            content_type: HeaderValue::from_static(content_type),
        }
    }

    /// The timeout of one attempt.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The absolute URI for a path and query of the test kit; the target's
    /// own query (if any) follows the kit's.
    pub(crate) fn uri(&self, path_and_query: &str) -> Result<Uri, String> {
        let mut pq = path_and_query.to_owned();
        if let Some(extra) = &self.target.query {
            pq.push(if pq.contains('?') { '&' } else { '?' });
            pq.push_str(extra);
        }
        Uri::builder()
            .scheme(self.target.scheme.clone())
            .authority(self.target.authority.clone())
            .path_and_query(pq)
            .build()
            .map_err(|e| format!("cannot build the request URI: {e}"))
    }

    /// One attempt: the whole answer within the timeout, or why not.
    pub(crate) async fn once(&self, prepared: &Prepared) -> Attempt {
        let started = Instant::now();
        let outcome = match tokio::time::timeout(self.timeout, self.exchange(prepared)).await {
            Ok(Ok(answer)) => Outcome::Answered(answer),
            Ok(Err(Failure::Connect(error))) => Outcome::Unreachable(error),
            Ok(Err(Failure::Exchange(error))) => Outcome::Failed(error),
            Err(_) => Outcome::TimedOut,
        };
        Attempt {
            outcome,
            elapsed: started.elapsed(),
        }
    }

    async fn exchange(&self, prepared: &Prepared) -> Result<Answer, Failure> {
        let mut request = Request::new(Full::new(prepared.body.clone()));
        *request.method_mut() = prepared.method.clone();
        *request.uri_mut() = self
            .uri(&prepared.path_and_query)
            .map_err(Failure::Exchange)?;
        let headers = request.headers_mut();
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("wecom-sim/", env!("CARGO_PKG_VERSION"))),
        );
        if !prepared.body.is_empty() {
            headers.insert(CONTENT_TYPE, self.content_type.clone());
        }
        let response = self.client.request(request).await.map_err(|e| {
            let text = describe_client_error(&e);
            if e.is_connect() {
                Failure::Connect(text)
            } else {
                Failure::Exchange(text)
            }
        })?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| Failure::Exchange(format!("reading the answer failed: {e}")))?
            .to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// WeCom's delivery: the first attempt, then up to `retries` more while
    /// an attempt times out, fails or answers anything but 200 or a 4xx (a
    /// refusal is final). With `retry` false, one attempt only (forged
    /// requests). `on_try` hears of each try as it starts.
    pub(crate) async fn deliver(
        &self,
        prepared: &Prepared,
        retry: bool,
        mut on_try: impl FnMut(Try<'_>),
    ) -> Vec<Attempt> {
        let tries = if retry {
            1 + usize::from(self.retries)
        } else {
            1
        };
        let mut attempts: Vec<Attempt> = Vec::with_capacity(tries);
        for number in 1..=tries {
            on_try(Try {
                number,
                of: tries,
                previous: attempts.last(),
            });
            let attempt = self.once(prepared).await;
            let done = attempt.delivered() || attempt.refused();
            attempts.push(attempt);
            if done {
                break;
            }
        }
        attempts
    }
}

/// Why an exchange failed: before a connection existed, or after.
#[derive(Debug)]
enum Failure {
    Connect(String),
    Exchange(String),
}

/// The client error with its causes (hyper's top-level message alone is
/// "client error (Connect)"); a connect error reads `cannot connect: tcp
/// connect error: Connection refused (os error 111)`.
fn describe_client_error(error: &hyper_util::client::legacy::Error) -> String {
    let mut text = if error.is_connect() {
        "cannot connect".to_owned()
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener};

    /// A loopback server (plain threads) that answers the n-th connection's
    /// request with `answers[n]` (`None`: read the request and never answer).
    fn server(answers: Vec<Option<&'static str>>) -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for answer in answers {
                let Ok((mut socket, _)) = listener.accept() else {
                    return;
                };
                std::thread::spawn(move || {
                    let mut buffer = vec![0u8; 4096];
                    let _ = socket.read(&mut buffer);
                    match answer {
                        Some(answer) => {
                            let _ = socket.write_all(answer.as_bytes());
                            let _ = socket.shutdown(Shutdown::Write);
                        }
                        // Hold the connection open without answering until
                        // the client gives up and closes it.
                        None => while matches!(socket.read(&mut buffer), Ok(n) if n > 0) {},
                    }
                });
            }
        });
        Target {
            scheme: http::uri::Scheme::HTTP,
            authority: address.to_string().parse().unwrap(),
            path: "/cb".to_owned(),
            query: Some("app=1".to_owned()),
        }
    }

    fn prepared() -> Prepared {
        Prepared {
            method: Method::POST,
            path_and_query: "/cb?nonce=1".to_owned(),
            body: Bytes::from_static(b"<xml/>"),
        }
    }

    const UNAVAILABLE: &str =
        "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 7\r\nconnection: close\r\n\r\nsuccess";

    #[tokio::test]
    async fn retries_after_a_non_200_and_stops_at_the_first_200() {
        let target = server(vec![Some(UNAVAILABLE), Some(OK), Some(OK)]);
        let sender = Sender::new(target, Duration::from_secs(5), 3, "text/xml");
        let attempts = sender.deliver(&prepared(), true, |_| {}).await;
        let statuses: Vec<_> = attempts.iter().map(Attempt::status).collect();
        assert_eq!(statuses, [Some(503), Some(200)]);
        match &attempts[1].outcome {
            Outcome::Answered(answer) => assert_eq!(answer.body.as_ref(), b"success"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn gives_up_after_the_retries_and_counts_a_silent_server_as_a_timeout() {
        let target = server(vec![None, None, None]);
        let sender = Sender::new(target, Duration::from_millis(200), 2, "text/xml");
        let attempts = sender.deliver(&prepared(), true, |_| {}).await;
        assert_eq!(attempts.len(), 3);
        assert!(
            attempts
                .iter()
                .all(|a| matches!(a.outcome, Outcome::TimedOut))
        );
        assert_eq!(
            attempts[0].describe(sender.timeout()),
            "no answer within 0.2 s"
        );
    }

    const FORBIDDEN: &str =
        "HTTP/1.1 403 Forbidden\r\ncontent-length: 9\r\nconnection: close\r\n\r\nforbidden";

    #[tokio::test]
    async fn a_4xx_is_final_and_each_try_is_announced() {
        let target = server(vec![Some(FORBIDDEN), Some(OK), Some(OK)]);
        let sender = Sender::new(target, Duration::from_secs(5), 3, "text/xml");
        let mut announced = Vec::new();
        let attempts = sender
            .deliver(&prepared(), true, |t| {
                announced.push((t.number, t.of, t.previous.and_then(Attempt::status)));
            })
            .await;
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].status(), Some(403));
        assert!(attempts[0].refused());
        assert_eq!(announced, [(1, 4, None)]);

        let target = server(vec![Some(UNAVAILABLE), Some(OK)]);
        let sender = Sender::new(target, Duration::from_secs(5), 3, "text/xml");
        let mut announced = Vec::new();
        let attempts = sender
            .deliver(&prepared(), true, |t| {
                announced.push((t.number, t.of, t.previous.and_then(Attempt::status)));
            })
            .await;
        assert_eq!(attempts.len(), 2);
        assert_eq!(announced, [(1, 4, None), (2, 4, Some(503))]);
    }

    #[tokio::test]
    async fn forged_requests_are_sent_once() {
        let target = server(vec![Some(UNAVAILABLE), Some(OK)]);
        let sender = Sender::new(target, Duration::from_secs(5), 3, "text/xml");
        let attempts = sender.deliver(&prepared(), false, |_| {}).await;
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].status(), Some(503));
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_failure_with_its_cause() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let target = Target {
            scheme: http::uri::Scheme::HTTP,
            authority: address.to_string().parse().unwrap(),
            path: "/".to_owned(),
            query: None,
        };
        let sender = Sender::new(target, Duration::from_secs(5), 1, "text/xml");
        let attempts = sender.deliver(&prepared(), true, |_| {}).await;
        assert_eq!(attempts.len(), 2);
        match &attempts[0].outcome {
            Outcome::Unreachable(error) => {
                assert!(error.starts_with("cannot connect: "), "{error}");
                assert!(error.to_lowercase().contains("refused"), "{error}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_targets_own_query_follows_the_kits() {
        let sender = Sender::new(
            Target {
                scheme: http::uri::Scheme::HTTP,
                authority: "h:8".parse().unwrap(),
                path: "/cb".to_owned(),
                query: Some("app=1".to_owned()),
            },
            Duration::from_secs(5),
            3,
            "text/xml",
        );
        assert_eq!(
            sender.uri("/cb?nonce=1").unwrap().to_string(),
            "http://h:8/cb?nonce=1&app=1"
        );
        assert_eq!(
            sender.uri("/cb").unwrap().to_string(),
            "http://h:8/cb?app=1"
        );
    }
}
