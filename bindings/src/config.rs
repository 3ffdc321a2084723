//! Opening the core: what the shell knows at start-up, and the handle it gets back.
//!
//! The shell owns secrets and paths (the keystore holds the client key, the app sandbox the
//! database), so everything arrives as values: PEM text, not file names. Tuning the core
//! exposes (retry, pull interval) stays at the core's defaults; a shell that needs another
//! value gets a field here, not a second way to configure.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jobpack_core::engine::{self, Engine, HubUpload, PhotoConfig, PhotoUpload};
use jobpack_core::photos::{IngestConfig, PhotoKey, S3Config};
use jobpack_core::protocol::EngineerDetails;
use jobpack_core::store::DatabaseKey;
use jobpack_core::sync::SyncPolicy;
use jobpack_core::transport::{Timeouts, TlsMaterial};

use crate::Jobpack;
use crate::errors::{JobpackError, Result};

/// Everything needed to open the core. `Debug` names no secret (see [`redacted`]).
#[derive(Clone, uniffi::Record)]
pub struct Config {
    /// The engineer's SQLite file (created if missing).
    pub database_path: String,
    /// Equivalent endpoint base URLs (the hub, or two gateways); empty = never sync.
    pub endpoints: Vec<String>,
    /// The device's client certificate chain, PEM.
    pub client_certificate_pem: Option<String>,
    /// The device's private key, PEM (held in memory only).
    pub client_key_pem: Option<String>,
    /// CA certificates that may sign the server's certificate, PEM.
    pub trust_anchors_pem: String,
    pub engineer: Engineer,
    /// A partner catalogue file's JSON, applied over the embedded code tables.
    #[uniffi(default = None)]
    pub partner_catalogue_json: Option<String>,
    /// Whether the device is online before the shell first reports connectivity.
    #[uniffi(default = true)]
    pub start_online: bool,
    /// Per-request timeout in seconds.
    #[uniffi(default = 30)]
    pub request_timeout_secs: u32,
    /// CityFibre's question based closure matrix (JSON); the built-in default when `None`.
    #[uniffi(default = None)]
    pub closure_matrix_json: Option<String>,
    /// Where closure photos are uploaded (through the hub unless `PhotoStorage.direct_s3`);
    /// without it they are kept and their uploads wait.
    #[uniffi(default = None)]
    pub photo_storage: Option<PhotoStorage>,
    /// QA only: accept `http://` endpoints (upstream and photo storage) on a loopback
    /// address, for local stand-ins without TLS. Everything else must be `https://`.
    #[uniffi(default = false)]
    pub allow_plain_http_loopback: bool,
    /// How long delivered work is kept before the core prunes it (hourly); 30 days each
    /// when `None`. Unsent work is never pruned.
    #[uniffi(default = None)]
    pub retention: Option<crate::retention::Retention>,
    /// 32 bytes from the platform keystore: the database is encrypted at rest with a key
    /// derived from it (SQLCipher; a plain database is encrypted in place on the first open
    /// with it) and photo files are sealed with it (AES-256-GCM). Keep it for the life of
    /// the installation: without it (or with another) the database does not open
    /// (`DatabaseUnavailable` with `WrongKey`) and sealed photos cannot be read or uploaded.
    #[uniffi(default = None)]
    pub storage_key: Option<Vec<u8>>,
}

/// CityFibre's S3 bucket for closure photos, and how uploads reach it.
///
/// By default (recommended, and the only mode for phones in the field) the phone holds no S3
/// key: for each photo the core asks the hub — the `endpoints`, with the device's own client
/// certificate — for a short-lived presigned PUT URL, and uploads to it. `direct_s3` signs on
/// the device with the partner's keys instead: QA against an S3 stand-in only.
#[derive(Clone, uniffi::Record)]
pub struct PhotoStorage {
    /// The bucket photos are named in (`s3://<bucket>/...`); the one the hub signs for.
    pub bucket: String,
    /// CA certificates (PEM) for an `https` S3 endpoint; the core embeds no public roots.
    #[uniffi(default = None)]
    pub trust_anchors_pem: Option<String>,
    /// Longest edge of a prepared photo, in pixels (at least 1).
    #[uniffi(default = 2048)]
    pub max_edge: u32,
    /// QA only: the partner's S3 keys on the device instead of URLs from the hub.
    #[uniffi(default = None)]
    pub direct_s3: Option<DirectS3>,
}

