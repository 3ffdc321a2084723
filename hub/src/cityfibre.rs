//! CityFibre's side: `createJob`, `cancelJob` and `notifyJob` (ONT provisioning) arriving as
//! envelopes `{id, sent, method, ref, content, response}` over mutual TLS.
//!
//! Everything a call does happens in one transaction that also stores the envelope and the
//! answer given, and the answer is written only after the commit (see `db.rs`). How the
//! awkward deliveries are handled:
//!
//! * **Redelivery** (same method, id and ref — CityFibre retried after a lost answer): the
//!   stored answer is given again and nothing is applied a second time.
//! * **createJob for a known ref** (a new id for the same job): answered with the
//!   `providerJobId` given the first time; the first job pack is kept.
//! * **cancelJob before its createJob** (they crossed): the cancel is kept, and the job is
//!   created already cancelled when its createJob arrives, so it is never dispatched.
//! * **A provisioning notice older than one already received** (by the envelope's `sent`): kept
//!   with a note, not relayed, so a phone never sees status 4 ("retrying") after the 1 that
//!   followed it.
//! * **Malformed, unknown or oversized**: a typed JSON-RPC error, and the request kept in
//!   `rejected` (see `rpc.rs`).
//!
//! A job's envelopes reach a phone only through its engineer's inbox (`relay`), from the
//! moment the job is assigned (see `dispatch.rs`).

use crate::sql::{Tx, args, first, lock_engineer, lock_job};
use jobpack_core::protocol::{
    InboundEnvelope, InboundMessage, ProtocolError, Timestamp, parse_inbound_value,
};
use serde_json::{Value, json};

use crate::HubError;
use crate::rpc::{Answer, RpcCode, Side, reject};

/// The methods CityFibre calls, by path.
pub const METHODS: [&str; 3] = ["createJob", "cancelJob", "notifyJob"];

