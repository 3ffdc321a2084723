//! The HTTPS server: mutual TLS, routing, and the order in which faults and processing happen.
//!
//! Every connection is TLS with a client certificate checked against the simulator's CA; the
//! leaf certificate says which engineer is calling (that is whose inbox `pull` reads). State
//! lives behind one mutex and is never held across an `await`, so each message is judged,
//! deduplicated and recorded atomically and the answer is written afterwards, which is what
//! makes "processed, then the connection dropped" a real possibility for the client.
//!
//! For `notifyJob` / `closeJob` one fault is drawn per request *before* anything else, so the
//! draw sequence depends only on the seed and the number of requests. Faults that mean "the
//! server never saw it" (drop before, 500, 429) skip processing; the others (drop after,
//! late answer, garbage body) process the message and then spoil the answer.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use jobpack_core::clock::format_http_date;
use jobpack_core::codes::Catalogue;
use jobpack_core::protocol::{
    JobEvent, JobPack, OutboundCall, PullRequest, PullResponse, PullResult, Timestamp,
    parse_outbound,
};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::faults::{FaultKind, FaultPlan, PERMANENT_REJECTION};
use crate::inbox::{Inbox, Ont, ProvisioningDraw, sample_job_pack};
use crate::ledger::{Ledger, RememberedAnswer};
use crate::{FaultConfig, PartnerCaller, Pki, SimConfig, SimError, Stats};

/// Bodies larger than this are refused (413); real messages are a few KB.
const MAX_BODY: usize = 1 << 20;
/// A client that opens TCP and never finishes the handshake is let go after this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// CityFibre's path prefix, accepted so a client configured with the production URL shape works.
const CITYFIBRE_PREFIX: &str = "/prod/ftth-installer";
/// The pull page size when the client does not ask.
const DEFAULT_PULL_LIMIT: u32 = 100;

/// JSON-RPC error codes used in answers.
const INVALID_PARAMS: i64 = -32602;
const METHOD_NOT_FOUND: i64 = -32601;
const REJECTED: i64 = -32010;
const FORBIDDEN: i64 = -32003;

struct State {
    ledger: Ledger,
    inbox: Inbox,
    faults: FaultPlan,
    provisioning: ProvisioningDraw,
}

struct Shared {
    state: Mutex<State>,
    catalogue: Catalogue,
    retry_delay: Duration,
    shutdown: watch::Receiver<bool>,
    /// One "down" flag per gateway.
    gateways_down: Vec<watch::Sender<bool>>,
    /// Added to the time in every response's `Date` header (`SimConfig::clock_skew_ms`).
    clock_skew_ms: AtomicI64,
    /// Where provisioning results for the partner's own messages go (`Simulator::call_partner`).
    partner: Mutex<Option<Arc<PartnerCaller>>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take the simulator down with it: the state is still
        // consistent because every update is made whole under the lock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_down(&self, gateway: usize) -> bool {
        self.gateways_down.get(gateway).is_some_and(|d| *d.borrow())
    }
}

/// A running simulator. Dropping it stops the servers as [`Simulator::shutdown`] does, without
/// waiting for them.
pub struct Simulator {
    shared: Arc<Shared>,
    urls: Vec<String>,
    pki: Pki,
    shutdown: watch::Sender<bool>,
    listeners: Vec<JoinHandle<()>>,
}

impl Simulator {
    /// Binds every listen address and spawns the servers on the current tokio runtime.
    pub async fn start(config: SimConfig, pki: Pki) -> Result<Simulator, SimError> {
        if config.listen.is_empty() {
            return Err(SimError::NoListenAddress);
        }
        if let Some(missing) = config
            .engineers
            .iter()
            .find(|e| !pki.clients.contains_key(*e))
        {
            return Err(SimError::UnknownEngineer(missing.clone()));
        }
        let acceptor = TlsAcceptor::from(Arc::new(pki.server_tls_config()?));
        let engineers = Arc::new(pki.engineer_by_certificate()?);

        let mut bound = Vec::new();
        for addr in &config.listen {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| SimError::Bind {
                    addr: *addr,
                    source,
                })?;
            let local = listener.local_addr().map_err(|source| SimError::Bind {
                addr: *addr,
                source,
            })?;
            bound.push((listener, local));
        }

