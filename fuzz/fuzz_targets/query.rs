//! Query parsing, reached the only public way: through
//! `WeComCallbackLayer`, with `tower::ServiceExt::oneshot`. The seeds are
//! the vendor's signed GET and POST, so mutations start from requests that
//! pass and explore every way a query can be wrong around them.
//!
//! Input: byte 0 picks the method, byte 1 the path (the guarded one or
//! another), the rest is the query string (after `?`). POSTs carry the
//! vendor's sample body.
#![no_main]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;
use wecom_callback::crypto::FixedRandom;
use wecom_callback::{
    CallbackBody, CallbackContext, Endpoint, FixedClock, Message, WeComCallbackLayer,
};
use wecom_callback_fuzz::{CORP_ID, ENCODING_AES_KEY, PATH, TOKEN, block_on, percent_decode};

/// Between the vendor's GET (1409659589) and POST (1409659813) timestamps,
/// within 300 s of both.
const NOW: u64 = 1_409_659_700;
const GET_PLAIN: &str = "1616140317555161061";
const POST_BODY: &str = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>";

const METHODS: [Method; 6] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::HEAD,
    Method::DELETE,
    Method::OPTIONS,
];

/// How often each parameter name occurs, decoding keys once as a server
/// would (empty pairs skipped).
fn counts(query: &str) -> [usize; 4] {
    const NAMES: [&str; 4] = ["msg_signature", "timestamp", "nonce", "echostr"];
    let mut n = [0; 4];
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        let key = percent_decode(key);
        if let Some(i) = NAMES.iter().position(|name| name.as_bytes() == key) {
            n[i] += 1;
        }
    }
    n
}

type Seen = Arc<Mutex<Vec<(Option<CallbackContext>, Option<Message>)>>>;

fuzz_target!(|data: &[u8]| {
    let [m, p, ref rest @ ..] = *data else {
        return;
    };
    let Ok(query) = std::str::from_utf8(rest) else {
        return;
    };
    let method = METHODS[usize::from(m) % METHODS.len()].clone();
    let guarded = p % 4 != 0;
    let path = if guarded { PATH } else { "/other" };
    let body = if method == Method::POST {
        POST_BODY
    } else {
        ""
    };
    let Ok(request) = Request::builder()
        .method(method.clone())
        .uri(format!("{path}?{query}"))
        .body(Full::new(Bytes::from_static(body.as_bytes())))
    else {
        return;
    };
    // The URI parser may normalise; reason about the query it kept.
    let kept = request.uri().query().unwrap_or("").to_owned();

    let endpoint = Endpoint::wecom_app(TOKEN, ENCODING_AES_KEY, CORP_ID).expect("valid");
    let layer = WeComCallbackLayer::new(PATH, endpoint)
        .expect("valid")
        .clock(FixedClock::from_unix(NOW))
        .random_source(FixedRandom::new([1; 16]));
    let seen: Seen = Arc::default();
    let inner_seen = Arc::clone(&seen);
    let inner = tower::service_fn(move |req: Request<CallbackBody<Full<Bytes>>>| {
        let seen = Arc::clone(&inner_seen);
        async move {
            let ext = req.extensions();
            let entry = (
                ext.get::<CallbackContext>().cloned(),
                ext.get::<Message>().cloned(),
            );
            seen.lock().expect("not poisoned").push(entry);
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
        }
    });
    let service = tower::ServiceBuilder::new().layer(layer).service(inner);

    let (status, body) = block_on(async {
        let response = service.oneshot(request).await.expect("infallible");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("in-memory body")
            .to_bytes();
        (status, body)
    });
    let calls = std::mem::take(&mut *seen.lock().expect("not poisoned"));

    if !guarded {
        assert_eq!(status, StatusCode::OK, "other paths pass through");
        assert_eq!(calls.len(), 1);
        assert!(calls[0].0.is_none(), "no context on other paths");
        return;
    }
    assert!(
        matches!(status.as_u16(), 200 | 400 | 403 | 405 | 413),
        "unexpected status {status} for {method} {query:?}"
    );
    let n = counts(&kept);
    let malformed = n.iter().any(|&c| c > 1)
        || n[..3].iter().any(|&c| c == 0)
        || (method == Method::GET && n[3] == 0);
    match method {
        Method::GET => {
            assert!(calls.is_empty(), "the handler was called for a GET");
            // A GET without echostr is malformed too, stale or not (this
            // target found a 403 here; tests/fuzz_regressions.rs).
            if malformed {
                assert_eq!(status, StatusCode::BAD_REQUEST, "{query:?}");
            }
            if status == StatusCode::OK {
                assert_eq!(body, GET_PLAIN, "a verification answered something else");
            }
        }
        Method::POST => {
            if malformed {
                assert_eq!(status, StatusCode::BAD_REQUEST, "{query:?}");
            }
            assert_eq!(calls.len(), usize::from(status == StatusCode::OK));
            if let Some((context, message)) = calls.first() {
                // Only the vendor's own values can carry its signature.
                let context = context.as_ref().expect("a context for the handler");
                assert_eq!(context.timestamp, 1_409_659_813);
                assert_eq!(context.nonce, "1372623149");
                let message = message.as_ref().expect("a message for the handler");
                assert_eq!(message.from_user_name(), "mycreate");
            }
        }
        _ => {
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
            assert!(calls.is_empty());
        }
    }
    if status != StatusCode::OK {
        // Rejections are short fixed texts.
        assert!(body.len() < 200, "long rejection body");
        assert!(
            !body
                .windows(GET_PLAIN.len())
                .any(|w| w == GET_PLAIN.as_bytes())
        );
    }
});
