//! The simulator's one error type.
//!
//! Everything the simulator can refuse is named here, so a test or the `jobpack sim` command
//! can say what went wrong (which engineer, which job, which address) instead of a string.
//! Problems with what a *client sends* are not errors of the simulator: they become HTTP
//! answers and quarantine entries (see `server.rs`).

use std::net::SocketAddr;
use std::path::PathBuf;

use jobpack_core::protocol::ProtocolError;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("could not make a certificate: {0}")]
    Certificate(String),
    #[error("TLS configuration refused: {0}")]
    Tls(String),
    #[error("engineer id {0:?} must be 1-64 letters, digits, _ or - (it names certificate files)")]
    BadEngineerId(String),
    #[error("engineer {0:?} is listed twice")]
    DuplicateEngineer(String),
    #[error("at least one engineer is needed: a client certificate is the only way in")]
    NoEngineers,
    #[error("engineer {0:?} has no client certificate in this simulator")]
    UnknownEngineer(String),
    #[error("job {0:?} is unknown to the simulator (create it first, or send a message for it)")]
    UnknownJob(String),
    #[error("ONT provisioning status {0} is not one of 1-7")]
    BadProvisioningStatus(u8),
    #[error("at least one listen address is needed")]
    NoListenAddress,
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("could not write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the message would not be valid: {0}")]
    Protocol(#[from] ProtocolError),
    #[error("job pack could not be built: {0}")]
    JobPack(String),
}

impl From<rcgen::Error> for SimError {
    fn from(e: rcgen::Error) -> Self {
        Self::Certificate(e.to_string())
    }
}

impl From<rustls::Error> for SimError {
    fn from(e: rustls::Error) -> Self {
        Self::Tls(e.to_string())
    }
}
