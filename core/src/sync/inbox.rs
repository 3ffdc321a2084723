//! Applying a page of the inbox: CityFibre's createJob, cancelJob and provisioning notices.
//!
//! A page is applied in one transaction together with the cursor that follows it, so after a
//! crash the page is either fully applied and the cursor moved, or neither. Each envelope is
//! keyed by method, id and reference: a redelivered one (a pull repeated after a lost
//! answer) is recognised and ignored. An envelope that cannot be read is quarantined with its
//! reason and does not stop the rest of the page. A readable envelope that cannot change
//! anything (a cancel for a job already closed) is kept with a note saying why.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use crate::codes::Catalogue;
use crate::lifecycle::{Action, Job};
use crate::protocol::{InboundMessage, ProviderJobId, Timestamp, parse_inbound_value};
use crate::store::{self, StoreError};

/// What a page did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageOutcome {
    pub applied: usize,
    pub redelivered: usize,
    pub quarantined: usize,
    /// Readable but changed nothing (with the reason stored beside it).
    pub noted: usize,
    /// Jobs whose state changed.
    pub changed_jobs: Vec<String>,
}

pub(crate) const CURSOR_KEY: &str = "inbox_cursor";

/// The partner's id for the job: the hub puts its createJob answer in the envelope's
/// `response` block; without one, the id is derived from the reference.
fn provider_job_id(
    response: &Value,
    job_ref: &str,
) -> Result<ProviderJobId, crate::protocol::ProtocolError> {
    match response.get("providerJobId").and_then(Value::as_str) {
        Some(id) => ProviderJobId::new(id),
        None => ProviderJobId::new(format!("JP-{job_ref}")),
    }
}

/// Applies `messages` and stores `next_cursor` (when the page came from a pull), all in the
/// caller's transaction.
pub fn apply_page(
    conn: &Connection,
    messages: &[Value],
    next_cursor: Option<&str>,
    catalogue: &Catalogue,
    now: Timestamp,
) -> Result<PageOutcome, StoreError> {
    let mut outcome = PageOutcome::default();
    for raw in messages {
        let body = raw.to_string();
        let envelope = match parse_inbound_value(raw.clone()) {
            Ok(e) => e,
            Err(reason) => {
                conn.execute(
                    "INSERT INTO quarantine (received_at, body, reason) VALUES (?1, ?2, ?3)",
                    params![now.unix_millis(), body, reason.to_string()],
                )?;
                outcome.quarantined += 1;
                // The reason may quote the envelope (a customer's details): the quarantine
                // table keeps it on the device; the record says only that it happened.
                log::warn!(
                    "inbox: an unreadable envelope ({} bytes) was quarantined",
                    body.len()
                );
                continue;
            }
        };
        let key = format!(
            "{}:{}:{}",
            envelope.message.method(),
            envelope.id,
            envelope.job_ref
        );
        let seen: Option<i64> = conn
            .query_row("SELECT 1 FROM inbox WHERE envelope_key = ?1", [&key], |r| {
                r.get(0)
            })
            .optional()?;
        if seen.is_some() {
            outcome.redelivered += 1;
            continue;
        }
        let job_ref = envelope.job_ref.as_str().to_owned();
        let note = match &envelope.message {
            InboundMessage::CreateJob(pack) => {
                match provider_job_id(&envelope.response, &job_ref) {
                    Err(e) => Some(format!("unusable providerJobId: {e}")),
                    Ok(id) => {
                        let job = Job::received(envelope.job_ref.clone(), id, (**pack).clone());
                        if store::insert_job(conn, &job, now)? {
                            None
                        } else {
                            Some("job already known; the first job pack is kept".into())
                        }
                    }
                }
            }
            InboundMessage::CancelJob(cancel) => apply_action(
                conn,
                &job_ref,
                Action::Cancel {
                    reason: cancel.reason.clone(),
                },
                envelope.sent,
                catalogue,
            )?,
            InboundMessage::Provisioning(notice) => apply_action(
                conn,
                &job_ref,
                Action::ProvisioningResult {
                    status: notice.ont_provisioning.status_id,
                },
                envelope.sent,
                catalogue,
            )?,
        };
        conn.execute(
            "INSERT INTO inbox (envelope_key, job_ref, method, received_at, body, note)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                key,
                job_ref,
                envelope.message.method(),
                now.unix_millis(),
                body,
                note
            ],
        )?;
        match note {
            None => {
                outcome.applied += 1;
                outcome.changed_jobs.push(job_ref);
            }
            Some(_) => outcome.noted += 1,
        }
    }
    if let Some(cursor) = next_cursor {
        store::set_sync_value(conn, CURSOR_KEY, cursor)?;
    }
    Ok(outcome)
}

/// Applies an inbound event to a stored job; a refusal becomes a note, not an error, because
/// the message itself is fine (it may simply be late).
fn apply_action(
    conn: &Connection,
    job_ref: &str,
    action: Action,
    at: Timestamp,
    catalogue: &Catalogue,
) -> Result<Option<String>, StoreError> {
    let Some(mut stored) = store::load_job(conn, job_ref)? else {
        return Ok(Some(format!("no job {job_ref} on this device")));
    };
    let name = action.name();
    match stored.job.apply(action, at, catalogue) {
        Ok(outcome) => {
            store::save_job(conn, &stored.job, at)?;
            store::record_action(conn, &stored.job.header.job_ref, name, at, outcome.state)?;
            Ok(None)
        }
        Err(e) => Ok(Some(e.to_string())),
    }
}
