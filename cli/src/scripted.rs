//! A scripted engineer: what a real engineer would do next with each job, for the demo and
//! for the crash test's child process.
//!
//! It reads the job's state from the engine and takes the next sensible action, the way the
//! app's screens would let an engineer: accept, travel, arrive, answer during the visit and
//! scan the ONT, wait for CityFibre's provisioning result, re-scan after statuses 5, 6 and 7,
//! close SP once provisioned (or ONT after status 3), and sometimes find nobody home (RNA).

use jobpack_core::engine::{ActionReceipt, Engine, Error, JobView};
use jobpack_core::lifecycle::JobState;
use jobpack_core::protocol::{
    Location, OntDevice, QuestionAnswer, Source, StrictTimestamp, Timestamp,
};

/// One step taken for a job.
pub struct Step {
    pub job_ref: String,
    pub action: &'static str,
    pub result: Result<Vec<ActionReceipt>, Error>,
}

pub struct ScriptedEngineer {
    rng: fastrand::Rng,
    /// Chance that nobody answers the door.
    pub no_access_rate: f64,
}

impl ScriptedEngineer {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed),
            no_access_rate: 0.1,
        }
    }

    /// An ONT label for the job; `attempt` changes it after a refused device.
    fn ont(job_ref: &str, attempt: u8) -> Result<OntDevice, Error> {
        let hash = job_ref
            .bytes()
            .fold(0x811c_9dc5u32, |h, b| {
                (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
            })
            .wrapping_add(u32::from(attempt));
        let vendor = if hash % 2 == 0 { "ALCL" } else { "CXNK" };
        Ok(OntDevice::new(
            format!("{vendor}{hash:08X}"),
            format!("SN{hash:08X}{attempt}"),
        )?)
    }

    fn location(&mut self) -> Result<Location, Error> {
        Ok(Location::new(
            53.75 + self.rng.f64() * 0.1,
            -1.6 + self.rng.f64() * 0.1,
            3.0 + self.rng.f64() * 20.0,
        )?)
    }

    fn sponge(source: Source) -> QuestionAnswer {
        QuestionAnswer {
            question: "Did Sponge Pass?".into(),
            question_code: "1100".into(),
            answer: "Yes".into(),
            response_received: StrictTimestamp(Timestamp::now()),
            source,
            files: vec![],
        }
    }

    /// Takes the next action for `job`, if there is one to take now.
    pub fn step(&mut self, engine: &Engine, job: &JobView) -> Option<Step> {
        let job_ref = job.job_ref.as_str();
        let (action, result): (&'static str, Result<Vec<ActionReceipt>, Error>) = match job.state {
            JobState::Received => ("accept", engine.accept(job_ref).map(|r| vec![r])),
            JobState::Assigned => (
                "en route",
                self.location()
                    .and_then(|l| engine.start_travel(job_ref, l, None))
                    .map(|r| vec![r]),
            ),
            JobState::EnRoute if self.rng.f64() < self.no_access_rate => (
                "close RNA",
                engine
                    .close(job_ref, "RNA", None, "Customer not in", vec![], None)
                    .map(|r| vec![r]),
            ),
            JobState::EnRoute => (
                "on site",
                self.location()
                    .and_then(|l| engine.arrive(job_ref, l, None))
                    .map(|r| vec![r]),
            ),
            JobState::OnSite => ("answer and scan ONT", {
                let answered = engine.answer(job_ref, vec![Self::sponge(Source::NotifyJob)], None);
                answered.and_then(|a| {
                    let ont = Self::ont(job_ref, 0)?;
                    engine.confirm_ont(job_ref, ont, None).map(|s| vec![a, s])
                })
            }),
            JobState::ProvisioningFailed { status: 5..=7 } => {
                let attempt = job
                    .ont
                    .as_ref()
                    .and_then(|o| o.serial_number.chars().last())
                    .and_then(|c| c.to_digit(10))
                    .map(|d| d as u8 + 1)
                    .unwrap_or(1);
                (
                    "re-scan ONT",
                    Self::ont(job_ref, attempt.min(9))
                        .and_then(|ont| engine.confirm_ont(job_ref, ont, None))
                        .map(|r| vec![r]),
                )
            }
            JobState::ProvisioningFailed { .. } => (
                "close ONT",
                engine
                    .close(
                        job_ref,
                        "ONT",
                        None,
                        "Provisioning failed, order desk informed",
                        vec![],
                        None,
                    )
                    .map(|r| vec![r]),
            ),
            JobState::Provisioned { .. } => (
                "close SP",
                engine
                    .close(
                        job_ref,
                        "SP",
                        None,
                        "",
                        vec![Self::sponge(Source::CloseJob)],
                        None,
                    )
                    .map(|r| vec![r]),
            ),
            JobState::OntScanned
            | JobState::ProvisioningRetrying { .. }
            | JobState::Closed
            | JobState::Cancelled => return None,
        };
        Some(Step {
            job_ref: job_ref.to_owned(),
            action,
            result,
        })
    }
}
