//! The sync engine: drains the outbox and pulls the inbox, on its own tokio task.
//!
//! It runs whenever there may be work: right after a local write, when the shell reports the
//! device online, when a retry falls due (the retry timer itself restarts the drain, so a
//! backlog never waits for the next local write), on "sync now", and every pull interval.
//! While offline it sleeps; nothing is lost, items keep their state.
//!
//! Drain: up to `max_in_flight` items are sent at once, never two of the same job lane, so a
//! job's messages stay in order while jobs proceed in parallel. Claims are kept in memory
//! (shown to the UI as `sending`) and taken under a lock, so no item is sent twice at once;
//! after a crash a claimed item is simply still queued and goes again with its key. Outcomes:
//! * accepted → `sent`;
//! * transient (no route, DNS, timeout, reset, 5xx, 429, garbage) → `retrying` with capped
//!   exponential backoff and full jitter, `Retry-After` as a floor; failures that point at the
//!   endpoint rotate to the next gateway, which is remembered (persisted) while it works, and
//!   the first failure of a round retries at once on the other gateway;
//! * configuration (TLS refused, bad certificate) → `retrying` slowly and reported: the queue
//!   stays intact until the certificates are fixed;
//! * permanent (4xx, JSON-RPC error) → `parked` with the server's reason.
//!
//! Bookkeeping writes (recording outcomes) use `synchronous=NORMAL`: losing one to a power
//! cut only causes a resend with the same idempotency key, absorbed upstream. Engineer actions
//! always commit with `synchronous=FULL`.

mod backoff;
pub mod inbox;
pub mod rules;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::watch;

/// The uploader the sync loop hands upload items to; it lives in `transport`, below both the
/// loop and `photos::s3`, which implements it.
pub use crate::transport::Uploader;
pub use backoff::RetryPolicy;
pub use rules::{DeliveryRules, Verdict};

use crate::outbox::{self, ItemState, ReadyItem};
use crate::protocol::{PullRequest, PullResult, RpcId, Timestamp};
pub use crate::state::SyncStatus;
use crate::state::{Event, Shared};
use crate::store::{self, StoreError};
use crate::transport::{Transport, TransportError};

/// How the engine paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncPolicy {
    pub retry: RetryPolicy,
    /// Retry delay for configuration failures (TLS): slow, the queue waits for a fix.
    pub configuration_retry: Duration,
    /// Requests in flight at once (each from a different job).
    pub max_in_flight: usize,
    /// How often the inbox is pulled when nothing else wakes the engine.
    pub pull_interval: Duration,
    /// Inbox page size.
    pub pull_limit: u32,
    /// How long delivered work is kept; pruned after a cycle, at most once an hour.
    pub retention: crate::store::Retention,
}

impl Default for SyncPolicy {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            configuration_retry: Duration::from_secs(60),
            max_in_flight: 4,
            pull_interval: Duration::from_secs(60),
            pull_limit: 100,
            retention: crate::store::Retention::default(),
        }
    }
}

const HEALTHY_ENDPOINT_KEY: &str = "healthy_endpoint";

/// The running loop's state.
pub(crate) struct SyncLoop {
    shared: Arc<Shared>,
    transport: Transport,
    policy: SyncPolicy,
    /// Backoff, failover and the endpoint in use: the rules the hub's forwarder shares.
    rules: DeliveryRules,
    rng: fastrand::Rng,
    /// When the inbox should next be pulled.
    next_pull: tokio::time::Instant,
    /// Pulls failed in a row (for the pull's own backoff).
    pull_failures: u32,
    /// The endpoint index last written to the store as healthy.
    persisted_endpoint: Option<usize>,
    /// When delivered work was last pruned.
    last_prune: Option<tokio::time::Instant>,
}

/// Requests in flight, polled by the drain itself.
type InFlight = FuturesUnordered<
    std::pin::Pin<Box<dyn std::future::Future<Output = (ReadyItem, usize, SendOutcome)> + Send>>,
>;

enum SendOutcome {
    Sent,
    Failed(TransportError),
}