        let (shutdown, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                ledger: Ledger::default(),
                inbox: Inbox::new(pki.clients.keys().cloned()),
                faults: FaultPlan::new(config.faults),
                provisioning: ProvisioningDraw::new(&config.provisioning),
            }),
            catalogue: Catalogue::embedded(),
            retry_delay: config.retry_delay,
            shutdown: shutdown_rx,
            gateways_down: bound.iter().map(|_| watch::channel(false).0).collect(),
            clock_skew_ms: AtomicI64::new(config.clock_skew_ms),
            partner: Mutex::new(None),
        });

        let urls = bound.iter().map(|(_, local)| url_of(*local)).collect();
        let listeners = bound
            .into_iter()
            .enumerate()
            .map(|(gateway, (listener, _))| {
                tokio::spawn(serve_gateway(Gateway {
                    index: gateway,
                    listener,
                    acceptor: acceptor.clone(),
                    engineers: Arc::clone(&engineers),
                    shared: Arc::clone(&shared),
                }))
            })
            .collect();
        Ok(Simulator {
            shared,
            urls,
            pki,
            shutdown,
            listeners,
        })
    }

    /// `https://127.0.0.1:PORT` per gateway; a client POSTs to url + `/notifyJob`,
    /// `/closeJob`, `/pull`, `/stats` (and `/admin`).
    pub fn urls(&self) -> Vec<String> {
        self.urls.clone()
    }

    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    pub fn stats(&self) -> Stats {
        self.shared.lock().ledger.stats()
    }

    /// Queues a createJob envelope in that engineer's inbox.
    pub fn create_job(&self, engineer: &str, job_ref: &str, pack: JobPack) -> Result<(), SimError> {
        self.shared.lock().inbox.create_job(engineer, job_ref, pack)
    }

    /// Queues a cancelJob envelope for the job's engineer.
    pub fn cancel_job(&self, job_ref: &str, reason: &str) -> Result<(), SimError> {
        self.shared.lock().inbox.cancel_job(job_ref, reason)
    }

    /// Queues exactly one provisioning notice with `status` (no automatic follow-up).
    pub fn notify_provisioning(&self, job_ref: &str, status: u8) -> Result<(), SimError> {
        let mut state = self.shared.lock();
        state.inbox.provisioning(job_ref, status)?;
        state.ledger.count_provisioning(status);
        Ok(())
    }

    /// From now on, an ontScanned that arrives with a certificate of no engineer (the partner
    /// hub's) is answered the way CityFibre does it: the provisioning result (and, after a
    /// status 4, the follow-up status 1 after `retry_delay`) is *sent to the partner* with
    /// `caller`, instead of being queued in the simulator's own pull inbox.
    pub fn call_partner(&self, caller: PartnerCaller) {
        *self
            .shared
            .partner
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(caller));
    }

    /// Replaces the fault configuration; the random source restarts from its seed.
    pub fn set_faults(&self, faults: FaultConfig) {
        self.shared.lock().faults = FaultPlan::new(faults);
    }

    /// While down, that listener accepts TCP and closes it at once, and open connections to
    /// it are cut. An index with no gateway is ignored.
    /// Skews the time the gateways put in their `Date` headers by `ms` from now on.
    pub fn set_clock_skew(&self, ms: i64) {
        self.shared.clock_skew_ms.store(ms, Ordering::Relaxed);
    }

    pub fn set_gateway_down(&self, index: usize, down: bool) {
        if let Some(flag) = self.shared.gateways_down.get(index) {
            flag.send_replace(down);
        }
    }

    /// Stops accepting, ends open connections and waits for the listeners to finish.
    pub async fn shutdown(self) {
        self.shutdown.send_replace(true);
        for listener in self.listeners {
            let _ = listener.await;
        }
    }
}

