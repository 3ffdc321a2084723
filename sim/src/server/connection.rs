//! Connections: accepting on a gateway's socket, the mutual-TLS handshake (whose leaf
//! certificate names the calling engineer), one HTTP/1 connection per client, the `Date`
//! header every answer carries, and routing a request by path to the part that answers it.
//! A gateway that is "down" cuts its connections, and the body size is limited before
//! anything is read into memory.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use jobpack_core::clock::format_http_date;
use jobpack_core::protocol::Timestamp;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::admin::{handle_admin, handle_stats};
use super::messages::handle_message;
use super::pull::handle_pull;
use super::responses::{Answer, ConnectionDropped, rpc_error, text_response};
use super::{CITYFIBRE_PREFIX, HANDSHAKE_TIMEOUT, INVALID_PARAMS, MAX_BODY, Shared};

/// One gateway's listening socket with what its connections share.
pub(super) struct Gateway {
    pub(super) index: usize,
    pub(super) listener: TcpListener,
    pub(super) acceptor: TlsAcceptor,
    /// Engineer ids by their client certificate (DER).
    pub(super) engineers: Arc<BTreeMap<Vec<u8>, String>>,
    pub(super) shared: Arc<Shared>,
}

pub(super) async fn serve_gateway(gateway: Gateway) {
    let mut shutdown = gateway.shared.shutdown.clone();
    loop {
        let accepted = tokio::select! {
            accepted = gateway.listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let Ok((tcp, _peer)) = accepted else {
            // Out of file descriptors and the like: back off a little instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if gateway.shared.is_down(gateway.index) {
            drop(tcp);
            continue;
        }
        tokio::spawn(serve_connection(
            tcp,
            gateway.index,
            gateway.acceptor.clone(),
            Arc::clone(&gateway.engineers),
            Arc::clone(&gateway.shared),
        ));
    }
}

pub(super) async fn serve_connection(
    tcp: TcpStream,
    gateway: usize,
    acceptor: TlsAcceptor,
    engineers: Arc<BTreeMap<Vec<u8>, String>>,
    shared: Arc<Shared>,
) {
    let mut shutdown = shared.shutdown.clone();
    // A refused handshake (no certificate, a foreign CA) ends here: rustls has already sent
    // its alert and there is nothing to answer.
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
    let tls = tokio::select! {
        finished = handshake => match finished {
            Ok(Ok(tls)) => tls,
            _ => return,
        },
        _ = shutdown.changed() => return,
    };
    let engineer: Option<Arc<str>> = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|leaf| engineers.get(leaf.as_ref()))
        .map(|e| Arc::from(e.as_str()));
    let mut down = match shared.gateways_down.get(gateway) {
        Some(flag) => flag.subscribe(),
        None => return,
    };
    let service_shared = Arc::clone(&shared);
    let service = service_fn(move |request| {
        let shared = Arc::clone(&service_shared);
        let engineer = engineer.clone();
        async move {
            let mut answer = handle(Arc::clone(&shared), gateway, engineer, request).await;
            if let Ok(response) = &mut answer {
                stamp_date(&shared, response);
            }
            answer
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(tls), service);
    tokio::select! {
        _ = connection => {}
        _ = shutdown.changed() => {}
        _ = down.wait_for(|down| *down) => {}
    }
}

/// Every answer carries the gateway's time, skewed as configured (hyper would add an
/// unskewed one otherwise); the phones learn their clock's offset from it.
pub(super) fn stamp_date(shared: &Shared, response: &mut Response<Full<Bytes>>) {
    let skew = shared.clock_skew_ms.load(Ordering::Relaxed);
    let now = Timestamp::now().unix_millis().saturating_add(skew);
    if let Some(at) = Timestamp::from_unix_millis(now)
        && let Ok(value) = HeaderValue::from_str(&format_http_date(at))
    {
        response.headers_mut().insert(hyper::header::DATE, value);
    }
}

#[derive(Clone, Copy)]
pub(super) enum Route {
    Message(&'static str),
    Pull,
    Stats,
    Admin,
}

pub(super) async fn handle(
    shared: Arc<Shared>,
    gateway: usize,
    engineer: Option<Arc<str>>,
    request: Request<Incoming>,
) -> Answer {
    if shared.is_down(gateway) {
        return Err(ConnectionDropped);
    }
    let path = request.uri().path();
    let path = path.strip_prefix(CITYFIBRE_PREFIX).unwrap_or(path);
    let route = match path {
        "/notifyJob" => Route::Message("notifyJob"),
        "/closeJob" => Route::Message("closeJob"),
        "/pull" => Route::Pull,
        "/stats" => Route::Stats,
        "/admin" => Route::Admin,
        other => {
            let text = format!("no such path {other:?}");
            return Ok(text_response(StatusCode::NOT_FOUND, text));
        }
    };
    if request.method() != Method::POST {
        let mut response = text_response(StatusCode::METHOD_NOT_ALLOWED, "POST only".into());
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return Ok(response);
    }
    let key = idempotency_key(&request);
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            if let Route::Message(_) = route {
                let mut state = shared.lock();
                state.ledger.count_request();
                state.ledger.quarantine(
                    format!("body larger than {MAX_BODY} bytes"),
                    b"(body not kept)",
                );
            }
            return Ok(rpc_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                Value::Null,
                INVALID_PARAMS,
                format!("body larger than {MAX_BODY} bytes"),
            ));
        }
        // The client went away mid-body: nobody to answer.
        Err(_) => return Err(ConnectionDropped),
    };
    match route {
        Route::Message(method) => {
            handle_message(&shared, engineer.as_deref(), method, key, &body).await
        }
        Route::Pull => Ok(handle_pull(&shared, engineer.as_deref(), &body)),
        Route::Stats => Ok(handle_stats(&shared, &body)),
        Route::Admin => Ok(handle_admin(&shared, &body)),
    }
}

/// `None` when absent; `Some(Err(reason))` when present but unusable.
pub(super) fn idempotency_key(request: &Request<Incoming>) -> Option<Result<String, String>> {
    let value = request.headers().get("idempotency-key")?;
    let checked = match value.to_str() {
        Ok(text) if (8..=128).contains(&text.len()) => Ok(text.to_owned()),
        Ok(text) => Err(format!(
            "Idempotency-Key must be 8-128 characters, has {}",
            text.len()
        )),
        Err(_) => Err("Idempotency-Key is not visible ASCII".to_owned()),
    };
    Some(checked)
}
