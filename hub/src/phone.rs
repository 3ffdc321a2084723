//! The phones' side: `pull` (the engineer's inbox) and the pushes `notifyJob` / `closeJob`.
//!
//! The wire is the one the core already speaks to the simulator (`core/src/sync`), so an
//! unmodified core `Engine` points its upstream at the hub:
//!
//! * `pull` returns the engineer's envelopes after the cursor, oldest first. The cursor is
//!   `h-<seq>`, the last inbox sequence number handed out; an old cursor redelivers, which the
//!   core absorbs (it keys envelopes by method, id and ref).
//! * A push must carry an `Idempotency-Key`. The first time a key is seen the message is
//!   checked (the contract's strict outbound model and the code catalogue), its job must be
//!   assigned to the device's engineer, and it is stored in the hub's outbox with the same
//!   key and JSON-RPC id, all in one transaction; only then is it acknowledged. The same key
//!   again is answered with the stored answer and stored nowhere: that is the dedup. Keeping
//!   the phone's key on the way to CityFibre means CityFibre can absorb a duplicate too.
//! * Per-job order: the outbox's lanes (per job, in sequence order) are the phone's order of
//!   arrival, and the phone sends a job's messages one at a time in order, so the order made
//!   on the phone is the order CityFibre receives.

use crate::sql::{Tx, args, lock_job};
use jobpack_core::codes::Catalogue;
use jobpack_core::outbox::{ItemKind, NewItem};
use jobpack_core::protocol::{
    MAX_PULL_LIMIT, OutboundCall, PullRequest, Timestamp, parse_outbound,
};
use serde_json::{Value, json};

use crate::HubError;
use crate::rpc::{Answer, RpcCode, Side, reject};

/// Page size when the phone does not ask for one.
pub const DEFAULT_PULL_LIMIT: u32 = 100;

/// Serves one `pull` for `engineer`.
pub fn pull(conn: &dyn Tx, engineer: &str, body: &[u8]) -> Result<Answer, HubError> {
    let request: PullRequest = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(e) => {
            return reject(
                conn,
                Side::Device,
                "/pull",
                body,
                body.len(),
                RpcCode::InvalidParams,
                format!("pull: {e}"),
            );
        }
    };
    let after = match request.params.cursor.as_deref() {
        None => 0,
        Some(cursor) => match cursor
            .strip_prefix("h-")
            .and_then(|n| n.parse::<i64>().ok())
        {
            Some(n) if n >= 0 => n,
            _ => {
                return reject(
                    conn,
                    Side::Device,
                    "/pull",
                    body,
                    body.len(),
                    RpcCode::InvalidParams,
                    format!("cursor {cursor:?} is not one this hub issued"),
                );
            }
        },
    };
    let limit = request
        .params
        .limit
        .unwrap_or(DEFAULT_PULL_LIMIT)
        .min(MAX_PULL_LIMIT);
    let rows: Vec<(i64, String, String)> = conn
        .query(
            "SELECT seq, kind, envelope FROM device_inbox WHERE engineer_id = ?1 AND seq > ?2
             ORDER BY seq LIMIT ?3",
            args![engineer, after, i64::from(limit) + 1],
        )?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .collect::<Result<_, HubError>>()?;
    let more = rows.len() > limit as usize;
    let page = rows
        .get(..rows.len().min(limit as usize))
        .unwrap_or_default();
    let last = page.last().map_or(after, |(seq, _, _)| *seq);
    let (mut messages, mut refused) = (Vec::new(), Vec::new());
    for (_, kind, text) in page {
        let value = serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
        if kind == "refusal" {
            refused.push(value);
        } else {
            messages.push(value);
        }
    }
    let mut result = json!({"messages": messages, "nextCursor": format!("h-{last}"), "more": more});
    if !refused.is_empty() {
        result["refused"] = Value::Array(refused);
    }
    Ok(Answer::ok(json!({
        "jsonrpc": "2.0",
        "id": request.id.get(),
        "result": result,
    })))
}

