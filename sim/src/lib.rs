//! `jobpack-sim`: a stand-in for CityFibre's Partner Installation API (and for the partner
//! hub's device inbox), used by the core's tests, by QA and by the demo.
//!
//! Why a real server and not a mock: the core's promises are about the network — at-least-once
//! delivery with exactly-once effect, per-job order, retries on 5xx / 429 / timeouts, failover
//! between two gateways, mutual TLS. A mock inside the client would test the client's idea of
//! the server. This is an HTTPS server on real sockets, with client certificates made at start
//! ([`Pki`]), that judges every message with the same protocol model and code catalogue the
//! phone uses, and misbehaves on purpose ([`FaultConfig`]) in ways that can be replayed from a
//! seed.
//!
//! One concern per module:
//! * `certs`  — the CA, the server certificate, one client certificate per engineer;
//! * `faults` — which failures to inject, drawn from a seeded random source;
//! * `inbox`  — per-engineer envelopes (createJob, cancelJob, ONT provisioning) for `pull`;
//! * `ledger` — what was received: first deliveries per job, duplicates, order violations,
//!   quarantined payloads — the evidence tests assert on ([`Stats`]);
//! * `server` — TLS, HTTP routing, the order in which faults and processing happen (one file
//!   per part: connections, messages, pull, admin, responses);
//! * `caller` — CityFibre's calling side: createJob, cancelJob, provisioning sent to a partner
//!   hub with CityFibre's certificate, retried as a webhook sender does;
//! * [`s3`]   — CityFibre's photo bucket: moto's S3 server with presigned SigV4 checked;
//! * `error`  — [`SimError`].
//!
//! The wire contract (paths, answers, the `stats` and `admin` methods) is documented for QA in
//! `docs/SIMULATOR.md`.

mod caller;
mod certs;
mod error;
mod faults;
mod inbox;
mod ledger;
pub mod s3;
mod server;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

pub use caller::{CallError, CallerConfig, PartnerCaller};
pub use certs::{ClientIdentity, Pki};
pub use error::SimError;
pub use faults::{FaultConfig, FaultKind, PERMANENT_REJECTION};
pub use inbox::{ProvisioningScript, sample_job_pack};
pub use ledger::{OrderViolation, QUARANTINE_BODY_LIMIT, Quarantined, ReceivedMessage, Stats};
pub use server::Simulator;

/// How to start a [`Simulator`].
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// One address per gateway (CityFibre has two); port 0 picks a free port.
    pub listen: Vec<SocketAddr>,
    /// Engineers expected to connect; each must have a client identity in the [`Pki`].
    pub engineers: Vec<String>,
    pub faults: FaultConfig,
    pub provisioning: ProvisioningScript,
    /// How long after a status 4 ("retrying in 5 minutes") the follow-up status 1 is queued.
    pub retry_delay: Duration,
    /// Milliseconds added to the time in every response's `Date` header: a skewed server
    /// clock makes the phones' clocks look wrong by the opposite amount, which is how tests
    /// and the demo exercise the core's time correction.
    pub clock_skew_ms: i64,
}

impl Default for SimConfig {
    /// One gateway on a free loopback port, engineer `E001`, no faults.
    fn default() -> Self {
        Self {
            listen: vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 0))],
            engineers: vec!["E001".to_owned()],
            faults: FaultConfig::default(),
            provisioning: ProvisioningScript::default(),
            retry_delay: Duration::from_millis(200),
            clock_skew_ms: 0,
        }
    }
}
