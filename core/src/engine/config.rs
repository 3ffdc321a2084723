//! The engine's configuration: what an app gives [`Engine::open`](super::Engine::open) —
//! the database (and its key), the endpoints with the device's TLS material, the engineer, the
//! partner's catalogue and closure matrix, the sync policy and how photos are kept and uploaded.
//!
//! The configuration is plain data; the engine checks it when it opens (a bad catalogue or
//! matrix, unusable TLS material) and refuses with [`Error::Config`](super::Error::Config) or
//! [`Error::Matrix`](super::Error::Matrix). Its `Debug` never prints a key.

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