/// Handles one push of `method` from `engineer`'s device, in the caller's transaction.
pub fn push(
    conn: &dyn Tx,
    engineer: &str,
    method: &str,
    key: Option<&str>,
    body: &[u8],
    catalogue: &Catalogue,
) -> Result<Answer, HubError> {
    let path = format!("/{method}");
    let refuse =
        |code, reason: String| reject(conn, Side::Device, &path, body, body.len(), code, reason);
    let Some(key) = key else {
        return refuse(
            RpcCode::InvalidRequest,
            "an Idempotency-Key header is required".into(),
        );
    };
    if !(8..=128).contains(&key.len()) {
        return refuse(
            RpcCode::InvalidRequest,
            format!(
                "Idempotency-Key must be 8-128 characters, has {}",
                key.len()
            ),
        );
    }
    let seen: Option<(String, String, i64)> = conn
        .query_opt(
            "SELECT engineer_id, answer, outbox_seq FROM pushes WHERE idempotency_key = ?1",
            args![key],
        )?
        .map(|r| Ok::<_, HubError>((r.get(0)?, r.get(1)?, r.get(2)?)))
        .transpose()?;
    match seen {
        Some((owner, answer, seq)) if owner == engineer => {
            // The engineer resent a message CityFibre had refused (the phone parked it, the
            // hub let its copy go): it goes again, with its key, in its old place.
            conn.execute(
                "UPDATE outbox SET state = 'queued', parked_reason = NULL, next_attempt_at = NULL
                 WHERE seq = ?1 AND state IN ('parked', 'discarded')",
                args![seq],
            )?;
            return Ok(Answer {
                status: hyper::StatusCode::OK,
                body: answer,
            });
        }
        Some(_) => {
            return refuse(
                RpcCode::Forbidden,
                "this Idempotency-Key was used by another engineer".into(),
            );
        }
        None => {}
    }
    let request = match parse_outbound(body) {
        Ok(request) => request,
        Err(e) => return refuse(RpcCode::InvalidParams, e.to_string()),
    };
    if request.call.method() != method {
        return refuse(
            RpcCode::InvalidParams,
            format!("{} posted to {path}", request.call.method()),
        );
    }
    if let Err(e) = catalogue.check_request(&request) {
        return refuse(RpcCode::InvalidParams, e.to_string());
    }
    if let OutboundCall::CloseJob(close) = &request.call
        && let Err(e) = close.validate()
    {
        return refuse(RpcCode::InvalidParams, e.to_string());
    }
    let header = request.call.job_header();
    let job_ref = header.job_ref.as_str();
    lock_job(conn, job_ref)?;
    let job: Option<(String, Option<String>)> = conn
        .query_opt(
            "SELECT provider_job_id, engineer_id FROM jobs WHERE job_ref = ?1",
            args![job_ref],
        )?
        .map(|r| Ok::<_, HubError>((r.get(0)?, r.get(1)?)))
        .transpose()?;
    match job {
        Some((_, Some(owner))) if owner == engineer => {}
        _ => {
            return refuse(
                RpcCode::Forbidden,
                format!("job {job_ref} is not assigned to engineer {engineer}"),
            );
        }
    }
    let now = Timestamp::now();
    let label = match &request.call {
        OutboundCall::NotifyJob(n) => format!("{engineer}: {}", n.event.notification_type()),
        OutboundCall::CloseJob(c) => format!("{engineer}: close {}", c.closure_code),
    };
    let acted_at = match &request.call {
        OutboundCall::NotifyJob(n) => n.event_time,
        OutboundCall::CloseJob(c) => c.closed_at.0,
    };
    let seq = conn.enqueue(
        &NewItem {
            job_ref,
            kind: ItemKind::Rpc,
            method,
            label: &label,
            rpc_id: request.id.get(),
            idempotency_key: key,
            body,
            acted_at,
            depends_on: &[],
            time: None,
        },
        now,
    )?;
    let answer = json!({"jsonrpc": "2.0", "id": request.id.get(), "result": {"accepted": true, "hubSeq": seq}});
    conn.execute(
        "INSERT INTO pushes (idempotency_key, engineer_id, job_ref, method, outbox_seq, received_at, answer)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        args![key, engineer, job_ref, method, seq, now.unix_millis(), answer.to_string().as_str()],
    )?;
    Ok(Answer::ok(answer))
}
