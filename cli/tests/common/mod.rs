//! What the shell tests share: a local simulator for engineer E001 over mutual TLS, its
//! client certificates written where `jobpack engineer --certs` reads them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use jobpack_sim::{Pki, SimConfig, Simulator};

/// The engineer every shell test works as.
pub const ENGINEER: &str = "E001";

/// A two-thread runtime to host the simulator (and the S3 stand-in) beside the child
/// processes under test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Starts the simulator with `config` (its listen address and engineers are set here)
/// and writes the certificates to `dir/certs`, whose path is returned with it.
pub fn simulator(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    config: SimConfig,
) -> (Simulator, PathBuf) {
    let certs = dir.join("certs");
    let engineers = vec![ENGINEER.to_owned()];
    let pki = Pki::generate(&engineers).expect("test PKI");
    pki.write_to_dir(&certs).expect("certificates written");
    let config = SimConfig {
        listen: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
        engineers,
        ..config
    };
    let sim = runtime
        .block_on(Simulator::start(config, pki))
        .expect("simulator starts");
    (sim, certs)
}
