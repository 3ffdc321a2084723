//! Jobpack core: the offline-first engine of the fibre installation field app.
//!
//! The layers, from the wire inwards (see `docs/ARCHITECTURE.md`):
//! * [`protocol`] — CityFibre's Partner Installation messages, strict out, tolerant in.
//! * [`codes`] — the code catalogue (closure, secondary closure, property flags, ONT
//!   provisioning statuses) as data, with the rules that use it.
//! * [`lifecycle`] — the job state machine: which action is legal when, what it emits.
//! * [`closure`] — question based closure: the data-driven matrix, the path through it, the
//!   answers' validation, the checklist before closing and the `questions_answers` payload.
//! * [`photos`] — closure photos: EXIF orientation, resize, JPEG, hash, local copy, S3 upload.
//! * [`qr`] — camera frames to a confirmed ONT identity (FSAN, serial number, MAC).
//! * [`store`], [`outbox`], [`transport`], [`sync`], [`engine`] — the offline-first machinery:
//!   SQLite, the durable outbox, mutual-TLS HTTPS, the sync loop and the façade apps call.
//! * [`clock`] — trusted action times: the device clock checked against the servers' `Date`.

pub mod clock;
pub mod closure;
pub mod codes;
pub mod engine;
pub mod lifecycle;
pub mod outbox;
pub mod photos;
pub mod protocol;
pub mod qr;
pub(crate) mod state;
pub mod store;
pub mod sync;
pub mod text;
pub mod transport;