/// QA only: an S3-compatible endpoint with the partner's keys, each upload signed on the
/// device (SigV4). `Debug` hides the secret key.
#[derive(Clone, uniffi::Record)]
pub struct DirectS3 {
    /// `https://` base URL of the S3-compatible endpoint (`http://` on loopback only, with
    /// `Config.allow_plain_http_loopback`).
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// Secrets and personal details in `Debug` output: whether one is set, never its value (a
/// shell that logs its configuration must not log the key, the S3 secret or the engineer).
pub(crate) fn redacted<T>(value: &Option<T>) -> &'static str {
    if value.is_some() { "<set>" } else { "<none>" }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Fields not named here (secrets added later among them) are left out, not printed.
        f.debug_struct("Config")
            .field("database_path", &self.database_path)
            .field("endpoints", &self.endpoints)
            .field(
                "client_certificate_pem",
                &redacted(&self.client_certificate_pem),
            )
            .field("client_key_pem", &redacted(&self.client_key_pem))
            .field("engineer_id", &self.engineer.id)
            .field("start_online", &self.start_online)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("photo_storage", &self.photo_storage)
            .field("allow_plain_http_loopback", &self.allow_plain_http_loopback)
            .field("storage_key", &redacted(&self.storage_key))
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for PhotoStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhotoStorage")
            .field("bucket", &self.bucket)
            .field("trust_anchors_pem", &redacted(&self.trust_anchors_pem))
            .field("max_edge", &self.max_edge)
            .field("direct_s3", &self.direct_s3)
            .finish()
    }
}

impl std::fmt::Debug for DirectS3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectS3")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// Who is doing the work; sent to CityFibre when a job is accepted.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Engineer {
    pub id: String,
    pub name: String,
    pub phone: String,
    #[uniffi(default = None)]
    pub company: Option<String>,
}

impl From<Engineer> for EngineerDetails {
    fn from(e: Engineer) -> Self {
        EngineerDetails {
            engineer_id: e.id,
            name: e.name,
            phone: e.phone,
            company: e.company,
        }
    }
}

impl TryFrom<Config> for engine::Config {
    type Error = JobpackError;

    fn try_from(c: Config) -> Result<Self> {
        let key = c
            .storage_key
            .as_deref()
            .map(PhotoKey::new)
            .transpose()
            .map_err(JobpackError::config)?;
        let database_key = c
            .storage_key
            .as_deref()
            .map(DatabaseKey::derive)
            .transpose()
            .map_err(|e| JobpackError::config(e.to_string()))?;
        // Zero is refused by the core when it opens (`engine::Config::check`).
        let timeouts = Timeouts {
            request: Duration::from_secs(c.request_timeout_secs.into()),
            ..Timeouts::default()
        };
        Ok(engine::Config {
            database: PathBuf::from(c.database_path),
            database_key,
            endpoints: c.endpoints,
            tls: TlsMaterial {
                client_cert_pem: c.client_certificate_pem,
                client_key_pem: c.client_key_pem,
                trust_anchors_pem: c.trust_anchors_pem,
                allow_plain_http_loopback: c.allow_plain_http_loopback,
            },
            timeouts,
            engineer: c.engineer.into(),
            partner_catalogue: c.partner_catalogue_json,
            sync: SyncPolicy {
                retention: c.retention.map(Into::into).unwrap_or_default(),
                ..SyncPolicy::default()
            },
            start_online: c.start_online,
            closure_matrix: c.closure_matrix_json,
            photos: PhotoConfig {
                key,
                ..c.photo_storage
                    .map(|p| photo_config(p, c.allow_plain_http_loopback))
                    .unwrap_or_default()
            },
        })
    }
}

