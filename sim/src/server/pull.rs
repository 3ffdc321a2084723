//! `pull`: the calling engineer's inbox page from a cursor, as the core's sync loop reads it.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use jobpack_core::protocol::{PullRequest, PullResponse, PullResult};
use serde_json::json;

use super::responses::{json_response, request_id, rpc_error};
use super::{DEFAULT_PULL_LIMIT, FORBIDDEN, INVALID_PARAMS, Shared};

pub(super) fn handle_pull(
    shared: &Shared,
    engineer: Option<&str>,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let Some(engineer) = engineer else {
        return rpc_error(
            StatusCode::FORBIDDEN,
            request_id(body),
            FORBIDDEN,
            "this client certificate belongs to no engineer".into(),
        );
    };
    let pull: PullRequest = match serde_json::from_slice(body) {
        Ok(pull) => pull,
        Err(e) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                request_id(body),
                INVALID_PARAMS,
                format!("pull: {e}"),
            );
        }
    };
    let limit = pull.params.limit.unwrap_or(DEFAULT_PULL_LIMIT);
    let page = shared.lock().inbox.page(
        engineer,
        pull.params.cursor.as_deref(),
        usize::try_from(limit).unwrap_or(usize::MAX),
    );
    match page {
        Ok(page) => {
            let response = PullResponse {
                jsonrpc: Default::default(),
                id: pull.id,
                result: PullResult {
                    messages: page.messages,
                    next_cursor: page.next_cursor,
                    more: page.more,
                    refused: Vec::new(),
                },
            };
            json_response(200, serde_json::to_string(&response).unwrap_or_default())
        }
        Err(e) => rpc_error(
            StatusCode::BAD_REQUEST,
            json!(pull.id.get()),
            INVALID_PARAMS,
            e.to_string(),
        ),
    }
}
