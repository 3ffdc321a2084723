//! The database encrypted at rest: SQLCipher, keyed by the platform keystore.
//!
//! A phone left in a van holds customers' names, phone numbers and addresses, so the whole
//! database file is encrypted, not a few columns: the schema, the outbox's payloads and the
//! inbox all are. SQLCipher is the standard for this (a documented page format, AES-256 in
//! CBC mode with an HMAC-SHA512 per page, a support engineer can open a copy with the
//! `sqlcipher` shell and the key); rusqlite builds it in place of plain SQLite, so the
//! workspace still has one SQLite. docs/SECURITY.md says why its crypto library is acceptable.
//!
//! The key is 32 random bytes the shell keeps in the platform keystore (Android Keystore,
//! iOS Keychain); it is given to SQLCipher as a raw key (`x'…'`), so no password derivation
//! runs at open: a keystore key has full entropy already, and a 256 000-round PBKDF2 would
//! cost every cold start a noticeable pause on a phone.
//!
//! A database written before encryption existed is migrated in place the first time a key
//! is given: exported page by page into `<db>.encrypting` under an exclusive lock, synced,
//! then renamed over the plain file in one step, so a crash at any point leaves either the
//! intact plain file (the half-written copy is discarded at the next open) or the complete
//! encrypted one.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode};

use super::StoreError;

/// Bytes in a database key.
pub const DATABASE_KEY_LEN: usize = 32;

/// The key of an encrypted database: 32 bytes from the platform keystore.
#[derive(Clone)]
pub struct DatabaseKey(std::sync::Arc<KeyBytes>);

struct KeyBytes([u8; DATABASE_KEY_LEN]);

impl Drop for KeyBytes {
    fn drop(&mut self) {
        for byte in self.0.iter_mut() {
            // Volatile so the wipe is not optimised away: the key should not outlive its use
            // in freed memory.
            unsafe { std::ptr::write_volatile(byte, 0) };
        }
    }
}

impl DatabaseKey {
    /// A key from exactly 32 bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, StoreError> {
        let bytes: [u8; DATABASE_KEY_LEN] = bytes.try_into().map_err(|_| StoreError::BadKey {
            reason: format!(
                "a database key has {DATABASE_KEY_LEN} bytes, not {}",
                bytes.len()
            ),
        })?;
        Ok(Self(std::sync::Arc::new(KeyBytes(bytes))))
    }

    /// The database key of an installation whose keystore holds `storage_key` (32 bytes;
    /// photos are sealed with it directly). HKDF-SHA256 under a label of its own keeps the
    /// two uses apart, so one key never serves two ciphers, and the shell keeps one secret.
    pub fn derive(storage_key: &[u8]) -> Result<Self, StoreError> {
        struct Len;
        impl ring::hkdf::KeyType for Len {
            fn len(&self) -> usize {
                DATABASE_KEY_LEN
            }
        }
        if storage_key.len() != DATABASE_KEY_LEN {
            return Err(StoreError::BadKey {
                reason: format!(
                    "a storage key has {DATABASE_KEY_LEN} bytes, not {}",
                    storage_key.len()
                ),
            });
        }
        let mut bytes = [0u8; DATABASE_KEY_LEN];
        ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"jobpack")
            .extract(storage_key)
            .expand(&[b"jobpack database key v1"], Len)
            .and_then(|okm| okm.fill(&mut bytes))
            .map_err(|_| StoreError::BadKey {
                reason: "key derivation failed".into(),
            })?;
        let key = Self::new(&bytes);
        for byte in bytes.iter_mut() {
            unsafe { std::ptr::write_volatile(byte, 0) };
        }
        key
    }

    /// The key as SQLCipher's raw-key text, `x'<64 hex digits>'`: used as is, not derived.
    fn raw_key_text(&self) -> String {
        let mut text = String::with_capacity(2 * DATABASE_KEY_LEN + 3);
        text.push_str("x'");
        for byte in self.0.0 {
            text.push_str(&format!("{byte:02x}"));
        }
        text.push('\'');
        text
    }
}

