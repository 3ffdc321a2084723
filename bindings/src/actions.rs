//! What a job screen may offer: the next legal actions and the closure codes usable now.
//!
//! Straight conversions of the core's `lifecycle::NextAction` and `ClosureChoice`, so a shell
//! draws its buttons and pickers from the core instead of repeating the state rules.

use jobpack_core::lifecycle::ClosureChoice as CoreChoice;

use crate::Jobpack;
use crate::errors::Result;
use crate::jobs::Attendance;
pub use jobpack_core::lifecycle::NextAction;

#[uniffi::remote(Enum)]
pub enum NextAction {
    Accept,
    StartTravel,
    Arrive,
    /// Scan or type the ONT (on site, or again after provisioning statuses 5, 6 and 7).
    ScanOnt,
    /// Send the answers given during the visit.
    AnswerVisit,
    /// At least one closure code is usable now.
    Close,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SecondaryChoice {
    pub code: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ClosureChoice {
    pub code: String,
    pub description: String,
    pub attendance: Attendance,
    pub secondary: Vec<SecondaryChoice>,
    pub secondary_required: bool,
    /// False while the code waits for a provisioned ONT.
    pub ready: bool,
}

impl From<CoreChoice> for ClosureChoice {
    fn from(c: CoreChoice) -> Self {
        Self {
            code: c.code,
            description: c.description,
            attendance: c.attendance,
            secondary: c
                .secondary
                .into_iter()
                .map(|(code, description)| SecondaryChoice { code, description })
                .collect(),
            secondary_required: c.secondary_required,
            ready: c.ready,
        }
    }
}

#[uniffi::export]
impl Jobpack {
    /// The engineer's legal next actions on the job, in the order of the visit.
    pub async fn next_actions(&self, job_ref: String) -> Result<Vec<NextAction>> {
        let actions = self
            .blocking_for(job_ref, |e, job| e.next_actions(job))
            .await?;
        Ok(actions.into_iter().collect())
    }

    /// The closure codes usable on the job now, with their secondary codes.
    pub async fn closure_choices(&self, job_ref: String) -> Result<Vec<ClosureChoice>> {
        let choices = self
            .blocking_for(job_ref, |e, job| e.closure_choices(job))
            .await?;
        Ok(choices.into_iter().map(ClosureChoice::from).collect())
    }
}
