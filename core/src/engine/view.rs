//! What the engine hands back to an app: jobs with their warnings, receipts of actions,
//! quarantined inbox messages. Plain serialisable values, so the CLI prints them as JSON and
//! the FFI layer maps them one to one.

use rusqlite::Connection;
use serde::Serialize;

use crate::codes::{Catalogue, ClosureRule};
use crate::lifecycle::{Action, JobState, Warning};
use crate::protocol::{JobPack, OntDevice, Timestamp};
use crate::store::{StoreError, StoredJob};

/// A job as a screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub job_ref: String,
    pub provider_job_id: String,
    pub state: JobState,
    pub warnings: Vec<Warning>,
    pub ont: Option<OntDevice>,
    pub closure: Option<ClosureRule>,
    pub cancel_reason: Option<String>,
    pub received_at: Timestamp,
    pub updated_at: Timestamp,
    pub pack: JobPack,
}

impl JobView {
    pub(crate) fn new(stored: StoredJob, catalogue: &Catalogue) -> Self {
        let warnings = stored.job.warnings(catalogue);
        let job = stored.job;
        Self {
            job_ref: job.header.job_ref.as_str().to_owned(),
            provider_job_id: job.header.provider_job_id.as_str().to_owned(),
            state: job.state,
            warnings,
            ont: job.ont,
            closure: job.closure,
            cancel_reason: job.cancel_reason,
            received_at: stored.received_at,
            updated_at: stored.updated_at,
            pack: job.pack,
        }
    }
}

/// What an accepted action did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionReceipt {
    pub job_ref: String,
    pub state: JobState,
    pub warnings: Vec<Warning>,
    /// The outbox item the action produced, if any.
    pub outbox_seq: Option<i64>,
    pub idempotency_key: Option<String>,
    pub rpc_id: Option<u64>,
}

/// An inbox message that could not be read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuarantinedMessage {
    pub id: i64,
    pub received_at: Timestamp,
    pub reason: String,
    pub body: String,
}

pub(crate) fn quarantine(conn: &Connection) -> Result<Vec<QuarantinedMessage>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT id, received_at, reason, body FROM quarantine ORDER BY id")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get(2)?,
            r.get(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, millis, reason, body) = row?;
        out.push(QuarantinedMessage {
            id,
            received_at: Timestamp::from_unix_millis(millis)
                .ok_or_else(|| StoreError::corrupt("time out of range"))?,
            reason,
            body,
        });
    }
    Ok(out)
}

/// A short description of an action for the pending screen.
pub(crate) fn label(action: &Action) -> String {
    match action {
        Action::ScanOnt { ont } => format!("scan ONT {}", ont.fsan),
        Action::Close {
            closure_code,
            secondary_code,
            ..
        } => match secondary_code {
            Some(s) => format!("close {closure_code}/{s}"),
            None => format!("close {closure_code}"),
        },
        Action::Answer { answers } => format!("{} answers", answers.len()),
        other => other.name().to_owned(),
    }
}
