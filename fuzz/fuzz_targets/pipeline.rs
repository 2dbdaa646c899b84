//! The whole layer with requests the target encrypts and signs itself, so
//! the fuzzer's plaintext gets past the signature: query checks, window,
//! body read, envelope, decryption, message parsing, the handler call, and
//! the sealed reply, which must open and read back exactly (SECURITY.md
//! T24, T28).
//!
//! Input: `[flags][timestamp offset: i8 × 3 s][nonce length][nonce…][payload…]`
//! * flags bit 0: GET URL verification (payload = echostr plaintext) instead
//!   of a POST;
//! * bit 1: the payload is `FromUserName`, 0x00, `Content` of a text message
//!   the target writes (bit 2: in CDATA rather than with entities, bad
//!   characters kept either way); otherwise the payload is the decrypted
//!   message as is;
//! * bits 3–5: what the handler answers: 0–4 a reply (text, image, voice,
//!   video, news) made from the message's own fields, 5 an empty 200, 6 a
//!   reply on a 204, 7 a reply on a 404 (must pass through untouched).
#![no_main]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;
use wecom_callback::crypto::FixedRandom;
use wecom_callback::testing::TestKit;
use wecom_callback::{
    CallbackBody, CallbackContext, Endpoint, FixedClock, Message, WeComCallbackLayer,
};
use wecom_callback_fuzz::{
    CORP_ID, ENCODING_AES_KEY, Node, PATH, TOKEN, block_on, cdata_text, check_reply_xml,
    escape_text, make_reply, reply_tree, split_at_byte,
};

const NOW: u64 = 1_409_659_700;
const TOLERANCE: u64 = 300;

struct Input {
    get: bool,
    handler: u8,
    offset: i64,
    nonce: String,
    payload: Vec<u8>,
}

fn read(data: &[u8]) -> Option<Input> {
    let [flags, offset, nonce_len, ref rest @ ..] = *data else {
        return None;
    };
    let nonce = rest.get(..usize::from(nonce_len))?;
    let payload = rest.get(usize::from(nonce_len)..)?;
    let payload = if flags & 2 != 0 {
        let (from, content) = split_at_byte(payload, 0);
        let (from, content) = (
            String::from_utf8_lossy(from),
            String::from_utf8_lossy(content),
        );
        let write = if flags & 4 != 0 {
            cdata_text
        } else {
            escape_text
        };
        format!(
            "<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName>{}</FromUserName>\
             <CreateTime>{NOW}</CreateTime><MsgType><![CDATA[text]]></MsgType>\
             <Content>{}</Content><MsgId>42</MsgId><AgentID>1</AgentID></xml>",
            write(&from),
            write(&content)
        )
        .into_bytes()
    } else {
        payload.to_vec()
    };
    Some(Input {
        get: flags & 1 != 0,
        handler: (flags >> 3) & 7,
        offset: i64::from(offset as i8) * 3,
        nonce: String::from_utf8_lossy(nonce).into_owned(),
        payload,
    })
}

/// What the handler saw: its request's message, context and body.
type Seen = Arc<Mutex<Vec<(Option<Message>, Option<CallbackContext>, Bytes)>>>;