fn url_of(local: SocketAddr) -> String {
    let ip = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("https://{}", SocketAddr::new(ip, local.port()))
}

struct Gateway {
    index: usize,
    listener: TcpListener,
    acceptor: TlsAcceptor,
    engineers: Arc<BTreeMap<Vec<u8>, String>>,
    shared: Arc<Shared>,
}

async fn serve_gateway(gateway: Gateway) {
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

async fn serve_connection(
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
fn stamp_date(shared: &Shared, response: &mut Response<Full<Bytes>>) {
    let skew = shared.clock_skew_ms.load(Ordering::Relaxed);
    let now = Timestamp::now().unix_millis().saturating_add(skew);
    if let Some(at) = Timestamp::from_unix_millis(now)
        && let Ok(value) = HeaderValue::from_str(&format_http_date(at))
    {
        response.headers_mut().insert(hyper::header::DATE, value);
    }
}

/// Returned by the service to make hyper abort the connection without an answer.
#[derive(Debug)]
struct ConnectionDropped;

impl std::fmt::Display for ConnectionDropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for ConnectionDropped {}

type Answer = Result<Response<Full<Bytes>>, ConnectionDropped>;

#[derive(Clone, Copy)]
enum Route {
    Message(&'static str),
    Pull,
    Stats,
    Admin,
}

async fn handle(
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
fn idempotency_key(request: &Request<Incoming>) -> Option<Result<String, String>> {
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

async fn handle_message(
    shared: &Arc<Shared>,
    engineer: Option<&str>,
    method: &'static str,
    key: Option<Result<String, String>>,
    body: &[u8],
) -> Answer {
    let (fault, delay, retry_after) = {
        let mut state = shared.lock();
        state.ledger.count_request();
        let fault = state.faults.draw();
        if let Some(kind) = fault {
            state.ledger.count_fault(kind.name());
        }
        let config = state.faults.config();
        (fault, config.delay, config.retry_after_secs)
    };
    match fault {
        Some(FaultKind::DropBeforeProcessing) => return Err(ConnectionDropped),
        Some(FaultKind::ServerError) => {
            return Ok(text_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal server error (injected by the simulator)".into(),
            ));
        }
        Some(FaultKind::TooManyRequests) => {
            let mut response = text_response(
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests (injected by the simulator)".into(),
            );
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after));
            return Ok(response);
        }
        _ => {}
    }
    let answer = process_message(shared, engineer, method, key, body);
    match fault {
        Some(FaultKind::DropAfterProcessing) => Err(ConnectionDropped),
        Some(FaultKind::DelayPastTimeout) => {
            tokio::time::sleep(delay).await;
            Ok(json_response(answer.status, answer.body))
        }
        Some(FaultKind::Garbage) => {
            let mut response = Response::new(Full::new(Bytes::from_static(GARBAGE)));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
            Ok(response)
        }
        _ => Ok(json_response(answer.status, answer.body)),
    }
}

/// What a misconfigured proxy in front of CityFibre answers with.
const GARBAGE: &[u8] = b"<html><head><title>Gateway</title></head><body><h1>Request received</h1><p>The upstream answer could not be shown.</p></body></html>";

/// Judges, deduplicates and records one message; the whole step happens under the lock.
fn process_message(
    shared: &Arc<Shared>,
    engineer: Option<&str>,
    method: &'static str,
    key: Option<Result<String, String>>,
    body: &[u8],
) -> RememberedAnswer {
    let mut state = shared.lock();
    let key = match key {
        Some(Ok(key)) => Some(key),
        Some(Err(reason)) => return refuse(&mut state, body, reason),
        None => None,
    };
    if let Some(first) = state.ledger.duplicate_of(key.as_deref()) {
        return first;
    }
    let request = match parse_outbound(body) {
        Ok(request) => request,
        Err(e) => return refuse(&mut state, body, e.to_string()),
    };
    if request.call.method() != method {
        let reason = format!("{} posted to /{method}", request.call.method());
        return refuse(&mut state, body, reason);
    }
    if let Err(e) = shared.catalogue.check_request(&request) {
        return refuse(&mut state, body, e.to_string());
    }
    let job_ref = request.call.job_header().job_ref.as_str().to_owned();
    let closure_code = match &request.call {
        OutboundCall::CloseJob(close) => Some(close.closure_code.as_str()),
        OutboundCall::NotifyJob(_) => None,
    };
    if let Some(rule) = state.faults.config().rejection(&job_ref, closure_code) {
        state.ledger.count_fault(PERMANENT_REJECTION);
        state.ledger.quarantine(rule.clone(), body);
        return RememberedAnswer {
            status: StatusCode::UNPROCESSABLE_ENTITY.as_u16(),
            body: rpc_error_body(json!(request.id.get()), REJECTED, rule),
        };
    }

    let answer = RememberedAnswer {
        status: StatusCode::OK.as_u16(),
        body: json!({"jsonrpc": "2.0", "id": request.id.get(), "result": {"accepted": true}})
            .to_string(),
    };
    if let Some(engineer) = engineer {
        state.inbox.adopt(&job_ref, engineer);
    }
    state
        .ledger
        .record(&request, key.as_deref(), answer.clone());

    if let OutboundCall::NotifyJob(notify) = &request.call
        && let JobEvent::OntScanned(ont) = &notify.event
    {
        state.inbox.remember_ont(
            &job_ref,
            Ont {
                fsan: ont.fsan.clone(),
                serial_number: ont.serial_number.clone(),
            },
        );
        let status = state.provisioning.draw();
        let partner = shared
            .partner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .filter(|_| engineer.is_none());
        if let Some(caller) = partner {
            state.ledger.count_provisioning(status);
            if status == 4 {
                state.ledger.count_provisioning(1);
            }
            let ont = (ont.fsan.clone(), ont.serial_number.clone());
            provision_partner(shared, caller, job_ref, status, ont);
        } else if state.inbox.provisioning(&job_ref, status).is_ok() {
            state.ledger.count_provisioning(status);
            if status == 4 {
                follow_up_with_success(shared, job_ref);
            }
        }
    }
    answer
}

/// Sends a provisioning result to the partner, as CityFibre does; after a status 4 the
/// follow-up status 1 comes `retry_delay` later, in the same task so they stay in order. A
/// call the partner never answers is given up after the caller's retries (CityFibre's side
/// of that is its own order desk).
fn provision_partner(
    shared: &Arc<Shared>,
    caller: Arc<PartnerCaller>,
    job_ref: String,
    status: u8,
    ont: (String, String),
) {
    let retry_delay = shared.retry_delay;
    let mut shutdown = shared.shutdown.clone();
    tokio::spawn(async move {
        let calls = async {
            let _ = caller
                .provision_ont(&job_ref, status, Some(ont.clone()))
                .await;
            if status == 4 {
                tokio::time::sleep(retry_delay).await;
                let _ = caller.provision_ont(&job_ref, 1, Some(ont)).await;
            }
        };
        tokio::select! {
            _ = calls => {}
            _ = shutdown.changed() => {}
        }
    });
}

/// Status 4 says "retrying in 5 minutes"; the simulator retries after `retry_delay` and succeeds.
fn follow_up_with_success(shared: &Arc<Shared>, job_ref: String) {
    let shared = Arc::clone(shared);
    let mut shutdown = shared.shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(shared.retry_delay) => {
                let mut state = shared.lock();
                if state.inbox.provisioning(&job_ref, 1).is_ok() {
                    state.ledger.count_provisioning(1);
                }
            }
            _ = shutdown.changed() => {}
        }
    });
}

