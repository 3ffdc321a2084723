//! The durable outbox: every message an engineer action produces, until CityFibre has it.
//!
//! Modelled on persisted send queues (matrix-rust-sdk's send queue, PowerSync's upload
//! queue), with the rules field work needs:
//!
//! * **Stable identity.** The JSON-RPC id and the `Idempotency-Key` are fixed when the item is
//!   created (in the action's transaction) and reused on every retry, so a message resent after
//!   a timeout or a crash is absorbed upstream instead of applied twice.
//! * **Per-job FIFO.** A job's messages go in creation order: only the oldest open item of a
//!   job (per lane: messages and uploads) is eligible. A job whose head is waiting or parked
//!   holds up only itself; other jobs keep flowing.
//! * **Dependencies.** An item may wait for others (a `closeJob` for its photo uploads).
//! * **States a person can read.** queued → sending → sent, or → retrying (attempts, next
//!   attempt, last error) → ..., or → parked with the server's reason, where the engineer
//!   resends it (after fixing what was wrong) or discards it after confirming.
//! * **Crash safety.** The sync engine keeps its claims in memory; an item stays `queued` or
//!   `retrying` in the database until its outcome is recorded, so an item that was in flight
//!   when the process died is simply sent again after a restart, with the same key.
//!
//! Functions here take a connection (or a transaction, which derefs to one) so the engine can
//! enqueue inside the same transaction as the job's new state.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use crate::clock::ActionTime;
use crate::protocol::Timestamp;
use crate::store::StoreError;

/// Where an item is on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ItemState {
    Queued,
    Sending,
    /// A transient failure; another attempt is scheduled.
    Retrying,
    Sent,
    /// Refused for good; waits for the engineer to fix and resend, or discard.
    Parked,
    Discarded,
}

impl ItemState {
    fn from_sql(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "queued" => Self::Queued,
            "sending" => Self::Sending,
            "retrying" => Self::Retrying,
            "sent" => Self::Sent,
            "parked" => Self::Parked,
            "discarded" => Self::Discarded,
            other => return Err(StoreError::corrupt(format!("outbox state {other:?}"))),
        })
    }
}

/// What an item carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ItemKind {
    /// A JSON-RPC request (notifyJob, closeJob).
    Rpc,
    /// A file to upload before the messages that reference it.
    Upload,
}

/// An outbox item as the pending screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxItem {
    pub seq: i64,
    pub job_ref: String,
    pub kind: ItemKind,
    pub method: String,
    /// What the engineer did ("en route", "close SP").
    pub label: String,
    pub rpc_id: u64,
    pub idempotency_key: String,
    /// When the engineer acted.
    pub acted_at: Timestamp,
    pub created_at: Timestamp,
    pub state: ItemState,
    pub attempts: u32,
    pub next_attempt_at: Option<Timestamp>,
    pub last_error: Option<String>,
    /// The server's reason, when parked.
    pub parked_reason: Option<String>,
    /// A request timed out or was cut after it was sent: it may have arrived.
    pub maybe_delivered: bool,
    pub sent_at: Option<Timestamp>,
    /// Items this one waits for.
    pub depends_on: Vec<i64>,
    /// What the device's clock said when the engineer acted (`None` for items made before
    /// action times were recorded, and for uploads).
    pub device_acted_at: Option<Timestamp>,
    /// How `acted_at` was decided: `unchecked`, `checked`, `corrected` (a wrong phone clock,
    /// by `time_correction_ms`) or `clamped` (the clock was set back); `None` when unrecorded.
    pub time_source: Option<String>,
    /// `acted_at` minus the device's time: how far the time sent was moved.
    pub time_correction_ms: i64,
    /// Age of the clock check the time relied on, by the device's clock.
    pub clock_check_age_ms: Option<i64>,
}

