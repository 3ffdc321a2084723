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

pub mod actions;
pub mod closure;
pub mod config;
pub mod errors;
pub mod events;
pub mod jobs;
pub mod outbox;
pub mod retention;
pub mod scan;
pub mod sync;
mod time;

use std::sync::Arc;

use jobpack_core::engine::{Engine, Error as CoreError};
use tokio::runtime::Handle;

pub use errors::{JobpackError, Result};

/// One engineer's core, open on its SQLite file, syncing in the background.
#[derive(uniffi::Object)]
pub struct Jobpack {
    engine: Arc<Engine>,
    runtime: Handle,
}

impl Jobpack {
    /// Runs a database call as a blocking task on the core's runtime and awaits it.
    async fn blocking<T, F>(&self, call: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Engine) -> Result<T, CoreError> + Send + 'static,
    {
        self.run_blocking(None, call).await
    }

    /// [`Jobpack::blocking`] for a call about one job: a refusal names it.
    async fn blocking_for<T, F>(&self, job_ref: String, call: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Engine, &str) -> Result<T, CoreError> + Send + 'static,
    {
        let job = job_ref.clone();
        self.run_blocking(Some(&job_ref), move |e| call(e, &job))
            .await
    }

    async fn run_blocking<T, F>(&self, job_ref: Option<&str>, call: F) -> Result<T>
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
        task.await?.map_err(|e| errors::from_core(e, job_ref))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::closure::Journey;
    use jobpack_core::engine::Config;
    use jobpack_core::protocol::EngineerDetails;
    use serde_json::json;

    /// A handle on an offline core whose job S1 was cancelled by CityFibre.
    fn with_cancelled_job(dir: &std::path::Path) -> Jobpack {
        let engine = Engine::open(Config {
            database: dir.join("core.sqlite"),
            database_key: None,
            endpoints: vec![],
            tls: Default::default(),
            timeouts: Default::default(),
            engineer: EngineerDetails {
                engineer_id: "E042".into(),
                name: "Sam Splicer".into(),
                phone: "+44 7700 900123".into(),
                company: None,
            },
            partner_catalogue: None,
            sync: Default::default(),
            start_online: false,
            closure_matrix: None,
            photos: Default::default(),
        })
        .unwrap();
        engine
            .apply_inbound(&[
                json!({"id": 1, "sent": "2022-03-18T17:39:21+0000", "method": "createJob",
                       "ref": "S1", "content": {
                           "serviceOrder": {"serviceOrderId": "SO-1"},
                           "appointment": {"date": "2026-12-01", "slot": "AM"},
                           "customer": {"name": "A Customer"},
                           "address": {"line1": "1 High Street", "town": "Leeds",
                                       "postcode": "LS1 1AA"}},
                       "response": {"providerJobId": "JP-1"}}),
                json!({"id": 2, "sent": "2022-03-18T17:40:21+0000", "method": "cancelJob",
                       "ref": "S1", "content": {"reason": "Customer cancelled order"},
                       "response": {}}),
            ])
            .unwrap();
        let runtime = engine.runtime_handle().unwrap();
        Jobpack {
            engine: Arc::new(engine),
            runtime,
        }
    }

    #[test]
    fn refusals_on_a_finished_job_name_it_for_every_call() {
        let dir = tempfile::tempdir().unwrap();
        let core = with_cancelled_job(dir.path());
        let wait = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let not_allowed = |result: Result<()>| match result {
            Err(JobpackError::NotAllowed { job_ref, .. }) => job_ref,
            other => panic!("{other:?}"),
        };
        let answered = wait.block_on(core.answer_question(
            "S1".into(),
            Journey::Visit,
            "1000".into(),
            "yes".into(),
            None,
        ));
        assert_eq!(not_allowed(answered.map(drop)), "S1");
        let cleared = wait.block_on(core.clear_answer("S1".into(), Journey::Visit, "1000".into()));
        assert_eq!(not_allowed(cleared), "S1");
        let accepted = wait.block_on(core.accept("S1".into()));
        assert_eq!(not_allowed(accepted.map(drop)), "S1");
    }
}
