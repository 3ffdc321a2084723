//! Jobpack core: the offline-first engine of the fibre installation field app.
//!
//! The layers, from the wire inwards (see `docs/ARCHITECTURE.md`):
//! * [`protocol`] — CityFibre's Partner Installation messages, strict out, tolerant in.
//! * [`codes`] — the code catalogue (closure, secondary closure, property flags, ONT
//!   provisioning statuses) as data, with the rules that use it.
//! * [`lifecycle`] — the job state machine: which action is legal when, what it emits.

pub mod codes;
pub mod engine;
pub mod lifecycle;
pub mod outbox;
pub mod protocol;
pub mod store;
pub mod sync;
pub mod transport;
