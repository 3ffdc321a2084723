//! `jobpack-hub`: the partner hub, the server between CityFibre and the engineers' phones.
//!
//! CityFibre calls the partner, not the phones, and accepts calls only with the partner's
//! certificate; so the hub holds what phones must not (the partner certificate, the hub CA)
//! and sits in the middle (`docs/HUB.md`):
//!
//! ```text
//! CityFibre ──createJob/cancelJob/notifyJob──▶ cityfibre.rs ─┐  (commit, then answer)
//!     ▲                                                        ▼
//!     └── forward.rs (core outbox + sync rules) ◀── outbox ◀── dispatch.rs / phone.rs push
//!                                                     device_inbox ──▶ phone.rs pull
//! ```
//!
//! One concern per module:
//! * `sql`       — the storage seam: one transaction ([`sql::Tx`]) every module works on;
//! * `store`     — the backend chosen at start ([`Backend`]): SQLite or PostgreSQL;
//! * `db`        — SQLite, numbered migrations, the commit-before-answer transaction;
//! * `pg`        — PostgreSQL: the same, for several hub processes on one database;
//! * `local_pg`  — a throw-away PostgreSQL cluster from Debian's binaries (tests, the demo);
//! * `rpc`       — typed JSON-RPC error answers; refused requests kept in `rejected`;
//! * `cityfibre` — CityFibre's calls: dedup, stable `providerJobId`, crossed and stale messages;
//! * `dispatch`  — assigning and reassigning jobs: inboxes and the engineer-details notifyJob;
//! * `phone`     — `pull` and the pushes, deduplicated by `Idempotency-Key`;
//! * `forward`   — the outbox to CityFibre with the core's outbox and delivery rules;
//! * `photos`    — presigned S3 PUT URLs, so phones hold no S3 keys;
//! * `pki`       — the hub CA, device certificates and revocation;
//! * `server`    — the two mutual-TLS listeners and routing;
//! * `board`     — the back office's web board: its own HTTPS listener, token login,
//!   sessions and CSRF, server-rendered pages over `HubStore`'s methods.

pub mod board;
mod cityfibre;
mod db;
mod dispatch;
mod error;
mod forward;
pub mod local_pg;
mod pg;
mod phone;
mod photos;
pub mod pki;
mod rpc;
mod server;
pub mod sql;
mod store;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jobpack_core::codes::Catalogue;
use jobpack_core::outbox::OutboxItem;
use jobpack_core::protocol::EngineerDetails;
use jobpack_core::sync::{DeliveryRules, RetryPolicy};
use jobpack_core::transport::{Timeouts, TlsMaterial, Transport};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

pub use board::sql::{DeviceRow, EngineerRow};
pub use cityfibre::{BoardRow, HubJob, METHODS as CITYFIBRE_METHODS};
pub use db::{Db, LATEST_VERSION};
pub use dispatch::Assignment;
pub use error::HubError;
pub use pg::{PG_LATEST_VERSION, PgDb};
pub use photos::PhotoBucket;
pub use pki::{HubPki, Identity, Role};
pub use rpc::{KEPT_BODY_LIMIT, MAX_BODY, Rejected, RpcCode};
pub use store::{Backend, Storage};

/// The database file inside the hub's directory.
pub const DATABASE_FILE: &str = "hub.sqlite";

/// How to start a [`Hub`].
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Database and CA files (`hub.sqlite`, `ca.pem`, `ca.key`, `server.pem`, `server.key`).
    pub dir: PathBuf,
    /// Where CityFibre calls us.
    pub cityfibre_listen: SocketAddr,
    /// Where the phones (and the back office) call us.
    pub device_listen: SocketAddr,
    /// CA certificates (PEM) that sign CityFibre's client certificates.
    pub cityfibre_client_anchors_pem: String,
    /// CityFibre's equivalent endpoints (two gateways); empty = nothing is forwarded.
    pub upstream: Vec<String>,
    /// The partner's certificate and key for CityFibre, and the anchors of CityFibre's servers.
    pub upstream_tls: TlsMaterial,
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
    /// Retry delay after a TLS / certificate failure upstream.
    pub configuration_retry: Duration,
    /// Messages in flight to CityFibre at once (each of a different job).
    pub max_in_flight: usize,
    /// Extra DNS names / addresses for the hub's server certificate.
    pub server_names: Vec<String>,
    /// The partner's photo bucket, for presigned upload URLs (`/photoUrl`); `None` = none.
    pub photos: Option<PhotoBucket>,
    /// Where the back-office board listens (HTTPS, browser login; `board.rs`); `None` = no
    /// board. Loopback by default: put it behind the office's VPN or proxy, not the internet.
    pub board_listen: Option<SocketAddr>,
    /// Where the state is kept: `hub.sqlite` in `dir` (default), or a PostgreSQL database
    /// shared with other hub processes (the CA files stay in `dir`).
    pub backend: Backend,
}