impl fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DatabaseKey(<redacted>)")
    }
}

/// Keys a connection; must run before anything reads the file.
pub(super) fn apply_key(conn: &Connection, key: &DatabaseKey) -> rusqlite::Result<()> {
    // SQLCipher's own log goes to stderr; a wrong key is a typed error here, not a log line.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    conn.execute_batch(&format!("PRAGMA key = \"{}\";", key.raw_key_text()))
}

/// Where the encrypted copy is written during the migration.
pub(super) fn encrypting_path(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.encrypting", path.display()))
}

/// Encrypts the plain database that `plain` has open (ours, migrated) into `path` itself.
///
/// On success the file at `path` is the encrypted database and `plain` (which holds the old
/// file's lock until then) must be dropped by the caller, which reopens with the key. Another connection to the plain file (another
/// process) makes this [`StoreError::Busy`] with nothing changed: the file is replaced only
/// while this connection holds it alone.
pub(super) fn encrypt_in_place(
    plain: &Connection,
    path: &Path,
    key: &DatabaseKey,
    busy_timeout: Duration,
    version: i64,
    application_id: i32,
) -> Result<(), StoreError> {
    let busy = || StoreError::Busy {
        path: path.to_owned(),
    };
    let io = |at: &Path, e: io::Error| StoreError::Io {
        path: at.to_owned(),
        reason: e.to_string(),
    };
    // Out of WAL: the export must see every page in the main file, and the exclusive lock
    // below only shuts other processes out in rollback-journal mode. SQLite refuses the
    // switch while another connection has the file open, which is the "not alone" test.
    let started = Instant::now();
    loop {
        let switched = plain
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .and_then(|()| {
                plain.query_row("PRAGMA journal_mode = DELETE", [], |r| {
                    r.get::<_, String>(0)
                })
            });
        match switched {
            Ok(mode) if mode.eq_ignore_ascii_case("delete") => break,
            Ok(_) => {}
            Err(e) if !is_busy(&e) => return Err(StoreError::Sqlite(e)),
            Err(_) => {}
        }
        if started.elapsed() >= busy_timeout {
            return Err(busy());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Hold the file alone until this connection is dropped: in exclusive locking mode the
    // lock taken by BEGIN EXCLUSIVE is kept after the (empty) transaction ends, so the export
    // below can run in autocommit (an attached database cannot be detached inside a
    // transaction) while no other process can read or write the plain file.
    plain
        .execute_batch("PRAGMA main.locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;")
        .map_err(|e| {
            if is_busy(&e) {
                busy()
            } else {
                StoreError::Sqlite(e)
            }
        })?;
    let target = encrypting_path(path);
    let exported = (|| {
        // A leftover from a migration that crashed: the plain file is still the truth.
        match fs::remove_file(&target) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io(&target, e)),
            _ => {}
        }
        super::file::create_empty(&target)?;
        plain.execute(
            "ATTACH DATABASE ?1 AS encrypted KEY ?2",
            [
                target.to_string_lossy().as_ref(),
                key.raw_key_text().as_str(),
            ],
        )?;
        let copied = plain
            .query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))
            .and_then(|()| {
                plain.execute_batch(&format!(
                    "PRAGMA encrypted.user_version = {version};
                     PRAGMA encrypted.application_id = {application_id};"
                ))
            });
        let detached = plain.execute_batch("DETACH DATABASE encrypted");
        copied?;
        detached?;
        fs::File::open(&target)
            .and_then(|f| f.sync_all())
            .map_err(|e| io(&target, e))?;
        fs::rename(&target, path).map_err(|e| io(path, e))?;
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // The rename is durable once the folder is.
            let _ = fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    })();
    if exported.is_err() {
        let _ = fs::remove_file(&target);
    }
    exported
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Whether the file starts with plain SQLite's header (an unreadable file counts as not).
pub(super) fn is_plaintext(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 16];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| &magic == b"SQLite format 3\0")
}
