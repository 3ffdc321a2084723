//! Creating the database's files: private from the first byte.
//!
//! Both the careful open (a new database) and the encryption migration (its encrypted copy)
//! create files that will hold customers' details, so both go through here: created with
//! mode 0600 before anything is written, never truncating a file another process made first.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::Path;

use super::StoreError;

/// Creates `path` empty with mode 0600 (and its folder), or leaves it if it already exists.
pub(super) fn create_empty(path: &Path) -> Result<(), StoreError> {
    let io = |at: &Path, e: io::Error| StoreError::Io {
        path: at.to_owned(),
        reason: e.to_string(),
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // SQLite gives its -wal and -shm files the database file's mode.
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        // Another process created it first: fine, it is judged like any existing file.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io(path, e)),
    }
}
