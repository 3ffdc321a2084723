//! Opening the database file without ever harming a healthy one.
//!
//! The open is careful because the path comes from a configuration and the file may be
//! anything: the engineer's database locked by a background sync next to the app, a
//! read-only copy, a device node, another application's SQLite file, a file written by a
//! newer build, or a genuinely damaged file. Only the last is moved aside (by the caller),
//! and only when it is proven to be ours: it carries our `PRAGMA application_id`
//! ([`APPLICATION_ID`]) or, for files written before the mark existed, our schema
//! version and tables. Everything else is a typed refusal with the file left byte for byte
//! as it was, which is why the checks run in this order:
//!
//! 1. the path: a regular file (or nothing: then it is created empty, mode 0600), writable;
//! 2. the first 100 bytes, read without SQLite: a SQLite header, or a header bearing our mark;
//! 3. a read-only look through SQLite: mark, schema version, tables, `quick_check`;
//! 4. only then one `BEGIN IMMEDIATE` write transaction that re-reads the version, applies
//!    the migrations, stamps the mark and commits — so several processes creating or
//!    migrating one file at once serialise on SQLite's write lock and all succeed;
//! 5. last, WAL and the other per-connection settings.
//!
//! With a key (see `cipher`) the file is SQLCipher's: its header is ciphertext, so the mark
//! cannot be read before the key is applied. A file that does not decrypt with the key is
//! [`StoreError::WrongKey`] and untouched (a wrong key and random bytes look the same, so
//! it is never judged damaged); one that decrypts is ours and goes through the same steps.
//! A plain file of ours given a key is encrypted in place after step 4.
//!
//! A lock held by another process is waited out for the busy timeout, then reported as
//! [`StoreError::Busy`]; it is never mistaken for damage.

use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, MAIN_DB, OpenFlags};

use super::cipher;
use super::file::create_empty;
use super::migrations::{LATEST_VERSION, apply_migrations};
use super::{StoreError, StoreOptions};

/// Our mark in the SQLite header (`PRAGMA application_id`): "JPK1".
pub const APPLICATION_ID: i32 = 0x4A50_4B31;

/// How long the open waits for another connection's write lock by default.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
const HEADER_LEN: usize = 100;
const APPLICATION_ID_OFFSET: usize = 68;

/// Why an open did not produce a connection.
#[derive(Debug)]
pub(super) enum Failure {
    /// Left untouched; the caller reports it.
    Refused(StoreError),
    /// Ours and proven damaged: the caller may move it aside.
    Damaged(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::Refused(e)
    }
}

/// Who a file belongs to, judged from its mark, version and tables.
#[derive(Debug, PartialEq, Eq)]
enum Owner {
    /// No tables, no version, no mark: an empty file we may claim.
    Fresh,
    /// Marked ours, or (from before the mark) our version with our tables.
    Ours,
}

/// Opens `path` as described in the module documentation.
pub(super) fn open_file(path: &Path, options: &StoreOptions) -> Result<Connection, Failure> {
    let busy_timeout = options.busy_timeout;
    let key = options.key.as_ref();
    let p = || path.to_owned();
    match fs::metadata(path) {
        Ok(meta) => {
            if !meta.is_file() {
                return Err(StoreError::NotARegularFile {
                    path: p(),
                    kind: describe(&meta.file_type()).into(),
                }
                .into());
            }
            if meta.permissions().readonly() {
                return Err(StoreError::ReadOnly { path: p() }.into());
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => create_empty(path)?,
        Err(e) => {
            return Err(StoreError::Io {
                path: p(),
                reason: e.to_string(),
            }
            .into());
        }
    }
    let header = read_header(path)?;
    let plaintext = header.starts_with(SQLITE_MAGIC);
    // Ciphertext throughout, header included (or a new file about to be): only the key can
    // tell whose it is.
    let encrypted = key.is_some() && !plaintext;
    let mut marked_ours = header.len() >= APPLICATION_ID_OFFSET + 4
        && header[APPLICATION_ID_OFFSET..APPLICATION_ID_OFFSET + 4] == APPLICATION_ID.to_be_bytes();
    if !header.is_empty() && !plaintext && !encrypted {
        return Err(if marked_ours {
            Failure::Damaged("the file's SQLite header is damaged".into())
        } else {
            StoreError::NotADatabase { path: p() }.into()
        });
    }
    // The file exists now: never let SQLite create one (a rename race would recreate it).
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| classify(path, e, marked_ours))?;
    // A new file is created encrypted; a plain one is read plain and encrypted after its
    // migrations (below).
    if let Some(key) = key.filter(|_| !plaintext) {
        cipher::apply_key(&conn, key).map_err(|e| classify(path, e, false))?;
    }
    conn.busy_timeout(busy_timeout)
        .map_err(|e| classify(path, e, marked_ours))?;
    if conn
        .is_readonly(MAIN_DB)
        .map_err(|e| classify(path, e, marked_ours))?
    {
        return Err(StoreError::ReadOnly { path: p() }.into());
    }

    // Read-only look, in one read transaction so that mark, version and tables are one
    // snapshot (another process may be creating the schema right now): nothing is written
    // before the file is known to be ours and healthy.
    conn.execute_batch("BEGIN DEFERRED")
        .map_err(|e| classify(path, e, marked_ours))?;
    let looked = (|| {
        let owner = inspect(&conn, path).map_err(|f| match f {
            // Page 1 or the schema did not decrypt: a wrong key and damage look the same.
            Failure::Refused(StoreError::NotADatabase { .. }) | Failure::Damaged(_)
                if encrypted =>
            {
                Failure::Refused(StoreError::WrongKey { path: p() })
            }
            f => escalate(f, path, marked_ours),
        })?;
        // It decrypted (SQLCipher checks each page's HMAC) and bears our mark.
        if encrypted && owner == Owner::Ours {
            marked_ours = true;
        }
        if owner == Owner::Ours {
            let check: String = conn
                .query_row("PRAGMA quick_check", [], |r| r.get(0))
                .map_err(|e| classify(path, e, true))?;
            if check != "ok" {
                return Err(Failure::Damaged(format!(
                    "integrity check: {}",
                    crate::text::prefix(&check, 200)
                )));
            }
        }
        Ok(())
    })();
    // Ending a read transaction writes nothing.
    let _ = conn.execute_batch("COMMIT");
    looked?;
    let marked_ours = marked_ours;

    // One write transaction: the version is read and applied under the write lock.
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| classify(path, e, marked_ours))?;
    let migrated = (|| {
        inspect(&conn, path)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| classify(path, e, marked_ours))?;
        apply_migrations(&conn, version, LATEST_VERSION).map_err(|e| match e {
            StoreError::Sqlite(e) => classify(path, e, marked_ours),
            other => Failure::Refused(other),
        })?;
        conn.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {LATEST_VERSION};"
        ))
        .map_err(|e| classify(path, e, marked_ours))?;
        conn.execute_batch("COMMIT")
            .map_err(|e| classify(path, e, marked_ours))
    })();
    if let Err(failure) = migrated {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(escalate(failure, path, marked_ours));
    }
    if let Some(key) = key.filter(|_| plaintext) {
        cipher::encrypt_in_place(
            &conn,
            path,
            key,
            busy_timeout,
            LATEST_VERSION,
            APPLICATION_ID,
        )?;
        drop(conn);
        return open_file(path, options);
    }

    // journal_mode answers with a row; read it so the pragma is applied on every SQLite build.
    // Switching a rollback-journal file to WAL needs a moment alone with it, and SQLite
    // answers BUSY at once (no busy handler) while another opener reads it: retry within the
    // same wait.
    let started = std::time::Instant::now();
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Ok(_) => break,
            Err(e)
                if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                    && started.elapsed() < busy_timeout =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(classify(path, e, true)),
        }
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .map_err(|e| classify(path, e, true))?;
    Ok(conn)
}

