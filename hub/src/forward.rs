//! The forwarder: delivers the hub's outbox to CityFibre.
//!
//! It is the phone's delivery discipline with the partner's certificate, built from the core's
//! own parts rather than a second copy of them:
//! * `jobpack_core::outbox` picks what may go (`ready`: the head of each job's lane, queued or
//!   due, dependencies sent) and records states (`mark_sent`, `schedule_retry`, `park`);
//! * `jobpack_core::sync::DeliveryRules` decides what an attempt means — backoff with full
//!   jitter, `Retry-After` as a floor, failover between CityFibre's two gateways, slow retries
//!   on TLS trouble, parking on a refusal — and `sync::rules::record` writes it;
//! * `jobpack_core::transport::Transport` sends over mutual TLS and classifies failures.
//!
//! Claims: on SQLite (one hub process) they live in memory, as on the phone: an item stays
//! `queued` in the database until its outcome is recorded, so after a crash it is simply sent
//! again with its Idempotency-Key and CityFibre absorbs the duplicate. On PostgreSQL several
//! hub processes share the outbox, so the claim is in the database: the head of a lane is
//! taken with `FOR UPDATE SKIP LOCKED` and leased to this process (`claimed_by`,
//! `claimed_until`); the others skip it while the lease runs, and a crashed claimant's lease
//! expires (the item is then sent again with its key). Either way only one item per job lane
//! is ever in flight, which is what keeps a job's messages in order; other jobs go in
//! parallel up to `max_in_flight` per process. What an attempt means is decided by the same
//! `DeliveryRules` on both; only the statements that record it differ (`Tx::record`).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use jobpack_core::outbox::ReadyItem;
use jobpack_core::protocol::Timestamp;
use jobpack_core::sync::{DeliveryRules, Verdict};
use jobpack_core::transport::{Transport, TransportError};
use serde_json::json;
use tokio::sync::{Notify, watch};

use crate::HubError;
use crate::sql::{Tx, args, first, lock_engineer};
use crate::store::Storage;

/// How often the outbox is looked at when nothing wakes the forwarder (a CLI on the same
/// database file assigns a job without a wake-up).
const POLL: Duration = Duration::from_millis(500);

pub(crate) struct Forwarder {
    pub(crate) db: Arc<Storage>,
    pub(crate) transport: Transport,
    pub(crate) rules: DeliveryRules,
    pub(crate) wake: Arc<Notify>,
    pub(crate) max_in_flight: usize,
    /// This process, as the holder of outbox leases (PostgreSQL).
    pub(crate) claimant: String,
    /// How long a lease runs: longer than one attempt can take.
    pub(crate) lease: Duration,
}

type Attempt = std::pin::Pin<
    Box<dyn std::future::Future<Output = (ReadyItem, usize, Result<(), TransportError>)> + Send>,
>;

impl Forwarder {
    pub(crate) async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut in_flight: HashSet<i64> = HashSet::new();
        let mut attempts: FuturesUnordered<Attempt> = FuturesUnordered::new();
        loop {
            // Stopped, or the hub was dropped (its sender gone).
            if *shutdown.borrow() || shutdown.has_changed().is_err() {
                self.db.release(&self.claimant, &in_flight);
                return;
            }
            let room = self.max_in_flight.max(1).saturating_sub(in_flight.len());
            if room > 0 {
                let now = Timestamp::now();
                let until = Timestamp::from_unix_millis(
                    now.unix_millis()
                        .saturating_add(self.lease.as_millis().min(i64::MAX as u128) as i64),
                )
                .unwrap_or(now);
                let fresh: Vec<ReadyItem> = self
                    .db
                    .claim(&self.claimant, room, &in_flight, now, until)
                    .unwrap_or_default();
                for item in fresh {
                    in_flight.insert(item.seq);
                    attempts.push(self.send(item));
                }
            }
            if attempts.is_empty() {
                let wait = self
                    .db
                    .next_due()
                    .ok()
                    .flatten()
                    .map(|at| {
                        Duration::from_millis(
                            (at.unix_millis() - Timestamp::now().unix_millis()).max(0) as u64,
                        )
                    })
                    .map_or(POLL, |d| d.min(POLL));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = self.wake.notified() => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            tokio::select! {
                Some((item, endpoint, outcome)) = attempts.next() => {
                    let verdict = self.rules.judge(item.attempts, endpoint, outcome.as_ref().map(|_| ()));
                    // A failed write leaves the item queued: it is sent again with its key.
                    let _ = self.db.write(|tx| {
                        let recorded = tx.record(&self.claimant, item.seq, &verdict, Timestamp::now())?;
                        if let (true, Verdict::Park(reason)) = (recorded, &verdict) {
                            return_refusal(tx, &item, reason)?;
                        }
                        Ok(())
                    });
                    in_flight.remove(&item.seq);
                    if let Verdict::Park(_) = verdict {
                        self.wake.notify_one();
                    }
                }
                _ = self.wake.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    fn send(&self, item: ReadyItem) -> Attempt {
        let transport = self.transport.clone();
        let endpoint = self.rules.endpoint();
        Box::pin(async move {
            let path = format!("/{}", item.method);
            let outcome = transport
                .call(
                    endpoint,
                    &path,
                    item.body.clone(),
                    Some(&item.idempotency_key),
                )
                .await
                .map(drop);
            (item, endpoint, outcome)
        })
    }
}

/// A message a phone pushed and CityFibre refused for good goes back to that phone: a refusal
/// row in its inbox (served by `pull`, where the core parks its copy with the reason), and the
/// hub lets its own copy go (discarded), so the job's lane at the hub is not held up by a
/// message the engineer now owns. A resend from the phone (same key) queues it again
/// (`phone::push`); a corrected message comes with a new key. The hub's own messages (the
/// engineer details) stay parked here, for the back office.
fn return_refusal(conn: &dyn Tx, item: &ReadyItem, reason: &str) -> Result<(), HubError> {
    let engineer: Option<String> = first(
        conn,
        "SELECT engineer_id FROM pushes WHERE idempotency_key = ?1",
        args![&item.idempotency_key],
    )?;
    let Some(engineer) = engineer else {
        return Ok(());
    };
    lock_engineer(conn, &engineer)?;
    let refusal = json!({"idempotencyKey": item.idempotency_key, "reason": reason});
    conn.execute(
        "INSERT INTO device_inbox (engineer_id, job_ref, envelope, created_at, kind)
         VALUES (?1, ?2, ?3, ?4, 'refusal')",
        args![
            &engineer,
            &item.job_ref,
            refusal.to_string().as_str(),
            Timestamp::now().unix_millis()
        ],
    )?;
    conn.discard(item.seq, &item.idempotency_key)?;
    Ok(())
}
