//! `jobpack-ffi`: the Jobpack core as the Android and iOS shells (and Python tests) see it.
//!
//! This crate is a façade and nothing more: it converts types, maps errors and runs
//! subscriptions. Every rule lives in `jobpack-core`, where Rust tests prove it; a function
//! here is a few lines that call the core and translate the answer. That keeps the foreign
//! languages' tests about the bridge (does the journey work from Kotlin?) rather than about
//! behaviour that is already proven once.
//!
//! One handle, [`Jobpack`], is opened with a [`config::Config`]; its methods are spread over
//! one module per concern, each adding an `impl Jobpack` block: [`jobs`] (reading and
//! acting), [`scan`] (camera frames and manual ONT entry), [`outbox`] (the pending screen),
//! [`sync`] (connectivity and delivery), [`events`] (subscriptions), [`closure`] (the question
//! flow: answers, photos, the checklist, closing), [`errors`]. A new concern is a new module
//! in the same shape: records mirroring the core's values, `From` conversions, and an
//! exported `impl Jobpack`.
//!
//! Threads: the core owns a tokio runtime. Calls that touch the database are `async` for the
//! foreign side (Kotlin `suspend`, Swift `async`, Python coroutines) and run as blocking tasks
//! on that runtime, so a UI thread never waits on an fsync; the foreign side awaits a tokio
//! `JoinHandle`, which needs no runtime of its own, so uniffi's async-compat runtime is not
//! involved. Pure and in-memory calls (scan frames, status, connectivity) are synchronous.

uniffi::setup_scaffolding!("jobpack");

pub mod closure;
pub mod config;
pub mod errors;
pub mod events;
pub mod jobs;
pub mod next;
pub mod outbox;
pub mod scan;
pub mod sync;
mod time;

use std::sync::Arc;

use jobpack_core::engine::{Engine, Error as CoreError};
use tokio::runtime::Handle;
use tokio::sync::broadcast;

pub use errors::{JobpackError, Result};

/// One engineer's core, open on its SQLite file, syncing in the background.
#[derive(uniffi::Object)]
pub struct Jobpack {
    engine: Arc<Engine>,
    runtime: Handle,
    /// Scan progress is made here, not in the engine; subscriptions merge it in.
    scan_events: broadcast::Sender<events::Event>,
}

impl Jobpack {
    /// Runs a database call as a blocking task on the core's runtime and awaits it.
    async fn blocking<T, F>(&self, call: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Engine) -> Result<T, CoreError> + Send + 'static,
    {
        let engine = self.engine.clone();
        let task = self.runtime.spawn_blocking(move || {
            let result = call(&engine);
            release(engine);
            result
        });
        match task.await {
            Ok(result) => result.map_err(JobpackError::from),
            Err(e) => Err(JobpackError::Storage {
                reason: format!("the call did not complete: {e}"),
            }),
        }
    }
}

/// Drops an engine reference outside the runtime: if the foreign side abandoned the call and
/// this was the last reference, dropping the engine shuts its runtime down, which must not
/// happen on one of that runtime's own threads.
fn release(engine: Arc<Engine>) {
    if Arc::strong_count(&engine) == 1 {
        std::thread::spawn(move || drop(engine));
    }
}
