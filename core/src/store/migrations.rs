//! Numbered schema migrations, applied in order and recorded in `PRAGMA user_version`.
//!
//! A migration is never edited once released: a phone in the field may be at any version, and
//! the only way to reach the latest schema from every one of them is to replay the same steps.

use rusqlite::Connection;

use super::StoreError;

const MIGRATIONS: [&str; 7] = [
    include_str!("migrations/0001_jobs_and_outbox.sql"),
    include_str!("migrations/0002_inbox_and_sync_state.sql"),
    include_str!("migrations/0003_outbox_dependencies.sql"),
    include_str!("migrations/0004_outbox_lane_index.sql"),
    include_str!("migrations/0005_answers_and_photos.sql"),
    include_str!("migrations/0006_photo_pruning.sql"),
    include_str!("migrations/0007_action_times.sql"),
];

/// The schema version this build writes.
pub(crate) const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// Applies the migrations after the database's current version up to `target`, each in its
/// own transaction with its version bump, so a crash mid-way leaves a consistent version.
pub(crate) fn migrate_to(conn: &Connection, target: i64) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        if version <= current || version > target {
            continue;
        }
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
        ))
        .inspect_err(|e| {
            log::error!("database migration {version} failed: {e}");
            let _ = conn.execute_batch("ROLLBACK");
        })?;
        log::info!("database migrated to schema {version}");
    }
    Ok(())
}

/// Applies the migrations after `current` up to `target` inside the caller's transaction
/// (the caller read `current` under the same write lock and sets `user_version`).
pub(crate) fn apply_migrations(
    conn: &Connection,
    current: i64,
    target: i64,
) -> Result<(), StoreError> {
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        if version <= current || version > target {
            continue;
        }
        conn.execute_batch(sql)
            .inspect_err(|e| log::error!("database migration {version} failed: {e}"))?;
        log::info!("database migrated to schema {version}");
    }
    Ok(())
}