fn refuse(state: &mut State, body: &[u8], reason: String) -> RememberedAnswer {
    state.ledger.quarantine(reason.clone(), body);
    RememberedAnswer {
        status: StatusCode::BAD_REQUEST.as_u16(),
        body: rpc_error_body(request_id(body), INVALID_PARAMS, reason),
    }
}

/// The JSON-RPC id of a request we could not read as a whole, or null.
fn request_id(body: &[u8]) -> Value {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("id").filter(|id| id.is_u64()).cloned())
        .unwrap_or(Value::Null)
}

fn handle_pull(shared: &Shared, engineer: Option<&str>, body: &[u8]) -> Response<Full<Bytes>> {
    let Some(engineer) = engineer else {
        return rpc_error(
            StatusCode::FORBIDDEN,
            request_id(body),
            FORBIDDEN,
            "this client certificate belongs to no engineer".into(),
        );
    };
    let pull: PullRequest = match serde_json::from_slice(body) {
        Ok(pull) => pull,
        Err(e) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                request_id(body),
                INVALID_PARAMS,
                format!("pull: {e}"),
            );
        }
    };
    let limit = pull.params.limit.unwrap_or(DEFAULT_PULL_LIMIT);
    let page = shared.lock().inbox.page(
        engineer,
        pull.params.cursor.as_deref(),
        usize::try_from(limit).unwrap_or(usize::MAX),
    );
    match page {
        Ok(page) => {
            let response = PullResponse {
                jsonrpc: Default::default(),
                id: pull.id,
                result: PullResult {
                    messages: page.messages,
                    next_cursor: page.next_cursor,
                    more: page.more,
                    refused: Vec::new(),
                },
            };
            json_response(200, serde_json::to_string(&response).unwrap_or_default())
        }
        Err(e) => rpc_error(
            StatusCode::BAD_REQUEST,
            json!(pull.id.get()),
            INVALID_PARAMS,
            e.to_string(),
        ),
    }
}

