//! The one public error of the façade, as the shells catch it.
//!
//! Kotlin and Swift get one exception type with a case per thing the engineer (or the shell)
//! can do something about; each case carries the fields a screen needs (the job, the outbox
//! item, the state) plus the core's own sentence in `reason`, so no shell parses messages.
//! The core's error tree is deeper (lifecycle, codes, protocol, outbox...); it is folded here
//! by what the caller does next, not by which module refused: "not allowed now" is handled
//! differently from "you typed something wrong", whichever layer noticed.

use jobpack_core::engine::Error as CoreError;
use jobpack_core::lifecycle::LifecycleError;
use jobpack_core::outbox::OutboxError;
use jobpack_core::qr::{FrameError, ManualEntryError};

use crate::closure::Gap;
use crate::outbox::ItemState;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum JobpackError {
    /// No job with this reference on the device.
    #[error("no job {job_ref} on this device")]
    UnknownJob { job_ref: String },
    /// The action is not legal for the job now (its state, a cancellation, a rescan).
    #[error("{reason}")]
    NotAllowed { job_ref: String, reason: String },
    /// A closure or secondary closure code the catalogue refuses.
    #[error("{reason}")]
    InvalidCode { reason: String },
    /// Input that is malformed: coordinates, an FSAN, a timestamp, an answer, a frame.
    #[error("{reason}")]
    InvalidInput { reason: String },
    /// A manual ONT entry was refused (malformed, the two entries differ, a duplicate).
    #[error("{reason}")]
    ManualEntry { reason: String },
    #[error("no outbox item {seq}")]
    UnknownOutboxItem { seq: i64 },
    /// Only parked items can be resent, discarded or corrected.
    #[error("outbox item {seq} is {state:?}; only parked items can be changed")]
    NotParked { seq: i64, state: ItemState },
    /// The discard confirmation was not the item's idempotency key.
    #[error("the confirmation does not match outbox item {seq}")]
    ConfirmationMismatch { seq: i64 },
    #[error("local storage failed: {reason}")]
    Storage { reason: String },
    /// The database belongs to a newer app version; the app must be updated.
    #[error("the database was written by a newer app (schema {found}, supported {supported})")]
    NewerDatabase { found: i64, supported: i64 },
    /// The database file cannot be used as it is (locked, read-only, not a database file,
    /// another app's database); it was left untouched. `Busy` is worth retrying.
    #[error("{reason}")]
    DatabaseUnavailable {
        problem: DatabaseProblem,
        reason: String,
    },
    /// The configuration cannot be used (certificates, catalogue, endpoints, runtime).
    #[error("configuration: {reason}")]
    Config { reason: String },
    #[error("the device is offline")]
    Offline,
    #[error("sync did not become idle in time: {pending} pending")]
    SyncTimeout {
        pending: u64,
        last_error: Option<String>,
    },
    #[error("this core has no endpoints to sync with")]
    NoEndpoints,
    /// An explicit sync cycle ran and failed; `reason` is the cycle's error.
    #[error("the sync cycle failed: {reason}")]
    SyncFailed { pending: u64, reason: String },
    /// The handle was closed.
    #[error("the core was closed")]
    Closed,
    /// The closure matrix given at open has problems; each names its place in the file.
    #[error("the closure matrix has problems: {}", .problems.join("; "))]
    Matrix { problems: Vec<String> },
    #[error("question {question_code} is not in the closure matrix")]
    UnknownQuestion { question_code: String },
    /// The answer does not fit the question; `reason` says what is expected.
    #[error("answer to question {question_code}: {reason}")]
    InvalidAnswer {
        question_code: String,
        reason: String,
    },
    #[error("no photo {photo_id} on this job")]
    UnknownPhoto { photo_id: i64 },
    /// The question already carries the most photos the matrix allows it.
    #[error("question {question_code} accepts at most {allowed} photo(s)")]
    TooManyPhotos { question_code: String, allowed: u32 },
    /// The picture cannot be used (not an image, too large, corrupt) or kept.
    #[error("{reason}")]
    Photo { reason: String },
    /// Visit answers or the closure cannot be sent yet: every gap, for the checklist screen.
    #[error("{} thing(s) missing", .gaps.len())]
    Incomplete { gaps: Vec<Gap> },
    /// Signing out or wiping would lose `items` unsent items; sync first or force.
    #[error("{items} unsent item(s) would be lost")]
    UnsentWork { items: u64 },
}

