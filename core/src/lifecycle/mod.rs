//! The job lifecycle: which action is legal in which state, and what each one emits.
//!
//! ```text
//! received → assigned → en route → on site → ONT scanned → provisioned ─┐
//!                                      │            │  ↘ retrying (4) ↗ │
//!                                      │            └→ failed (3,5,6,7) │→ closed
//!                                      │      re-scan after 5, 6, 7 ↩   │
//!                                      └──────── closed (per code) ─────┘
//! cancelled: from any state before closed (CityFibre's cancelJob)
//! ```
//!
//! This module is pure: no clock, no I/O, no ids. [`Job::apply`] takes an action with the time
//! the engineer took it and returns the outbound call it produces (without a JSON-RPC id; the
//! outbox gives one when it stores the message in the same transaction as the new state).
//! Refusals are typed and name the state and the action, so the UI can say exactly why a
//! button does nothing and the store can refuse before anything is written.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::codes::{
    Attendance, Catalogue, ClosureRule, CodeError, FlagMoment, ProvisioningOutcome,
};
use crate::protocol::{
    CloseJob, EngineerDetails, JobEvent, JobHeader, JobPack, JobRef, Location, NotifyJob,
    OntDevice, OutboundCall, ProtocolError, ProviderJobId, QuestionAnswer, Timestamp,
};

/// Where a job is in its visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum JobState {
    /// CityFibre's job pack is here; no engineer has accepted it.
    Received,
    Assigned,
    EnRoute,
    OnSite,
    /// The ONT's FSAN and serial were sent; waiting for CityFibre's provisioning result.
    OntScanned,
    Provisioned {
        status: u8,
    },
    /// Status 4: CityFibre retries in 5 minutes.
    ProvisioningRetrying {
        status: u8,
    },
    /// Status 3, 5, 6 or 7.
    ProvisioningFailed {
        status: u8,
    },
    Closed,
    Cancelled,
}

impl JobState {
    fn after_scan(self) -> bool {
        matches!(
            self,
            Self::OntScanned
                | Self::Provisioned { .. }
                | Self::ProvisioningRetrying { .. }
                | Self::ProvisioningFailed { .. }
        )
    }

    fn on_site_or_later(self) -> bool {
        self == Self::OnSite || self.after_scan()
    }

    /// True once nothing more can happen to the job.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Closed | Self::Cancelled)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Received => f.write_str("received"),
            Self::Assigned => f.write_str("assigned"),
            Self::EnRoute => f.write_str("en route"),
            Self::OnSite => f.write_str("on site"),
            Self::OntScanned => f.write_str("ONT scanned"),
            Self::Provisioned { status } => write!(f, "provisioned (status {status})"),
            Self::ProvisioningRetrying { status } => {
                write!(f, "provisioning retrying (status {status})")
            }
            Self::ProvisioningFailed { status } => {
                write!(f, "provisioning failed (status {status})")
            }
            Self::Closed => f.write_str("closed"),
            Self::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// Something that happens to a job: the engineer's actions and CityFibre's inbound events.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The engineer accepts the assignment; CityFibre is told who is coming.
    Accept {
        engineer: EngineerDetails,
    },
    StartTravel {
        location: Location,
    },
    Arrive {
        location: Location,
    },
    ScanOnt {
        ont: OntDevice,
    },
    /// Answers given during the visit (question based closure, `source: notifyJob`).
    Answer {
        answers: Vec<QuestionAnswer>,
    },
    Close {
        closure_code: String,
        secondary_code: Option<String>,
        /// Free text; the catalogue's description is used when empty.
        description: String,
        answers: Vec<QuestionAnswer>,
    },
    /// CityFibre's `notifyJob` with an ONT provisioning status.
    ProvisioningResult {
        status: u8,
    },
    /// CityFibre's `cancelJob`.
    Cancel {
        reason: String,
    },
}

