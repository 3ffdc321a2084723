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

mod closure;
mod scan;
mod view;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, Transaction};
use serde::Serialize;
use tokio::sync::{broadcast, watch};

pub use crate::state::Event;
pub use closure::{FlowView, PhotoView, QuestionView};
pub use scan::JobScan;
pub use view::{ActionReceipt, JobView, QuarantinedMessage};

use crate::clock::{ActionTime, ClockCheck, TimeSource, TrustedClock};
use crate::closure::{AnswerError, Gap, Matrix, MatrixProblems};
use crate::codes::{Catalogue, CatalogueError};
use crate::lifecycle::{Action, ClosureChoice, LifecycleError, NextAction, Warning};
use crate::outbox::{self, ItemKind, ItemState, NewItem, OutboxCounts, OutboxError, OutboxItem};
use crate::photos::{IngestConfig, PhotoError, PhotoKey, PhotoStore, S3Config, S3Uploader};
use crate::protocol::{
    EngineerDetails, Location, OntDevice, OutboundCall, OutboundRequest, ProtocolError, RpcId,
    Timestamp,
};
use crate::state::{CLOCK_CHECK_KEY, PhotoSetup, PruneFailure, Shared, prune_with};
use crate::store::{
    self, DatabaseKey, OpenReport, PruneReport, Retention, StorageFailure, Store, StoreError,
    StoreOptions, StoredJob,
};
use crate::sync::inbox::PageOutcome;
use crate::sync::{SyncLoop, SyncPolicy, SyncStatus, Uploader};
use crate::transport::{Timeouts, TlsMaterial, Transport, TransportError};

/// Everything the core needs to start.
#[derive(Clone)]
pub struct Config {
    /// The engineer's SQLite file.
    pub database: PathBuf,
    /// Encrypts the database at rest (SQLCipher) when set: 32 bytes from the platform
    /// keystore. A plain database is encrypted in place the first time a key is given.
    pub database_key: Option<DatabaseKey>,
    /// Equivalent endpoints (the hub, or CityFibre's two gateways); empty = never sync.
    pub endpoints: Vec<String>,
    pub tls: TlsMaterial,
    pub timeouts: Timeouts,
    /// Who is doing the work; sent with the assignment notification.
    pub engineer: EngineerDetails,
    /// A partner catalogue file's JSON, applied over the embedded code tables.
    pub partner_catalogue: Option<String>,
    pub sync: SyncPolicy,
    /// Whether to consider the device online before the shell says anything.
    pub start_online: bool,
    /// CityFibre's question based closure matrix (JSON); the built-in default when `None`.
    pub closure_matrix: Option<String>,
    pub photos: PhotoConfig,
}

/// How closure photos are prepared, kept and uploaded.
#[derive(Debug, Clone)]
pub struct PhotoConfig {
    /// The bucket photos are named in (`s3://<bucket>/...`).
    pub bucket: String,
    /// Where the core keeps its copies; next to the database (`<db>.photos/`) when `None`.
    pub directory: Option<PathBuf>,
    pub ingest: IngestConfig,
    /// Where uploads go; without it photo uploads wait (and say so) until one is configured.
    pub s3: Option<S3Config>,
    /// Seals photo files at rest (AES-256-GCM) when set; from the platform keystore.
    pub key: Option<PhotoKey>,
}

