//! The outbox for the "pending" screen: what is waiting, what failed and why, and the
//! engineer's two ways out of a parked item (resend unchanged, or discard after confirming).
//!
//! Discarding loses a message CityFibre never got, so the core demands the item's idempotency
//! key as the confirmation: the screen shows the item, the engineer confirms, and the shell
//! passes back the key of the item it showed, never one it looked up again.

use std::time::SystemTime;

use jobpack_core::outbox::{
    ItemKind as CoreKind, OutboxCounts as CoreCounts, OutboxItem as CoreItem,
};

use crate::Jobpack;
use crate::errors::Result;
use crate::time::instant;
pub use jobpack_core::outbox::ItemState;

/// Where an item is on its way.
#[uniffi::remote(Enum)]
pub enum ItemState {
    Queued,
    Sending,
    /// A transient failure; another attempt is scheduled.
    Retrying,
    Sent,
    /// Refused for good; waits for the engineer to resend or discard.
    Parked,
    Discarded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ItemKind {
    /// A JSON-RPC message (notifyJob, closeJob).
    Message,
    /// A file uploaded before the messages that reference it.
    Upload,
}

/// One item of the outbox.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OutboxItem {
    pub seq: i64,
    pub job_ref: String,
    pub kind: ItemKind,
    pub method: String,
    /// What the engineer did ("enRoute", "close SP").
    pub label: String,
    pub idempotency_key: String,
    pub acted_at: SystemTime,
    pub created_at: SystemTime,
    pub state: ItemState,
    pub attempts: u32,
    pub next_attempt_at: Option<SystemTime>,
    pub last_error: Option<String>,
    /// The server's reason, when parked.
    pub parked_reason: Option<String>,
    /// A request timed out after it was sent: it may have arrived.
    pub maybe_delivered: bool,
    pub sent_at: Option<SystemTime>,
    /// Items this one waits for.
    pub depends_on: Vec<i64>,
    /// What the phone's clock said when the engineer acted, when recorded.
    pub device_acted_at: Option<SystemTime>,
    /// How `acted_at` was decided: "unchecked" (the phone's clock was never checked),
    /// "checked", "corrected" (a wrong phone clock) or "clamped" (the clock was set back).
    pub time_source: Option<String>,
    /// How far `acted_at` was moved from the phone's time, in milliseconds.
    pub time_correction_ms: i64,
}

impl From<CoreItem> for OutboxItem {
    fn from(i: CoreItem) -> Self {
        OutboxItem {
            seq: i.seq,
            job_ref: i.job_ref,
            kind: match i.kind {
                CoreKind::Rpc => ItemKind::Message,
                CoreKind::Upload => ItemKind::Upload,
            },
            method: i.method,
            label: i.label,
            idempotency_key: i.idempotency_key,
            acted_at: instant(i.acted_at),
            created_at: instant(i.created_at),
            state: i.state,
            attempts: i.attempts,
            next_attempt_at: i.next_attempt_at.map(instant),
            last_error: i.last_error,
            parked_reason: i.parked_reason,
            maybe_delivered: i.maybe_delivered,
            sent_at: i.sent_at.map(instant),
            depends_on: i.depends_on,
            device_acted_at: i.device_acted_at.map(instant),
            time_source: i.time_source,
            time_correction_ms: i.time_correction_ms,
        }
    }
}

/// The open items counted now (what a "waiting to send" banner shows, also while offline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct OutboxCounts {
    /// Items the network can still deliver without the engineer.
    pub pending: u64,
    pub parked: u64,
    /// Open items held back behind a parked item of their job.
    pub blocked: u64,
}

impl From<CoreCounts> for OutboxCounts {
    fn from(c: CoreCounts) -> Self {
        OutboxCounts {
            pending: c.pending(),
            parked: c.parked,
            blocked: c.blocked,
        }
    }
}

#[uniffi::export]
impl Jobpack {
    /// The open items counted now; the sync status counts them only when the loop runs.
    pub async fn outbox_counts(&self) -> Result<OutboxCounts> {
        Ok(self.blocking(|e| e.outbox_counts()).await?.into())
    }

    /// The outbox, or one job's part of it, in the order the actions were taken.
    pub async fn outbox(&self, job_ref: Option<String>) -> Result<Vec<OutboxItem>> {
        let items = self.blocking(move |e| e.outbox(job_ref.as_deref())).await?;
        Ok(items.into_iter().map(OutboxItem::from).collect())
    }

    /// Queues a parked item again, unchanged (the cause was fixed upstream).
    pub async fn resend(&self, seq: i64) -> Result<()> {
        self.blocking(move |e| e.resend(seq)).await
    }

    /// Discards a parked item; `confirmation_key` is the idempotency key of the item shown.
    pub async fn discard(&self, seq: i64, confirmation_key: String) -> Result<()> {
        self.blocking(move |e| e.discard(seq, &confirmation_key))
            .await
    }

    /// Corrects the codes of a parked closeJob that CityFibre refused and queues it again.
    pub async fn correct_parked_close(
        &self,
        seq: i64,
        closure_code: String,
        secondary_code: Option<String>,
    ) -> Result<()> {
        self.blocking(move |e| {
            e.correct_parked_close(seq, &closure_code, secondary_code.as_deref())
        })
        .await
    }
}
