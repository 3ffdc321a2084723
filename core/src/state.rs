//! What the engine's API and its sync loop share, below both: the store handle and the
//! state around it ([`Shared`]), the events subscribers get ([`Event`]), the sync status and
//! the retention pass. The sync loop is built on this module, not on the engine, so it can be
//! run (and tested) without an `Engine`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, Transaction, TransactionBehavior};
use serde::Serialize;
use tokio::sync::{Notify, broadcast, watch};

use crate::clock::{ActionTime, ClockCheck, TrustedClock};
use crate::closure::Matrix;
use crate::codes::Catalogue;
use crate::outbox::{ItemState, OutboxItem};
use crate::photos::{IngestConfig, PhotoStore, StorageError};
use crate::protocol::{EngineerDetails, Timestamp};
use crate::store::{self, PruneReport, Retention, Store, StoreError};
use crate::transport::Uploader;

/// What the UI shows about synchronisation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    pub online: bool,
    /// Items still to deliver (queued, sending, retrying).
    pub pending: u64,
    /// Items waiting for the engineer.
    pub parked: u64,
    /// The endpoint in use (index into the configured list, which an engine keeps to
    /// [`MAX_ENDPOINTS`](crate::engine::MAX_ENDPOINTS) entries).
    pub endpoint: u32,
    /// The last failure, if the last cycle had one.
    pub last_error: Option<String>,
    /// Sync cycles started since the engine started.
    pub cycles_started: u64,
    /// Sync cycles completed since the engine started.
    pub cycles: u64,
    /// Quarantined inbox messages.
    pub quarantined: u64,
}

/// What changed, for subscribers (the shells' screens).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum Event {
    JobChanged {
        job_ref: String,
    },
    OutboxChanged {
        seq: i64,
        job_ref: String,
        state: ItemState,
    },
    Sync(SyncStatus),
    /// A scan session (`Engine::scan_session`) made progress on a frame.
    ScanProgress {
        job_ref: String,
        #[serde(serialize_with = "as_text")]
        progress: crate::qr::ScanProgress,
    },
}

/// A scan result in events serialised for tools: its sentence.
fn as_text<S: serde::Serializer>(
    progress: &crate::qr::ScanProgress,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(progress)
}

/// Where photos are kept and how they are prepared.
pub(crate) struct PhotoSetup {
    pub(crate) store: PhotoStore,
    pub(crate) ingest: IngestConfig,
    pub(crate) bucket: String,
}

/// The `sync_state` key of the last clock check, kept so a restart offline still corrects.
pub(crate) const CLOCK_CHECK_KEY: &str = "clock_check";

/// State shared by the engine's API and its sync loop.
pub(crate) struct Shared {
    store: Mutex<Store>,
    pub(crate) catalogue: Catalogue,
    engineer: EngineerDetails,
    events: broadcast::Sender<Event>,
    pub(crate) wake: Notify,
    pub(crate) online: watch::Sender<bool>,
    pub(crate) status: watch::Sender<SyncStatus>,
    pub(crate) uploader: Option<Arc<dyn Uploader>>,
    pub(crate) matrix: Matrix,
    pub(crate) photos: PhotoSetup,
    /// Outbox items claimed by the sync loop and not yet recorded (shown as `sending`).
    in_flight: Mutex<HashSet<i64>>,
    /// The device clock checked against the servers' (`crate::clock`).
    pub(crate) clock: Arc<TrustedClock>,
    /// The clock check last written to the database, so an unchanged one is not rewritten.
    kept_clock_check: Mutex<Option<ClockCheck>>,
    /// Set by an explicit request ("sync now", connectivity back): the next cycle retries
    /// every waiting item at once instead of waiting out its backoff.
    pub(crate) retry_waiting_now: std::sync::atomic::AtomicBool,
}

