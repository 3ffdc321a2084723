//! The one public error of the façade, as the shells catch it.
//!
//! Kotlin and Swift get one exception type with a case per thing the engineer (or the shell)
//! can do something about; each case carries the fields a screen needs (the job, the outbox
//! item, the state) plus the core's own sentence in `reason`, so no shell parses messages.
//! The core's error tree is deeper (lifecycle, codes, protocol, outbox...); it is folded here
//! by what the caller does next, not by which module refused: "not allowed now" is handled
//! differently from "you typed something wrong", whichever layer noticed.
//!
//! This file is the only place a `JobpackError` is made: [`from_core`] folds the engine's
//! errors (naming the job the call was about, which the lifecycle's refusals do not know), and
//! the `From` conversions below fold the few errors the façade meets before the engine (a
//! malformed time or location, a camera frame, a manual entry, a task that did not finish).

use jobpack_core::engine::Error as CoreError;
use jobpack_core::lifecycle::LifecycleError;
use jobpack_core::outbox::OutboxError;
use jobpack_core::protocol::ProtocolError;
use jobpack_core::qr::{ChooseSerialError, FrameError, IdentityError, ManualEntryError};

use crate::closure::Gap;
use crate::outbox::ItemState;
pub use jobpack_core::engine::DatabaseProblem;

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
    /// The call's task did not finish (the core is shutting down, or the call panicked and
    /// was contained); nothing is known to be wrong with the data. Worth retrying.
    #[error("the call did not complete: {reason}")]
    Interrupted { reason: String },
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
#[uniffi::remote(Enum)]
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

pub type Result<T, E = JobpackError> = std::result::Result<T, E>;

impl From<CoreError> for JobpackError {
    fn from(e: CoreError) -> Self {
        from_core(e, None)
    }
}

/// The one mapping of the engine's errors. `job` is the job the call was about: the
/// lifecycle's refusals only know states, so the job is named here, for every call on a job
/// (actions, answers, photos, flows), not only for some.
pub(crate) fn from_core(e: CoreError, job: Option<&str>) -> JobpackError {
    use JobpackError as J;
    match e {
        CoreError::UnknownJob { job_ref } => J::UnknownJob { job_ref },
        CoreError::Lifecycle(e) => lifecycle(e, job),
        CoreError::Outbox(e) => match e {
            OutboxError::UnknownItem { seq } => J::UnknownOutboxItem { seq },
            OutboxError::NotParked { seq, state, .. } => J::NotParked { seq, state },
            OutboxError::ConfirmationMismatch { seq } => J::ConfirmationMismatch { seq },
            e @ OutboxError::NotACloseJob { .. } => J::InvalidInput {
                reason: e.to_string(),
            },
            OutboxError::Storage(source) => J::Storage {
                reason: source.to_string(),
            },
        },
        CoreError::Protocol(e) => e.into(),
        CoreError::Storage { source } => J::Storage {
            reason: source.to_string(),
        },
        CoreError::NewerDatabase { found, supported } => J::NewerDatabase { found, supported },
        CoreError::DatabaseUnavailable { problem, reason } => {
            J::DatabaseUnavailable { problem, reason }
        }
        CoreError::Config { reason } => J::Config { reason },
        CoreError::Offline => J::Offline,
        CoreError::SyncTimeout {
            pending,
            last_error,
        } => J::SyncTimeout {
            pending,
            last_error,
        },
        CoreError::NoEndpoints => J::NoEndpoints,
        CoreError::SyncFailed { pending, reason } => J::SyncFailed { pending, reason },
        CoreError::Matrix { problems } => J::Matrix { problems },
        CoreError::UnknownQuestion { question_code } => J::UnknownQuestion { question_code },
        CoreError::Answer {
            question_code,
            reason,
        } => J::InvalidAnswer {
            question_code,
            reason: reason.to_string(),
        },
        CoreError::UnknownPhoto { photo_id } => J::UnknownPhoto { photo_id },
        CoreError::TooManyPhotos {
            question_code,
            allowed,
        } => J::TooManyPhotos {
            question_code,
            allowed,
        },
        CoreError::Photo(e) => J::Photo {
            reason: e.to_string(),
        },
        CoreError::Incomplete { gaps } => J::Incomplete {
            gaps: gaps.into_iter().map(Gap::from).collect(),
        },
        CoreError::UnsentWork { items } => J::UnsentWork { items },
    }
}

fn lifecycle(e: LifecycleError, job: Option<&str>) -> JobpackError {
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
            job_ref: job.unwrap_or_default().to_owned(),
            reason,
        },
    }
}

impl JobpackError {
    /// A configuration the façade itself refuses (a storage key of the wrong size).
    pub(crate) fn config(reason: String) -> Self {
        Self::Config { reason }
    }
}

impl From<tokio::task::JoinError> for JobpackError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Interrupted {
            reason: if e.is_cancelled() {
                "the core is shutting down".into()
            } else {
                "the call failed inside the core and was stopped".into()
            },
        }
    }
}

impl From<ProtocolError> for JobpackError {
    fn from(e: ProtocolError) -> Self {
        Self::InvalidInput {
            reason: e.to_string(),
        }
    }
}

impl From<ChooseSerialError> for JobpackError {
    fn from(e: ChooseSerialError) -> Self {
        Self::InvalidInput {
            reason: e.to_string(),
        }
    }
}

