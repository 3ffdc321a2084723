//! A small world for end-to-end tests: the CityFibre simulator on loopback with real mutual
//! TLS, and engineer cores with their own SQLite files talking to it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use jobpack_core::engine::{Config, Engine};
use jobpack_core::protocol::EngineerDetails;
use jobpack_core::sync::{RetryPolicy, SyncPolicy, Uploader};
use jobpack_core::transport::{Timeouts, TlsMaterial};
use jobpack_sim::{FaultConfig, Pki, ProvisioningScript, SimConfig, Simulator, sample_job_pack};

pub use jobpack_sim;

pub mod s3;

/// A closure matrix that asks nothing at closure (one visit question only), for tests about
/// delivery rather than the question flow; closure tests use the default matrix instead.
pub const TRANSPORT_MATRIX: &str = r#"{
  "name": "transport tests", "version": "1", "isDefault": false,
  "questions": [{"code": "T1", "text": "Light level at the ONT (dBm)",
                 "answer": {"type": "text", "maxLength": 40}}],
  "flows": [{"id": "visit", "journey": "visit", "steps": [{"question": "T1"}]}]
}"#;

/// The simulator and a scratch directory for databases.
pub struct World {
    pub sim: Simulator,
    pub dir: tempfile::TempDir,
}

/// Engineers every world knows.
pub const ENGINEERS: [&str; 2] = ["E001", "E002"];

impl World {
    /// A simulator with `gateways` listeners, no faults, and provisioning always `status`.
    pub async fn start(gateways: usize, provisioning_status: u8) -> Self {
        let engineers: Vec<String> = ENGINEERS.iter().map(|e| e.to_string()).collect();
        let pki = Pki::generate(&engineers).expect("certificates");
        let config = SimConfig {
            listen: (0..gateways)
                .map(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
                .collect(),
            engineers,
            faults: FaultConfig {
                delay: Duration::from_millis(800),
                ..FaultConfig::default()
            },
            provisioning: ProvisioningScript::always(provisioning_status),
            retry_delay: Duration::from_millis(100),
            clock_skew_ms: 0,
        };
        let sim = Simulator::start(config, pki)
            .await
            .expect("simulator starts");
        Self {
            sim,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// TLS material of a known engineer.
    pub fn tls(&self, engineer: &str) -> TlsMaterial {
        let pki = self.sim.pki();
        let identity = &pki.clients[engineer];
        TlsMaterial {
            client_cert_pem: Some(identity.cert_pem.clone()),
            client_key_pem: Some(identity.key_pem.clone()),
            trust_anchors_pem: pki.ca_cert_pem.clone(),
            allow_plain_http_loopback: false,
        }
    }

    /// An engine configuration with fast retries, for `engineer` on `endpoints`.
    pub fn config(
        &self,
        engineer: &str,
        db: &str,
        endpoints: Vec<String>,
        tls: TlsMaterial,
    ) -> Config {
        Config {
            database: self.dir.path().join(db),
            database_key: None,
            endpoints,
            tls,
            timeouts: Timeouts {
                connect: Duration::from_millis(500),
                request: Duration::from_millis(400),
            },
            engineer: EngineerDetails {
                engineer_id: engineer.into(),
                name: format!("Engineer {engineer}"),
                phone: "+44 7700 900000".into(),
                company: None,
            },
            partner_catalogue: None,
            sync: SyncPolicy {
                retry: RetryPolicy {
                    base: Duration::from_millis(50),
                    max: Duration::from_millis(400),
                },
                configuration_retry: Duration::from_millis(300),
                max_in_flight: 4,
                pull_interval: Duration::from_secs(30),
                pull_limit: 50,
                ..SyncPolicy::default()
            },
            start_online: true,
            closure_matrix: Some(TRANSPORT_MATRIX.into()),
            photos: Default::default(),
        }
    }

    /// An engine for `engineer` on every gateway, on the test's runtime.
    pub fn engine(&self, engineer: &str, db: &str) -> Engine {
        let config = self.config(engineer, db, self.sim.urls(), self.tls(engineer));
        Self::open(config, None)
    }

    pub fn open(config: Config, uploader: Option<Arc<dyn Uploader>>) -> Engine {
        Engine::open_on(config, &tokio::runtime::Handle::current(), uploader).expect("engine opens")
    }

    /// Queues `count` job packs for `engineer`, refs `<prefix>1..`.
    pub fn create_jobs(&self, engineer: &str, prefix: &str, count: usize) -> Vec<String> {
        (1..=count)
            .map(|i| {
                let job_ref = format!("{prefix}{i}");
                let pack = sample_job_pack(&job_ref).expect("sample pack");
                self.sim
                    .create_job(engineer, &job_ref, pack)
                    .expect("job queued");
                job_ref
            })
            .collect()
    }
}

/// Waits until `check` holds, polling; false after `limit`.
pub async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = tokio::time::Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}