/// A damaged reading of a file that is not proven ours is a refusal, not a move.
fn escalate(failure: Failure, path: &Path, marked_ours: bool) -> Failure {
    match failure {
        Failure::Damaged(reason) if !marked_ours => Failure::Refused(StoreError::Unreadable {
            path: path.to_owned(),
            reason,
        }),
        other => other,
    }
}

/// Reads mark, version and tables and judges the owner; refuses another application's file
/// and a newer schema.
fn inspect(conn: &Connection, path: &Path) -> Result<Owner, Failure> {
    let read = |e| classify(path, e, true);
    let app_id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(read)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(read)?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .and_then(|mut stmt| {
            stmt.query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .map_err(read)?;
    let has = |name: &str| tables.iter().any(|t| t == name);
    let owner = if app_id == APPLICATION_ID {
        Owner::Ours
    } else if app_id != 0 {
        return Err(StoreError::ForeignDatabase {
            path: path.to_owned(),
            detail: format!("its application_id is {:#010x}", app_id as u32),
        }
        .into());
    } else if tables.is_empty() && version == 0 {
        Owner::Fresh
    } else if (1..=LATEST_VERSION).contains(&version) && has("jobs") && has("outbox") {
        Owner::Ours
    } else {
        let mut names = tables.join(", ");
        names = crate::text::prefix(&names, 120);
        return Err(StoreError::ForeignDatabase {
            path: path.to_owned(),
            detail: format!("unmarked, schema version {version}, tables: {names}"),
        }
        .into());
    };
    if version > LATEST_VERSION {
        return Err(StoreError::NewerSchema {
            found: version,
            supported: LATEST_VERSION,
        }
        .into());
    }
    Ok(owner)
}

/// Sorts SQLite's errors into waits, refusals and proven damage.
fn classify(path: &Path, e: rusqlite::Error, ours: bool) -> Failure {
    let p = path.to_owned();
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            Failure::Refused(StoreError::Busy { path: p })
        }
        Some(ErrorCode::ReadOnly) => Failure::Refused(StoreError::ReadOnly { path: p }),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            if ours {
                Failure::Damaged(e.to_string())
            } else {
                Failure::Refused(StoreError::NotADatabase { path: p })
            }
        }
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
            Failure::Refused(StoreError::Io {
                path: p,
                reason: e.to_string(),
            })
        }
        _ => Failure::Refused(StoreError::Sqlite(e)),
    }
}

fn read_header(path: &Path) -> Result<Vec<u8>, StoreError> {
    let io = |e: io::Error| StoreError::Io {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let file = fs::File::open(path).map_err(io)?;
    let mut header = Vec::with_capacity(HEADER_LEN);
    file.take(HEADER_LEN as u64)
        .read_to_end(&mut header)
        .map_err(io)?;
    Ok(header)
}

fn describe(kind: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_fifo() {
            return "a named pipe";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}