fn handle_stats(shared: &Shared, body: &[u8]) -> Response<Full<Bytes>> {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    if request.get("method").and_then(Value::as_str) != Some("stats") {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            id,
            METHOD_NOT_FOUND,
            r#"POST {"jsonrpc":"2.0","id":1,"method":"stats"} to /stats"#.into(),
        );
    }
    let stats = shared.lock().ledger.stats();
    json_response(
        200,
        json!({"jsonrpc": "2.0", "id": id, "result": stats}).to_string(),
    )
}

fn handle_admin(shared: &Arc<Shared>, body: &[u8]) -> Response<Full<Bytes>> {
    let request: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                INVALID_PARAMS,
                format!("not JSON: {e}"),
            );
        }
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let params = request.get("params").cloned().unwrap_or(Value::Null);
    let text = |name: &str| params.get(name).and_then(Value::as_str);
    let missing = |name: &str| format!("params.{name} is required");
    let outcome: Result<(), String> = match request.get("method").and_then(Value::as_str) {
        Some("createJob") => (|| {
            let engineer = text("engineer").ok_or_else(|| missing("engineer"))?;
            let job_ref = text("ref").ok_or_else(|| missing("ref"))?;
            let pack = match params.get("pack") {
                Some(pack) => serde_json::from_value(pack.clone())
                    .map_err(|e| format!("params.pack is not a job pack: {e}"))?,
                None => sample_job_pack(job_ref).map_err(|e| e.to_string())?,
            };
            let mut state = shared.lock();
            state
                .inbox
                .create_job(engineer, job_ref, pack)
                .map_err(|e| e.to_string())
        })(),
        Some("cancelJob") => (|| {
            let job_ref = text("ref").ok_or_else(|| missing("ref"))?;
            let reason = text("reason").ok_or_else(|| missing("reason"))?;
            let mut state = shared.lock();
            state
                .inbox
                .cancel_job(job_ref, reason)
                .map_err(|e| e.to_string())
        })(),
        Some("provision") => (|| {
            let job_ref = text("ref").ok_or_else(|| missing("ref"))?;
            let status = params
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u8::try_from(s).ok())
                .ok_or_else(|| "params.status must be 1-7".to_owned())?;
            let mut state = shared.lock();
            state
                .inbox
                .provisioning(job_ref, status)
                .map_err(|e| e.to_string())?;
            state.ledger.count_provisioning(status);
            Ok(())
        })(),
        Some("setFaults") => faults_from_params(&params).map(|faults| {
            shared.lock().faults = FaultPlan::new(faults);
        }),
        Some("gatewayDown") => (|| {
            let index = params
                .get("index")
                .and_then(Value::as_u64)
                .and_then(|i| usize::try_from(i).ok())
                .filter(|i| *i < shared.gateways_down.len())
                .ok_or_else(|| {
                    format!(
                        "params.index must be a gateway index below {}",
                        shared.gateways_down.len()
                    )
                })?;
            let down = params
                .get("down")
                .and_then(Value::as_bool)
                .ok_or_else(|| "params.down must be true or false".to_owned())?;
            set_gateway_after_answer(shared, index, down);
            Ok(())
        })(),
        other => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                id,
                METHOD_NOT_FOUND,
                format!(
                    "unknown admin method {other:?} (createJob, cancelJob, provision, setFaults, gatewayDown)"
                ),
            );
        }
    };
    match outcome {
        Ok(()) => json_response(
            200,
            json!({"jsonrpc": "2.0", "id": id, "result": {"queued": true}}).to_string(),
        ),
        Err(reason) => rpc_error(StatusCode::BAD_REQUEST, id, INVALID_PARAMS, reason),
    }
}

