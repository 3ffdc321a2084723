//! JSON-RPC answers and the typed errors the hub gives callers.
//!
//! A refusal is an answer, not a failure of the hub: the caller gets a JSON-RPC error object
//! with a code from [`RpcCode`] and a sentence naming what was wrong, and the request is kept
//! in the `rejected` table (cut to [`KEPT_BODY_LIMIT`] bytes) so a person can look at it.
//! Nothing a caller sends is dropped without a trace.

use crate::sql::{Tx, args};
use hyper::StatusCode;
use jobpack_core::protocol::Timestamp;
use serde_json::{Value, json};

use crate::HubError;

/// Bodies larger than this are refused with [`RpcCode::InvalidRequest`] and HTTP 413; real
/// messages are a few KB, a job pack with notes well under 100 KB.
pub const MAX_BODY: usize = 1 << 20;

/// How much of a refused body is kept for inspection.
pub const KEPT_BODY_LIMIT: usize = 64 * 1024;

/// The JSON-RPC error codes the hub answers with (the contract's `JsonRpcErrorResponse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcCode {
    /// Not JSON at all.
    ParseError,
    /// JSON, but not a request we can take (oversized, wrong shape, bad Idempotency-Key).
    InvalidRequest,
    /// A path or method this endpoint does not serve.
    MethodNotFound,
    /// The right method with unusable params (a malformed envelope, an unknown code).
    InvalidParams,
    /// The caller may not do this (unknown or revoked device, another engineer's job).
    Forbidden,
    /// The message is well formed but refers to something that does not exist here.
    UnknownJob,
}

impl RpcCode {
    pub fn code(self) -> i64 {
        match self {
            Self::ParseError => -32700,
            Self::InvalidRequest => -32600,
            Self::MethodNotFound => -32601,
            Self::InvalidParams => -32602,
            Self::Forbidden => -32003,
            Self::UnknownJob => -32004,
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::ParseError | Self::InvalidRequest | Self::InvalidParams => {
                StatusCode::BAD_REQUEST
            }
            Self::MethodNotFound => StatusCode::NOT_FOUND,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::UnknownJob => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

/// An answer: HTTP status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
}

impl Answer {
    pub fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: body.to_string(),
        }
    }

    pub fn error(code: RpcCode, id: Value, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status: code.status(),
            body: json!({"jsonrpc": "2.0", "id": id, "error": {"code": code.code(), "message": message}})
                .to_string(),
        }
    }

    /// `413`: the body was larger than [`MAX_BODY`].
    pub fn too_large(size: usize) -> Self {
        let mut answer = Self::error(
            RpcCode::InvalidRequest,
            Value::Null,
            format!("the request is {size} bytes or more; at most {MAX_BODY} are accepted"),
        );
        answer.status = StatusCode::PAYLOAD_TOO_LARGE;
        answer
    }
}

/// The JSON-RPC id of a body we could not read as a whole, or null.
pub fn request_id(body: &[u8]) -> Value {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("id").filter(|id| id.is_u64()).cloned())
        .unwrap_or(Value::Null)
}

/// Which listener a refused request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    CityFibre,
    Device,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Self::CityFibre => "cityfibre",
            Self::Device => "device",
        }
    }
}

/// Keeps a refused request (its first [`KEPT_BODY_LIMIT`] bytes) and builds the answer.
pub fn reject(
    conn: &dyn Tx,
    side: Side,
    path: &str,
    body: &[u8],
    size: usize,
    code: RpcCode,
    reason: String,
) -> Result<Answer, HubError> {
    let kept = body.get(..KEPT_BODY_LIMIT.min(body.len())).unwrap_or(body);
    conn.execute(
        "INSERT INTO rejected (received_at, side, path, code, reason, size, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        args![
            Timestamp::now().unix_millis(),
            side.name(),
            path,
            code.code(),
            reason.as_str(),
            size as i64,
            kept
        ],
    )?;
    Ok(Answer::error(code, request_id(body), reason))
}

/// A refused request as kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejected {
    pub side: String,
    pub path: String,
    pub code: i64,
    pub reason: String,
    pub size: i64,
    pub body: Vec<u8>,
}

/// Every kept refusal, oldest first.
pub fn rejected(conn: &dyn Tx) -> Result<Vec<Rejected>, HubError> {
    let rows = conn.query(
        "SELECT side, path, code, reason, size, body FROM rejected ORDER BY id",
        &[],
    )?;
    rows.iter()
        .map(|r| {
            Ok(Rejected {
                side: r.get(0)?,
                path: r.get(1)?,
                code: r.get(2)?,
                reason: r.get(3)?,
                size: r.get(4)?,
                body: r.get(5)?,
            })
        })
        .collect()
}