/// An item to enqueue.
#[derive(Debug, Clone)]
pub struct NewItem<'a> {
    pub job_ref: &'a str,
    pub kind: ItemKind,
    pub method: &'a str,
    pub label: &'a str,
    pub rpc_id: u64,
    pub idempotency_key: &'a str,
    pub body: &'a [u8],
    pub acted_at: Timestamp,
    pub depends_on: &'a [i64],
    /// The action's time as the clock module decided it (`acted_at` is its corrected time);
    /// `None` for items that are not an engineer's action (uploads).
    pub time: Option<ActionTime>,
}

/// An item ready to be sent now.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadyItem {
    pub seq: i64,
    pub job_ref: String,
    pub kind: ItemKind,
    pub method: String,
    pub idempotency_key: String,
    pub body: Vec<u8>,
    pub attempts: u32,
}

/// Refusals of outbox operations the engineer asks for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboxError {
    #[error("no outbox item {seq}")]
    UnknownItem { seq: i64 },
    #[error("outbox item {seq} is {state:?}; only parked items can be {operation}")]
    NotParked {
        seq: i64,
        state: ItemState,
        operation: &'static str,
    },
    #[error("the confirmation does not match outbox item {seq}; ask again before discarding")]
    ConfirmationMismatch { seq: i64 },
    /// Only a parked closeJob can have its closure codes corrected.
    #[error("outbox item {seq} is not a closeJob; only a closeJob's codes can be corrected")]
    NotACloseJob { seq: i64 },
    /// The database failed while the operation ran (nothing was changed).
    #[error(transparent)]
    Storage(#[from] crate::store::StorageFailure),
}

impl From<StoreError> for OutboxError {
    fn from(e: StoreError) -> Self {
        Self::Storage(e.into())
    }
}

impl From<rusqlite::Error> for OutboxError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::from(e).into()
    }
}

fn kind_sql(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Rpc => "rpc",
        ItemKind::Upload => "upload",
    }
}

/// Adds an item; returns its sequence number (its place in the job's FIFO).
pub fn enqueue(conn: &Connection, item: &NewItem<'_>, now: Timestamp) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO outbox (job_ref, kind, method, label, rpc_id, idempotency_key, body,
                             acted_at, created_at, device_acted_at, time_source,
                             clock_check_age_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        item.job_ref,
        kind_sql(item.kind),
        item.method,
        item.label,
        item.rpc_id as i64,
        item.idempotency_key,
        item.body,
        item.acted_at.unix_millis(),
        now.unix_millis(),
        item.time.map(|t| t.device.unix_millis()),
        item.time.map(|t| t.source.name()),
        item.time.and_then(|t| t.source.check_age_ms()),
    ])?;
    let seq = conn.last_insert_rowid();
    for dep in item.depends_on {
        conn.prepare_cached("INSERT INTO outbox_dependencies (item, depends_on) VALUES (?1, ?2)")?
            .execute([seq, *dep])?;
    }
    Ok(seq)
}

/// The items that may be sent now: the head of each job's lane, queued or due for retry,
/// whose dependencies are all sent. Oldest first.
pub fn ready(
    conn: &Connection,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<ReadyItem>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.seq, o.job_ref, o.kind, o.method, o.idempotency_key, o.body, o.attempts
         FROM outbox o
         JOIN (SELECT MIN(seq) AS head FROM outbox
               WHERE state NOT IN ('sent', 'discarded')
               GROUP BY job_ref, kind) h ON h.head = o.seq
         WHERE (o.state = 'queued' OR (o.state = 'retrying' AND o.next_attempt_at <= ?1))
           AND NOT EXISTS (SELECT 1 FROM outbox_dependencies d JOIN outbox p ON p.seq = d.depends_on
                           WHERE d.item = o.seq AND p.state <> 'sent')
         ORDER BY o.seq
         LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now.unix_millis(), limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Vec<u8>>(5)?,
            r.get::<_, i64>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, job_ref, kind, method, idempotency_key, body, attempts) = row?;
        out.push(ReadyItem {
            seq,
            job_ref,
            kind: if kind == "upload" {
                ItemKind::Upload
            } else {
                ItemKind::Rpc
            },
            method,
            idempotency_key,
            body,
            attempts: attempts.clamp(0, u32::MAX as i64) as u32,
        });
    }
    Ok(out)
}

