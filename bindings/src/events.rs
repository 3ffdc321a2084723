//! Subscriptions: the core tells the screens what changed; the screens re-read what they show.
//!
//! Events are hints, not data: the store is the truth, so a screen that gets `JobChanged`
//! reads the job again. That is why a slow listener that falls behind gets one `Lagged`
//! (re-read everything) instead of a queue growing without bound, and why delivery order
//! across kinds carries no meaning beyond "this changed after you subscribed".
//!
//! Each subscription is a task on the core's runtime that owns its receivers and calls the
//! foreign listener from there; the returned [`Subscription`] stops it (so does dropping it,
//! which garbage-collected languages do late: call `cancel`). The Kotlin side wraps this in a
//! `Flow` (`bindings/kotlin/src/main/kotlin/.../Events.kt`).

use std::sync::{Arc, Mutex};

use jobpack_core::engine::Event as CoreEvent;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::AbortHandle;

use crate::Jobpack;
use crate::outbox::ItemState;
use crate::scan::ScanProgress;
use crate::sync::SyncStatus;

/// What changed.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum Event {
    /// The job's state, warnings or pack changed (an action, an inbox message).
    JobChanged { job_ref: String },
    /// An outbox item moved (queued, sent, retrying, parked...).
    OutboxItemChanged {
        seq: i64,
        job_ref: String,
        state: ItemState,
    },
    /// A sync cycle finished or connectivity changed.
    SyncStateChanged { status: SyncStatus },
    /// A scan session made progress on a frame.
    ScanProgress {
        job_ref: String,
        progress: ScanProgress,
    },
    /// The listener fell behind and missed events: re-read everything shown.
    Lagged { missed: u64 },
}

impl From<CoreEvent> for Event {
    fn from(e: CoreEvent) -> Self {
        match e {
            CoreEvent::JobChanged { job_ref } => Self::JobChanged { job_ref },
            CoreEvent::OutboxChanged {
                seq,
                job_ref,
                state,
            } => Self::OutboxItemChanged {
                seq,
                job_ref,
                state,
            },
            CoreEvent::Sync(status) => Self::SyncStateChanged {
                status: status.into(),
            },
            CoreEvent::ScanProgress { job_ref, progress } => Self::ScanProgress {
                job_ref,
                progress: progress.into(),
            },
        }
    }
}

/// Implemented by the shell; called on a core thread, so it must hand off to its UI thread.
#[uniffi::export(with_foreign)]
pub trait EventListener: Send + Sync {
    fn on_event(&self, event: Event);
}

/// A running subscription; `cancel` stops it (idempotent).
#[derive(uniffi::Object)]
pub struct Subscription {
    task: Mutex<Option<AbortHandle>>,
}

#[uniffi::export]
impl Subscription {
    pub fn cancel(&self) {
        let task = self
            .task
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(task) = task {
            task.abort();
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.cancel();
    }
}

#[uniffi::export]
impl Jobpack {
    /// Calls `listener` for every change from now on until the subscription is cancelled.
    pub fn subscribe(&self, listener: Arc<dyn EventListener>) -> Arc<Subscription> {
        let mut core = self.engine.subscribe();
        let task = self.runtime.spawn(async move {
            loop {
                match core.recv().await {
                    Ok(event) => listener.on_event(event.into()),
                    Err(RecvError::Lagged(missed)) => listener.on_event(Event::Lagged { missed }),
                    Err(RecvError::Closed) => break,
                }
            }
        });
        Arc::new(Subscription {
            task: Mutex::new(Some(task.abort_handle())),
        })
    }
}
