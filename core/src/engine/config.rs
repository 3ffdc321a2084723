//! The engine's configuration: what an app gives [`Engine::open`](super::Engine::open) —
//! the database (and its key), the endpoints with the device's TLS material, the engineer, the
//! partner's catalogue and closure matrix, the sync policy and how photos are kept and uploaded.
//!
//! The configuration is plain data; the engine checks it when it opens ([`Config::check`]: a
//! bad catalogue or matrix, unusable TLS material, a zero timeout or photo size) and refuses
//! with [`Error::Config`](super::Error::Config) or [`Error::Matrix`](super::Error::Matrix),
//! naming the field. The rules live here, not in the FFI: the bindings only convert. Its
//! `Debug` never prints a key.
//!
//! Photo uploads ([`PhotoUpload`]) go through the partner hub by default
//! ([`PhotoUpload::ViaHub`]): the hub presigns each PUT for the device's own certificate, so
//! the phone holds no S3 key. Signing on the device with the partner's keys
//! ([`PhotoUpload::DirectS3`]) is for QA against an S3 stand-in only.

use std::path::PathBuf;

use crate::photos::{IngestConfig, PhotoKey, S3Config};
use crate::protocol::EngineerDetails;
use crate::store::DatabaseKey;
use crate::sync::SyncPolicy;
use crate::transport::{Timeouts, TlsMaterial};

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
    pub upload: Option<PhotoUpload>,
    /// Seals photo files at rest (AES-256-GCM) when set; from the platform keystore.
    pub key: Option<PhotoKey>,
}

impl Default for PhotoConfig {
    fn default() -> Self {
        Self {
            bucket: "jobpack-photos".into(),
            directory: None,
            ingest: IngestConfig::default(),
            upload: None,
            key: None,
        }
    }
}

/// How closure photos reach the bucket.
#[derive(Debug, Clone)]
pub enum PhotoUpload {
    /// The recommended mode, and the only one for phones in the field: for each photo the
    /// core asks the hub (the engine's own endpoints, with the device's client certificate)
    /// for a short-lived presigned PUT URL for the photo's deterministic key and checksum
    /// ([`HubPresignedUploader`](crate::photos::HubPresignedUploader)). No S3 key on the
    /// phone. Needs at least one endpoint.
    ViaHub(HubUpload),
    /// QA only: the partner's S3 keys on the device, each PUT signed here (SigV4), for tests
    /// and tools against an S3 stand-in without a hub.
    DirectS3(S3Config),
}

/// The S3 side of [`PhotoUpload::ViaHub`]: the URLs come from the hub, the PUT goes to S3.
#[derive(Debug, Clone, Default)]
pub struct HubUpload {
    /// CA certificates (PEM) that may sign the S3 endpoint's certificate, for an `https` URL
    /// (the core embeds no public roots).
    pub s3_trust_anchors_pem: Option<String>,
    /// QA: accept `http://` presigned URLs on a loopback address (an S3 stand-in).
    pub allow_plain_http_loopback: bool,
}

/// Most equivalent endpoints an engine accepts (the hub, or CityFibre's two gateways, are a
/// handful): more is a configuration mistake, and the limit keeps an endpoint's index small.
pub const MAX_ENDPOINTS: usize = 16;

impl Config {
    /// The rules a configuration must meet beyond its types, checked by
    /// [`Engine::open`](super::Engine::open): at most [`MAX_ENDPOINTS`] endpoints, a zero
    /// timeout would fail every call at once, a zero `max_edge` every photo, and uploads
    /// through the hub need a hub to ask.
    pub fn check(&self) -> Result<(), super::Error> {
        let refuse = |reason: &str| {
            Err(super::Error::Config {
                reason: reason.to_owned(),
            })
        };
        if self.endpoints.len() > MAX_ENDPOINTS {
            return Err(super::Error::Config {
                reason: format!(
                    "{} endpoints; at most {MAX_ENDPOINTS} are accepted",
                    self.endpoints.len()
                ),
            });
        }
        if self.timeouts.request.is_zero() {
            return refuse("timeouts.request must be positive (a zero timeout fails every call)");
        }
        if self.timeouts.connect.is_zero() {
            return refuse("timeouts.connect must be positive (a zero timeout fails every call)");
        }
        if self.photos.ingest.max_edge == 0 {
            return refuse("photos.ingest.max_edge must be at least 1 pixel");
        }
        if matches!(self.photos.upload, Some(PhotoUpload::ViaHub(_))) && self.endpoints.is_empty() {
            return refuse("photo uploads through the hub need an endpoint (the hub) to ask");
        }
        Ok(())
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