/// Makes every item waiting for a retry due at `now`: the engineer asked to sync now, or
/// connectivity came back, so nobody waits out a backoff that was about the old outage.
/// Returns how many items were brought forward.
pub fn make_waiting_due(conn: &Connection, now: Timestamp) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE outbox SET next_attempt_at = ?1
             WHERE state = 'retrying' AND (next_attempt_at IS NULL OR next_attempt_at > ?1)",
        )?
        .execute([now.unix_millis()])?)
}

/// When the next retry falls due, if any item is waiting for one at the head of its lane.
pub fn next_due(conn: &Connection) -> Result<Option<Timestamp>, StoreError> {
    let millis: Option<i64> = conn
        .prepare_cached(
            "SELECT MIN(o.next_attempt_at) FROM outbox o
             JOIN (SELECT MIN(seq) AS head FROM outbox
                   WHERE state NOT IN ('sent', 'discarded')
                   GROUP BY job_ref, kind) h ON h.head = o.seq
             WHERE o.state = 'retrying'",
        )?
        .query_row([], |r| r.get(0))?;
    Ok(millis.and_then(Timestamp::from_unix_millis))
}

/// Marks an item as being sent, durably: how tests put an item in the `sending` state. The
/// sync engine never writes it (its claims live in memory), so production code has no use
/// for it.
#[cfg(test)]
pub(crate) fn mark_sending(conn: &Connection, seq: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE outbox SET state = 'sending' WHERE seq = ?1")?
        .execute([seq])?;
    Ok(())
}

/// Marks an item as delivered.
pub fn mark_sent(conn: &Connection, seq: i64, now: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'sent', sent_at = ?2, next_attempt_at = NULL,
                attempts = attempts + 1
         WHERE seq = ?1",
    )?
    .execute(params![seq, now.unix_millis()])?;
    Ok(())
}

/// Schedules another attempt after a transient failure.
pub fn schedule_retry(
    conn: &Connection,
    seq: i64,
    at: Timestamp,
    error: &str,
    maybe_delivered: bool,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'retrying', next_attempt_at = ?2, last_error = ?3,
                maybe_delivered = maybe_delivered OR ?4, attempts = attempts + 1
         WHERE seq = ?1",
    )?
    .execute(params![seq, at.unix_millis(), error, maybe_delivered])?;
    Ok(())
}

/// Parks an item after a permanent refusal, keeping the server's reason.
pub fn park(conn: &Connection, seq: i64, reason: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'parked', parked_reason = ?2, last_error = ?2,
                next_attempt_at = NULL, attempts = attempts + 1
         WHERE seq = ?1",
    )?
    .execute(params![seq, reason])?;
    Ok(())
}

