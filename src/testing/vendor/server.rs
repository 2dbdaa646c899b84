//! The HTTP side of the stand-in: one axum fallback handler that finds the
//! endpoint by path, counts the call, plays an injected fault if one is
//! queued, and otherwise asks the vendor state for its answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, Response, StatusCode, header};
use serde_json::Value;
use tokio::time::Instant;

use super::endpoint::{Fault, VendorEndpoint};
use super::state::{Answer, Call, Vendor};

/// Request bodies above this are refused (the vendor's JSON bodies are small).
const BODY_LIMIT: usize = 1 << 20;

/// The state the handle and the handler share.
#[derive(Debug)]
pub(super) struct Shared {
    vendor: Mutex<Vendor>,
}

impl Shared {
    pub(super) fn new(vendor: Vendor) -> Arc<Self> {
        Arc::new(Self {
            vendor: Mutex::new(vendor),
        })
    }

    /// The vendor state; a panic elsewhere while it was held does not make
    /// it unusable (its maps stay consistent between statements).
    pub(super) fn lock(&self) -> MutexGuard<'_, Vendor> {
        self.vendor.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The axum router: every path goes to [`handle`].
pub(super) fn router(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(shared)
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response<Body> {
    let Some(endpoint) = VendorEndpoint::from_path(request.uri().path()) else {
        return text(StatusCode::NOT_FOUND, "no such vendor endpoint");
    };
    let fault = shared.lock().arrive(endpoint);
    match fault {
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::ErrCode(errcode)) => return respond(Answer::error(errcode)),
        Some(Fault::Status(status)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            return text(status, "injected fault");
        }
        Some(Fault::MalformedJson) => {
            return json_bytes(r#"{"errcode":0,"errmsg":"ok","access_tok"#.into());
        }
        None => {}
    }
    if endpoint.is_post() && request.method() != Method::POST {
        return respond(Answer::error(43002));
    }
    let query: HashMap<String, String> = request
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let body = if endpoint.is_post() {
        let Ok(bytes) = axum::body::to_bytes(request.into_body(), BODY_LIMIT).await else {
            return text(StatusCode::PAYLOAD_TOO_LARGE, "body too large");
        };
        if bytes.is_empty() {
            return respond(Answer::error(44002));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) => value,
            Err(_) => return respond(Answer::error(47001)),
        }
    } else {
        Value::Null
    };
    let call = Call {
        endpoint,
        query: &query,
        body: &body,
        now: Instant::now(),
    };
    let answer = shared.lock().answer(&call);
    respond(answer)
}

fn respond(answer: Answer) -> Response<Body> {
    match answer {
        Answer::Json(value) => json_bytes(value.to_string()),
        Answer::Redirect(location) => {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::FOUND;
            match HeaderValue::from_str(&location) {
                Ok(value) => {
                    response.headers_mut().insert(header::LOCATION, value);
                    response
                }
                Err(_) => text(StatusCode::BAD_REQUEST, "redirect_uri is not a valid URL"),
            }
        }
        Answer::Page(status, message) => text(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            message,
        ),
    }
}

fn json_bytes(body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    response
}

fn text(status: StatusCode, message: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(message));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
