//! The cost of a cached token: `Client::token` when the token is in the
//! cache and not yet due for refresh (the path every API call takes).
//! Criterion, no network: the transport is a `tower::service_fn` that the
//! measured path never reaches (the fetch happens once, before measuring).
//!
//! `cargo bench -p wecom-callback-benches --features client --bench token_cache`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::Full;
use wecom_callback::client::{
    AccessToken, ApiRequest, BaseUrls, Client, CorpCredential, OfficialAccountCredential, Transport,
};

fn client() -> Client {
    let transport = Transport::new(tower::service_fn(|req: ApiRequest| async move {
        let body = if req.uri().path() == "/cgi-bin/gettoken"
            || req.uri().path() == "/cgi-bin/token"
        {
            r#"{"errcode":0,"errmsg":"ok","access_token":"BENCH-TOKEN-0123456789abcdef","expires_in":7200}"#
        } else {
            r#"{"errcode":40014,"errmsg":"invalid access_token"}"#
        };
        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from_static(
            body.as_bytes(),
        ))))
    }));
    Client::builder()
        .transport(transport)
        .urls(BaseUrls::all("http://vendor.test"))
        .build()
        .unwrap()
}

/// Polls `future` once: a cached token is ready at once, so this measures
/// the cache itself and no executor.
fn ready<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a cached token must be ready at once"),
    }
}

fn token_cache(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = client();
    let corp = CorpCredential::new("ww1234567890abcdef", "bench-secret");
    let oa = OfficialAccountCredential::new("wx1234567890abcdef", "bench-secret");
    // Fetch once; from here on every call is a cache hit.
    let first: AccessToken = runtime.block_on(client.token(&corp)).unwrap();
    runtime.block_on(client.token(&oa)).unwrap();
    // Many other credentials in the same cache.
    for i in 0..1000 {
        let other = CorpCredential::new(format!("wwother{i:04}"), "bench-secret");
        runtime.block_on(client.token(&other)).unwrap();
    }
    let _enter = runtime.enter();

    let mut group = c.benchmark_group("token_cache");
    group.bench_function("cached_corp_access_token", |b| {
        b.iter(|| {
            let token = ready(client.token(black_box(&corp))).unwrap();
            debug_assert_eq!(token.generation(), first.generation());
            token
        });
    });
    group.bench_function("cached_official_account_token", |b| {
        b.iter(|| ready(client.token(black_box(&oa))).unwrap());
    });
    group.finish();
}

criterion_group!(benches, token_cache);
criterion_main!(benches);
