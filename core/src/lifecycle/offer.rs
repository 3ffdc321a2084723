//! What a screen may offer: the engineer's next legal actions and the closure codes usable now.
//!
//! The shells draw buttons and pickers from these lists instead of re-deriving the state rules
//! in Kotlin or Swift. Both are read off the same predicates [`Job::check`] applies, and the
//! tests hold every offer to `check` (an offered action is accepted, a withheld one refused),
//! so a button can never appear for an action the core would refuse.

use serde::Serialize;

use super::{Job, JobState, attendance_allows};
use crate::codes::{Attendance, Catalogue};

/// An action the engineer can take next on a job (CityFibre's own events are not offered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NextAction {
    Accept,
    StartTravel,
    Arrive,
    /// Scan (or type) the ONT: on site, or again after provisioning statuses 5, 6 and 7.
    ScanOnt,
    /// Send the questions answered during the visit.
    AnswerVisit,
    /// At least one closure code is usable now (see [`Job::closure_choices`]).
    Close,
}

/// A closure code the engineer may pick now, with what it still needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosureChoice {
    pub code: String,
    pub description: String,
    pub attendance: Attendance,
    /// The secondary codes to pick from, `(code, description)`, in code order.
    pub secondary: Vec<(String, String)>,
    pub secondary_required: bool,
    /// False while the code waits for a provisioned ONT (SP before status 1 or 2).
    pub ready: bool,
}

impl Job {
    /// The engineer's legal next actions, in the order of the visit. Empty once the job is
    /// closed or cancelled.
    pub fn next_actions(&self, catalogue: &Catalogue) -> Vec<NextAction> {
        use JobState as S;
        let state = self.state;
        if state.is_final() {
            return Vec::new();
        }
        let mut actions = Vec::new();
        match state {
            S::Received => actions.push(NextAction::Accept),
            S::Assigned => actions.push(NextAction::StartTravel),
            S::EnRoute => actions.push(NextAction::Arrive),
            _ => {}
        }
        let rescan = match state {
            S::OnSite => true,
            S::ProvisioningFailed { status } => catalogue
                .provisioning_status(status)
                .is_ok_and(|s| s.rescan_allowed),
            _ => false,
        };
        if rescan {
            actions.push(NextAction::ScanOnt);
        }
        if state.on_site_or_later() {
            actions.push(NextAction::AnswerVisit);
        }
        if !self.closure_choices(catalogue).is_empty() {
            actions.push(NextAction::Close);
        }
        actions
    }

    /// The catalogue's closure codes whose attendance fits the job's state, in code order.
    /// Codes needing a provisioned ONT are listed with `ready: false` until it is.
    pub fn closure_choices(&self, catalogue: &Catalogue) -> Vec<ClosureChoice> {
        if self.state.is_final() {
            return Vec::new();
        }
        let provisioned = matches!(self.state, JobState::Provisioned { .. });
        catalogue
            .closure_codes()
            .filter(|c| attendance_allows(c.attendance, self.state))
            .map(|c| ClosureChoice {
                code: c.code.clone(),
                description: c.description.clone(),
                attendance: c.attendance,
                secondary: catalogue
                    .secondary_codes_of(&c.code)
                    .map(|s| (s.code.clone(), s.description.clone()))
                    .collect(),
                secondary_required: c.secondary_required,
                ready: !c.requires_provisioned_ont || provisioned,
            })
            .collect()
    }
}
