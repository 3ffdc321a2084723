//! The phone's durable state: one SQLite file (bundled SQLite) per engineer.
//!
//! Phones lose power and get their apps killed, so the store is configured for durability
//! first: WAL with `synchronous=FULL` (a committed transaction survives power loss), foreign
//! keys on, and every engineer action written as one transaction together with the outbox
//! message it produces (see `crate::engine`). The schema evolves through numbered SQL
//! migrations (`migrations/NNNN_*.sql`) tracked in `PRAGMA user_version`; a test checks that
//! a database upgraded step by step equals a fresh one.
//!
//! Opening is careful (see `open`): a file that is locked, read-only, not a regular file,
//! another application's database or of a newer schema is refused with a typed error and
//! left byte for byte as it was. Only a file that is ours (marked with our
//! `PRAGMA application_id`) and proven damaged is never deleted but renamed aside
//! (`*.corrupt-<ms>`); a fresh database is created, and whatever unsent work can still be
//! read from the old file (jobs and open outbox items) is copied into the new one. The
//! [`OpenReport`] says what happened so the app can tell the engineer and support.

mod cipher;
mod closure;
mod file;
mod jobs;
mod migrations;
mod open;
mod retention;
mod salvage;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

pub use cipher::{DATABASE_KEY_LEN, DatabaseKey};
pub use closure::{
    AnswerRecord, NewPhoto, StoredAnswer, StoredPhoto, add_photo, answer_history, current_answers,
    current_photos, find_photo, latest_time_of_job, record_answer, remove_photo, set_answer_time,
    withdraw_answer,
};
pub use jobs::{StoredJob, insert_job, list_jobs, load_job, record_action, save_job};
pub(crate) use migrations::{LATEST_VERSION, migrate_to};
pub use open::{APPLICATION_ID, DEFAULT_BUSY_TIMEOUT};
pub use retention::{PruneReport, Pruned, Retention, prune, unsent_items};

/// What went wrong in the store, for callers inside the core.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the database was written by a newer version of the app (schema {found}, this build knows up to {supported}); update the app, the file was left untouched"
    )]
    NewerSchema { found: i64, supported: i64 },
    #[error("cannot use the database file {path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error(
        "the database {path} is busy: another process held its lock past the wait; try again, nothing was changed"
    )]
    Busy { path: PathBuf },
    #[error("the database {path} is read-only; nothing was changed")]
    ReadOnly { path: PathBuf },
    #[error("{path} is {kind}, not a database file; nothing was changed")]
    NotARegularFile { path: PathBuf, kind: String },
    #[error("{path} is another application's database ({detail}); nothing was changed")]
    ForeignDatabase { path: PathBuf, detail: String },
    #[error(
        "{path} is not a database file (or an encrypted one and no key was given); nothing was changed"
    )]
    NotADatabase { path: PathBuf },
    #[error(
        "{path} does not open with the database key it was given (a wrong key, or not a database); nothing was changed"
    )]
    WrongKey { path: PathBuf },
    #[error("database key: {reason}")]
    BadKey { reason: String },
    #[error(
        "{path} cannot be read ({reason}) and is not marked as this app's database, so it was left in place"
    )]
    Unreadable { path: PathBuf, reason: String },
}

impl StoreError {
    pub(crate) fn corrupt(e: impl std::fmt::Display) -> Self {
        Self::Corrupt(e.to_string())
    }
}

/// A [`StoreError`] carried as the cause of a refusal or of the engine's error: shared, so
/// the errors that hold it stay `Clone`, and compared by its sentence, so they stay `Eq`.
/// `source()` walks on to SQLite's own error.
#[derive(Debug, Clone)]
pub struct StorageFailure(std::sync::Arc<StoreError>);

impl StorageFailure {
    pub fn error(&self) -> &StoreError {
        &self.0
    }
}

impl From<StoreError> for StorageFailure {
    fn from(e: StoreError) -> Self {
        Self(std::sync::Arc::new(e))
    }
}

