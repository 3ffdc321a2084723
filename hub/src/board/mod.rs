//! The back-office board: a small web application served by the hub for the office (issue
//! #15, item 6): jobs with their state, engineer, latest message to CityFibre and its delivery
//! state; assigning and reassigning; parked messages with their reasons (resend, discard);
//! devices and their revocation.
//!
//! Why its own listener: the device side requires a client certificate signed by the hub CA
//! and answers JSON-RPC; a browser has no such certificate and wants HTML, cookies and
//! redirects. A third listener (HTTPS with the hub's server certificate, *no* client
//! certificate, loopback by default: `HubConfig::board_listen`) keeps the device side's rules
//! untouched and lets the office reach the board through its own network path (VPN, reverse
//! proxy) without exposing the phones' port, or the other way round.
//!
//! Why these pieces:
//! * `axum` routes and decodes forms on the hyper/rustls stack the hub already runs (each TLS
//!   connection is served by hyper with the router as its service, as `server.rs` does).
//! * `minijinja` renders the pages from templates in `templates/` with HTML auto-escaping on
//!   (the templates end in `.html`): job references, labels, reasons and device ids come from
//!   CityFibre and from phones, and an escape that is on by default cannot be forgotten in one
//!   cell. Built without its optional features, it costs a few seconds of compiling.
//! * No JavaScript: plain forms, POST-redirect-GET, a `Content-Security-Policy` that forbids
//!   scripts altogether.
//! * Authentication and CSRF: `auth.rs`. Every read or change goes through `HubStore`'s
//!   methods, so the board works on any store backend the hub has.

pub mod auth;
mod pages;
pub mod sql;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio_rustls::TlsAcceptor;

use crate::{HubError, HubStore};

pub use auth::{TOKEN_FILE, load_or_create_token};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The board, ready to serve.
pub struct Board {
    router: axum::Router,
    tls: TlsAcceptor,
}

impl Board {
    /// The board over `store`, with the token in `dir` (made on first start). `wake` is the
    /// forwarder's: an assignment queues the engineer details for CityFibre.
    pub fn new(dir: &Path, store: HubStore, wake: Arc<Notify>) -> Result<Board, HubError> {
        let token = load_or_create_token(dir)?;
        let tls = server_config(&store)?;
        let state = pages::State::new(store, wake, auth::Sessions::new(token))?;
        Ok(Board {
            router: pages::router(Arc::new(state)),
            tls: TlsAcceptor::from(Arc::new(tls)),
        })
    }

    /// Serves connections from `listener` until `shutdown` turns true.
    pub async fn serve(self, listener: TcpListener, shutdown: watch::Receiver<bool>) {
        let connections = shutdown.clone();
        crate::server::accept_until(listener, shutdown, |tcp| {
            tokio::spawn(connection(
                tcp,
                self.tls.clone(),
                self.router.clone(),
                connections.clone(),
            ));
        })
        .await;
    }
}

async fn connection(
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    router: axum::Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let tls = tokio::select! {
        done = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)) => match done {
            Ok(Ok(tls)) => tls,
            _ => return,
        },
        _ = shutdown.changed() => return,
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(router));
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = shutdown.changed() => connection.as_mut().graceful_shutdown(),
    }
}

/// The hub's server identity without client authentication (browsers have no certificate).
fn server_config(store: &HubStore) -> Result<rustls::ServerConfig, HubError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = &store.pki.server;
    let chain = CertificateDer::pem_slice_iter(server.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| HubError::Tls(format!("server certificate: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(server.key_pem.as_bytes())
        .map_err(|e| HubError::Tls(format!("server key: {e}")))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