/// A fault configuration from admin params; every field is optional and defaults as in
/// [`FaultConfig::default`].
fn faults_from_params(params: &Value) -> Result<FaultConfig, String> {
    let mut faults = FaultConfig::default();
    if let Some(rate) = params.get("rate") {
        faults.rate = rate
            .as_f64()
            .filter(|r| (0.0..=1.0).contains(r))
            .ok_or_else(|| "params.rate must be a number between 0 and 1".to_owned())?;
    }
    if let Some(seed) = params.get("seed") {
        faults.seed = seed
            .as_u64()
            .ok_or_else(|| "params.seed must be a non-negative integer".to_owned())?;
    }
    if let Some(kinds) = params.get("kinds") {
        faults.kinds = string_list(kinds, "kinds")?
            .iter()
            .map(|name| {
                FaultKind::from_name(name).ok_or_else(|| format!("unknown fault kind {name:?}"))
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(delay) = params.get("delay_ms") {
        faults.delay = Duration::from_millis(
            delay
                .as_u64()
                .ok_or_else(|| "params.delay_ms must be milliseconds".to_owned())?,
        );
    }
    if let Some(secs) = params.get("retry_after_secs") {
        faults.retry_after_secs = secs
            .as_u64()
            .ok_or_else(|| "params.retry_after_secs must be seconds".to_owned())?;
    }
    if let Some(codes) = params.get("reject_closure_codes") {
        faults.reject_closure_codes = string_list(codes, "reject_closure_codes")?;
    }
    if let Some(refs) = params.get("reject_job_refs") {
        faults.reject_job_refs = string_list(refs, "reject_job_refs")?;
    }
    Ok(faults)
}

fn string_list(value: &Value, name: &str) -> Result<Vec<String>, String> {
    value
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect()
        })
        .ok_or_else(|| format!("params.{name} must be a list of strings"))
}

/// Taking a gateway down cuts its open connections, which would include the one asking, so
/// the switch waits a moment for the answer to be written.
fn set_gateway_after_answer(shared: &Arc<Shared>, index: usize, down: bool) {
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(flag) = shared.gateways_down.get(index) {
            flag.send_replace(down);
        }
    });
}

fn rpc_error_body(id: Value, code: i64, message: String) -> String {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}).to_string()
}

fn rpc_error(status: StatusCode, id: Value, code: i64, message: String) -> Response<Full<Bytes>> {
    json_response(status.as_u16(), rpc_error_body(id, code, message))
}

fn json_response(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn text_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
