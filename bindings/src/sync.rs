//! Connectivity and delivery. The shell reports the network; the core does the rest.
//!
//! `set_online(true)` starts a sync at once, so the shell only forwards the platform's
//! connectivity callbacks. `sync_until_idle` is for a "send now" button and for tests: it
//! awaits a clean cycle with nothing left to deliver (parked items wait for the engineer and
//! do not count), on the core's runtime.

use std::time::Duration;

use jobpack_core::sync::SyncStatus as CoreStatus;

use crate::Jobpack;
use crate::errors::Result;

/// What the sync indicator shows.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncStatus {
    pub online: bool,
    /// Items still to deliver (queued, sending, retrying).
    pub pending: u64,
    /// Items waiting for the engineer.
    pub parked: u64,
    /// The endpoint in use (index into the configured list).
    pub endpoint: u32,
    /// The last failure, if the last cycle had one.
    pub last_error: Option<String>,
    /// Sync cycles completed since the core opened.
    pub cycles: u64,
    /// Inbox messages that could not be read.
    pub quarantined: u64,
}

impl From<CoreStatus> for SyncStatus {
    fn from(s: CoreStatus) -> Self {
        SyncStatus {
            online: s.online,
            pending: s.pending,
            parked: s.parked,
            endpoint: s.endpoint,
            last_error: s.last_error,
            cycles: s.cycles,
            quarantined: s.quarantined,
        }
    }
}

#[uniffi::export]
impl Jobpack {
    /// The platform's connectivity changed; coming online starts a sync at once.
    pub fn set_online(&self, online: bool) {
        self.engine.set_online(online);
    }

    /// Starts a sync cycle now (pull to refresh).
    pub fn sync_now(&self) {
        self.engine.sync_now();
    }

    pub fn status(&self) -> SyncStatus {
        self.engine.status().into()
    }

    /// Syncs and waits until nothing is left to deliver, or fails with `Offline`,
    /// `NoEndpoints` or `SyncTimeout` (with what is still pending).
    pub async fn sync_until_idle(&self, timeout_ms: u64) -> Result<SyncStatus> {
        let engine = self.engine.clone();
        let task = self.runtime.spawn(async move {
            let result = engine
                .sync_until_idle(Duration::from_millis(timeout_ms))
                .await;
            crate::release(engine);
            result
        });
        Ok(task.await??.into())
    }
}
