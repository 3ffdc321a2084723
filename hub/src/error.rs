//! The hub's error type: what can stop the hub itself (files, database, certificates,
//! sockets). What a *caller sends wrong* is not an error of the hub: it becomes a typed
//! JSON-RPC error answer and a row in `rejected` (see `rpc.rs`).

use std::net::SocketAddr;
use std::path::PathBuf;

use jobpack_core::outbox::OutboxError;
use jobpack_core::store::{StorageFailure, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("the database holds something this build cannot read: {0}")]
    Corrupt(String),
    #[error("outbox: {0}")]
    Outbox(#[from] StoreError),
    #[error("storage: {0}")]
    Storage(StorageFailure),
    #[error(
        "the hub database has schema {found}; this build knows up to {supported}: update the hub"
    )]
    NewerSchema { found: i64, supported: i64 },
    #[error("could not read or write {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("TLS configuration: {0}")]
    Tls(String),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("no engineer {0:?} (add it first)")]
    UnknownEngineer(String),
    #[error("no job {0:?} at the hub")]
    UnknownJob(String),
    #[error("job {job_ref} is {state}; only received or assigned jobs can be assigned")]
    NotAssignable { job_ref: String, state: String },
    #[error("no device {0:?}")]
    UnknownDevice(String),
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("upstream (CityFibre) configuration: {0}")]
    Upstream(String),
}

impl From<rcgen::Error> for HubError {
    fn from(e: rcgen::Error) -> Self {
        Self::Certificate(e.to_string())
    }
}

impl From<rustls::Error> for HubError {
    fn from(e: rustls::Error) -> Self {
        Self::Tls(e.to_string())
    }
}

pub(crate) fn file_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> HubError + '_ {
    move |source| HubError::File {
        path: path.to_path_buf(),
        source,
    }
}

/// The core's outbox refusals (not parked, wrong confirmation...) are the caller's mistake;
/// a storage failure under them is the hub's.
impl From<OutboxError> for HubError {
    fn from(e: OutboxError) -> Self {
        match e {
            OutboxError::Storage(failure) => Self::Storage(failure),
            refusal => Self::Invalid {
                field: "seq",
                reason: refusal.to_string(),
            },
        }
    }
}