impl Action {
    /// The action's name, as used in errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Accept { .. } => "accept",
            Self::StartTravel { .. } => "en route",
            Self::Arrive { .. } => "on site",
            Self::ScanOnt { .. } => "scan ONT",
            Self::Answer { .. } => "answer",
            Self::Close { .. } => "close",
            Self::ProvisioningResult { .. } => "ONT provisioning result",
            Self::Cancel { .. } => "cancel",
        }
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("cannot {action} a job that is {state}")]
    IllegalAction {
        state: JobState,
        action: &'static str,
    },
    #[error("job was cancelled by CityFibre ({reason}); {action} is no longer possible")]
    Cancelled {
        reason: String,
        action: &'static str,
    },
    #[error(
        "cannot scan the ONT again after {state}; a re-scan is allowed only after provisioning statuses 5, 6 and 7"
    )]
    RescanNotAllowed { state: JobState },
    #[error("closure code {code} needs a provisioned ONT, but the job is {state}")]
    OntNotProvisioned { code: String, state: JobState },
    #[error("closure code {code} ({attendance}) cannot be used when the job is {state}")]
    ClosureNotAllowedNow {
        code: String,
        attendance: Attendance,
        state: JobState,
    },
    #[error("answers given during the visit need at least one answer")]
    NoAnswers,
    #[error(transparent)]
    Code(#[from] CodeError),
    #[error("invalid input: {0}")]
    InvalidInput(#[from] ProtocolError),
}

/// Something the engineer should see, at the moment it matters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Warning {
    /// A property flag from the job pack (DAN before travelling; CHP, SUR, DTL, MDU, WSD on the job).
    PropertyFlag { code: String, description: String },
    /// A flag the catalogue does not know; shown so nothing CityFibre says is hidden.
    UnknownPropertyFlag { code: String },
    /// The phone's clock put this action before the job's previous one (it was set back):
    /// the action keeps the previous one's time so the job's messages stay in order.
    ClockSetBack { set_back_ms: i64 },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PropertyFlag { code, description } => write!(f, "{code}: {description}"),
            Self::UnknownPropertyFlag { code } => {
                write!(f, "{code}: property flag not in the catalogue")
            }
            Self::ClockSetBack { set_back_ms } => write!(
                f,
                "the phone's clock is {} s behind the job's previous action: this action was \
                 given that action's time; check the phone's date and time settings",
                set_back_ms / 1000
            ),
        }
    }
}

/// What an accepted action produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The state after the action.
    pub state: JobState,
    /// The message for CityFibre, if the action produces one.
    pub message: Option<OutboundCall>,
    /// Warnings to show now.
    pub warnings: Vec<Warning>,
}

/// A job as the phone holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub header: JobHeader,
    pub pack: JobPack,
    pub state: JobState,
    /// The ONT last scanned.
    pub ont: Option<OntDevice>,
    pub cancel_reason: Option<String>,
    /// The closure, once closed.
    pub closure: Option<ClosureRule>,
}

impl Job {
    /// A job pack just received from CityFibre.
    pub fn received(job_ref: JobRef, provider_job_id: ProviderJobId, pack: JobPack) -> Self {
        Self {
            header: JobHeader {
                job_ref,
                provider_job_id,
            },
            pack,
            state: JobState::Received,
            ont: None,
            cancel_reason: None,
            closure: None,
        }
    }

    /// Checks `action` against the current state without changing anything.
    pub fn check(
        &self,
        action: &Action,
        catalogue: &Catalogue,
    ) -> Result<JobState, LifecycleError> {
        self.next_state(action, catalogue).map(|(state, _)| state)
    }

    /// Applies `action`, taken at `at`, and returns what it produced. On error nothing changes.
    pub fn apply(
        &mut self,
        action: Action,
        at: Timestamp,
        catalogue: &Catalogue,
    ) -> Result<Outcome, LifecycleError> {
        let (state, closure) = self.next_state(&action, catalogue)?;
        let header = self.header.clone();
        let notify = |event| {
            Some(OutboundCall::NotifyJob(NotifyJob {
                job_header: header.clone(),
                event_time: at,
                event,
            }))
        };
        let mut warnings = Vec::new();
        let message = match action {
            Action::Accept { engineer } => {
                warnings = self.flag_warnings(catalogue, |m| m == FlagMoment::BeforeTravel);
                notify(JobEvent::EngineerAssigned(engineer))
            }
            Action::StartTravel { location } => {
                warnings = self.flag_warnings(catalogue, |m| m == FlagMoment::BeforeTravel);
                notify(JobEvent::EnRoute(location))
            }
            Action::Arrive { location } => {
                warnings = self.flag_warnings(catalogue, |m| m == FlagMoment::OnJob);
                notify(JobEvent::OnSite(location))
            }
            Action::ScanOnt { ont } => {
                self.ont = Some(ont.clone());
                notify(JobEvent::OntScanned(ont))
            }
            Action::Answer { answers } => notify(JobEvent::QuestionsAnswered(answers)),
            Action::Close {
                description,
                answers,
                ..
            } => {
                let rule = closure.ok_or(LifecycleError::IllegalAction {
                    state: self.state,
                    action: "close",
                })?;
                let description = if description.trim().is_empty() {
                    rule.description.clone()
                } else {
                    description
                };
                let message = OutboundCall::CloseJob(CloseJob {
                    job_header: header.clone(),
                    closure_code: rule.code.clone(),
                    secondary_closure_code: rule.secondary.clone(),
                    description,
                    closed_at: at.into(),
                    questions_answers: answers,
                });
                self.closure = Some(rule);
                Some(message)
            }
            Action::ProvisioningResult { .. } => None,
            Action::Cancel { reason } => {
                self.cancel_reason = Some(reason);
                None
            }
        };
        self.state = state;
        Ok(Outcome {
            state,
            message,
            warnings,
        })
    }

