//! The HTTPS server: mutual TLS, routing, and the order in which faults and processing happen.
//!
//! Every connection is TLS with a client certificate checked against the simulator's CA; the
//! leaf certificate says which engineer is calling (that is whose inbox `pull` reads). State
//! lives behind one mutex and is never held across an `await`, so each message is judged,
//! deduplicated and recorded atomically and the answer is written afterwards, which is what
//! makes "processed, then the connection dropped" a real possibility for the client.
//!
//! For `notifyJob` / `closeJob` one fault is drawn per request *before* anything else, so the
//! draw sequence depends only on the seed and the number of requests. Faults that mean "the
//! server never saw it" (drop before, 500, 429) skip processing; the others (drop after,
//! late answer, garbage body) process the message and then spoil the answer.
//!
//! One part per file: `connection` (sockets, TLS, routing), `messages` (notifyJob / closeJob
//! with their faults), `pull`, `admin` (QA's `stats` and `admin`) and `responses` (how answers
//! are written). This file holds the shared state and the [`Simulator`] handle.

mod admin;
mod connection;
mod messages;
mod pull;
mod responses;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use jobpack_core::codes::Catalogue;
use jobpack_core::protocol::JobPack;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::faults::FaultPlan;
use crate::inbox::{Inbox, ProvisioningDraw};
use crate::ledger::Ledger;
use crate::{FaultConfig, PartnerCaller, Pki, SimConfig, SimError, Stats};
use connection::{Gateway, serve_gateway};

/// Bodies larger than this are refused (413); real messages are a few KB.
const MAX_BODY: usize = 1 << 20;
/// A client that opens TCP and never finishes the handshake is let go after this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// CityFibre's path prefix, accepted so a client configured with the production URL shape works.
const CITYFIBRE_PREFIX: &str = "/prod/ftth-installer";
/// The pull page size when the client does not ask.
const DEFAULT_PULL_LIMIT: u32 = 100;

/// JSON-RPC error codes used in answers.
const INVALID_PARAMS: i64 = -32602;
const METHOD_NOT_FOUND: i64 = -32601;
const REJECTED: i64 = -32010;
const FORBIDDEN: i64 = -32003;

struct State {
    ledger: Ledger,
    inbox: Inbox,
    faults: FaultPlan,
    provisioning: ProvisioningDraw,
}

struct Shared {
    state: Mutex<State>,
    catalogue: Catalogue,
    retry_delay: Duration,
    shutdown: watch::Receiver<bool>,
    /// One "down" flag per gateway.
    gateways_down: Vec<watch::Sender<bool>>,
    /// Added to the time in every response's `Date` header (`SimConfig::clock_skew_ms`).
    clock_skew_ms: AtomicI64,
    /// Where provisioning results for the partner's own messages go (`Simulator::call_partner`).
    partner: Mutex<Option<Arc<PartnerCaller>>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take the simulator down with it: the state is still
        // consistent because every update is made whole under the lock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_down(&self, gateway: usize) -> bool {
        self.gateways_down.get(gateway).is_some_and(|d| *d.borrow())
    }
}

/// A running simulator. Dropping it stops the servers as [`Simulator::shutdown`] does, without
/// waiting for them.
pub struct Simulator {
    shared: Arc<Shared>,
    urls: Vec<String>,
    pki: Pki,
    shutdown: watch::Sender<bool>,
    listeners: Vec<JoinHandle<()>>,
}

impl Simulator {
    /// Binds every listen address and spawns the servers on the current tokio runtime.
    pub async fn start(config: SimConfig, pki: Pki) -> Result<Simulator, SimError> {
        if config.listen.is_empty() {
            return Err(SimError::NoListenAddress);
        }
        if let Some(missing) = config
            .engineers
            .iter()
            .find(|e| !pki.clients.contains_key(*e))
        {
            return Err(SimError::UnknownEngineer(missing.clone()));
        }
        let acceptor = TlsAcceptor::from(Arc::new(pki.server_tls_config()?));
        let engineers = Arc::new(pki.engineer_by_certificate()?);

        let mut bound = Vec::new();
        for addr in &config.listen {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| SimError::Bind {
                    addr: *addr,
                    source,
                })?;
            let local = listener.local_addr().map_err(|source| SimError::Bind {
                addr: *addr,
                source,
            })?;
            bound.push((listener, local));
        }

