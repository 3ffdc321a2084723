//! Copying unsent work out of a database that failed its integrity check.
//!
//! Corruption is usually local (a torn page), so most rows of an unreadable file can still be
//! read one by one. Jobs and open outbox items are what matter: an outbox item that is lost is
//! a message CityFibre never gets. Rows are copied with their original idempotency keys, so a
//! message that had in fact been delivered before the corruption is absorbed upstream.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::Recovery;

pub(super) fn salvage_into(old: &Path, new: &Connection, recovery: &mut Recovery) {
    if let Err(problem) = copy_rows(old, new, recovery) {
        recovery.salvage_problem = Some(problem);
    }
}

fn copy_rows(old: &Path, new: &Connection, recovery: &mut Recovery) -> Result<(), String> {
    let source = Connection::open_with_flags(old, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("cannot open the old file: {e}"))?;
    let (jobs, lost_jobs) = copy_table(
        &source,
        new,
        "jobs",
        "SELECT job_ref, provider_job_id, pack, state, ont, cancel_reason, closure,
                received_at, updated_at FROM jobs",
        "INSERT OR IGNORE INTO jobs (job_ref, provider_job_id, pack, state, ont,
             cancel_reason, closure, received_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    recovery.salvaged_jobs = jobs;
    // Open items only, oldest first, back to `queued` with their keys: anything that had in
    // fact arrived is absorbed upstream by its idempotency key.
    let (items, lost_items) = copy_table(
        &source,
        new,
        "outbox",
        "SELECT job_ref, method, label, rpc_id, idempotency_key, body, acted_at,
                created_at, attempts, maybe_delivered
         FROM outbox WHERE state NOT IN ('sent', 'discarded') ORDER BY seq",
        "INSERT OR IGNORE INTO outbox (job_ref, method, label, rpc_id, idempotency_key,
             body, acted_at, created_at, attempts, maybe_delivered, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'queued')",
    )?;
    recovery.salvaged_outbox_items = items;
    let lost = lost_jobs + lost_items;
    if lost > 0 {
        return Err(format!(
            "{lost} rows could not be copied; they remain in the old file"
        ));
    }
    Ok(())
}

/// Copies the rows `select` reads from `source` with `insert`, row by row so one unreadable
/// or refused row does not stop the others. Returns (copied, lost).
fn copy_table(
    source: &Connection,
    new: &Connection,
    table: &str,
    select: &str,
    insert: &str,
) -> Result<(usize, usize), String> {
    let unreadable = |e: rusqlite::Error| format!("{table} unreadable: {e}");
    let mut stmt = source.prepare(select).map_err(unreadable)?;
    let columns = stmt.column_count();
    let rows: Vec<Result<Vec<rusqlite::types::Value>, _>> = stmt
        .query_map([], |r| (0..columns).map(|i| r.get(i)).collect())
        .map_err(unreadable)?
        .collect();
    let (mut copied, mut lost) = (0, 0);
    for row in rows {
        match row.and_then(|values| new.execute(insert, rusqlite::params_from_iter(values))) {
            Ok(n) => copied += n,
            Err(_) => lost += 1,
        }
    }
    Ok((copied, lost))
}
