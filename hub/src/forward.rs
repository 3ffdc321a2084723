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
//! Claims live in memory (as on the phone): an item stays `queued` in the database until its
//! outcome is recorded, so after a crash it is simply sent again with its Idempotency-Key and
//! CityFibre absorbs the duplicate. Only one item per job lane is ever in flight, which is what
//! keeps a job's messages in order; other jobs go in parallel up to `max_in_flight`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use jobpack_core::outbox::{self, ReadyItem};
use jobpack_core::protocol::Timestamp;
use jobpack_core::sync::{DeliveryRules, Verdict, rules};
use jobpack_core::transport::{Transport, TransportError};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;
use tokio::sync::{Notify, watch};

use crate::HubError;
use crate::db::Db;

/// How often the outbox is looked at when nothing wakes the forwarder (a CLI on the same
/// database file assigns a job without a wake-up).
const POLL: Duration = Duration::from_millis(500);

pub(crate) struct Forwarder {
    pub(crate) db: Arc<Db>,
    pub(crate) transport: Transport,
    pub(crate) rules: DeliveryRules,
    pub(crate) wake: Arc<Notify>,
    pub(crate) max_in_flight: usize,
}

type Attempt = std::pin::Pin<
    Box<dyn std::future::Future<Output = (ReadyItem, usize, Result<(), TransportError>)> + Send>,
>;

impl Forwarder {
    pub(crate) async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut in_flight: HashSet<i64> = HashSet::new();
        let mut attempts: FuturesUnordered<Attempt> = FuturesUnordered::new();
        loop {
            if *shutdown.borrow() {
                return;
            }
            let room = self.max_in_flight.max(1).saturating_sub(in_flight.len());
            if room > 0 {
                let ready = {
                    let conn = self.db.lock();
                    outbox::ready(&conn, Timestamp::now(), room + in_flight.len())
                };
                let fresh: Vec<ReadyItem> = ready
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|i| !in_flight.contains(&i.seq))
                    .take(room)
                    .collect();
                for item in fresh {
                    in_flight.insert(item.seq);
                    attempts.push(self.send(item));
                }
            }
            if attempts.is_empty() {
                let wait = {
                    let conn = self.db.lock();
                    outbox::next_due(&conn).ok().flatten()
                }
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
                        rules::record(tx, item.seq, &verdict, Timestamp::now())?;
                        if let Verdict::Park(reason) = &verdict {
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
fn return_refusal(conn: &Connection, item: &ReadyItem, reason: &str) -> Result<(), HubError> {
    let engineer: Option<String> = conn
        .query_row(
            "SELECT engineer_id FROM pushes WHERE idempotency_key = ?1",
            [&item.idempotency_key],
            |r| r.get(0),
        )
        .optional()?;
    let Some(engineer) = engineer else {
        return Ok(());
    };
    let refusal = json!({"idempotencyKey": item.idempotency_key, "reason": reason});
    conn.execute(
        "INSERT INTO device_inbox (engineer_id, job_ref, envelope, created_at, kind)
         VALUES (?1, ?2, ?3, ?4, 'refusal')",
        params![
            engineer,
            item.job_ref,
            refusal.to_string(),
            Timestamp::now().unix_millis()
        ],
    )?;
    outbox::discard(conn, item.seq, &item.idempotency_key)?;
    Ok(())
}
