//! Jobs and their action history in SQLite.
//!
//! A job is stored as a few JSON columns next to its key: the job pack keeps CityFibre's
//! unknown fields that way, and the lifecycle types stay the single definition of a job's
//! shape. Rows are only read and written here.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use crate::lifecycle::{Job, JobState};
use crate::protocol::{JobHeader, JobRef, ProviderJobId, Timestamp};

/// A job with the times the store keeps about it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredJob {
    pub job: Job,
    pub received_at: Timestamp,
    pub updated_at: Timestamp,
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(StoreError::corrupt)
}

fn opt_json<T: serde::Serialize>(v: &Option<T>) -> Result<Option<String>, StoreError> {
    v.as_ref().map(json).transpose()
}

/// Inserts a job just received; `false` when a job with that reference already exists.
pub fn insert_job(conn: &Connection, job: &Job, at: Timestamp) -> Result<bool, StoreError> {
    let inserted = conn.execute(
        "INSERT INTO jobs (job_ref, provider_job_id, pack, state, ont, cancel_reason, closure,
                           received_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
         ON CONFLICT(job_ref) DO NOTHING",
        params![
            job.header.job_ref.as_str(),
            job.header.provider_job_id.as_str(),
            json(&job.pack)?,
            json(&job.state)?,
            opt_json(&job.ont)?,
            job.cancel_reason,
            opt_json(&job.closure)?,
            at.unix_millis(),
        ],
    )?;
    Ok(inserted == 1)
}

/// Writes a job's mutable parts after an action.
pub fn save_job(conn: &Connection, job: &Job, at: Timestamp) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE jobs SET state = ?2, ont = ?3, cancel_reason = ?4, closure = ?5, updated_at = ?6
         WHERE job_ref = ?1",
        params![
            job.header.job_ref.as_str(),
            json(&job.state)?,
            opt_json(&job.ont)?,
            job.cancel_reason,
            opt_json(&job.closure)?,
            at.unix_millis(),
        ],
    )?;
    Ok(())
}

/// Appends to the job's action history.
pub fn record_action(
    conn: &Connection,
    job_ref: &JobRef,
    action: &str,
    at: Timestamp,
    state_after: JobState,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO actions (job_ref, action, acted_at, state_after) VALUES (?1, ?2, ?3, ?4)",
        params![
            job_ref.as_str(),
            action,
            at.unix_millis(),
            json(&state_after)?
        ],
    )?;
    Ok(())
}

const COLUMNS: &str =
    "job_ref, provider_job_id, pack, state, ont, cancel_reason, closure, received_at, updated_at";

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(StoreError::corrupt)
}

fn from_row(row: &Row<'_>) -> Result<StoredJob, StoreError> {
    let text = |i: usize| -> Result<String, StoreError> { Ok(row.get::<_, String>(i)?) };
    let opt =
        |i: usize| -> Result<Option<String>, StoreError> { Ok(row.get::<_, Option<String>>(i)?) };
    let millis = |i: usize| -> Result<Timestamp, StoreError> {
        Timestamp::from_unix_millis(row.get(i)?)
            .ok_or_else(|| StoreError::corrupt("time out of range"))
    };
    let job = Job {
        header: JobHeader {
            job_ref: JobRef::new(text(0)?).map_err(StoreError::corrupt)?,
            provider_job_id: ProviderJobId::new(text(1)?).map_err(StoreError::corrupt)?,
        },
        pack: parse(&text(2)?)?,
        state: parse(&text(3)?)?,
        ont: opt(4)?.map(|s| parse(&s)).transpose()?,
        cancel_reason: opt(5)?,
        closure: opt(6)?.map(|s| parse(&s)).transpose()?,
    };
    Ok(StoredJob {
        job,
        received_at: millis(7)?,
        updated_at: millis(8)?,
    })
}

/// One job by reference.
pub fn load_job(conn: &Connection, job_ref: &str) -> Result<Option<StoredJob>, StoreError> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM jobs WHERE job_ref = ?1"))?;
    let row = stmt
        .query_row([job_ref], |row| Ok(from_row(row)))
        .optional()?;
    row.transpose()
}

/// Every job, oldest first.
pub fn list_jobs(conn: &Connection) -> Result<Vec<StoredJob>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM jobs ORDER BY received_at, job_ref"
    ))?;
    let rows = stmt.query_map([], |row| Ok(from_row(row)))?;
    let mut jobs = Vec::new();
    for row in rows {
        jobs.push(row??);
    }
    Ok(jobs)
}
