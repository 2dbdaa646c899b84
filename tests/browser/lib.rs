//! Nothing: this package exists for its test, `browser.rs` (the web login in
//! headless Chromium); see `Cargo.toml`.
