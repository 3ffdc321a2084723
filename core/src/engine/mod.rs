//! The core as an app sees it: open it with a configuration, act on jobs, watch the outbox,
//! and let it synchronise in the background.
//!
//! Every engineer action is one SQLite transaction (with `synchronous=FULL`) holding the job's
//! new state, the action in the history and the outbox message it produces, with the message's
//! JSON-RPC id and idempotency key fixed there and then. The call returns as soon as that
//! commit is done — the UI never waits for the network — and wakes the sync engine, which owns
//! its tokio runtime (or runs on one it is given) so the FFI layer can call in from any thread.
//!
//! Errors are public and typed ([`Error`]); store internals are folded into `Storage` with
//! their message so the shells never depend on rusqlite.

//! The façade is split along its seams, each file one role:
//! * `config` — [`Config`] and [`PhotoConfig`], what an app opens the core with;
//! * `error` — [`Error`], the one error type, with the lower layers' errors folded in;
//! * `actions` — the engineer's lifecycle actions, one transaction each;
//! * `queries` — reading jobs, the outbox, the quarantine, status and events;
//! * `outbox_control` — resend, discard, correct a parked close; uploads and inbound messages;
//! * `device` — retention, unsent work and the sign-out wipe;
//! * `sync_control` — connectivity, "sync now" and the waits for a cycle;
//! * `closure`, `scan`, `view` — the closure flow, scan sessions, and what the app is shown.
//!
//! This file opens and stops the engine.

mod actions;
mod closure;
mod config;
mod device;
mod error;
mod outbox_control;
mod queries;
mod scan;
mod sync_control;
mod view;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub use crate::state::Event;
pub use closure::{FlowView, PhotoView, QuestionView};
pub use config::{Config, HubUpload, MAX_ENDPOINTS, PhotoConfig, PhotoUpload};
pub use device::WipeReport;
pub use error::{DatabaseProblem, Error};
pub use scan::JobScan;
pub use view::{ActionReceipt, JobView, QuarantinedMessage};

use crate::clock::{ClockCheck, TrustedClock};
use crate::closure::Matrix;
use crate::codes::Catalogue;
use crate::photos::{HubPresignedUploader, PhotoStore, S3Uploader};
use crate::state::{CLOCK_CHECK_KEY, PhotoSetup, Shared};
use crate::store::{OpenReport, Store, StoreOptions};
use crate::sync::{SyncLoop, Uploader};
use crate::transport::Transport;
use actions::new_message_identity;

/// The running core of one engineer's device.
pub struct Engine {
    shared: Arc<Shared>,
    report: OpenReport,
    shutdown: watch::Sender<bool>,
    has_endpoints: bool,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens the core on a runtime of its own (for the FFI and the CLI).
    pub fn open(config: Config) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("jobpack-sync")
            .enable_all()
            .build()
            .map_err(|e| Error::Config {
                reason: format!("cannot start the runtime: {e}"),
            })?;
        let mut engine = Self::open_on(config, runtime.handle(), None)?;
        engine.runtime = Some(runtime);
        Ok(engine)
    }

    /// Opens the core with its sync task on an existing runtime, optionally with an uploader
    /// for upload items.
    pub fn open_on(
        config: Config,
        handle: &tokio::runtime::Handle,
        uploader: Option<Arc<dyn Uploader>>,
    ) -> Result<Self, Error> {
        config.check()?;
        config.engineer.validate()?;
        let catalogue = match &config.partner_catalogue {
            Some(json) => Catalogue::with_partner_file(json)?,
            None => Catalogue::embedded(),
        };
        let matrix = match &config.closure_matrix {
            Some(json) => Matrix::from_json(json, &catalogue)?,
            None => Matrix::default_for(&catalogue)?,
        };
        // The database first: a file that is refused must not get a photo folder beside it.
        let options = StoreOptions {
            key: config.database_key.clone(),
            ..StoreOptions::default()
        };
        let (store, report) = Store::open_with(&config.database, &options)?;
        let photo_dir = config
            .photos
            .directory
            .clone()
            .unwrap_or_else(|| PhotoStore::dir_beside_database(&config.database));
        let mut photo_store = PhotoStore::open(photo_dir).map_err(|e| Error::Config {
            reason: format!("photo storage: {e}"),
        })?;
        if let Some(key) = config.photos.key.clone() {
            photo_store = photo_store.with_key(key);
        }
        let uploader: Option<Arc<dyn Uploader>> = match (uploader, config.photos.upload.clone()) {
            (Some(given), _) => Some(given),
            (None, Some(PhotoUpload::ViaHub(hub))) => Some(Arc::new(HubPresignedUploader::new(
                // Its own client, with the same endpoints and device certificate as the sync.
                Transport::new(config.endpoints.clone(), &config.tls, config.timeouts)?,
                hub.s3_trust_anchors_pem,
                hub.allow_plain_http_loopback,
                config.timeouts,
                photo_store.clone(),
            )?)),
            (None, Some(PhotoUpload::DirectS3(s3))) => {
                Some(Arc::new(S3Uploader::new(s3, photo_store.clone())?))
            }
            (None, None) => None,
        };
        let kept_check = store
            .sync_value(CLOCK_CHECK_KEY)?
            .as_deref()
            .and_then(ClockCheck::from_record);
        let clock = Arc::new(TrustedClock::new(kept_check));
        let transport = if config.endpoints.is_empty() {
            None
        } else {
            Some(
                Transport::new(config.endpoints.clone(), &config.tls, config.timeouts)?
                    .with_clock(clock.clone()),
            )
        };
        let shared = Arc::new(Shared::new(
            store,
            catalogue,
            config.engineer,
            matrix,
            PhotoSetup {
                store: photo_store,
                ingest: config.photos.ingest,
                bucket: config.photos.bucket,
            },
            uploader,
            clock,
            config.start_online,
        ));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let has_endpoints = transport.is_some();
        if let Some(transport) = transport {
            let sync = SyncLoop::new(shared.clone(), transport, config.sync);
            handle.spawn(sync.run(shutdown_rx));
        }
        Ok(Self {
            shared,
            report,
            shutdown,
            has_endpoints,
            runtime: None,
        })
    }

    /// The runtime the engine owns, when opened with [`Engine::open`]: the FFI layer runs its
    /// blocking calls and subscriptions there instead of starting a second runtime.
    pub fn runtime_handle(&self) -> Option<tokio::runtime::Handle> {
        self.runtime.as_ref().map(|rt| rt.handle().clone())
    }

    /// What happened when the database was opened (a recovery from corruption, if any).
    pub fn open_report(&self) -> &OpenReport {
        &self.report
    }

    /// Stops the sync task. Nothing is lost: queued items stay queued.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.shutdown.send_replace(true);
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}