/// Handles one call to `/<path_method>` inside the caller's transaction; returns the answer to
/// give once it is committed.
pub fn receive(conn: &dyn Tx, path_method: &str, body: &[u8]) -> Result<Answer, HubError> {
    let path = format!("/{path_method}");
    let refuse =
        |code, reason: String| reject(conn, Side::CityFibre, &path, body, body.len(), code, reason);
    if !METHODS.contains(&path_method) {
        return refuse(
            RpcCode::MethodNotFound,
            format!("{path} is not a method CityFibre calls (createJob, cancelJob, notifyJob)"),
        );
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => return refuse(RpcCode::ParseError, format!("not JSON: {e}")),
    };
    let envelope = match parse_inbound_value(value) {
        Ok(envelope) => envelope,
        Err(e @ ProtocolError::UnknownMethod(_)) => {
            return refuse(RpcCode::MethodNotFound, e.to_string());
        }
        Err(e) => return refuse(RpcCode::InvalidParams, e.to_string()),
    };
    let method = envelope.message.method();
    if method != path_method {
        return refuse(
            RpcCode::InvalidParams,
            format!("a {method} envelope posted to {path}"),
        );
    }
    let key = format!("{method}:{}:{}", envelope.id, envelope.job_ref);
    lock_job(conn, envelope.job_ref.as_str())?;
    let remembered: Option<String> = first(
        conn,
        "SELECT answer FROM inbound WHERE envelope_key = ?1",
        args![&key],
    )?;
    if let Some(answer) = remembered {
        return Ok(Answer {
            status: hyper::StatusCode::OK,
            body: answer,
        });
    }
    let job_ref = envelope.job_ref.as_str().to_owned();
    let now = Timestamp::now();
    let id = envelope.id.get();
    let accepted = json!({"jsonrpc": "2.0", "id": id, "result": {"accepted": true}});
    let (answer, note) = match &envelope.message {
        InboundMessage::CreateJob(pack) => {
            let existing: Option<String> = first(
                conn,
                "SELECT provider_job_id FROM jobs WHERE job_ref = ?1",
                args![&job_ref],
            )?;
            match existing {
                Some(provider_job_id) => (
                    json!({"id": id, "ref": job_ref, "providerJobId": provider_job_id}),
                    Some(
                        "job already known: the first providerJobId and job pack are kept"
                            .to_owned(),
                    ),
                ),
                None => {
                    let number: i64 = conn
                        .query_one("SELECT COUNT(*) + 1 FROM jobs", &[])?
                        .get(0)?;
                    let provider_job_id = format!("JP-{number:06}");
                    let cancelled_first: Option<i64> = first(
                        conn,
                        "SELECT 1 FROM inbound WHERE job_ref = ?1 AND method = 'cancelJob' LIMIT 1",
                        args![&job_ref],
                    )?;
                    let state = if cancelled_first.is_some() {
                        "cancelled"
                    } else {
                        "received"
                    };
                    let pack = serde_json::to_string(pack).map_err(|e| HubError::Invalid {
                        field: "content",
                        reason: e.to_string(),
                    })?;
                    conn.execute(
                        "INSERT INTO jobs (job_ref, provider_job_id, pack, state, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                        args![&job_ref, &provider_job_id, &pack, state, now.unix_millis()],
                    )?;
                    (
                        json!({"id": id, "ref": job_ref, "providerJobId": provider_job_id}),
                        cancelled_first.map(|_| {
                            "cancelJob arrived first: the job is created cancelled".to_owned()
                        }),
                    )
                }
            }
        }
        InboundMessage::CancelJob(cancel) => {
            let job: Option<(String, Option<String>)> = conn
                .query_opt(
                    "SELECT state, engineer_id FROM jobs WHERE job_ref = ?1",
                    args![&job_ref],
                )?
                .map(|r| Ok::<_, HubError>((r.get(0)?, r.get(1)?)))
                .transpose()?;
            let note = match job {
                None => Some("no createJob yet: the job will be created cancelled".to_owned()),
                Some((state, _)) if state == "cancelled" => {
                    Some("job already cancelled".to_owned())
                }
                Some((_, engineer)) => {
                    conn.execute(
                        "UPDATE jobs SET state = 'cancelled', updated_at = ?2 WHERE job_ref = ?1",
                        args![&job_ref, now.unix_millis()],
                    )?;
                    if let Some(engineer) = engineer {
                        let content =
                            serde_json::to_value(cancel).map_err(|e| HubError::Invalid {
                                field: "content",
                                reason: e.to_string(),
                            })?;
                        relay(
                            conn,
                            &engineer,
                            &job_ref,
                            "cancelJob",
                            &content,
                            envelope.sent,
                            &json!({}),
                        )?;
                    }
                    None
                }
            };
            (accepted, note)
        }
        InboundMessage::Provisioning(notice) => {
            let job: Option<(String, Option<String>)> = conn
                .query_opt(
                    "SELECT state, engineer_id FROM jobs WHERE job_ref = ?1",
                    args![&job_ref],
                )?
                .map(|r| Ok::<_, HubError>((r.get(0)?, r.get(1)?)))
                .transpose()?;
            let Some((_, engineer)) = job else {
                return refuse(
                    RpcCode::UnknownJob,
                    format!("no job {job_ref} at this partner: send its createJob first"),
                );
            };
            let newer: Option<i64> = first(
                conn,
                "SELECT sent_at FROM inbound
                 WHERE job_ref = ?1 AND method = 'notifyJob' AND note IS NULL AND sent_at > ?2
                 LIMIT 1",
                args![&job_ref, envelope.sent.unix_millis()],
            )?;
            let note = if newer.is_some() {
                Some(
                    "older than a provisioning notice already received: kept, not relayed"
                        .to_owned(),
                )
            } else {
                if let Some(engineer) = engineer {
                    let content = serde_json::to_value(notice).map_err(|e| HubError::Invalid {
                        field: "content",
                        reason: e.to_string(),
                    })?;
                    relay(
                        conn,
                        &engineer,
                        &job_ref,
                        "notifyJob",
                        &content,
                        envelope.sent,
                        &json!({}),
                    )?;
                }
                None
            };
            (accepted, note)
        }
    };
    store_inbound(conn, &key, &envelope, body, &answer, note.as_deref(), now)?;
    Ok(Answer::ok(answer))
}