impl HubConfig {
    /// Loopback listeners on free ports, the core's default retry policy, in `dir`.
    pub fn local(dir: PathBuf, cityfibre_client_anchors_pem: String) -> Self {
        Self {
            dir,
            cityfibre_listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            device_listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            cityfibre_client_anchors_pem,
            upstream: Vec::new(),
            upstream_tls: TlsMaterial::default(),
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            configuration_retry: Duration::from_secs(60),
            max_in_flight: 8,
            server_names: Vec::new(),
            photos: None,
            board_listen: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
            backend: Backend::Sqlite,
        }
    }
}

/// The hub's state that does not need the servers: the database and the CA. The CLI's
/// dispatch and device commands use this on the same directory while the hub runs.
///
/// Everything the board and the CLI read or change goes through these methods (never SQL
/// from outside), so another store backend only has to provide them.
#[derive(Clone)]
pub struct HubStore {
    pub db: Arc<Storage>,
    pub pki: Arc<HubPki>,
}

impl HubStore {
    /// Opens (creating) the SQLite database and the CA in `dir`.
    pub fn open(dir: &std::path::Path, server_names: &[String]) -> Result<HubStore, HubError> {
        Self::open_on(dir, server_names, &Backend::Sqlite)
    }

    /// Opens (creating) the CA in `dir` and the database `backend` names, migrated to the
    /// latest schema.
    pub fn open_on(
        dir: &std::path::Path,
        server_names: &[String],
        backend: &Backend,
    ) -> Result<HubStore, HubError> {
        let pki = HubPki::load_or_create(dir, server_names)?;
        let db = match backend {
            Backend::Sqlite => Storage::Sqlite(Db::open(&dir.join(DATABASE_FILE))?),
            Backend::Postgres(url) => Storage::Postgres(Box::new(PgDb::open(url)?)),
        };
        Ok(HubStore {
            db: Arc::new(db),
            pki: Arc::new(pki),
        })
    }

    pub fn add_engineer(&self, details: &EngineerDetails) -> Result<(), HubError> {
        self.db.write(|tx| dispatch::add_engineer(tx, details))
    }

    /// Assigns (or reassigns) a job; see `dispatch.rs`.
    pub fn assign(&self, job_ref: &str, engineer_id: &str) -> Result<Assignment, HubError> {
        self.db
            .write(|tx| dispatch::assign(tx, job_ref, engineer_id))
    }

    /// Issues a client certificate for a device (an engineer's phone, or the back office).
    pub fn issue_device(
        &self,
        device_id: &str,
        engineer_id: Option<&str>,
        role: Role,
    ) -> Result<Identity, HubError> {
        self.db
            .write(|tx| pki::issue_device(tx, &self.pki, device_id, engineer_id, role))
    }

    pub fn revoke_device(&self, device_id: &str) -> Result<(), HubError> {
        self.db.write(|tx| pki::revoke_device(tx, device_id))
    }

    pub fn job(&self, job_ref: &str) -> Result<Option<HubJob>, HubError> {
        self.db.read(|tx| cityfibre::job(tx, job_ref))
    }

    /// The hub's outbox to CityFibre (every item, or one job's), in creation order.
    pub fn outbox(&self, job_ref: Option<&str>) -> Result<Vec<OutboxItem>, HubError> {
        self.db.read(|tx| tx.outbox_list(job_ref))
    }

    /// Queues a parked outbox item again, unchanged, with its key (CityFibre's side was
    /// fixed): the core's own `outbox::resend`.
    pub fn resend(&self, seq: i64) -> Result<(), HubError> {
        self.db.write(|tx| tx.resend(seq))
    }

    /// Discards a parked outbox item (the back office gave up on it), confirmed with its
    /// idempotency key as on the phone: the core's own `outbox::discard`.
    pub fn discard(&self, seq: i64, confirmation_key: &str) -> Result<(), HubError> {
        self.db.write(|tx| tx.discard(seq, confirmation_key))
    }

    /// Every job with its state, engineer and latest message to CityFibre (the board's view).
    pub fn board(&self) -> Result<Vec<BoardRow>, HubError> {
        self.db.read(cityfibre::board)
    }

    /// Every device certificate the hub CA issued, with its revocation (the board's devices).
    pub fn devices(&self) -> Result<Vec<DeviceRow>, HubError> {
        self.db.read(board::sql::devices)
    }

    /// Every engineer the hub knows, by id (the board's assignment choices).
    pub fn engineers(&self) -> Result<Vec<EngineerRow>, HubError> {
        self.db.read(board::sql::engineers)
    }

    /// Outbox items parked at the hub (refused by CityFibre), with their reasons, oldest first.
    pub fn parked(&self) -> Result<Vec<OutboxItem>, HubError> {
        Ok(self
            .outbox(None)?
            .into_iter()
            .filter(|item| item.state == jobpack_core::outbox::ItemState::Parked)
            .collect())
    }