/// Parks an item already delivered to a hub that CityFibre then refused for good (the hub
/// says so in a pull page). Returns the item's sequence number, or `None` when no delivered
/// item has that key (already parked, discarded, pruned, or not this device's).
pub fn park_delivered(
    conn: &Connection,
    idempotency_key: &str,
    reason: &str,
) -> Result<Option<i64>, StoreError> {
    let seq: Option<i64> = conn
        .query_row(
            "SELECT seq FROM outbox WHERE idempotency_key = ?1 AND state = 'sent'",
            [idempotency_key],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(seq) = seq {
        conn.prepare_cached(
            "UPDATE outbox SET state = 'parked', parked_reason = ?2, last_error = ?2,
                    next_attempt_at = NULL, sent_at = NULL
             WHERE seq = ?1",
        )?
        .execute(params![seq, reason])?;
    }
    Ok(seq)
}

/// `Ok(())` when item `seq` is parked; otherwise the refusal for `operation`.
fn require_parked(conn: &Connection, seq: i64, operation: &'static str) -> Result<(), OutboxError> {
    let state: Option<String> = conn
        .query_row("SELECT state FROM outbox WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .optional()?;
    match state.as_deref().map(ItemState::from_sql).transpose()? {
        None => Err(OutboxError::UnknownItem { seq }),
        Some(ItemState::Parked) => Ok(()),
        Some(state) => Err(OutboxError::NotParked {
            seq,
            state,
            operation,
        }),
    }
}

/// Puts a parked item back in the queue (after the engineer fixed what was wrong upstream),
/// with the same key: the server never accepted it.
pub fn resend(conn: &Connection, seq: i64) -> Result<(), OutboxError> {
    require_parked(conn, seq, "resent")?;
    conn.execute(
        "UPDATE outbox SET state = 'queued', parked_reason = NULL, next_attempt_at = NULL
         WHERE seq = ?1",
        [seq],
    )?;
    Ok(())
}

/// Replaces the body of a parked item (the engineer corrected it) and queues it again. The
/// corrected message is a new message, so it gets a new id and key.
pub fn replace_parked(
    conn: &Connection,
    seq: i64,
    label: &str,
    rpc_id: u64,
    idempotency_key: &str,
    body: &[u8],
) -> Result<(), OutboxError> {
    require_parked(conn, seq, "corrected")?;
    conn.execute(
        "UPDATE outbox SET state = 'queued', parked_reason = NULL, next_attempt_at = NULL,
                label = ?2, rpc_id = ?3, idempotency_key = ?4, body = ?5, attempts = 0,
                maybe_delivered = 0, last_error = NULL
         WHERE seq = ?1",
        params![seq, label, rpc_id as i64, idempotency_key, body],
    )?;
    Ok(())
}

/// Discards a parked item. The caller must show what is lost and pass back the item's key as
/// the confirmation, so a stale screen cannot discard a different item.
pub fn discard(conn: &Connection, seq: i64, confirmation_key: &str) -> Result<(), OutboxError> {
    require_parked(conn, seq, "discarded")?;
    let key: String = conn.query_row(
        "SELECT idempotency_key FROM outbox WHERE seq = ?1",
        [seq],
        |r| r.get(0),
    )?;
    if key != confirmation_key {
        return Err(OutboxError::ConfirmationMismatch { seq });
    }
    conn.execute(
        "UPDATE outbox SET state = 'discarded' WHERE seq = ?1",
        [seq],
    )?;
    Ok(())
}

const ITEM_COLUMNS: &str = "seq, job_ref, kind, method, label, rpc_id, idempotency_key, acted_at,
    created_at, state, attempts, next_attempt_at, last_error, parked_reason, maybe_delivered,
    sent_at, device_acted_at, time_source, clock_check_age_ms";

fn item_from_row(r: &Row<'_>) -> Result<OutboxItem, StoreError> {
    let time = |v: Option<i64>| v.and_then(Timestamp::from_unix_millis);
    let required = |v: i64| {
        Timestamp::from_unix_millis(v).ok_or_else(|| StoreError::corrupt("time out of range"))
    };
    let acted_at = required(r.get(7)?)?;
    let device_acted_at = time(r.get(16)?);
    Ok(OutboxItem {
        seq: r.get(0)?,
        job_ref: r.get(1)?,
        kind: if r.get::<_, String>(2)? == "upload" {
            ItemKind::Upload
        } else {
            ItemKind::Rpc
        },
        method: r.get(3)?,
        label: r.get(4)?,
        rpc_id: r.get::<_, i64>(5)? as u64,
        idempotency_key: r.get(6)?,
        acted_at,
        created_at: required(r.get(8)?)?,
        state: ItemState::from_sql(&r.get::<_, String>(9)?)?,
        attempts: r.get::<_, i64>(10)?.clamp(0, u32::MAX as i64) as u32,
        next_attempt_at: time(r.get(11)?),
        last_error: r.get(12)?,
        parked_reason: r.get(13)?,
        maybe_delivered: r.get(14)?,
        sent_at: time(r.get(15)?),
        depends_on: Vec::new(),
        device_acted_at,
        time_source: r.get(17)?,
        time_correction_ms: device_acted_at.map_or(0, |d| acted_at.unix_millis() - d.unix_millis()),
        clock_check_age_ms: r.get(18)?,
    })
}

fn with_dependencies(
    conn: &Connection,
    mut items: Vec<OutboxItem>,
) -> Result<Vec<OutboxItem>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT depends_on FROM outbox_dependencies WHERE item = ?1 ORDER BY depends_on",
    )?;
    for item in &mut items {
        let deps = stmt.query_map([item.seq], |r| r.get(0))?;
        item.depends_on = deps.collect::<Result<_, _>>()?;
    }
    Ok(items)
}