impl Default for PhotoConfig {
    fn default() -> Self {
        Self {
            bucket: "jobpack-photos".into(),
            directory: None,
            ingest: IngestConfig::default(),
            s3: None,
            key: None,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database", &self.database)
            .field("database_key", &self.database_key)
            .field("endpoints", &self.endpoints)
            .field("tls", &self.tls)
            .field("engineer", &self.engineer.engineer_id)
            .finish_non_exhaustive()
    }
}

/// What the core refuses or fails at, as the app sees it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("no job {job_ref} on this device")]
    UnknownJob { job_ref: String },
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// An outbox operation refused (its storage failures are [`Error::Storage`]).
    #[error(transparent)]
    Outbox(OutboxError),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The database failed; `source` is the store's error (and SQLite's beneath it).
    #[error("local storage failed: {source}")]
    Storage {
        #[source]
        source: StorageFailure,
    },
    #[error(
        "the database was written by a newer version of the app (schema {found}, this build knows up to {supported}); update the app"
    )]
    NewerDatabase { found: i64, supported: i64 },
    /// The database file cannot be used as it is; it was left untouched.
    #[error("{reason}")]
    DatabaseUnavailable {
        problem: DatabaseProblem,
        reason: String,
    },
    #[error("configuration: {reason}")]
    Config { reason: String },
    #[error("the device is offline")]
    Offline,
    #[error("sync did not become idle in time: {pending} items pending{}", .last_error.as_ref().map(|e| format!(", last error: {e}")).unwrap_or_default())]
    SyncTimeout {
        pending: u64,
        last_error: Option<String>,
    },
    #[error("this engine has no endpoints to sync with")]
    NoEndpoints,
    /// An explicit sync cycle ran and failed (the endpoint unreachable, refusing TLS...).
    #[error("the sync cycle failed ({pending} items still to deliver): {reason}")]
    SyncFailed { pending: u64, reason: String },
    #[error("the closure matrix has {} problem(s): {}", .problems.len(), .problems.join("; "))]
    Matrix { problems: Vec<String> },
    #[error("question {question_code} is not in the closure matrix")]
    UnknownQuestion { question_code: String },
    #[error("question {question_code} accepts at most {allowed} photo(s)")]
    TooManyPhotos { question_code: String, allowed: u32 },
    #[error("answer to question {question_code}: {reason}")]
    Answer {
        question_code: String,
        reason: AnswerError,
    },
    #[error("no photo {photo_id} on this job")]
    UnknownPhoto { photo_id: i64 },
    #[error(transparent)]
    Photo(#[from] PhotoError),
    #[error("cannot send yet, {} thing(s) missing: {}", .gaps.len(), .gaps.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Incomplete { gaps: Vec<Gap> },
    /// Signing out or wiping would lose work that has not reached CityFibre.
    #[error(
        "{items} item(s) have not been sent and would be lost; sync first, or force to lose them"
    )]
    UnsentWork { items: u64 },
}

impl From<MatrixProblems> for Error {
    fn from(problems: MatrixProblems) -> Self {
        Self::Matrix {
            problems: problems.iter().map(ToString::to_string).collect(),
        }
    }
}

/// Why the database file was refused at open (see [`Error::DatabaseUnavailable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DatabaseProblem {
    /// Another process held its lock past the wait: try again.
    Busy,
    /// The file (or its folder) cannot be written.
    ReadOnly,
    /// The path is a directory, a device or another special file.
    NotARegularFile,
    /// Another application's SQLite database.
    ForeignDatabase,
    /// Not a database, or unreadable and not marked as ours.
    NotADatabase,
    /// An encrypted database that does not open with the key given (or not a database).
    WrongKey,
}

impl Error {
    fn unavailable(problem: DatabaseProblem, e: &StoreError) -> Self {
        Self::DatabaseUnavailable {
            problem,
            reason: e.to_string(),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NewerSchema { found, supported } => {
                Self::NewerDatabase { found, supported }
            }
            StoreError::Busy { .. } => Self::unavailable(DatabaseProblem::Busy, &e),
            StoreError::ReadOnly { .. } => Self::unavailable(DatabaseProblem::ReadOnly, &e),
            StoreError::NotARegularFile { .. } => {
                Self::unavailable(DatabaseProblem::NotARegularFile, &e)
            }
            StoreError::ForeignDatabase { .. } => {
                Self::unavailable(DatabaseProblem::ForeignDatabase, &e)
            }
            StoreError::NotADatabase { .. } | StoreError::Unreadable { .. } => {
                Self::unavailable(DatabaseProblem::NotADatabase, &e)
            }
            StoreError::WrongKey { .. } => Self::unavailable(DatabaseProblem::WrongKey, &e),
            StoreError::BadKey { .. } => Self::Config {
                reason: e.to_string(),
            },
            other => Self::Storage {
                source: other.into(),
            },
        }
    }
}

impl From<OutboxError> for Error {
    fn from(e: OutboxError) -> Self {
        match e {
            OutboxError::Storage(source) => Self::Storage { source },
            refusal => Self::Outbox(refusal),
        }
    }
}

impl From<CatalogueError> for Error {
    fn from(e: CatalogueError) -> Self {
        Self::Config {
            reason: e.to_string(),
        }
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        Self::Config {
            reason: e.to_string(),
        }
    }
}

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

