//! The device's data over time: pruning delivered work (retention), counting what a sign-out
//! would lose, and wiping the engineer's files. Unsent work is never pruned, and a wipe refuses
//! while anything is unsent unless forced, so no engineer action is lost silently.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Engine, Error};
use crate::photos::PhotoStore;
use crate::state::{PruneFailure, prune_with};
use crate::store::{self, DatabaseKey, PruneReport, Retention, Store, StoreError, StoreOptions};

/// What a wipe removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WipeReport {
    pub files_removed: u64,
    /// Unsent outbox items that were in the database (only non-zero when forced).
    pub unsent_items_lost: u64,
    /// The database did not open with the key given, so what it held was not counted
    /// (only when forced).
    pub unreadable: bool,
}

impl Engine {
    /// Prunes delivered work older than `retention` now (the sync loop also does it hourly
    /// with its policy's retention). Unsent work is never pruned.
    pub fn prune(&self, retention: &Retention) -> Result<PruneReport, Error> {
        prune_with(&self.shared, retention).map_err(|failure| match failure {
            PruneFailure::Store(e) => e.into(),
            PruneFailure::Photo(e) => Error::Photo(e.into()),
        })
    }

    /// Outbox items not yet delivered (queued, retrying, parked): what a sign-out would lose.
    pub fn unsent_items(&self) -> Result<u64, Error> {
        Ok(self.shared.with_store(|s| store::unsent_items(s.conn()))?)
    }

    /// Deletes this device's data for the engineer — the database with its WAL files and the
    /// photo folder (`photos`, or the one beside the database) — for a sign-out. Refuses with
    /// [`Error::UnsentWork`] (saying how many items would be lost) while anything is unsent,
    /// unless `force`. No engine may have the database open. An encrypted database needs its
    /// `key` to count what would be lost; one the key does not open (the keystore lost it)
    /// can only be wiped with `force`.
    pub fn wipe(
        database: &Path,
        photos: Option<&Path>,
        key: Option<&DatabaseKey>,
        force: bool,
    ) -> Result<WipeReport, Error> {
        let mut report = WipeReport::default();
        let options = StoreOptions {
            key: key.cloned(),
            ..StoreOptions::default()
        };
        match std::fs::symlink_metadata(database) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            _ => {
                let (store, _) = match Store::open_with(database, &options) {
                    Err(StoreError::WrongKey { .. }) if force => {
                        report.unreadable = true;
                        return Self::remove_device_files(database, photos, report);
                    }
                    opened => opened?,
                };
                report.unsent_items_lost = store::unsent_items(store.conn())?;
                if report.unsent_items_lost > 0 && !force {
                    return Err(Error::UnsentWork {
                        items: report.unsent_items_lost,
                    });
                }
                drop(store);
            }
        }
        Self::remove_device_files(database, photos, report)
    }

    fn remove_device_files(
        database: &Path,
        photos: Option<&Path>,
        mut report: WipeReport,
    ) -> Result<WipeReport, Error> {
        let remove = |path: &Path| -> Result<bool, Error> {
            match std::fs::remove_file(path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(StoreError::Io {
                    path: path.to_owned(),
                    reason: format!("cannot remove it: {e}"),
                }
                .into()),
            }
        };
        for suffix in ["", "-wal", "-shm", "-journal", ".encrypting"] {
            let path = PathBuf::from(format!("{}{suffix}", database.display()));
            report.files_removed += u64::from(remove(&path)?);
        }
        let dir = photos
            .map(Path::to_owned)
            .unwrap_or_else(|| PhotoStore::dir_beside_database(database));
        if dir.is_dir() {
            let unlisted = |e: std::io::Error| StoreError::Io {
                path: dir.clone(),
                reason: format!("cannot list it: {e}"),
            };
            for entry in std::fs::read_dir(&dir).map_err(unlisted)? {
                let entry = entry.map_err(unlisted)?;
                if entry.file_type().is_ok_and(|t| t.is_file()) {
                    report.files_removed += u64::from(remove(&entry.path())?);
                }
            }
            let _ = std::fs::remove_dir(&dir);
        }
        Ok(report)
    }
}