/// Why the database was refused at open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DatabaseProblem {
    /// Another process held its lock past the wait: try again.
    Busy,
    /// The file (or its folder) cannot be written.
    ReadOnly,
    /// The path is a directory, a device or another special file.
    NotARegularFile,
    /// Another application's SQLite database.
    ForeignDatabase,
    /// Not a database, or unreadable and not marked as this app's.
    NotADatabase,
    /// Encrypted, and the storage key given does not open it (the keystore lost the key, or
    /// another installation's file).
    WrongKey,
}

impl From<jobpack_core::engine::DatabaseProblem> for DatabaseProblem {
    fn from(p: jobpack_core::engine::DatabaseProblem) -> Self {
        use jobpack_core::engine::DatabaseProblem as Core;
        match p {
            Core::Busy => Self::Busy,
            Core::ReadOnly => Self::ReadOnly,
            Core::NotARegularFile => Self::NotARegularFile,
            Core::ForeignDatabase => Self::ForeignDatabase,
            Core::NotADatabase => Self::NotADatabase,
            Core::WrongKey => Self::WrongKey,
        }
    }
}

pub type Result<T, E = JobpackError> = std::result::Result<T, E>;

impl From<CoreError> for JobpackError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::UnknownJob { job_ref } => Self::UnknownJob { job_ref },
            CoreError::Lifecycle(e) => lifecycle(e),
            CoreError::Outbox(e) => match e {
                OutboxError::UnknownItem { seq } => Self::UnknownOutboxItem { seq },
                OutboxError::NotParked { seq, state, .. } => Self::NotParked {
                    seq,
                    state: state.into(),
                },
                OutboxError::ConfirmationMismatch { seq } => Self::ConfirmationMismatch { seq },
            },
            CoreError::Protocol(e) => Self::InvalidInput {
                reason: e.to_string(),
            },
            CoreError::Storage { reason } => Self::Storage { reason },
            CoreError::NewerDatabase { found, supported } => {
                Self::NewerDatabase { found, supported }
            }
            CoreError::DatabaseUnavailable { problem, reason } => Self::DatabaseUnavailable {
                problem: problem.into(),
                reason,
            },
            CoreError::Config { reason } => Self::Config { reason },
            CoreError::Offline => Self::Offline,
            CoreError::SyncTimeout {
                pending,
                last_error,
            } => Self::SyncTimeout {
                pending,
                last_error,
            },
            CoreError::NoEndpoints => Self::NoEndpoints,
            CoreError::SyncFailed { pending, reason } => Self::SyncFailed { pending, reason },
            CoreError::Matrix { problems } => Self::Matrix { problems },
            CoreError::UnknownQuestion { question_code } => Self::UnknownQuestion { question_code },
            CoreError::Answer {
                question_code,
                reason,
            } => Self::InvalidAnswer {
                question_code,
                reason: reason.to_string(),
            },
            CoreError::UnknownPhoto { photo_id } => Self::UnknownPhoto { photo_id },
            CoreError::TooManyPhotos {
                question_code,
                allowed,
            } => Self::TooManyPhotos {
                question_code,
                allowed,
            },
            CoreError::Photo(e) => Self::Photo {
                reason: e.to_string(),
            },
            CoreError::Incomplete { gaps } => Self::Incomplete {
                gaps: gaps.into_iter().map(Gap::from).collect(),
            },
            CoreError::UnsentWork { items } => Self::UnsentWork { items },
        }
    }
}

fn lifecycle(e: LifecycleError) -> JobpackError {
    let reason = e.to_string();
    match e {
        LifecycleError::Code(_) => JobpackError::InvalidCode { reason },
        LifecycleError::InvalidInput(_) | LifecycleError::NoAnswers => {
            JobpackError::InvalidInput { reason }
        }
        LifecycleError::IllegalAction { .. }
        | LifecycleError::Cancelled { .. }
        | LifecycleError::RescanNotAllowed { .. }
        | LifecycleError::OntNotProvisioned { .. }
        | LifecycleError::ClosureNotAllowedNow { .. } => JobpackError::NotAllowed {
            // The core's lifecycle errors do not name the job; `with_job` fills it in.
            job_ref: String::new(),
            reason,
        },
    }
}

impl JobpackError {
    /// Names the job on refusals that came from the lifecycle, which only knows states.
    pub(crate) fn with_job(self, job: &str) -> Self {
        match self {
            Self::NotAllowed { job_ref, reason } if job_ref.is_empty() => Self::NotAllowed {
                job_ref: job.to_owned(),
                reason,
            },
            other => other,
        }
    }
}

impl From<FrameError> for JobpackError {
    fn from(e: FrameError) -> Self {
        Self::InvalidInput {
            reason: e.to_string(),
        }
    }
}

impl From<ManualEntryError> for JobpackError {
    fn from(e: ManualEntryError) -> Self {
        Self::ManualEntry {
            reason: e.to_string(),
        }
    }
}
