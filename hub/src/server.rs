//! The two HTTPS listeners: CityFibre's side and the phones' side, both rustls with client
//! certificates required.
//!
//! * CityFibre's side trusts only the anchors configured for CityFibre; any certificate they
//!   signed may call `createJob`, `cancelJob` and `notifyJob`.
//! * The phones' side trusts only the hub CA; then every request looks its certificate up in
//!   `devices` (`pki::caller_of`): unknown or revoked is refused, a device acts only for its
//!   engineer, and only an office certificate may dispatch (`/admin/assign`).
//!
//! Each request's database work is one transaction, committed before the answer is written
//! (see `db.rs`, `pg.rs`); no lock or transaction is held across an `await`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use jobpack_core::codes::Catalogue;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio_rustls::TlsAcceptor;

use crate::pki::{Caller, Role, caller_of};
use crate::rpc::{Answer, MAX_BODY, RpcCode, Side, reject};
use crate::store::Storage;
use crate::{HubError, cityfibre, dispatch, phone};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// CityFibre's production path prefix, accepted on both sides.
const PREFIX: &str = "/prod/ftth-installer";

pub(crate) struct Context {
    pub(crate) db: Arc<Storage>,
    pub(crate) catalogue: Catalogue,
    /// Wakes the forwarder after something was queued for CityFibre.
    pub(crate) wake: Arc<Notify>,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) photos: Option<crate::photos::Presigner>,
}

pub(crate) async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    side: Side,
    context: Arc<Context>,
) {
    let shutdown = context.shutdown.clone();
    accept_until(listener, shutdown, |tcp| {
        tokio::spawn(connection(
            tcp,
            acceptor.clone(),
            side,
            Arc::clone(&context),
        ));
    })
    .await;
}

/// Accepts connections on `listener`, handing each to `serve`, until `shutdown` turns true
/// (every listener of the hub: CityFibre's, the devices', the board's). A failed accept
/// (out of file descriptors, a reset before accept) is waited out briefly, not fatal.
pub(crate) async fn accept_until(
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
    mut serve: impl FnMut(TcpStream),
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        match accepted {
            Ok((tcp, _)) => serve(tcp),
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

async fn connection(tcp: TcpStream, acceptor: TlsAcceptor, side: Side, context: Arc<Context>) {
    let mut shutdown = context.shutdown.clone();
    let tls = tokio::select! {
        done = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)) => match done {
            Ok(Ok(tls)) => tls,
            // A certificate from an unknown CA, or none: rustls has sent its alert.
            _ => return,
        },
        _ = shutdown.changed() => return,
    };
    let leaf: Option<Arc<Vec<u8>>> = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|leaf| Arc::new(leaf.as_ref().to_vec()));
    let service_context = Arc::clone(&context);
    let service = service_fn(move |request| {
        let context = Arc::clone(&service_context);
        let leaf = leaf.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(request, side, leaf, &context).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(tls), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = shutdown.changed() => connection.as_mut().graceful_shutdown(),
    }
}

/// Why a body was not read whole; what was read is kept for inspection.
enum BodyError {
    /// Larger than `MAX_BODY` (at least `size` bytes).
    TooLarge { start: Vec<u8>, size: usize },
    /// The connection broke mid-body.
    Broken { start: Vec<u8> },
}

/// Reads at most `MAX_BODY` bytes.
async fn read_body(body: Incoming) -> Result<Vec<u8>, BodyError> {
    let mut body = body;
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(BodyError::Broken { start: bytes });
        };
        if let Some(chunk) = frame.data_ref() {
            if bytes.len() + chunk.len() > MAX_BODY {
                let size = bytes.len() + chunk.len();
                return Err(BodyError::TooLarge { start: bytes, size });
            }
            bytes.extend_from_slice(chunk);
        }
    }
    Ok(bytes)
}

async fn handle(
    request: Request<Incoming>,
    side: Side,
    leaf: Option<Arc<Vec<u8>>>,
    context: &Context,
) -> Response<Full<Bytes>> {
    let path = request
        .uri()
        .path()
        .strip_prefix(PREFIX)
        .unwrap_or(request.uri().path())
        .to_owned();
    let method = request.method().clone();
    let key = request
        .headers()
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::to_owned).unwrap_or_default());
    let body = match read_body(request.into_body()).await {
        Ok(body) => body,
        Err(BodyError::TooLarge { start, size }) => {
            let answer = context
                .db
                .write(|tx| {
                    let mut answer = reject(
                        tx,
                        side,
                        &path,
                        &start,
                        size,
                        RpcCode::InvalidRequest,
                        format!("the request is larger than {MAX_BODY} bytes"),
                    )?;
                    answer.status = hyper::StatusCode::PAYLOAD_TOO_LARGE;
                    Ok(answer)
                })
                .unwrap_or_else(|_| Answer::too_large(size));
            return respond(answer);
        }
        Err(BodyError::Broken { start }) => {
            // Nobody may be there to read the answer, but the attempt is kept all the same.
            let reason = "the request body broke off before its end".to_owned();
            return respond(refuse(
                context,
                side,
                &path,
                &start,
                RpcCode::InvalidRequest,
                reason,
            ));
        }
    };
    if method != Method::POST {
        let reason = format!("{method} {path}: only POST is served");
        return respond(refuse(
            context,
            side,
            &path,
            &body,
            RpcCode::MethodNotFound,
            reason,
        ));
    }
    let answer = match side {
        Side::CityFibre => {
            let name = path.trim_start_matches('/').to_owned();
            context.db.write(|tx| cityfibre::receive(tx, &name, &body))
        }
        Side::Device => device(&path, key.as_deref(), &body, leaf.as_deref(), context),
    };
    match answer {
        Ok(answer) => respond(answer),
        // The hub could not commit: the caller must retry, so this is a 503, never a 200.
        Err(e) => {
            let mut answer = Answer::error(
                RpcCode::InvalidRequest,
                Value::Null,
                format!("the hub could not store this: {e}"),
            );
            answer.status = hyper::StatusCode::SERVICE_UNAVAILABLE;
            respond(answer)
        }
    }
}

