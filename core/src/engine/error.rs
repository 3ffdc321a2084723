//! The engine's one error type, [`Error`]: what the core refuses or fails at, as the app (and
//! the FFI's single mapping in `bindings/src/errors.rs`) sees it.
//!
//! The lower layers' errors are folded in here and nowhere else: a store failure keeps its
//! cause as `source` (the shells never depend on rusqlite), a database file that cannot be used
//! becomes [`Error::DatabaseUnavailable`] with a [`DatabaseProblem`] the app can act on, and an
//! outbox refusal stays distinct from the outbox's storage failures.

use serde::Serialize;

use crate::closure::{AnswerError, Gap, MatrixProblems};
use crate::codes::CatalogueError;
use crate::lifecycle::LifecycleError;
use crate::outbox::OutboxError;
use crate::photos::PhotoError;
use crate::protocol::ProtocolError;
use crate::store::{StorageFailure, StoreError};
use crate::transport::TransportError;

/// What the core refuses or fails at, as the app sees it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("no job {job_ref} on this device")]
    UnknownJob { job_ref: String },
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// An outbox operation refused (its storage failures are [`Error::Storage`]).
    #[error(transparent)]
    Outbox(OutboxError),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The database failed; `source` is the store's error (and SQLite's beneath it).
    #[error("local storage failed: {source}")]
    Storage {
        #[source]
        source: StorageFailure,
    },
    #[error(
        "the database was written by a newer version of the app (schema {found}, this build knows up to {supported}); update the app"
    )]
    NewerDatabase { found: i64, supported: i64 },
    /// The database file cannot be used as it is; it was left untouched.
    #[error("{reason}")]
    DatabaseUnavailable {
        problem: DatabaseProblem,
        reason: String,
    },
    #[error("configuration: {reason}")]
    Config { reason: String },
    #[error("the device is offline")]
    Offline,
    #[error("sync did not become idle in time: {pending} items pending{}", .last_error.as_ref().map(|e| format!(", last error: {e}")).unwrap_or_default())]
    SyncTimeout {
        pending: u64,
        last_error: Option<String>,
    },
    #[error("this engine has no endpoints to sync with")]
    NoEndpoints,
    /// An explicit sync cycle ran and failed (the endpoint unreachable, refusing TLS...).
    #[error("the sync cycle failed ({pending} items still to deliver): {reason}")]
    SyncFailed { pending: u64, reason: String },
    #[error("the closure matrix has {} problem(s): {}", .problems.len(), .problems.join("; "))]
    Matrix { problems: Vec<String> },
    #[error("question {question_code} is not in the closure matrix")]
    UnknownQuestion { question_code: String },
    #[error("question {question_code} accepts at most {allowed} photo(s)")]
    TooManyPhotos { question_code: String, allowed: u32 },
    #[error("answer to question {question_code}: {reason}")]
    Answer {
        question_code: String,
        reason: AnswerError,
    },
    #[error("no photo {photo_id} on this job")]
    UnknownPhoto { photo_id: i64 },
    #[error(transparent)]
    Photo(#[from] PhotoError),
    #[error("cannot send yet, {} thing(s) missing: {}", .gaps.len(), .gaps.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Incomplete { gaps: Vec<Gap> },
    /// Signing out or wiping would lose work that has not reached CityFibre.
    #[error(
        "{items} item(s) have not been sent and would be lost; sync first, or force to lose them"
    )]
    UnsentWork { items: u64 },
}

impl From<MatrixProblems> for Error {
    fn from(problems: MatrixProblems) -> Self {
        Self::Matrix {
            problems: problems.iter().map(ToString::to_string).collect(),
        }
    }
}

/// Why the database file was refused at open (see [`Error::DatabaseUnavailable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DatabaseProblem {
    /// Another process held its lock past the wait: try again.
    Busy,
    /// The file (or its folder) cannot be written.
    ReadOnly,
    /// The path is a directory, a device or another special file.
    NotARegularFile,
    /// Another application's SQLite database.
    ForeignDatabase,
    /// Not a database, or unreadable and not marked as ours.
    NotADatabase,
    /// An encrypted database that does not open with the key given (or not a database).
    WrongKey,
}

impl Error {
    fn unavailable(problem: DatabaseProblem, e: &StoreError) -> Self {
        Self::DatabaseUnavailable {
            problem,
            reason: e.to_string(),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NewerSchema { found, supported } => {
                Self::NewerDatabase { found, supported }
            }
            StoreError::Busy { .. } => Self::unavailable(DatabaseProblem::Busy, &e),
            StoreError::ReadOnly { .. } => Self::unavailable(DatabaseProblem::ReadOnly, &e),
            StoreError::NotARegularFile { .. } => {
                Self::unavailable(DatabaseProblem::NotARegularFile, &e)
            }
            StoreError::ForeignDatabase { .. } => {
                Self::unavailable(DatabaseProblem::ForeignDatabase, &e)
            }
            StoreError::NotADatabase { .. } | StoreError::Unreadable { .. } => {
                Self::unavailable(DatabaseProblem::NotADatabase, &e)
            }
            StoreError::WrongKey { .. } => Self::unavailable(DatabaseProblem::WrongKey, &e),
            StoreError::BadKey { .. } => Self::Config {
                reason: e.to_string(),
            },
            other => Self::Storage {
                source: other.into(),
            },
        }
    }
}

impl From<OutboxError> for Error {
    fn from(e: OutboxError) -> Self {
        match e {
            OutboxError::Storage(source) => Self::Storage { source },
            refusal => Self::Outbox(refusal),
        }
    }
}

impl From<CatalogueError> for Error {
    fn from(e: CatalogueError) -> Self {
        Self::Config {
            reason: e.to_string(),
        }
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        Self::Config {
            reason: e.to_string(),
        }
    }
}
