//! How answers are written: JSON-RPC errors, JSON and text responses, and the marker that
//! makes hyper drop a connection without answering (a fault, or a gateway going down).

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{Value, json};

pub(super) fn rpc_error_body(id: Value, code: i64, message: String) -> String {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}).to_string()
}

pub(super) fn rpc_error(
    status: StatusCode,
    id: Value,
    code: i64,
    message: String,
) -> Response<Full<Bytes>> {
    json_response(status.as_u16(), rpc_error_body(id, code, message))
}

pub(super) fn json_response(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

pub(super) fn text_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Returned by the service to make hyper abort the connection without an answer.
#[derive(Debug)]
pub(super) struct ConnectionDropped;

impl std::fmt::Display for ConnectionDropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for ConnectionDropped {}

pub(super) type Answer = Result<Response<Full<Bytes>>, ConnectionDropped>;

/// The JSON-RPC id of a request we could not read as a whole, or null.
pub(super) fn request_id(body: &[u8]) -> Value {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("id").filter(|id| id.is_u64()).cloned())
        .unwrap_or(Value::Null)
}