fn device(
    path: &str,
    key: Option<&str>,
    body: &[u8],
    leaf: Option<&Vec<u8>>,
    context: &Context,
) -> Result<Answer, HubError> {
    // Every refusal on this side is kept with what was read, like the listener's own.
    let refused = |code: RpcCode, reason: String| {
        context.db.write(|tx| {
            reject(
                tx,
                Side::Device,
                path,
                body,
                body.len(),
                code,
                reason.clone(),
            )
        })
    };
    let Some(leaf) = leaf else {
        return refused(RpcCode::Forbidden, "no client certificate".into());
    };
    let caller = context.db.read(|tx| caller_of(tx, leaf))?;
    let caller: Caller = match caller {
        Ok(caller) => caller,
        Err(refusal) => {
            return refused(RpcCode::Forbidden, refusal.to_string());
        }
    };
    match (path, caller.role, caller.engineer_id.as_deref()) {
        ("/pull", Role::Device, Some(engineer)) => {
            context.db.read(|tx| phone::pull(tx, engineer, body))
        }
        ("/notifyJob" | "/closeJob", Role::Device, Some(engineer)) => {
            let method = path.trim_start_matches('/');
            let answer = context
                .db
                .write(|tx| phone::push(tx, engineer, method, key, body, &context.catalogue))?;
            context.wake.notify_one();
            Ok(answer)
        }
        ("/photoUrl", Role::Device, Some(engineer)) => match &context.photos {
            Some(presigner) => context.db.write(|tx| presigner.answer(tx, engineer, body)),
            None => refused(
                RpcCode::MethodNotFound,
                "this hub hands out no photo URLs (no bucket configured)".into(),
            ),
        },
        ("/admin/jobs", Role::Office, _) => {
            let id = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.get("id").cloned())
                .unwrap_or(Value::Null);
            let rows = context.db.read(cityfibre::board)?;
            Ok(Answer::ok(
                json!({"jsonrpc": "2.0", "id": id, "result": {"jobs": rows}}),
            ))
        }
        ("/admin/assign", Role::Office, _) => {
            let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let text = |name: &str| {
                request
                    .pointer(&format!("/params/{name}"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            let id = request.get("id").cloned().unwrap_or(Value::Null);
            let (Some(job_ref), Some(engineer)) = (text("jobRef"), text("engineerId")) else {
                return refused(
                    RpcCode::InvalidParams,
                    "params.jobRef and params.engineerId are required".into(),
                );
            };
            match context
                .db
                .write(|tx| dispatch::assign(tx, &job_ref, &engineer))
            {
                Ok(assignment) => {
                    context.wake.notify_one();
                    Ok(Answer::ok(
                        json!({"jsonrpc": "2.0", "id": id, "result": assignment}),
                    ))
                }
                Err(
                    e @ (HubError::UnknownJob(_)
                    | HubError::UnknownEngineer(_)
                    | HubError::NotAssignable { .. }),
                ) => Ok(Answer::error(RpcCode::InvalidParams, id, e.to_string())),
                Err(e) => Err(e),
            }
        }
        ("/pull" | "/notifyJob" | "/closeJob" | "/photoUrl", _, _) => refused(
            RpcCode::Forbidden,
            format!("device {} is not an engineer's device", caller.device_id),
        ),
        ("/admin/assign" | "/admin/jobs", _, _) => refused(
            RpcCode::Forbidden,
            format!("device {} may not dispatch", caller.device_id),
        ),
        _ => refused(
            RpcCode::MethodNotFound,
            format!("{path} is not served here"),
        ),
    }
}

/// Keeps a refused request (all of `body` that was read) and answers it with `code`; when the
/// database cannot keep it, the caller still gets the same typed error.
fn refuse(
    context: &Context,
    side: Side,
    path: &str,
    body: &[u8],
    code: RpcCode,
    reason: String,
) -> Answer {
    context
        .db
        .write(|tx| reject(tx, side, path, body, body.len(), code, reason.clone()))
        .unwrap_or_else(|_| Answer::error(code, Value::Null, reason))
}

fn respond(answer: Answer) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() = answer.status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `https://` URL of a bound address (loopback for an unspecified one).
pub(crate) fn url_of(local: SocketAddr) -> String {
    let ip = match local.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
        }
        ip => ip,
    };
    format!("https://{}", SocketAddr::new(ip, local.port()))
}