fn reply_parts(message: &Message, choice: u8) -> (wecom_callback::Reply, Node) {
    let text = message.field("Content").unwrap_or(message.msg_type());
    let (reply, body) = make_reply(
        choice,
        text,
        message.from_user_name(),
        message.to_user_name(),
    );
    let tree = reply_tree(
        message.from_user_name(),
        message.to_user_name(),
        NOW,
        reply.msg_type(),
        body,
    );
    (reply, tree)
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = read(data) else {
        return;
    };
    let endpoint = Endpoint::wecom_app(TOKEN, ENCODING_AES_KEY, CORP_ID).expect("valid");
    let timestamp = NOW.saturating_add_signed(input.offset);
    let kit = TestKit::new(PATH, &endpoint).at(timestamp);
    let crypt = kit.crypt().expect("a WeCom app encrypts").clone();
    let layer = WeComCallbackLayer::new(PATH, endpoint)
        .expect("valid")
        .clock(FixedClock::from_unix(NOW))
        .random_source(FixedRandom::new([5; 16]));

    let seen: Seen = Arc::default();
    let inner_seen = Arc::clone(&seen);
    let handler = input.handler;
    let inner = tower::service_fn(move |req: Request<CallbackBody<Full<Bytes>>>| {
        let seen = Arc::clone(&inner_seen);
        async move {
            let (parts, body) = req.into_parts();
            let body = body.collect().await.expect("buffered body").to_bytes();
            let message = parts.extensions.get::<Message>().cloned();
            let context = parts.extensions.get::<CallbackContext>().cloned();
            let mut response = Response::new(Full::new(Bytes::from_static(b"handler body")));
            if let Some(message) = &message {
                if handler != 5 {
                    response
                        .extensions_mut()
                        .insert(reply_parts(message, handler).0);
                }
                *response.status_mut() = match handler {
                    6 => StatusCode::NO_CONTENT,
                    7 => StatusCode::NOT_FOUND,
                    _ => StatusCode::OK,
                };
            }
            seen.lock()
                .expect("not poisoned")
                .push((message, context, body));
            Ok::<_, Infallible>(response)
        }
    });
    let service = tower::ServiceBuilder::new().layer(layer).service(inner);

    // Seal and sign the payload as WeCom would.
    let encrypt = crypt
        .encrypt_with_prefix(&input.payload, [0x42; 16])
        .expect("small payloads seal");
    let ts = timestamp.to_string();
    let signature = crypt.signature(&ts, &input.nonce, &encrypt);
    let request = if input.get {
        kit.request(
            Method::GET,
            &signature,
            &ts,
            &input.nonce,
            Some(&encrypt),
            Bytes::new(),
        )
    } else {
        let body = TestKit::envelope(CORP_ID, &encrypt);
        kit.request(
            Method::POST,
            &signature,
            &ts,
            &input.nonce,
            None,
            Bytes::from(body),
        )
    };
    let response = block_on(service.oneshot(request)).expect("infallible");
    let status = response.status();
    let calls = std::mem::take(&mut *seen.lock().expect("not poisoned"));

    assert!(
        status == StatusCode::OK || status.is_client_error(),
        "status {status}"
    );

    let nonce_ok = !input.nonce.is_empty()
        && input.nonce.len() <= 128
        && input.nonce.bytes().all(|b| b.is_ascii_graphic());
    let in_window = input.offset.unsigned_abs() <= TOLERANCE;

    if input.get {
        assert!(calls.is_empty(), "the handler was called for a GET");
        let echo_ok = (1..=64).contains(&input.payload.len())
            && input.payload.iter().all(u8::is_ascii_alphanumeric);
        let body = block_on(response.into_body().collect())
            .expect("body")
            .to_bytes();
        assert_eq!(
            status == StatusCode::OK,
            nonce_ok && in_window && echo_ok,
            "GET answered {status}"
        );
        if status == StatusCode::OK {
            assert_eq!(body, input.payload, "verification echoed something else");
        }
        return;
    }

    let expected = std::str::from_utf8(&input.payload)
        .ok()
        .and_then(|xml| Message::parse(xml).ok());
    let accepted = nonce_ok && in_window && expected.is_some();
    assert_eq!(
        calls.len(),
        usize::from(accepted),
        "handler calls for a request the crate's own parser {} (nonce ok: {nonce_ok}, in window: {in_window})",
        if expected.is_some() {
            "accepts"
        } else {
            "refuses"
        }
    );
    let Some((message, context, body)) = calls.into_iter().next() else {
        assert!(status.is_client_error(), "refused with {status}");
        let body = block_on(response.into_body().collect())
            .expect("body")
            .to_bytes();
        assert!(body.len() < 200, "long rejection body");
        return;
    };
    let message = message.expect("the layer hands the handler a Message");
    let context = context.expect("the layer hands the handler a context");
    assert_eq!(Some(&message), expected.as_ref());
    assert_eq!(body, input.payload, "the handler gets the decrypted XML");
    assert_eq!(context.timestamp, timestamp);
    assert_eq!(context.nonce, input.nonce);
    assert_eq!(context.receive_id, CORP_ID);
    assert_eq!(context.agent_id, message.agent_id());

    match handler {
        5 => {
            assert_eq!(status, StatusCode::OK);
            let body = block_on(response.into_body().collect())
                .expect("body")
                .to_bytes();
            assert_eq!(
                body, "handler body",
                "a response without a Reply passes through"
            );
        }
        7 => {
            assert_eq!(status, StatusCode::NOT_FOUND, "a 404 passes through");
            let body = block_on(response.into_body().collect())
                .expect("body")
                .to_bytes();
            assert_eq!(body, "handler body");
        }
        _ => {
            assert_eq!(status, StatusCode::OK, "a sealed reply is a 200");
            let xml = match block_on(kit.open_reply(response)) {
                Ok(xml) => xml,
                Err(e) => panic!("the reply does not open: {e}"),
            };
            let (_, want) = reply_parts(&message, handler);
            check_reply_xml(&xml, &want);
        }
    }
});