impl From<IdentityError> for JobpackError {
    fn from(e: IdentityError) -> Self {
        Self::ManualEntry {
            reason: e.to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use jobpack_core::closure::AnswerError;
    use jobpack_core::engine::DatabaseProblem as CoreProblem;
    use jobpack_core::lifecycle::JobState;
    use jobpack_core::outbox::ItemState as CoreState;
    use jobpack_core::store::StoreError;

    fn illegal() -> CoreError {
        CoreError::Lifecycle(LifecycleError::IllegalAction {
            state: JobState::Closed,
            action: "answer a question",
        })
    }

    #[test]
    fn a_lifecycle_refusal_names_the_job_the_call_was_about() {
        assert_eq!(
            from_core(illegal(), Some("S1")),
            JobpackError::NotAllowed {
                job_ref: "S1".into(),
                reason: illegal().to_string(),
            }
        );
        // A call about no job (an outbox correction) has none to name.
        assert!(matches!(
            from_core(illegal(), None),
            JobpackError::NotAllowed { job_ref, .. } if job_ref.is_empty()
        ));
    }

    #[test]
    fn each_core_error_has_its_case() {
        let cases: Vec<(CoreError, JobpackError)> = vec![
            (
                CoreError::UnknownJob {
                    job_ref: "S9".into(),
                },
                JobpackError::UnknownJob {
                    job_ref: "S9".into(),
                },
            ),
            (
                CoreError::Outbox(OutboxError::UnknownItem { seq: 3 }),
                JobpackError::UnknownOutboxItem { seq: 3 },
            ),
            (
                CoreError::Outbox(OutboxError::NotParked {
                    seq: 3,
                    state: CoreState::Queued,
                    operation: "resent",
                }),
                JobpackError::NotParked {
                    seq: 3,
                    state: ItemState::Queued,
                },
            ),
            (
                CoreError::Outbox(OutboxError::ConfirmationMismatch { seq: 3 }),
                JobpackError::ConfirmationMismatch { seq: 3 },
            ),
            (
                CoreError::NewerDatabase {
                    found: 9,
                    supported: 7,
                },
                JobpackError::NewerDatabase {
                    found: 9,
                    supported: 7,
                },
            ),
            (
                CoreError::DatabaseUnavailable {
                    problem: CoreProblem::Busy,
                    reason: "busy".into(),
                },
                JobpackError::DatabaseUnavailable {
                    problem: DatabaseProblem::Busy,
                    reason: "busy".into(),
                },
            ),
            (
                CoreError::Config {
                    reason: "no anchors".into(),
                },
                JobpackError::Config {
                    reason: "no anchors".into(),
                },
            ),
            (CoreError::Offline, JobpackError::Offline),
            (CoreError::NoEndpoints, JobpackError::NoEndpoints),
            (
                CoreError::SyncTimeout {
                    pending: 2,
                    last_error: Some("x".into()),
                },
                JobpackError::SyncTimeout {
                    pending: 2,
                    last_error: Some("x".into()),
                },
            ),
            (
                CoreError::SyncFailed {
                    pending: 2,
                    reason: "tls".into(),
                },
                JobpackError::SyncFailed {
                    pending: 2,
                    reason: "tls".into(),
                },
            ),
            (
                CoreError::Matrix {
                    problems: vec!["/flows: empty".into()],
                },
                JobpackError::Matrix {
                    problems: vec!["/flows: empty".into()],
                },
            ),
            (
                CoreError::UnknownQuestion {
                    question_code: "Q1".into(),
                },
                JobpackError::UnknownQuestion {
                    question_code: "Q1".into(),
                },
            ),
            (
                CoreError::UnknownPhoto { photo_id: 4 },
                JobpackError::UnknownPhoto { photo_id: 4 },
            ),
            (
                CoreError::TooManyPhotos {
                    question_code: "Q1".into(),
                    allowed: 2,
                },
                JobpackError::TooManyPhotos {
                    question_code: "Q1".into(),
                    allowed: 2,
                },
            ),
            (
                CoreError::Incomplete { gaps: vec![] },
                JobpackError::Incomplete { gaps: vec![] },
            ),
            (
                CoreError::UnsentWork { items: 5 },
                JobpackError::UnsentWork { items: 5 },
            ),
        ];
        for (core, expected) in cases {
            assert_eq!(from_core(core.clone(), Some("S1")), expected, "{core:?}");
        }
    }

    #[test]
    fn refusals_by_meaning_not_by_module() {
        let e = CoreError::Lifecycle(LifecycleError::NoAnswers);
        assert!(matches!(
            from_core(e, Some("S1")),
            JobpackError::InvalidInput { .. }
        ));
        let e = CoreError::Outbox(OutboxError::NotACloseJob { seq: 8 });
        assert!(
            matches!(from_core(e, None), JobpackError::InvalidInput { reason } if reason.contains("not a closeJob")),
            "a caller's mistake, not a configuration error"
        );
        let e = CoreError::Answer {
            question_code: "Q1".into(),
            reason: AnswerError::Empty,
        };
        assert!(matches!(
            from_core(e, Some("S1")),
            JobpackError::InvalidAnswer { question_code, .. } if question_code == "Q1"
        ));
        let store = StoreError::Corrupt("page 3".into());
        let text = store.to_string();
        let e = CoreError::from(store);
        assert_eq!(
            from_core(e, None),
            JobpackError::Storage { reason: text },
            "the store's own sentence reaches the shell"
        );
    }

    #[test]
    fn a_task_that_did_not_finish_is_interrupted_not_storage() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let failed = runtime.block_on(async {
            let task = tokio::spawn(async { panic!("contained") });
            task.await.unwrap_err()
        });
        assert!(matches!(
            JobpackError::from(failed),
            JobpackError::Interrupted { .. }
        ));
    }
}
