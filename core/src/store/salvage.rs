//! Copying unsent work out of a database that failed its integrity check.
//!
//! Corruption is usually local (a torn page), so most rows of an unreadable file can still be
//! read one by one. Jobs, open outbox items and the answers and photos given on site are what
//! matter: an outbox item that is lost is a message CityFibre never gets. Rows are copied with their original idempotency keys, so a
//! message that had in fact been delivered before the corruption is absorbed upstream.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::Recovery;
use super::cipher::{self, DatabaseKey};

pub(super) fn salvage_into(
    old: &Path,
    key: Option<&DatabaseKey>,
    new: &Connection,
    recovery: &mut Recovery,
) {
    if let Err(problem) = copy_rows(old, key, new, recovery) {
        recovery.salvage_problem = Some(problem);
    }
    // Counts and SQLite's own words only: never a row's content.
    match &recovery.salvage_problem {
        None => log::warn!(
            "database salvage: {} jobs and {} unsent outbox items copied",
            recovery.salvaged_jobs,
            recovery.salvaged_outbox_items
        ),
        Some(problem) => log::warn!(
            "database salvage: {} jobs and {} unsent outbox items copied, then: {problem}",
            recovery.salvaged_jobs,
            recovery.salvaged_outbox_items
        ),
    }
}

fn copy_rows(
    old: &Path,
    key: Option<&DatabaseKey>,
    new: &Connection,
    recovery: &mut Recovery,
) -> Result<(), String> {
    let source = Connection::open_with_flags(old, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("cannot open the old file: {e}"))?;
    // A damaged encrypted file was moved aside only after it decrypted with this key.
    if let Some(key) = key.filter(|_| !cipher::is_plaintext(old)) {
        cipher::apply_key(&source, key).map_err(|e| format!("cannot key the old file: {e}"))?;
    }
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
    // Open items only, oldest first, back to `queued` with their sequence numbers (photos
    // and dependencies name them) and keys: anything that had in fact arrived is absorbed
    // upstream by its idempotency key.
    let (items, lost_items) = copy_table(
        &source,
        new,
        "outbox",
        "SELECT seq, job_ref, kind, method, label, rpc_id, idempotency_key, body, acted_at,
                created_at, attempts, maybe_delivered
         FROM outbox WHERE state NOT IN ('sent', 'discarded') ORDER BY seq",
        "INSERT OR IGNORE INTO outbox (seq, job_ref, kind, method, label, rpc_id,
             idempotency_key, body, acted_at, created_at, attempts, maybe_delivered, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'queued')",
    )?;
    recovery.salvaged_outbox_items = items;
    // A dependency on an item that was already sent is satisfied, so only links between two
    // open items are needed.
    let (_, lost_links) = copy_optional_table(
        &source,
        new,
        "outbox_dependencies",
        "SELECT d.item, d.depends_on FROM outbox_dependencies d
         JOIN outbox i ON i.seq = d.item JOIN outbox p ON p.seq = d.depends_on
         WHERE i.state NOT IN ('sent', 'discarded') AND p.state NOT IN ('sent', 'discarded')",
        "INSERT OR IGNORE INTO outbox_dependencies (item, depends_on) VALUES (?1, ?2)",
    )?;
    // Answers (with their history) and photos are the engineer's work on site.
    let (_, lost_answers) = copy_optional_table(
        &source,
        new,
        "answers",
        "SELECT id, job_ref, journey, question_code, answer, answered_at, superseded_at
         FROM answers ORDER BY id",
        "INSERT OR IGNORE INTO answers (id, job_ref, journey, question_code, answer,
             answered_at, superseded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let (_, lost_photos) = copy_optional_table(
        &source,
        new,
        "photos",
        "SELECT id, job_ref, journey, question_code, sha256, file_name, object_path,
                upload_seq, attached_at, removed_at FROM photos ORDER BY id",
        "INSERT OR IGNORE INTO photos (id, job_ref, journey, question_code, sha256, file_name,
             object_path, upload_seq, attached_at, removed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let lost = lost_jobs + lost_items + lost_links + lost_answers + lost_photos;
    if lost > 0 {
        return Err(format!(
            "{lost} rows could not be copied; they remain in the old file"
        ));
    }
    Ok(())
}

/// [`copy_table`] for a table an older schema may not have yet.
fn copy_optional_table(
    source: &Connection,
    new: &Connection,
    table: &str,
    select: &str,
    insert: &str,
) -> Result<(usize, usize), String> {
    let exists = source
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get::<_, i64>(0),
        )
        .map_err(|e| format!("schema unreadable: {e}"))?;
    if exists == 0 {
        return Ok((0, 0));
    }
    copy_table(source, new, table, select, insert)
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