impl PartialEq for StorageFailure {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

impl Eq for StorageFailure {}

impl std::fmt::Display for StorageFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for StorageFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// What happened when the store was opened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Set when the file was unreadable and a fresh database was made.
    pub recovery: Option<Recovery>,
}

/// A corrupt database moved aside, and what was saved from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Where the unreadable file now is (kept for support, never deleted).
    pub moved_to: PathBuf,
    /// Why it was judged unreadable.
    pub reason: String,
    /// Jobs copied into the new database.
    pub salvaged_jobs: usize,
    /// Unsent outbox items copied into the new database.
    pub salvaged_outbox_items: usize,
    /// Why salvage stopped early, if it did; the old file still holds what was not copied.
    pub salvage_problem: Option<String>,
}

/// How a database file is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long to wait for another connection's lock before [`StoreError::Busy`].
    pub busy_timeout: std::time::Duration,
    /// Encrypts the file at rest (SQLCipher) when set; from the platform keystore. A plain
    /// database of ours is encrypted in place the first time a key is given.
    pub key: Option<DatabaseKey>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            key: None,
        }
    }
}

/// The open database.
pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path`, migrating it to the latest schema.
    pub fn open(path: &Path) -> Result<(Self, OpenReport), StoreError> {
        Self::open_with(path, &StoreOptions::default())
    }

    /// [`Store::open`] with a key and a lock wait of its own.
    pub fn open_with(
        path: &Path,
        options: &StoreOptions,
    ) -> Result<(Self, OpenReport), StoreError> {
        let reason = match open::open_file(path, options) {
            Ok(conn) => {
                return Ok((
                    Self {
                        conn,
                        path: Some(path.to_owned()),
                    },
                    OpenReport::default(),
                ));
            }
            Err(open::Failure::Refused(e)) => return Err(e),
            Err(open::Failure::Damaged(reason)) => reason,
        };
        let moved_to = move_aside(path)?;
        let conn = match open::open_file(path, options) {
            Ok(conn) => conn,
            Err(open::Failure::Refused(e)) => return Err(e),
            Err(open::Failure::Damaged(reason)) => return Err(StoreError::Corrupt(reason)),
        };
        let mut recovery = Recovery {
            moved_to: moved_to.clone(),
            reason,
            salvaged_jobs: 0,
            salvaged_outbox_items: 0,
            salvage_problem: None,
        };
        log::warn!(
            "database unreadable ({}): moved aside as {}",
            crate::text::prefix(&recovery.reason, 300),
            moved_to
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        salvage::salvage_into(&moved_to, options.key.as_ref(), &conn, &mut recovery);
        Ok((
            Self {
                conn,
                path: Some(path.to_owned()),
            },
            OpenReport {
                recovery: Some(recovery),
            },
        ))
    }

    /// A throw-away database, for tests and tools.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory()?;
        configure(&conn)?;
        migrate_to(&conn, LATEST_VERSION)?;
        Ok(Self { conn, path: None })
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// A value of the `sync_state` table.
    pub fn sync_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        sync_value(&self.conn, key)
    }
}

/// Reads a `sync_state` value.
pub fn sync_value(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row("SELECT value FROM sync_state WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Writes a `sync_state` value.
pub fn set_sync_value(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(DEFAULT_BUSY_TIMEOUT)?;
    // journal_mode answers with a row; read it so the pragma is applied on every SQLite build.
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    Ok(())
}

/// Renames the database and its WAL/SHM companions aside; nothing is deleted.
fn move_aside(path: &Path) -> Result<PathBuf, StoreError> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let aside = PathBuf::from(format!("{}.corrupt-{millis}", path.display()));
    let io = |e: std::io::Error| StoreError::Io {
        path: path.to_owned(),
        reason: format!("cannot move the unreadable database aside: {e}"),
    };
    std::fs::rename(path, &aside).map_err(io)?;
    for suffix in ["-wal", "-shm"] {
        let companion = PathBuf::from(format!("{}{suffix}", path.display()));
        if companion.exists() {
            std::fs::rename(&companion, format!("{}{suffix}", aside.display())).map_err(io)?;
        }
    }
    Ok(aside)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod cipher_tests;