fn new_message_identity() -> (RpcId, String) {
    let uuid = uuid::Uuid::new_v4();
    let id = (uuid.as_u128() as u64) & RpcId::MAX;
    // An id of 0 is one chance in 2^53; 1 keeps it valid and the key keeps it unique.
    let id = RpcId::new(id.max(1)).unwrap_or_else(|_| unreachable!("masked to 53 bits"));
    (id, uuid.to_string())
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
        let uploader = match (uploader, config.photos.s3.clone()) {
            (Some(given), _) => Some(given),
            (None, Some(s3)) => {
                Some(Arc::new(S3Uploader::new(s3, photo_store.clone())?) as Arc<dyn Uploader>)
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

    pub fn catalogue(&self) -> &Catalogue {
        &self.shared.catalogue
    }

    // ------------------------------------------------------------------ reading

    pub fn jobs(&self) -> Result<Vec<JobView>, Error> {
        let jobs = self.shared.with_store(|s| store::list_jobs(s.conn()))?;
        Ok(jobs
            .into_iter()
            .map(|j| JobView::new(j, &self.shared.catalogue))
            .collect())
    }

    pub fn job(&self, job_ref: &str) -> Result<JobView, Error> {
        let job = self
            .shared
            .with_store(|s| store::load_job(s.conn(), job_ref))?
            .ok_or_else(|| Error::UnknownJob {
                job_ref: job_ref.to_owned(),
            })?;
        Ok(JobView::new(job, &self.shared.catalogue))
    }

    /// The engineer's legal next actions on a job, for the shell's buttons.
    pub fn next_actions(&self, job_ref: &str) -> Result<Vec<NextAction>, Error> {
        Ok(self
            .stored_job(job_ref)?
            .job
            .next_actions(&self.shared.catalogue))
    }

    /// The closure codes usable on a job now, with their secondary codes, for the pickers.
    pub fn closure_choices(&self, job_ref: &str) -> Result<Vec<ClosureChoice>, Error> {
        Ok(self
            .stored_job(job_ref)?
            .job
            .closure_choices(&self.shared.catalogue))
    }

    /// The outbox's open items counted now, from the database. The sync status counts them
    /// only when the sync loop runs (not after each offline action), so a screen that shows
    /// how much waits reads this instead.
    pub fn outbox_counts(&self) -> Result<OutboxCounts, Error> {
        Ok(self.shared.with_store(|s| outbox::open_counts(s.conn()))?)
    }

    fn stored_job(&self, job_ref: &str) -> Result<StoredJob, Error> {
        self.shared
            .with_store(|s| store::load_job(s.conn(), job_ref))?
            .ok_or_else(|| Error::UnknownJob {
                job_ref: job_ref.to_owned(),
            })
    }

    /// Another live (not cancelled) job on this device that already has this ONT, if any: a
    /// scan or manual entry checks it before the FSAN is sent, since CityFibre would refuse the
    /// device as a duplicate (status 7).
    pub fn job_holding_ont(
        &self,
        fsan: &str,
        except_job_ref: &str,
    ) -> Result<Option<String>, Error> {
        Ok(scan::holder_of_ont(&self.shared, fsan, except_job_ref)?)
    }

    /// The outbox, or one job's part of it, in creation order.
    pub fn outbox(&self, job_ref: Option<&str>) -> Result<Vec<OutboxItem>, Error> {
        let items = self
            .shared
            .with_store(|s| outbox::list(s.conn(), job_ref))?;
        Ok(self.shared.with_live_states(items))
    }

    /// The exact bytes an outbox item sends.
    pub fn outbox_body(&self, seq: i64) -> Result<Vec<u8>, Error> {
        self.shared
            .with_store(|s| outbox::body(s.conn(), seq))?
            .ok_or(Error::Outbox(OutboxError::UnknownItem { seq }))
    }

    /// Inbox messages that could not be read, with their reasons.
    pub fn quarantine(&self) -> Result<Vec<QuarantinedMessage>, Error> {
        Ok(self.shared.with_store(|s| view::quarantine(s.conn()))?)
    }

    pub fn status(&self) -> SyncStatus {
        self.shared.status.borrow().clone()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.shared.subscribe()
    }

    // ------------------------------------------------------------------ acting

    /// Applies an action taken at `at` (now when `None`), committing the job's new state, the
    /// history entry and the outbox message in one durable transaction. Answers and closing
    /// go through the closure flow (`send_visit_answers`, `close`), never through here.
    pub(crate) fn act(
        &self,
        job_ref: &str,
        action: Action,
        at: Option<Timestamp>,
    ) -> Result<ActionReceipt, Error> {
        self.act_with(job_ref, at, |_, _| Ok((action, Vec::new())))
    }

    /// [`Engine::act`] for actions built from what the store holds (the answers and photos of
    /// a closure): `build` runs inside the transaction, so what it reads is what is sent, and
    /// returns the action with the outbox items (uploads) its message must wait for.
    pub(crate) fn act_with(
        &self,
        job_ref: &str,
        at: Option<Timestamp>,
        build: impl FnOnce(&Transaction<'_>, &StoredJob) -> Result<(Action, Vec<i64>), Error>,
    ) -> Result<ActionReceipt, Error> {
        let catalogue = &self.shared.catalogue;
        let receipt = self.shared.transact(|tx| {
            let Some(mut stored) = store::load_job(tx, job_ref)? else {
                return Err(Error::UnknownJob {
                    job_ref: job_ref.to_owned(),
                });
            };
            let (time, clamped) = self.shared.action_time(tx, job_ref, at)?;
            let at = time.corrected;
            let (action, depends_on) = build(tx, &stored)?;
            let name = action.name();
            let label = view::label(&action);
            let outcome = stored.job.apply(action, at, catalogue)?;
            store::save_job(tx, &stored.job, Timestamp::now())?;
            store::record_action(tx, &stored.job.header.job_ref, name, at, outcome.state)?;
            let mut warnings = outcome.warnings;
            if clamped && let TimeSource::Clamped { set_back_ms } = time.source {
                warnings.push(Warning::ClockSetBack { set_back_ms });
            }
            let mut receipt = ActionReceipt {
                job_ref: job_ref.to_owned(),
                state: outcome.state,
                warnings,
                outbox_seq: None,
                idempotency_key: None,
                rpc_id: None,
            };
            if let Some(call) = outcome.message {
                let (seq, key, id) = enqueue_call(tx, job_ref, &label, call, time, &depends_on)?;
                receipt.outbox_seq = Some(seq);
                receipt.idempotency_key = Some(key);
                receipt.rpc_id = Some(id);
            }
            Ok(receipt)
        })?;
        self.shared.emit(Event::JobChanged {
            job_ref: job_ref.to_owned(),
        });
        if let Some(seq) = receipt.outbox_seq {
            self.shared.emit(Event::OutboxChanged {
                seq,
                job_ref: job_ref.to_owned(),
                state: ItemState::Queued,
            });
            self.shared.wake.notify_one();
        }
        Ok(receipt)
    }

    /// The engineer accepts the job; CityFibre is told who is coming.
    pub fn accept(&self, job_ref: &str) -> Result<ActionReceipt, Error> {
        let engineer = self.shared.engineer().clone();
        self.act(job_ref, Action::Accept { engineer }, None)
    }

    pub fn start_travel(
        &self,
        job_ref: &str,
        location: Location,
        at: Option<Timestamp>,
    ) -> Result<ActionReceipt, Error> {
        self.act(job_ref, Action::StartTravel { location }, at)
    }

    pub fn arrive(
        &self,
        job_ref: &str,
        location: Location,
        at: Option<Timestamp>,
    ) -> Result<ActionReceipt, Error> {
        self.act(job_ref, Action::Arrive { location }, at)
    }

    pub fn confirm_ont(
        &self,
        job_ref: &str,
        ont: OntDevice,
        at: Option<Timestamp>,
    ) -> Result<ActionReceipt, Error> {
        self.act(job_ref, Action::ScanOnt { ont }, at)
    }

    // ------------------------------------------------------------------ outbox control

    /// Queues a parked item again, unchanged (the cause was fixed upstream).
    pub fn resend(&self, seq: i64) -> Result<(), Error> {
        self.shared.transact(|tx| outbox::resend(tx, seq))?;
        self.after_outbox_change(seq);
        Ok(())
    }

    /// Discards a parked item; `confirmation_key` must be the item's idempotency key, shown to
    /// the engineer with what will be lost.
    pub fn discard(&self, seq: i64, confirmation_key: &str) -> Result<(), Error> {
        self.shared
            .transact(|tx| outbox::discard(tx, seq, confirmation_key))?;
        self.after_outbox_change(seq);
        Ok(())
    }

    /// Corrects the closure codes of a parked closeJob (CityFibre refused them) and queues the
    /// corrected message, which is a new message with a new id and key.
    pub fn correct_parked_close(
        &self,
        seq: i64,
        closure_code: &str,
        secondary_code: Option<&str>,
    ) -> Result<(), Error> {
        let catalogue = &self.shared.catalogue;
        self.shared.transact(|tx| {
            let Some(body) = outbox::body(tx, seq)? else {
                return Err(Error::Outbox(OutboxError::UnknownItem { seq }));
            };
            let request = crate::protocol::parse_outbound(&body)?;
            let OutboundCall::CloseJob(mut close) = request.call else {
                return Err(Error::Outbox(OutboxError::NotACloseJob { seq }));
            };
            let rule = catalogue
                .check_closure(closure_code, secondary_code)
                .map_err(|e| Error::Lifecycle(e.into()))?;
            close.closure_code = rule.code.clone();
            close.secondary_closure_code = rule.secondary.clone();
            let job_ref = close.job_header.job_ref.as_str().to_owned();
            let (id, key) = new_message_identity();
            let body = serde_json::to_vec(&OutboundRequest {
                id,
                call: OutboundCall::CloseJob(close),
            })
            .map_err(StoreError::corrupt)?;
            let label = format!("close {}", rule.code);
            outbox::replace_parked(tx, seq, &label, id.get(), &key, &body)?;
            if let Some(mut stored) = store::load_job(tx, &job_ref)? {
                stored.job.closure = Some(rule);
                store::save_job(tx, &stored.job, Timestamp::now())?;
            }
            Ok(())
        })?;
        self.after_outbox_change(seq);
        Ok(())
    }

    fn after_outbox_change(&self, seq: i64) {
        if let Ok(Some(item)) = self.shared.with_store(|s| outbox::get(s.conn(), seq)) {
            self.shared.emit(Event::OutboxChanged {
                seq,
                job_ref: item.job_ref,
                state: item.state,
            });
        }
        self.shared.wake.notify_one();
    }

    /// Queues an upload (a file the sync engine hands to the uploader) that later items can
    /// depend on. Returns its sequence number.
    pub fn enqueue_upload(
        &self,
        job_ref: &str,
        label: &str,
        descriptor: &[u8],
    ) -> Result<i64, Error> {
        let seq = self.shared.transact(|tx| {
            if store::load_job(tx, job_ref)?.is_none() {
                return Err(Error::UnknownJob {
                    job_ref: job_ref.to_owned(),
                });
            }
            Ok(closure::enqueue_upload_item(
                tx,
                job_ref,
                label,
                descriptor,
                Timestamp::now(),
            )?)
        })?;
        self.after_outbox_change(seq);
        Ok(seq)
    }

    /// Applies inbound envelopes that reached the device another way than `pull` (a push, a
    /// file, a test), exactly as a pulled page is applied.
    pub fn apply_inbound(&self, messages: &[serde_json::Value]) -> Result<PageOutcome, Error> {
        let catalogue = &self.shared.catalogue;
        let outcome = self.shared.with_store_tx(|tx| {
            crate::sync::inbox::apply_page(tx, messages, None, catalogue, Timestamp::now())
        })?;
        for job_ref in &outcome.changed_jobs {
            self.shared.emit(Event::JobChanged {
                job_ref: job_ref.clone(),
            });
        }
        Ok(outcome)
    }

    // ------------------------------------------------------------------ retention

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

    // ------------------------------------------------------------------ sync control

    /// The shell reports connectivity; coming online starts a sync at once, retrying every
    /// waiting item without its backoff (the backoff was about the outage that just ended).
    pub fn set_online(&self, online: bool) {
        let was_online = self.shared.online.send_replace(online);
        if online {
            if !was_online {
                self.request_explicit_retry();
            }
            self.shared.wake.notify_one();
        }
    }

    /// Starts a sync cycle now ("sync now"): every waiting item is retried at once; the
    /// backoff applies between automatic retries only.
    pub fn sync_now(&self) {
        self.request_explicit_retry();
        self.shared.wake.notify_one();
    }

    fn request_explicit_retry(&self) {
        self.shared
            .retry_waiting_now
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Runs one explicit sync cycle (every waiting item retried at once, then a pull) and
    /// waits at most `timeout` for it: the status when it worked, [`Error::SyncFailed`] with
    /// the cycle's error when it did not, [`Error::SyncTimeout`] when it took longer. Unlike
    /// [`Engine::sync_until_idle`] it never waits for a later cycle, so a dead endpoint is
    /// reported as soon as the attempt fails.
    pub async fn sync_once(&self, timeout: Duration) -> Result<SyncStatus, Error> {
        self.await_cycle(timeout, |s| {
            Some(match &s.last_error {
                None => Ok(s.clone()),
                Some(reason) => Err(Error::SyncFailed {
                    pending: s.pending,
                    reason: reason.clone(),
                }),
            })
        })
        .await
    }

    /// Starts an explicit sync cycle and waits, at most `timeout`, until `outcome` gives an
    /// answer for the status of a cycle that completed after this call started (`None`: keep
    /// waiting). The two public waits differ only in what ends them.
    async fn await_cycle(
        &self,
        timeout: Duration,
        outcome: impl Fn(&SyncStatus) -> Option<Result<SyncStatus, Error>>,
    ) -> Result<SyncStatus, Error> {
        if !self.has_endpoints {
            return Err(Error::NoEndpoints);
        }
        if !*self.shared.online.borrow() {
            return Err(Error::Offline);
        }
        let mut status = self.shared.status.subscribe();
        let started_before = status.borrow_and_update().cycles_started;
        self.sync_now();
        let wait = async {
            loop {
                {
                    let s = status.borrow_and_update();
                    if s.cycles > started_before
                        && let Some(result) = outcome(&s)
                    {
                        return result;
                    }
                }
                if status.changed().await.is_err() {
                    return Err(Error::Offline);
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(result) => result,
            Err(_) => {
                let s = self.status();
                Err(Error::SyncTimeout {
                    pending: s.pending,
                    last_error: s.last_error,
                })
            }
        }
    }

    /// [`Engine::sync_once`] for callers without a runtime (the CLI).
    pub fn sync_once_blocking(&self, timeout: Duration) -> Result<SyncStatus, Error> {
        match &self.runtime {
            Some(rt) => rt.block_on(self.sync_once(timeout)),
            None => Err(Error::Config {
                reason: "this engine runs on a caller's runtime; use sync_once".into(),
            }),
        }
    }

    /// Starts a sync cycle and waits until a cycle that started after this call has completed
    /// cleanly (every endpoint call worked or was refused for good) with nothing left to
    /// deliver — parked items wait for the engineer and do not count — or until `timeout`.
    pub async fn sync_until_idle(&self, timeout: Duration) -> Result<SyncStatus, Error> {
        self.await_cycle(timeout, |s| {
            (s.pending == 0 && s.last_error.is_none()).then(|| Ok(s.clone()))
        })
        .await
    }

    /// [`Engine::sync_until_idle`] for callers without a runtime (the CLI, the FFI).
    pub fn sync_until_idle_blocking(&self, timeout: Duration) -> Result<SyncStatus, Error> {
        match &self.runtime {
            Some(rt) => rt.block_on(self.sync_until_idle(timeout)),
            None => Err(Error::Config {
                reason: "this engine runs on a caller's runtime; use sync_until_idle".into(),
            }),
        }
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

/// Serialises a call with a fresh identity and puts it in the outbox.
fn enqueue_call(
    conn: &Connection,
    job_ref: &str,
    label: &str,
    call: OutboundCall,
    time: ActionTime,
    depends_on: &[i64],
) -> Result<(i64, String, u64), StoreError> {
    let (id, key) = new_message_identity();
    let method = call.method();
    let body = serde_json::to_vec(&OutboundRequest { id, call }).map_err(StoreError::corrupt)?;
    let seq = outbox::enqueue(
        conn,
        &NewItem {
            job_ref,
            kind: ItemKind::Rpc,
            method,
            label,
            rpc_id: id.get(),
            idempotency_key: &key,
            body: &body,
            acted_at: time.corrected,
            depends_on,
            time: Some(time),
        },
        Timestamp::now(),
    )?;
    Ok((seq, key, id.get()))
}