        let (shutdown, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                ledger: Ledger::default(),
                inbox: Inbox::new(pki.clients.keys().cloned()),
                faults: FaultPlan::new(config.faults),
                provisioning: ProvisioningDraw::new(&config.provisioning),
            }),
            catalogue: Catalogue::embedded(),
            retry_delay: config.retry_delay,
            shutdown: shutdown_rx,
            gateways_down: bound.iter().map(|_| watch::channel(false).0).collect(),
            clock_skew_ms: AtomicI64::new(config.clock_skew_ms),
            partner: Mutex::new(None),
        });

        let urls = bound.iter().map(|(_, local)| url_of(*local)).collect();
        let listeners = bound
            .into_iter()
            .enumerate()
            .map(|(gateway, (listener, _))| {
                tokio::spawn(serve_gateway(Gateway {
                    index: gateway,
                    listener,
                    acceptor: acceptor.clone(),
                    engineers: Arc::clone(&engineers),
                    shared: Arc::clone(&shared),
                }))
            })
            .collect();
        Ok(Simulator {
            shared,
            urls,
            pki,
            shutdown,
            listeners,
        })
    }

    /// `https://127.0.0.1:PORT` per gateway; a client POSTs to url + `/notifyJob`,
    /// `/closeJob`, `/pull`, `/stats` (and `/admin`).
    pub fn urls(&self) -> Vec<String> {
        self.urls.clone()
    }

    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    pub fn stats(&self) -> Stats {
        self.shared.lock().ledger.stats()
    }

    /// Queues a createJob envelope in that engineer's inbox.
    pub fn create_job(&self, engineer: &str, job_ref: &str, pack: JobPack) -> Result<(), SimError> {
        self.shared.lock().inbox.create_job(engineer, job_ref, pack)
    }

    /// Queues a cancelJob envelope for the job's engineer.
    pub fn cancel_job(&self, job_ref: &str, reason: &str) -> Result<(), SimError> {
        self.shared.lock().inbox.cancel_job(job_ref, reason)
    }

    /// Queues exactly one provisioning notice with `status` (no automatic follow-up).
    pub fn notify_provisioning(&self, job_ref: &str, status: u8) -> Result<(), SimError> {
        let mut state = self.shared.lock();
        state.inbox.provisioning(job_ref, status)?;
        state.ledger.count_provisioning(status);
        Ok(())
    }

    /// From now on, an ontScanned that arrives with a certificate of no engineer (the partner
    /// hub's) is answered the way CityFibre does it: the provisioning result (and, after a
    /// status 4, the follow-up status 1 after `retry_delay`) is *sent to the partner* with
    /// `caller`, instead of being queued in the simulator's own pull inbox.
    pub fn call_partner(&self, caller: PartnerCaller) {
        *self
            .shared
            .partner
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(caller));
    }

    /// Replaces the fault configuration; the random source restarts from its seed.
    pub fn set_faults(&self, faults: FaultConfig) {
        self.shared.lock().faults = FaultPlan::new(faults);
    }

    /// Skews the time the gateways put in their `Date` headers by `ms` from now on.
    pub fn set_clock_skew(&self, ms: i64) {
        self.shared.clock_skew_ms.store(ms, Ordering::Relaxed);
    }

    /// While down, that listener accepts TCP and closes it at once, and open connections to
    /// it are cut. An index with no gateway is ignored.
    pub fn set_gateway_down(&self, index: usize, down: bool) {
        if let Some(flag) = self.shared.gateways_down.get(index) {
            flag.send_replace(down);
        }
    }

    /// Stops accepting, ends open connections and waits for the listeners to finish.
    pub async fn shutdown(self) {
        self.shutdown.send_replace(true);
        for listener in self.listeners {
            let _ = listener.await;
        }
    }
}

fn url_of(local: SocketAddr) -> String {
    let ip = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("https://{}", SocketAddr::new(ip, local.port()))
}
