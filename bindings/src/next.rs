//! The job screen's buttons and the closure code picker, as the core decides them
//! (`jobpack_core::lifecycle::next`): a shell shows exactly these and never works them out
//! from the job's state.

use jobpack_core::codes::Attendance as CoreAttendance;
use jobpack_core::engine::NextSteps as CoreSteps;
use jobpack_core::lifecycle::{ClosureChoice as CoreChoice, NextAction as CoreAction};

use crate::Jobpack;
use crate::errors::Result;
use crate::jobs::Attendance;

/// An action the engineer can take on the job now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum NextAction {
    Accept,
    StartTravel,
    Arrive,
    /// Scan the ONT (again, after provisioning statuses 5, 6 and 7).
    ScanOnt,
    /// Answer the question-based closure's questions.
    AnswerQuestions,
    /// Close with one of `closure_choices`.
    Close,
}

impl From<CoreAction> for NextAction {
    fn from(a: CoreAction) -> Self {
        match a {
            CoreAction::Accept => Self::Accept,
            CoreAction::StartTravel => Self::StartTravel,
            CoreAction::Arrive => Self::Arrive,
            CoreAction::ScanOnt => Self::ScanOnt,
            CoreAction::AnswerQuestions => Self::AnswerQuestions,
            CoreAction::Close => Self::Close,
        }
    }
}

/// A closure code usable for the job now.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ClosureChoice {
    pub code: String,
    pub description: String,
    pub attendance: Attendance,
    /// The secondary codes to pick from; empty when the code takes none.
    pub secondary_codes: Vec<String>,
    /// One of `secondary_codes` must be picked (CON, POP).
    pub secondary_required: bool,
}

impl From<CoreChoice> for ClosureChoice {
    fn from(c: CoreChoice) -> Self {
        Self {
            code: c.code,
            description: c.description,
            attendance: match c.attendance {
                CoreAttendance::Attended => Attendance::Attended,
                CoreAttendance::NoAccess => Attendance::NoAccess,
                CoreAttendance::NotAttended => Attendance::NotAttended,
            },
            secondary_codes: c.secondary_codes,
            secondary_required: c.secondary_required,
        }
    }
}

/// What the engineer can do on a job now.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NextSteps {
    pub job_ref: String,
    /// In the order of a visit; empty once the job is closed or cancelled.
    pub actions: Vec<NextAction>,
    /// The closure codes usable now; empty when closing is not possible.
    pub closure_choices: Vec<ClosureChoice>,
}

impl From<CoreSteps> for NextSteps {
    fn from(s: CoreSteps) -> Self {
        Self {
            job_ref: s.job_ref,
            actions: s.actions.into_iter().map(NextAction::from).collect(),
            closure_choices: s
                .closure_choices
                .into_iter()
                .map(ClosureChoice::from)
                .collect(),
        }
    }
}

#[uniffi::export]
impl Jobpack {
    /// The actions the lifecycle accepts for the job now, and the closure codes it accepts.
    pub async fn next_actions(&self, job_ref: String) -> Result<NextSteps> {
        Ok(self
            .blocking(move |e| e.next_actions(&job_ref))
            .await?
            .into())
    }
}
