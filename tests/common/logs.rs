//! Captures what `tracing` writes, for the tests that prove secrets stay
//! out of the logs and that the right lines are written. Included by path
//! (`#[path = "common/logs.rs"] mod logs;`) by the test files that need it.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use tracing::Level;

/// Everything a capturing subscriber wrote, as plain lines (no colours).
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// All that was written so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// The lines that contain `needle`.
    pub(crate) fn lines_with(&self, needle: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_owned)
            .collect()
    }
}

fn subscriber(level: Level, captured: &Captured) -> impl tracing::Subscriber + Send + Sync {
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish()
}

/// A subscriber for this thread only, up to `level`, for as long as the
/// guard lives. Fits tests whose events all happen on the test's thread
/// (a current-thread runtime).
pub(crate) fn on_this_thread(level: Level) -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let guard = tracing::subscriber::set_default(subscriber(level, &captured));
    (captured, guard)
}

/// One global subscriber for the whole test binary, up to `level` (the
/// first call's level wins). A thread-local one misses events when other
/// tests register the same callsites at the same time (tracing caches each
/// callsite's interest), so binaries whose tests run in parallel use this:
/// every test's events land in one buffer, and the checks look for what
/// must be there and what must never be.
pub(crate) fn global(level: Level) -> Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            tracing::subscriber::set_global_default(subscriber(level, &captured)).unwrap();
            captured
        })
        .clone()
}