    /// Requests refused and kept for inspection.
    pub fn rejected(&self) -> Result<Vec<Rejected>, HubError> {
        self.db.read(rpc::rejected)
    }

    /// How many envelopes CityFibre delivered and were stored (redeliveries not counted).
    pub fn inbound_count(&self) -> Result<u64, HubError> {
        let n: i64 = self
            .db
            .read(|tx| tx.query_one("SELECT COUNT(*) FROM inbound", &[])?.get(0))?;
        Ok(n.max(0) as u64)
    }
}

/// A running hub. Dropping it stops the servers without waiting.
pub struct Hub {
    store: HubStore,
    cityfibre_url: String,
    device_url: String,
    board_url: Option<String>,
    wake: Arc<Notify>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Hub {
    /// Opens the store, binds both listeners and starts the forwarder on the current runtime.
    pub async fn start(config: HubConfig) -> Result<Hub, HubError> {
        let store = HubStore::open_on(&config.dir, &config.server_names, &config.backend)?;
        let cityfibre_tls = store
            .pki
            .server_config(&config.cityfibre_client_anchors_pem)?;
        let device_tls = store.pki.server_config(&store.pki.ca_cert_pem)?;
        let bind = |addr: SocketAddr| async move {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| HubError::Bind { addr, source })?;
            let local = listener
                .local_addr()
                .map_err(|source| HubError::Bind { addr, source })?;
            Ok::<_, HubError>((listener, local))
        };
        let (cityfibre_listener, cityfibre_local) = bind(config.cityfibre_listen).await?;
        let (device_listener, device_local) = bind(config.device_listen).await?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let context = Arc::new(server::Context {
            db: Arc::clone(&store.db),
            catalogue: Catalogue::embedded(),
            wake: Arc::clone(&wake),
            shutdown: shutdown_rx.clone(),
            photos: config
                .photos
                .as_ref()
                .map(photos::Presigner::new)
                .transpose()?,
        });
        let mut tasks = vec![
            tokio::spawn(server::serve(
                cityfibre_listener,
                TlsAcceptor::from(Arc::new(cityfibre_tls)),
                rpc::Side::CityFibre,
                Arc::clone(&context),
            )),
            tokio::spawn(server::serve(
                device_listener,
                TlsAcceptor::from(Arc::new(device_tls)),
                rpc::Side::Device,
                context,
            )),
        ];
        let board_url = match config.board_listen {
            Some(addr) => {
                let (listener, local) = bind(addr).await?;
                let board = board::Board::new(&config.dir, store.clone(), Arc::clone(&wake))?;
                tasks.push(tokio::spawn(board.serve(listener, shutdown_rx.clone())));
                Some(server::url_of(local))
            }
            None => None,
        };
        if !config.upstream.is_empty() {
            let transport = Transport::new(
                config.upstream.clone(),
                &config.upstream_tls,
                config.timeouts,
            )
            .map_err(|e| HubError::Upstream(e.to_string()))?;
            let forwarder = forward::Forwarder {
                db: Arc::clone(&store.db),
                rules: DeliveryRules::new(
                    config.retry,
                    config.configuration_retry,
                    transport.endpoints().len(),
                    0,
                ),
                transport,
                wake: Arc::clone(&wake),
                max_in_flight: config.max_in_flight,
                claimant: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4()),
                // Longer than one attempt can take (connect, then the request), so a live
                // claimant never loses its lease mid-send.
                lease: (config.timeouts.connect + config.timeouts.request) * 2
                    + Duration::from_secs(2),
            };
            tasks.push(tokio::spawn(forwarder.run(shutdown_rx)));
        }
        Ok(Hub {
            store,
            cityfibre_url: server::url_of(cityfibre_local),
            device_url: server::url_of(device_local),
            board_url,
            wake,
            shutdown,
            tasks,
        })
    }

    /// Where CityFibre posts (`/createJob`, `/cancelJob`, `/notifyJob`).
    pub fn cityfibre_url(&self) -> &str {
        &self.cityfibre_url
    }

    /// Where phones point their upstream (`/pull`, `/notifyJob`, `/closeJob`).
    pub fn device_url(&self) -> &str {
        &self.device_url
    }

    /// The back-office board (`https://…/login`), when configured.
    pub fn board_url(&self) -> Option<&str> {
        self.board_url.as_deref()
    }

    pub fn store(&self) -> &HubStore {
        &self.store
    }

    /// Assigns a job and wakes the forwarder at once.
    pub fn assign(&self, job_ref: &str, engineer_id: &str) -> Result<Assignment, HubError> {
        let assignment = self.store.assign(job_ref, engineer_id)?;
        self.wake.notify_one();
        Ok(assignment)
    }

    /// Stops accepting, ends connections and the forwarder, and waits for them.
    pub async fn shutdown(self) {
        self.shutdown.send_replace(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
