//! The job screen's question to the core: what can the engineer do next, and with which
//! closure codes. The lifecycle decides (`lifecycle::next`); this only loads the job and
//! names the engineer configured at open.

use serde::Serialize;

use super::{Engine, Error};
use crate::lifecycle::{ClosureChoice, NextAction};
use crate::store;

/// What the engineer can do on a job now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NextSteps {
    pub job_ref: String,
    /// In the order of a visit; empty once the job is closed or cancelled.
    pub actions: Vec<NextAction>,
    /// The closure codes usable now (the picker's entries); empty when closing is not.
    pub closure_choices: Vec<ClosureChoice>,
}

impl Engine {
    pub fn next_actions(&self, job_ref: &str) -> Result<NextSteps, Error> {
        let stored = self
            .shared
            .with_store(|s| store::load_job(s.conn(), job_ref))?
            .ok_or_else(|| Error::UnknownJob {
                job_ref: job_ref.to_owned(),
            })?;
        let catalogue = &self.shared.catalogue;
        Ok(NextSteps {
            job_ref: job_ref.to_owned(),
            actions: stored.job.next_actions(&self.shared.engineer, catalogue),
            closure_choices: stored.job.closure_choices(catalogue),
        })
    }
}