    /// The warnings that stand for the job in its current state: DAN until the engineer has
    /// set off, the on-job flags until the job is over.
    pub fn warnings(&self, catalogue: &Catalogue) -> Vec<Warning> {
        let before_travel = matches!(self.state, JobState::Received | JobState::Assigned);
        let open = !self.state.is_final();
        self.flag_warnings(catalogue, |moment| match moment {
            FlagMoment::BeforeTravel => before_travel,
            FlagMoment::OnJob => open,
        })
    }

    fn flag_warnings(
        &self,
        catalogue: &Catalogue,
        show: impl Fn(FlagMoment) -> bool,
    ) -> Vec<Warning> {
        self.pack
            .property_flags
            .iter()
            .filter_map(|code| match catalogue.property_flag(code) {
                Some(flag) if show(flag.when) => Some(Warning::PropertyFlag {
                    code: flag.code.clone(),
                    description: flag.description.clone(),
                }),
                Some(_) => None,
                None => Some(Warning::UnknownPropertyFlag { code: code.clone() }),
            })
            .collect()
    }

    fn next_state(
        &self,
        action: &Action,
        catalogue: &Catalogue,
    ) -> Result<(JobState, Option<ClosureRule>), LifecycleError> {
        use JobState as S;
        let state = self.state;
        let illegal = || LifecycleError::IllegalAction {
            state,
            action: action.name(),
        };
        if state == S::Cancelled {
            return Err(LifecycleError::Cancelled {
                reason: self.cancel_reason.clone().unwrap_or_default(),
                action: action.name(),
            });
        }
        if state == S::Closed {
            return Err(illegal());
        }
        validate_input(action)?;
        let next = match action {
            Action::Accept { .. } if state == S::Received => S::Assigned,
            Action::StartTravel { .. } if state == S::Assigned => S::EnRoute,
            Action::Arrive { .. } if state == S::EnRoute => S::OnSite,
            Action::ScanOnt { .. } => match state {
                S::OnSite => S::OntScanned,
                S::ProvisioningFailed { status }
                    if catalogue
                        .provisioning_status(status)
                        .is_ok_and(|s| s.rescan_allowed) =>
                {
                    S::OntScanned
                }
                s if s.after_scan() => return Err(LifecycleError::RescanNotAllowed { state }),
                _ => return Err(illegal()),
            },
            Action::Answer { answers } if state.on_site_or_later() => {
                if answers.is_empty() {
                    return Err(LifecycleError::NoAnswers);
                }
                state
            }
            Action::ProvisioningResult { status } if state.after_scan() => {
                match catalogue.provisioning_status(*status)?.outcome {
                    ProvisioningOutcome::Provisioned => S::Provisioned { status: *status },
                    ProvisioningOutcome::Retrying => S::ProvisioningRetrying { status: *status },
                    ProvisioningOutcome::Failed => S::ProvisioningFailed { status: *status },
                }
            }
            Action::Cancel { .. } => S::Cancelled,
            Action::Close {
                closure_code,
                secondary_code,
                ..
            } => {
                let rule = catalogue.check_closure(closure_code, secondary_code.as_deref())?;
                if !attendance_allows(rule.attendance, state) {
                    return Err(LifecycleError::ClosureNotAllowedNow {
                        code: rule.code,
                        attendance: rule.attendance,
                        state,
                    });
                }
                if rule.requires_provisioned_ont && !matches!(state, S::Provisioned { .. }) {
                    return Err(LifecycleError::OntNotProvisioned {
                        code: rule.code,
                        state,
                    });
                }
                return Ok((S::Closed, Some(rule)));
            }
            _ => return Err(illegal()),
        };
        Ok((next, None))
    }
}

/// Whether a closure code of this attendance can be used in `state` (before any other rule).
fn attendance_allows(attendance: Attendance, state: JobState) -> bool {
    match attendance {
        Attendance::Attended => state.on_site_or_later(),
        Attendance::NoAccess => state == JobState::EnRoute || state.on_site_or_later(),
        Attendance::NotAttended => matches!(state, JobState::Assigned | JobState::EnRoute),
    }
}

/// Field rules of what the engineer typed, checked before any state rule so that a bad phone
/// number or an empty answer is reported as such.
fn validate_input(action: &Action) -> Result<(), LifecycleError> {
    match action {
        Action::Accept { engineer } => engineer.validate()?,
        Action::Answer { answers } => answers.iter().try_for_each(QuestionAnswer::validate)?,
        Action::Close {
            description,
            answers,
            ..
        } => {
            if description.chars().count() > 2000 {
                return Err(ProtocolError::InvalidField {
                    field: "description",
                    reason: "must be at most 2000 characters".into(),
                }
                .into());
            }
            answers.iter().try_for_each(QuestionAnswer::validate)?
        }
        _ => {}
    }
    Ok(())
}

mod offer;
pub use offer::{ClosureChoice, NextAction};

#[cfg(test)]
mod tests;
