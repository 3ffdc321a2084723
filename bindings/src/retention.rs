//! Retention and sign-out: pruning delivered work, and wiping the device's data.
//!
//! The rules live in the core (`jobpack_core::store::retention`, `Engine::wipe`): unsent work
//! is never pruned, and a wipe refuses with `JobpackError.UnsentWork` (saying how many items
//! would be lost) unless forced.

use std::path::PathBuf;
use std::time::Duration;

use jobpack_core::engine::Engine;
use jobpack_core::store::{self, DatabaseKey};

use crate::Jobpack;
use crate::errors::{JobpackError, Result};
pub use jobpack_core::engine::WipeReport;
pub use jobpack_core::store::PruneReport;

/// How many days delivered work is kept; `None` keeps it forever.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Retention {
    #[uniffi(default = Some(30))]
    pub sent_messages_days: Option<u32>,
    #[uniffi(default = Some(30))]
    pub applied_inbox_days: Option<u32>,
    #[uniffi(default = Some(30))]
    pub uploaded_photos_days: Option<u32>,
}

impl From<Retention> for store::Retention {
    fn from(r: Retention) -> Self {
        let days = |d: Option<u32>| d.map(|d| Duration::from_secs(u64::from(d) * 24 * 3600));
        store::Retention {
            sent_messages: days(r.sent_messages_days),
            applied_inbox: days(r.applied_inbox_days),
            uploaded_photos: days(r.uploaded_photos_days),
        }
    }
}

/// What one pruning pass removed.
#[uniffi::remote(Record)]
pub struct PruneReport {
    pub outbox_rows: u64,
    pub inbox_bodies: u64,
    pub photo_files: u64,
}

/// What a wipe removed.
#[uniffi::remote(Record)]
pub struct WipeReport {
    pub files_removed: u64,
    /// Unsent items that were lost (non-zero only when forced).
    pub unsent_items_lost: u64,
    /// The database did not open with the key, so its contents were not counted (forced only).
    pub unreadable: bool,
}

#[uniffi::export]
impl Jobpack {
    /// Prunes delivered work older than `retention` now (the core also prunes hourly with
    /// its default of 30 days). Unsent work is never pruned.
    pub async fn prune(&self, retention: Retention) -> Result<PruneReport> {
        let retention = store::Retention::from(retention);
        self.blocking(move |e| e.prune(&retention)).await
    }

    /// Outbox items not yet delivered (queued, retrying, parked): what a sign-out would lose.
    pub async fn unsent_items(&self) -> Result<u64> {
        self.blocking(|e| e.unsent_items()).await
    }
}

/// Deletes the engineer's database and photos for a sign-out. Close every `Jobpack` handle on
/// the database first. Refuses with `UnsentWork { items }` while anything is unsent, unless
/// `force`. `photos_directory` and `storage_key` are the ones given in the config, if any; a
/// database the key does not open (the keystore lost it) is only removed with `force`.
#[uniffi::export]
pub fn wipe_device_data(
    database_path: String,
    photos_directory: Option<String>,
    storage_key: Option<Vec<u8>>,
    force: bool,
) -> Result<WipeReport> {
    let photos = photos_directory.map(PathBuf::from);
    let key = storage_key
        .as_deref()
        .map(DatabaseKey::derive)
        .transpose()
        .map_err(|e| JobpackError::Config {
            reason: e.to_string(),
        })?;
    Engine::wipe(
        &PathBuf::from(database_path),
        photos.as_deref(),
        key.as_ref(),
        force,
    )
    .map_err(JobpackError::from)
}