/// Every item, or only those of one job, in creation order.
pub fn list(conn: &Connection, job_ref: Option<&str>) -> Result<Vec<OutboxItem>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ITEM_COLUMNS} FROM outbox WHERE ?1 IS NULL OR job_ref = ?1 ORDER BY seq"
    ))?;
    let rows = stmt.query_map([job_ref], |r| Ok(item_from_row(r)))?;
    let mut items = Vec::new();
    for row in rows {
        items.push(row??);
    }
    with_dependencies(conn, items)
}

/// One item.
pub fn get(conn: &Connection, seq: i64) -> Result<Option<OutboxItem>, StoreError> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {ITEM_COLUMNS} FROM outbox WHERE seq = ?1"))?;
    let item = stmt.query_row([seq], |r| Ok(item_from_row(r))).optional()?;
    match item.transpose()? {
        Some(item) => Ok(with_dependencies(conn, vec![item])?.pop()),
        None => Ok(None),
    }
}

/// The request body of an item, exactly as it will be sent.
pub fn body(conn: &Connection, seq: i64) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn
        .query_row("SELECT body FROM outbox WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .optional()?)
}

/// How many items are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxCounts {
    pub queued: u64,
    pub sending: u64,
    pub retrying: u64,
    pub sent: u64,
    pub parked: u64,
    pub discarded: u64,
    /// Open items that cannot move until the engineer deals with a parked item ahead of them
    /// in their lane (or one they depend on).
    pub blocked: u64,
}

impl OutboxCounts {
    /// Items the network can still deliver without the engineer: open and not blocked.
    pub fn pending(&self) -> u64 {
        (self.queued + self.sending + self.retrying).saturating_sub(self.blocked)
    }
}

/// How many items are in each state (a full scan; for reports and tests).
pub fn counts(conn: &Connection) -> Result<OutboxCounts, StoreError> {
    tally(conn, "SELECT state, COUNT(*) FROM outbox GROUP BY state")
}

/// The open items only (queued, sending, retrying, parked, blocked), read through the index of
/// open lanes: what the sync status needs, at a cost that does not grow with the history of
/// sent messages.
pub fn open_counts(conn: &Connection) -> Result<OutboxCounts, StoreError> {
    tally(
        conn,
        "SELECT state, COUNT(*) FROM outbox INDEXED BY outbox_open_lanes
         WHERE state NOT IN ('sent', 'discarded') GROUP BY state",
    )
}

fn tally(conn: &Connection, sql: &str) -> Result<OutboxCounts, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut c = OutboxCounts::default();
    for row in rows {
        let (state, n) = row?;
        let n = n.max(0) as u64;
        match ItemState::from_sql(&state)? {
            ItemState::Queued => c.queued = n,
            ItemState::Sending => c.sending = n,
            ItemState::Retrying => c.retrying = n,
            ItemState::Sent => c.sent = n,
            ItemState::Parked => c.parked = n,
            ItemState::Discarded => c.discarded = n,
        }
    }
    let blocked: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM outbox o INDEXED BY outbox_open_lanes
             WHERE o.state NOT IN ('sent', 'discarded') AND o.state <> 'parked'
               AND (EXISTS (SELECT 1 FROM outbox p
                            WHERE p.job_ref = o.job_ref AND p.kind = o.kind
                              AND p.state = 'parked' AND p.seq < o.seq)
                    OR EXISTS (SELECT 1 FROM outbox_dependencies d
                               JOIN outbox p ON p.seq = d.depends_on
                               WHERE d.item = o.seq AND p.state IN ('parked', 'discarded')))",
        )?
        .query_row([], |r| r.get(0))?;
    c.blocked = blocked.max(0) as u64;
    Ok(c)
}

#[cfg(test)]
mod tests;
