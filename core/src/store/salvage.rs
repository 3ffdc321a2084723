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
    let jobs: Vec<[rusqlite::types::Value; 9]> = {
        let mut stmt = source
            .prepare(
                "SELECT job_ref, provider_job_id, pack, state, ont, cancel_reason, closure,
                        received_at, updated_at FROM jobs",
            )
            .map_err(|e| format!("jobs unreadable: {e}"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok([
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ])
            })
            .map_err(|e| format!("jobs unreadable: {e}"))?;
        rows.filter_map(Result::ok).collect()
    };
    let mut lost = 0usize;
    for job in &jobs {
        let inserted = new.execute(
            "INSERT OR IGNORE INTO jobs (job_ref, provider_job_id, pack, state, ont,
                     cancel_reason, closure, received_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            rusqlite::params_from_iter(job.iter()),
        );
        match inserted {
            Ok(n) => recovery.salvaged_jobs += n,
            Err(_) => lost += 1,
        }
    }
    let items: Vec<[rusqlite::types::Value; 10]> = {
        let mut stmt = source
            .prepare(
                "SELECT job_ref, method, label, rpc_id, idempotency_key, body, acted_at,
                        created_at, attempts, maybe_delivered
                 FROM outbox WHERE state NOT IN ('sent', 'discarded') ORDER BY seq",
            )
            .map_err(|e| format!("outbox unreadable: {e}"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok([
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                ])
            })
            .map_err(|e| format!("outbox unreadable: {e}"))?;
        rows.filter_map(Result::ok).collect()
    };
    for item in &items {
        let inserted = new.execute(
            "INSERT OR IGNORE INTO outbox (job_ref, method, label, rpc_id, idempotency_key,
                     body, acted_at, created_at, attempts, maybe_delivered, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'queued')",
            rusqlite::params_from_iter(item.iter()),
        );
        match inserted {
            Ok(n) => recovery.salvaged_outbox_items += n,
            Err(_) => lost += 1,
        }
    }
    if lost > 0 {
        return Err(format!(
            "{lost} rows could not be copied; they remain in the old file"
        ));
    }
    Ok(())
}