impl SyncLoop {
    pub(crate) fn new(shared: Arc<Shared>, transport: Transport, policy: SyncPolicy) -> Self {
        let endpoints = transport.endpoints().len().max(1);
        let persisted_endpoint = shared
            .with_store(|s| s.sync_value(HEALTHY_ENDPOINT_KEY))
            .ok()
            .flatten()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|i| *i < endpoints);
        let endpoint = persisted_endpoint.unwrap_or(0);
        let rules = DeliveryRules::new(
            policy.retry,
            policy.configuration_retry,
            endpoints,
            endpoint,
        );
        Self {
            shared,
            transport,
            policy,
            rules,
            rng: fastrand::Rng::new(),
            next_pull: tokio::time::Instant::now(),
            pull_failures: 0,
            persisted_endpoint,
            last_prune: None,
        }
    }

    /// Runs until `shutdown` flips to true.
    pub(crate) async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut online = self.shared.online.subscribe();
        // While offline, local writes still wake the loop; only the switch to offline is worth
        // a status (counting the outbox on every offline action would slow the actions down).
        let mut published_offline = false;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let is_online = *online.borrow_and_update();
            let mut next_wake = None;
            if is_online {
                published_offline = false;
                let error = self.cycle().await.err();
                next_wake = self.next_wake();
                let failed = error.is_some();
                self.publish_status(error, true);
                // Counts only: the cycle's error text may quote a server's answer.
                let status = self.shared.status.borrow().clone();
                log::log!(
                    if failed {
                        log::Level::Info
                    } else {
                        log::Level::Debug
                    },
                    "sync cycle {} {}: {} waiting, {} parked, {} quarantined, endpoint {}",
                    status.cycles,
                    if failed {
                        "ended with a failure"
                    } else {
                        "done"
                    },
                    status.pending,
                    status.parked,
                    status.quarantined,
                    status.endpoint
                );
            } else if !published_offline {
                published_offline = true;
                self.publish_status(None, false);
            }
            let sleep = async {
                match next_wake {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = online.changed() => {}
                _ = self.shared.wake.notified() => {}
                _ = sleep => {}
            }
        }
    }

    /// One drain of everything that is due, then a pull of the whole inbox.
    async fn cycle(&mut self) -> Result<(), String> {
        self.shared
            .status
            .send_modify(|status| status.cycles_started += 1);
        if self
            .shared
            .retry_waiting_now
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            // An explicit request: nothing waits out its backoff, the pull neither.
            self.pull_failures = 0;
            self.shared
                .with_store_relaxed(|conn| outbox::make_waiting_due(conn, Timestamp::now()))
                .map_err(|e| e.to_string())?;
        }
        let drained = self.drain().await;
        let pulled = self.pull().await;
        let now = tokio::time::Instant::now();
        if pulled.is_ok() {
            self.pull_failures = 0;
            self.next_pull = now + self.policy.pull_interval;
        } else {
            // A failed pull is retried like a message, not after a whole pull interval.
            self.pull_failures += 1;
            let delay = self
                .policy
                .retry
                .delay(self.pull_failures, None, &mut self.rng)
                .min(self.policy.pull_interval);
            self.next_pull = now + delay;
        }
        let due = self
            .last_prune
            .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(3600));
        if due {
            self.last_prune = Some(now);
            // Retention is housekeeping: a failure is retried next hour, never fails a cycle.
            let _ = crate::state::prune_with(&self.shared, &self.policy.retention);
        }
        match (drained, pulled) {
            (Err(e), _) | (Ok(()), Err(e)) => Err(e),
            _ => Ok(()),
        }
    }

    fn next_wake(&self) -> Option<tokio::time::Instant> {
        let pull = self.next_pull;
        let due = self
            .shared
            .with_store(|s| outbox::next_due(s.conn()))
            .ok()
            .flatten()
            .map(|at| {
                let wait = at.unix_millis() - Timestamp::now().unix_millis();
                tokio::time::Instant::now() + Duration::from_millis(wait.max(0) as u64)
            });
        Some(match due {
            Some(d) => d.min(pull),
            None => pull,
        })
    }

    /// Claims up to `limit` ready lane heads (marks them `sending`) in one transaction.
    /// Claims up to `limit` ready lane heads. A claim lives in memory (`Shared::in_flight`),
    /// not in the database: writing `sending` to each row cost a page write per message, and
    /// durability buys nothing there — after a crash the item is still queued and is resent
    /// with its idempotency key, which upstream absorbs.
    fn claim(&self, limit: usize) -> Result<Vec<ReadyItem>, StoreError> {
        let mut claimed = self.shared.lock_in_flight();
        let candidates = self
            .shared
            .with_store(|s| outbox::ready(s.conn(), Timestamp::now(), limit + claimed.len()))?;
        let items: Vec<ReadyItem> = candidates
            .into_iter()
            .filter(|item| !claimed.contains(&item.seq))
            .take(limit)
            .collect();
        claimed.extend(items.iter().map(|i| i.seq));
        Ok(items)
    }

    /// Starts sending `item`. The request runs inside the drain's own task (no spawn per
    /// message): a completed request then wakes nothing but the drain itself.
    fn start_send(&self, in_flight: &mut InFlight, item: ReadyItem) {
        self.shared.emit(Event::OutboxChanged {
            seq: item.seq,
            job_ref: item.job_ref.clone(),
            state: ItemState::Sending,
        });
        let transport = self.transport.clone();
        let endpoint = self.rules.endpoint();
        let uploader = self.shared.uploader.clone();
        in_flight.push(Box::pin(async move {
            let outcome = match item.kind {
                outbox::ItemKind::Rpc => {
                    let path = format!("/{}", item.method);
                    match transport
                        .call(
                            endpoint,
                            &path,
                            item.body.clone(),
                            Some(&item.idempotency_key),
                        )
                        .await
                    {
                        Ok(_) => SendOutcome::Sent,
                        Err(e) => SendOutcome::Failed(e),
                    }
                }
                outbox::ItemKind::Upload => match uploader {
                    Some(up) => match up.upload(&item.body).await {
                        Ok(()) => SendOutcome::Sent,
                        Err(e) => SendOutcome::Failed(e),
                    },
                    None => SendOutcome::Failed(TransportError::Config(
                        "no uploader configured for photo uploads".into(),
                    )),
                },
            };
            (item, endpoint, outcome)
        }));
    }

    /// Sends everything that is due. Lane heads are claimed in batches (one query for many
    /// messages) and sent `max_in_flight` at a time. Outcomes are recorded in batches too:
    /// before the next claim (so the next item of each finished lane can be claimed), when a
    /// batch is full, and when nothing is in flight. Until then a finished item stays
    /// claimed, so it is never sent twice; a crash in between resends it with its key.
    /// Claimed items not sent when the device goes offline are released.
    async fn drain(&mut self) -> Result<(), String> {
        const CLAIM_BATCH: usize = 64;
        const RECORD_BATCH: usize = 32;
        let mut in_flight = InFlight::new();
        let mut claimed: VecDeque<ReadyItem> = VecDeque::new();
        let mut finished: Vec<(ReadyItem, usize, SendOutcome)> = Vec::new();
        // Set when a claim found fewer heads than asked: nothing more is ready until a send
        // is recorded and uncovers the next item of its lane.
        let mut exhausted = false;
        let mut last_error = None;
        let mut record = |this: &mut Self, batch: &mut Vec<_>, exhausted: &mut bool| {
            if batch.is_empty() {
                return;
            }
            if batch.iter().any(|(_, _, o)| matches!(o, SendOutcome::Sent)) {
                *exhausted = false;
            }
            if let Err(e) = this.settle(std::mem::take(batch)) {
                last_error = Some(e);
            }
        };
        loop {
            let online = *self.shared.online.borrow();
            if online {
                if claimed.len() < self.policy.max_in_flight {
                    record(self, &mut finished, &mut exhausted);
                    if !exhausted {
                        let batch = self.claim(CLAIM_BATCH).map_err(|e| e.to_string())?;
                        exhausted = batch.len() < CLAIM_BATCH;
                        claimed.extend(batch);
                    }
                }
                while in_flight.len() < self.policy.max_in_flight.max(1) {
                    let Some(item) = claimed.pop_front() else {
                        break;
                    };
                    self.start_send(&mut in_flight, item);
                }
            }
            let Some(first) = in_flight.next().await else {
                record(self, &mut finished, &mut exhausted);
                // Recording may have uncovered more work; go round again if so.
                if online && !exhausted && *self.shared.online.borrow() {
                    continue;
                }
                break;
            };
            finished.push(first);
            while let Some(Some(more)) = in_flight.next().now_or_never() {
                finished.push(more);
            }
            if finished.len() >= RECORD_BATCH {
                record(self, &mut finished, &mut exhausted);
            }
        }
        if !claimed.is_empty() {
            let mut in_flight = self.shared.lock_in_flight();
            for item in &claimed {
                in_flight.remove(&item.seq);
            }
        }
        match last_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Decides what each finished attempt means (backoff, failover, parking) and records
    /// them all in one transaction. Returns the last transient failure, if any.
    fn settle(&mut self, finished: Vec<(ReadyItem, usize, SendOutcome)>) -> Result<(), String> {
        let mut records = Vec::with_capacity(finished.len());
        let mut cycle_error = None;
        for (item, endpoint, outcome) in &finished {
            let outcome = match outcome {
                SendOutcome::Sent => Ok(()),
                SendOutcome::Failed(error) => Err(error),
            };
            let attempts = item.attempts + 1;
            let summary = outcome.err().map(|error| error.log_summary());
            let verdict = self.rules.judge(item.attempts, *endpoint, outcome);
            match (&verdict, summary) {
                (Verdict::Park(_), Some(summary)) => log::warn!(
                    "outbox item {} ({} of job {}) parked after {attempts} attempts: {summary}",
                    item.seq,
                    item.method,
                    item.job_ref,
                ),
                (Verdict::Retry { .. }, Some(summary)) => log::info!(
                    "outbox item {} ({} of job {}) to retry after attempt {attempts}: {summary}",
                    item.seq,
                    item.method,
                    item.job_ref,
                ),
                _ => {}
            }
            if let Verdict::Retry { error, .. } = &verdict {
                // A parked item is a state of that item, not a failure of the cycle: the
                // server was reached and answered.
                cycle_error = Some(error.clone());
            }
            records.push(verdict);
        }
        let endpoint = self.rules.endpoint();
        let remember = self.rules.healthy_confirmed() && self.persisted_endpoint != Some(endpoint);
        self.shared
            .with_store_relaxed(|conn| {
                let now = Timestamp::now();
                for ((item, _, _), verdict) in finished.iter().zip(&records) {
                    rules::record(conn, item.seq, verdict, now)?;
                }
                if remember {
                    store::set_sync_value(conn, HEALTHY_ENDPOINT_KEY, &endpoint.to_string())?;
                }
                Ok(())
            })
            .map_err(|e| e.to_string())?;
        if remember {
            self.persisted_endpoint = Some(endpoint);
        }
        {
            let mut in_flight = self.shared.lock_in_flight();
            for (item, _, _) in &finished {
                in_flight.remove(&item.seq);
            }
        }
        for ((item, _, _), verdict) in finished.iter().zip(&records) {
            self.shared.emit(Event::OutboxChanged {
                seq: item.seq,
                job_ref: item.job_ref.clone(),
                state: match verdict {
                    Verdict::Sent => ItemState::Sent,
                    Verdict::Park(_) => ItemState::Parked,
                    Verdict::Retry { .. } => ItemState::Retrying,
                },
            });
        }
        match cycle_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Pulls pages until the inbox says there is no more.
    async fn pull(&mut self) -> Result<(), String> {
        for _page in 0..1000 {
            let cursor = self
                .shared
                .with_store(|s| s.sync_value(inbox::CURSOR_KEY))
                .map_err(|e| e.to_string())?;
            let id = RpcId::new(self.rng.u64(1..=RpcId::MAX)).map_err(|e| e.to_string())?;
            let request = PullRequest::new(id, cursor, Some(self.policy.pull_limit));
            let body = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
            let endpoint = self.rules.endpoint();
            let result = match self.transport.call(endpoint, "/pull", body, None).await {
                Ok(result) => result,
                Err(error) => {
                    self.rules.rotate_after(endpoint, &error);
                    log::info!("inbox pull failed: {}", error.log_summary());
                    return Err(format!("pull: {error}"));
                }
            };
            let page: PullResult = result
                .ok_or("pull: empty answer".to_owned())
                .and_then(|v| {
                    serde_json::from_value(v).map_err(|e| format!("pull: unreadable page: {e}"))
                })?;
            let catalogue = &self.shared.catalogue;
            let (outcome, parked) = self
                .shared
                .with_store_tx(|tx| {
                    let outcome = inbox::apply_page(
                        tx,
                        &page.messages,
                        Some(&page.next_cursor),
                        catalogue,
                        Timestamp::now(),
                    )?;
                    // A hub's word that CityFibre refused a message it had accepted from us.
                    let mut parked = Vec::new();
                    for refusal in &page.refused {
                        if let Some(seq) =
                            outbox::park_delivered(tx, &refusal.idempotency_key, &refusal.reason)?
                        {
                            parked.push(seq);
                        }
                    }
                    Ok((outcome, parked))
                })
                .map_err(|e| e.to_string())?;
            if outcome.applied + outcome.quarantined > 0 {
                log::info!(
                    "inbox page: {} applied, {} redelivered, {} quarantined",
                    outcome.applied,
                    outcome.redelivered,
                    outcome.quarantined
                );
            }
            for job_ref in outcome.changed_jobs {
                self.shared.emit(Event::JobChanged { job_ref });
            }
            for seq in parked {
                let job_ref = self
                    .shared
                    .with_store(|s| outbox::get(s.conn(), seq))
                    .ok()
                    .flatten()
                    .map(|item| item.job_ref)
                    .unwrap_or_default();
                self.shared.emit(Event::OutboxChanged {
                    seq,
                    job_ref,
                    state: ItemState::Parked,
                });
            }
            if !page.more {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Publishes the status; `completed_cycle` counts a cycle as done (every started cycle
    /// is completed exactly once, so waiters comparing the two counters never hang).
    fn publish_status(&self, last_error: Option<String>, completed_cycle: bool) {
        let counts = self
            .shared
            .with_store(|s| outbox::open_counts(s.conn()))
            .unwrap_or_default();
        let quarantined = self
            .shared
            .with_store(|s| {
                s.conn()
                    .query_row("SELECT COUNT(*) FROM quarantine", [], |r| {
                        r.get::<_, i64>(0)
                    })
                    .map_err(StoreError::from)
            })
            .unwrap_or(0);
        let online = *self.shared.online.borrow();
        self.shared.status.send_modify(|status| {
            status.online = online;
            status.pending = counts.pending();
            status.parked = counts.parked;
            // Saturates, never reached by an engine: its configuration allows at most
            // engine::MAX_ENDPOINTS endpoints.
            status.endpoint = u32::try_from(self.rules.endpoint()).unwrap_or(u32::MAX);
            status.last_error = last_error;
            status.quarantined = quarantined.max(0) as u64;
            if completed_cycle {
                status.cycles += 1;
            }
        });
        self.shared
            .emit(Event::Sync(self.shared.status.borrow().clone()));
    }
}

#[cfg(test)]
mod tests {
    //! The sync loop on its own: a `Shared` state, a transport to a loopback stand-in, and no
    //! `Engine` anywhere.

    use super::*;
    use crate::clock::TrustedClock;
    use crate::closure::Matrix;
    use crate::codes::Catalogue;
    use crate::outbox::{ItemKind, NewItem};
    use crate::photos::{IngestConfig, PhotoStore};
    use crate::protocol::EngineerDetails;
    use crate::state::PhotoSetup;
    use crate::store::Store;
    use crate::transport::{Timeouts, TlsMaterial};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Answers `/pull` with one createJob the first time, an empty page after; anything else
    /// with CityFibre's bare acknowledgement. Returns the URL and the request lines seen.
    async fn stand_in() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            let mut pulls = 0;
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = vec![0u8; 64 * 1024];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                let line = request.lines().next().unwrap_or("").to_owned();
                log.lock().unwrap().push(line.clone());
                let result = if line.contains("/pull") {
                    pulls += 1;
                    let messages = if pulls == 1 {
                        serde_json::json!([{
                            "id": 1, "sent": "2022-03-18T17:39:21+0000", "method": "createJob",
                            "ref": "S1", "content": {
                                "serviceOrder": {"serviceOrderId": "SO-1"},
                                "appointment": {"date": "2026-12-01", "slot": "AM"},
                                "customer": {"name": "A Customer"},
                                "address": {"line1": "1 High Street", "town": "Leeds",
                                            "postcode": "LS1 1AA"}},
                            "response": {"providerJobId": "JP-1"}}])
                    } else {
                        serde_json::json!([])
                    };
                    serde_json::json!({"messages": messages, "nextCursor": format!("c{pulls}")})
                } else {
                    serde_json::json!({})
                };
                let body =
                    serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": result}).to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        (url, seen)
    }

    fn shared(photos: &std::path::Path) -> Arc<Shared> {
        let catalogue = Catalogue::embedded();
        let matrix = Matrix::default_for(&catalogue).unwrap();
        Arc::new(Shared::new(
            Store::open_in_memory().unwrap(),
            catalogue,
            EngineerDetails {
                engineer_id: "E042".into(),
                name: "Sam Splicer".into(),
                phone: "+44 7700 900123".into(),
                company: None,
            },
            matrix,
            PhotoSetup {
                store: PhotoStore::open(photos).unwrap(),
                ingest: IngestConfig::default(),
                bucket: "evidence".into(),
            },
            None,
            Arc::new(TrustedClock::new(None)),
            true,
        ))
    }

    #[tokio::test]
    async fn a_cycle_pulls_the_inbox_and_delivers_the_outbox_without_an_engine() {
        let dir = tempfile::tempdir().unwrap();
        let shared = shared(dir.path());
        let (url, seen) = stand_in().await;
        let tls = TlsMaterial {
            allow_plain_http_loopback: true,
            ..TlsMaterial::default()
        };
        let transport = Transport::new(vec![url], &tls, Timeouts::default()).unwrap();
        let mut events = shared.subscribe();
        let mut sync = SyncLoop::new(shared.clone(), transport, SyncPolicy::default());

        // The first cycle finds nothing to send and pulls the job in.
        sync.cycle().await.unwrap();
        let jobs = shared.with_store(|s| store::list_jobs(s.conn())).unwrap();
        assert_eq!(jobs.len(), 1);
        assert!(matches!(
            events.try_recv().unwrap(),
            Event::JobChanged { job_ref } if job_ref == "S1"
        ));

        // A queued message is delivered with its idempotency key by the next cycle.
        let seq = shared
            .with_store_tx(|tx| {
                outbox::enqueue(
                    tx,
                    &NewItem {
                        job_ref: "S1",
                        kind: ItemKind::Rpc,
                        method: "notifyJob",
                        label: "accept",
                        rpc_id: 7,
                        idempotency_key: "key-7",
                        body: br#"{"jsonrpc":"2.0","id":7,"method":"notifyJob","params":{}}"#,
                        acted_at: Timestamp::now(),
                        depends_on: &[],
                        time: None,
                    },
                    Timestamp::now(),
                )
            })
            .unwrap();
        sync.cycle().await.unwrap();
        let item = shared
            .with_store(|s| outbox::get(s.conn(), seq))
            .unwrap()
            .unwrap();
        assert_eq!(item.state, ItemState::Sent);
        let lines = seen.lock().unwrap().clone();
        assert!(
            lines.iter().any(|l| l.starts_with("POST /notifyJob")),
            "{lines:?}"
        );
        assert_eq!(
            shared
                .with_store(|s| s.sync_value(inbox::CURSOR_KEY))
                .unwrap(),
            Some("c2".into()),
            "each pull's cursor is kept"
        );
    }
}
