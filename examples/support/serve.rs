//! Serving an axum `Router` on hyper with the timeouts a public callback URL
//! needs (shared by the examples).
//!
//! `axum::serve` has no header-read timeout, so a client that never finishes
//! its request head, or an idle keep-alive connection, would be held
//! forever. hyper's HTTP/1 connection has one: with a timer set,
//! `header_read_timeout` closes a connection whose request head is not
//! complete in time, and (since hyper 1.6) it also runs while a kept-alive
//! connection waits for its next request, so it doubles as an idle timeout.
//! The body is bounded by `WeComCallbackLayer::body_timeout` (408).
//!
//! Also the examples' shared start-up: settings from the environment, the
//! log subscriber, binding, the banner line and the exit status. Each
//! example uses a subset, hence `dead_code` is allowed here.
#![allow(dead_code)]

use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// How long a connection may take to send a request head, and how long a
/// kept-alive connection may sit idle.
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The environment variable `name`, or `default` when it is unset.
pub(crate) fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// The environment variable `name`, which must be set.
///
/// # Errors
/// `"{name} is not set"`.
pub(crate) fn required(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

/// Logs to stderr (colours only on a terminal), filtered by `RUST_LOG` or
/// else `default_filter`.
pub(crate) fn init_tracing(default_filter: &str) {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .init();
}

/// Binds `bind`, prints `{banner} listening on http://{addr}{path}` on
/// stdout (scripts wait for that line) and serves `app` until Ctrl-C.
///
/// # Errors
/// A readable message when the address cannot be bound or serving fails.
pub(crate) async fn listen_and_serve(
    bind: &str,
    banner: &str,
    path: &str,
    app: Router,
) -> Result<(), String> {
    let listener = TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("{banner} listening on http://{addr}{path}");
    serve(listener, app).await.map_err(|e| e.to_string())
}

/// Ends the process with status 2 and `{name}: {error}` on stderr when
/// `result` is an error (configuration errors are printed with `Display`).
pub(crate) fn exit_on_error(name: &str, result: Result<(), String>) {
    if let Err(error) = result {
        eprintln!("{name}: {error}");
        std::process::exit(2);
    }
}

/// Serves `app` (an axum `Router` or any Tower service of HTTP requests)
/// on `listener` until Ctrl-C, then lets open connections finish.
pub(crate) async fn serve<S, B>(listener: TcpListener, app: S) -> std::io::Result<()>
where
    S: tower::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(error) => {
                        // Out of file descriptors and the like: back off.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let service = TowerToHyperService::new(app.clone());
                let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection closed with an error");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