impl Shared {
    /// The state of one engineer's core: its open store and what it was configured with;
    /// online as `start_online` says, nothing in flight, no explicit sync request.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        store: Store,
        catalogue: Catalogue,
        engineer: EngineerDetails,
        matrix: Matrix,
        photos: PhotoSetup,
        uploader: Option<Arc<dyn Uploader>>,
        clock: Arc<TrustedClock>,
        start_online: bool,
    ) -> Self {
        let kept_check = clock.last_check();
        let (events, _) = broadcast::channel(1024);
        Self {
            store: Mutex::new(store),
            catalogue,
            engineer,
            events,
            wake: Notify::new(),
            online: watch::Sender::new(start_online),
            status: watch::Sender::new(SyncStatus {
                online: start_online,
                ..SyncStatus::default()
            }),
            uploader,
            matrix,
            photos,
            in_flight: Mutex::new(HashSet::new()),
            clock,
            kept_clock_check: Mutex::new(kept_check),
            retry_waiting_now: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The engineer this core works for.
    pub(crate) fn engineer(&self) -> &EngineerDetails {
        &self.engineer
    }

    /// A new subscription to [`Event`]s.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The time of an action the device puts at `device` (now when `None`), corrected by the
    /// last clock check and kept from coming before the job's latest recorded time. Runs in
    /// the action's transaction, which also keeps a new clock check for the next start.
    pub(crate) fn action_time(
        &self,
        tx: &Connection,
        job_ref: &str,
        device: Option<Timestamp>,
    ) -> Result<(ActionTime, bool), StoreError> {
        let stamped = self.clock.stamp(device.unwrap_or_else(Timestamp::now));
        let latest = store::latest_time_of_job(tx, job_ref)?;
        let check = self.clock.last_check();
        let mut kept = self
            .kept_clock_check
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(check) = check.filter(|c| Some(*c) != *kept) {
            store::set_sync_value(tx, CLOCK_CHECK_KEY, &check.to_record())?;
            *kept = Some(check);
        }
        Ok(stamped.not_before(latest))
    }

    pub(crate) fn lock_in_flight(&self) -> MutexGuard<'_, HashSet<i64>> {
        self.in_flight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Items in flight are `queued` or `retrying` in the database; show them as sending.
    pub(crate) fn with_live_states(&self, mut items: Vec<OutboxItem>) -> Vec<OutboxItem> {
        let in_flight = self.lock_in_flight();
        for item in &mut items {
            if in_flight.contains(&item.seq) {
                item.state = ItemState::Sending;
            }
        }
        items
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back on drop), so the store is still consistent: keep using it.
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn with_store<T>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(&self.lock())
    }

    /// Bookkeeping writes: `synchronous=NORMAL` (see the sync module for why that is safe).
    pub(crate) fn with_store_relaxed<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = self.lock();
        let conn = guard.conn_mut();
        conn.execute_batch("PRAGMA synchronous = NORMAL")?;
        let result = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })();
        conn.execute_batch("PRAGMA synchronous = FULL")?;
        result
    }

    /// A durable transaction.
    pub(crate) fn with_store_tx<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.transact(f)
    }

    /// A durable transaction whose body may also refuse (an unknown job, an illegal action):
    /// any error rolls it back, so a refusal writes nothing.
    pub(crate) fn transact<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut guard = self.lock();
        let tx = guard
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let value = f(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(value)
    }

    pub(crate) fn emit(&self, event: Event) {
        // No subscriber is fine: events are hints, the store is the truth.
        let _ = self.events.send(event);
    }
}

/// Why a retention pass stopped.
#[derive(Debug)]
pub(crate) enum PruneFailure {
    Store(StoreError),
    Photo(StorageError),
}

impl From<StoreError> for PruneFailure {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// One retention pass: the database part in one transaction, then the photo files.
pub(crate) fn prune_with(
    shared: &Shared,
    retention: &Retention,
) -> Result<PruneReport, PruneFailure> {
    let now = Timestamp::now().unix_millis();
    let pruned = shared.with_store_tx(|tx| store::prune(tx, retention, now))?;
    let mut report = pruned.report;
    for hash in &pruned.photo_files {
        let Ok(hash) = crate::photos::PhotoHash::parse(hash) else {
            continue;
        };
        if shared
            .photos
            .store
            .remove(&hash)
            .map_err(PruneFailure::Photo)?
        {
            report.photo_files += 1;
        }
    }
    Ok(report)
}