fn photo_config(p: PhotoStorage, allow_plain_http_loopback: bool) -> PhotoConfig {
    let upload = match p.direct_s3 {
        None => PhotoUpload::ViaHub(HubUpload {
            s3_trust_anchors_pem: p.trust_anchors_pem,
            allow_plain_http_loopback,
        }),
        Some(direct) => {
            let mut s3 = S3Config::new(
                direct.endpoint,
                direct.region,
                p.bucket.clone(),
                direct.access_key_id,
                direct.secret_access_key,
            );
            s3.trust_anchors_pem = p.trust_anchors_pem;
            s3.allow_plain_http_loopback = allow_plain_http_loopback;
            PhotoUpload::DirectS3(s3)
        }
    };
    let defaults = PhotoConfig::default();
    PhotoConfig {
        bucket: p.bucket,
        ingest: IngestConfig {
            max_edge: p.max_edge,
            ..defaults.ingest
        },
        upload: Some(upload),
        ..defaults
    }
}

/// A database found unreadable at open, moved aside, and what was saved from it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Recovery {
    pub moved_to: String,
    pub reason: String,
    pub salvaged_jobs: u64,
    pub salvaged_outbox_items: u64,
    /// Why salvage stopped early; the old file still holds what was not copied.
    pub salvage_problem: Option<String>,
}

#[uniffi::export]
impl Jobpack {
    /// Opens (or creates) the engineer's database and starts syncing in the background.
    /// Fails with `Config` for unusable certificates or catalogue, `NewerDatabase` for a
    /// database from a newer app.
    #[uniffi::constructor]
    pub fn open(config: Config) -> Result<Arc<Self>> {
        let engine = Engine::open(config.try_into()?)?;
        let runtime = engine
            .runtime_handle()
            .ok_or_else(|| JobpackError::config("the core started without its runtime".into()))?;
        Ok(Arc::new(Jobpack {
            engine: Arc::new(engine),
            runtime,
        }))
    }

    /// Set when the database was unreadable at open: the shell tells the engineer.
    pub fn recovery(&self) -> Option<Recovery> {
        self.engine
            .open_report()
            .recovery
            .as_ref()
            .map(|r| Recovery {
                moved_to: r.moved_to.display().to_string(),
                reason: r.reason.clone(),
                salvaged_jobs: r.salvaged_jobs as u64,
                salvaged_outbox_items: r.salvaged_outbox_items as u64,
                salvage_problem: r.salvage_problem.clone(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_no_secret_and_no_personal_detail() {
        let config = Config {
            database_path: "/data/jobpack.sqlite".into(),
            endpoints: vec!["https://hub.example".into()],
            client_certificate_pem: Some("-----BEGIN CERTIFICATE-----\nCERTBYTES".into()),
            client_key_pem: Some("-----BEGIN PRIVATE KEY-----\nKEYBYTES".into()),
            trust_anchors_pem: "ANCHORBYTES".into(),
            engineer: Engineer {
                id: "E001".into(),
                name: "Sam Fielding".into(),
                phone: "07700900123".into(),
                company: None,
            },
            partner_catalogue_json: None,
            start_online: true,
            request_timeout_secs: 30,
            closure_matrix_json: None,
            photo_storage: Some(PhotoStorage {
                bucket: "evidence".into(),
                trust_anchors_pem: None,
                max_edge: 2048,
                direct_s3: Some(DirectS3 {
                    endpoint: "https://s3.example".into(),
                    region: "eu-west-2".into(),
                    access_key_id: "AKIAEXAMPLE".into(),
                    secret_access_key: "S3SECRETVALUE".into(),
                }),
            }),
            allow_plain_http_loopback: false,
            retention: None,
            storage_key: Some(vec![0xAB; 32]),
        };
        let text = format!("{config:?}");
        for secret in [
            "CERTBYTES",
            "KEYBYTES",
            "PRIVATE KEY",
            "S3SECRETVALUE",
            "Sam Fielding",
            "07700900123",
            "171, 171",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(
            text.contains("hub.example") && text.contains("<set>"),
            "{text}"
        );
    }
}