fn store_inbound(
    conn: &dyn Tx,
    key: &str,
    envelope: &InboundEnvelope,
    body: &[u8],
    answer: &Value,
    note: Option<&str>,
    now: Timestamp,
) -> Result<(), HubError> {
    conn.execute(
        "INSERT INTO inbound (envelope_key, job_ref, method, sent_at, received_at, body, answer, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        args![
            key,
            envelope.job_ref.as_str(),
            envelope.message.method(),
            envelope.sent.unix_millis(),
            now.unix_millis(),
            String::from_utf8_lossy(body).as_ref(),
            answer.to_string().as_str(),
            note
        ],
    )?;
    Ok(())
}

/// Appends an envelope for `engineer`'s phone. Its id is the inbox sequence number, so every
/// envelope a phone sees has an id of its own (a job handed back after a reassignment is a
/// new createJob, not a redelivery).
pub(crate) fn relay(
    conn: &dyn Tx,
    engineer: &str,
    job_ref: &str,
    method: &str,
    content: &Value,
    sent: Timestamp,
    response: &Value,
) -> Result<i64, HubError> {
    lock_engineer(conn, engineer)?;
    let seq: i64 = conn
        .query_one(
            "INSERT INTO device_inbox (engineer_id, job_ref, envelope, created_at)
             VALUES (?1, ?2, '', ?3) RETURNING seq",
            args![engineer, job_ref, Timestamp::now().unix_millis()],
        )?
        .get(0)?;
    let envelope = json!({
        "id": seq,
        "sent": sent.to_rfc3339(),
        "method": method,
        "ref": job_ref,
        "content": content,
        "response": response,
    });
    conn.execute(
        "UPDATE device_inbox SET envelope = ?2 WHERE seq = ?1",
        args![seq, envelope.to_string().as_str()],
    )?;
    Ok(seq)
}

/// A job as the hub holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HubJob {
    pub job_ref: String,
    pub provider_job_id: String,
    pub state: String,
    pub engineer_id: Option<String>,
}

/// One job.
pub fn job(conn: &dyn Tx, job_ref: &str) -> Result<Option<HubJob>, HubError> {
    conn.query_opt(
        "SELECT job_ref, provider_job_id, state, engineer_id FROM jobs WHERE job_ref = ?1",
        args![job_ref],
    )?
    .map(|r| {
        Ok(HubJob {
            job_ref: r.get(0)?,
            provider_job_id: r.get(1)?,
            state: r.get(2)?,
            engineer_id: r.get(3)?,
        })
    })
    .transpose()
}

/// A job as the back-office board shows it: state, engineer, and its latest message to
/// CityFibre with that message's delivery state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BoardRow {
    pub job_ref: String,
    pub provider_job_id: String,
    pub state: String,
    pub engineer_id: Option<String>,
    pub last_message: Option<String>,
    pub last_message_state: Option<String>,
    pub parked_reason: Option<String>,
}

/// Every job, newest first, with its latest outbox item.
pub fn board(conn: &dyn Tx) -> Result<Vec<BoardRow>, HubError> {
    let rows = conn.query(
        "SELECT j.job_ref, j.provider_job_id, j.state, j.engineer_id, o.label, o.state, o.parked_reason
         FROM jobs j
         LEFT JOIN outbox o ON o.seq = (SELECT MAX(seq) FROM outbox WHERE job_ref = j.job_ref)
         ORDER BY j.created_at DESC, j.job_ref",
        &[],
    )?;
    rows.iter()
        .map(|r| {
            Ok(BoardRow {
                job_ref: r.get(0)?,
                provider_job_id: r.get(1)?,
                state: r.get(2)?,
                engineer_id: r.get(3)?,
                last_message: r.get(4)?,
                last_message_state: r.get(5)?,
                parked_reason: r.get(6)?,
            })
        })
        .collect()
}
