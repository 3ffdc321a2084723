//! The phone's durable state: one SQLite file (bundled SQLite) per engineer.
//!
//! Phones lose power and get their apps killed, so the store is configured for durability
//! first: WAL with `synchronous=FULL` (a committed transaction survives power loss), foreign
//! keys on, and every engineer action written as one transaction together with the outbox
//! message it produces (see `crate::engine`). The schema evolves through numbered SQL
//! migrations (`migrations/NNNN_*.sql`) tracked in `PRAGMA user_version`; a test checks that
//! a database upgraded step by step equals a fresh one.
//!
//! Two failure modes are handled on open, because both happen in the field:
//! * a database written by a *newer* app (user rolled back) is refused with a clear error and
//!   left untouched, since this build cannot know what the newer columns mean;
//! * a corrupt or unreadable file is never deleted: it is renamed aside (`*.corrupt-<ms>`),
//!   a fresh database is created, and whatever unsent work can still be read from the old
//!   file (jobs and open outbox items) is copied into the new one. The [`OpenReport`] says
//!   what happened so the app can tell the engineer and support.

mod closure;
mod jobs;
mod migrations;
mod salvage;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

pub use closure::{
    AnswerRecord, NewPhoto, StoredAnswer, StoredPhoto, add_photo, answer_history, current_answers,
    current_photos, find_photo, latest_time_of_job, record_answer, remove_photo, set_answer_time,
    withdraw_answer,
};
pub use jobs::{StoredJob, insert_job, list_jobs, load_job, record_action, save_job};
pub(crate) use migrations::{LATEST_VERSION, migrate_to};

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
}

impl StoreError {
    pub(crate) fn corrupt(e: impl std::fmt::Display) -> Self {
        Self::Corrupt(e.to_string())
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
        match open_and_migrate(path) {
            Ok(conn) => Ok((
                Self {
                    conn,
                    path: Some(path.to_owned()),
                },
                OpenReport::default(),
            )),
            Err(StoreError::NewerSchema { found, supported }) => {
                Err(StoreError::NewerSchema { found, supported })
            }
            Err(StoreError::Io { path, reason }) => Err(StoreError::Io { path, reason }),
            Err(e) => {
                let reason = e.to_string();
                let moved_to = move_aside(path)?;
                let conn = open_and_migrate(path)?;
                let mut recovery = Recovery {
                    moved_to: moved_to.clone(),
                    reason,
                    salvaged_jobs: 0,
                    salvaged_outbox_items: 0,
                    salvage_problem: None,
                };
                salvage::salvage_into(&moved_to, &conn, &mut recovery);
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
        }
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
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // journal_mode answers with a row; read it so the pragma is applied on every SQLite build.
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    Ok(())
}

fn open_and_migrate(path: &Path) -> Result<Connection, StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| StoreError::Io {
            path: parent.to_owned(),
            reason: e.to_string(),
        })?;
    }
    if path.is_dir() {
        return Err(StoreError::Io {
            path: path.to_owned(),
            reason: "is a directory".into(),
        });
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::CannotOpen) | Some(rusqlite::ErrorCode::PermissionDenied) => {
            StoreError::Io {
                path: path.to_owned(),
                reason: e.to_string(),
            }
        }
        _ => StoreError::Sqlite(e),
    })?;
    configure(&conn)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > LATEST_VERSION {
        return Err(StoreError::NewerSchema {
            found: version,
            supported: LATEST_VERSION,
        });
    }
    let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(StoreError::Corrupt(format!("integrity check: {check}")));
    }
    migrate_to(&conn, LATEST_VERSION)?;
    Ok(conn)
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
