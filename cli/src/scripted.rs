//! A scripted engineer: what a real engineer would do next with each job, for the demo and
//! for the crash test's child process.
//!
//! It reads the job's state from the engine and takes the next sensible action, the way the
//! app's screens would let an engineer: accept, travel, arrive, answer during the visit and
//! scan the ONT, wait for CityFibre's provisioning result, re-scan after statuses 5, 6 and 7,
//! close SP once provisioned (or ONT after status 3), and sometimes find nobody home (RNA).
//!
//! Before sending visit answers or closing it works through the closure matrix's checklist
//! like an engineer: answers the next question with something valid for its type and takes
//! the photos a question asks for (generated pictures, different for every job and
//! question), until nothing is missing.

use std::io::Cursor;

use jobpack_core::closure::{AnswerType, Gap, Journey};
use jobpack_core::engine::{ActionReceipt, Engine, Error, JobView};
use jobpack_core::lifecycle::JobState;
use jobpack_core::protocol::{Location, OntDevice, Timestamp};

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

    /// Something valid for a question of this type.
    fn answer_for(&mut self, kind: &AnswerType) -> String {
        match kind {
            AnswerType::YesNo => if self.rng.f64() < 0.9 { "Yes" } else { "No" }.to_owned(),
            AnswerType::SingleChoice { choices } => choices
                .get(self.rng.usize(..choices.len().max(1)))
                .cloned()
                .unwrap_or_default(),
            AnswerType::MultipleChoice {
                choices,
                min_selected,
                ..
            } => choices
                .iter()
                .take((*min_selected).max(1) as usize)
                .cloned()
                .collect::<Vec<_>>()
                .join(jobpack_core::closure::CHOICE_SEPARATOR),
            AnswerType::Number {
                min, max, decimals, ..
            } => {
                let (lo, hi) = (min.unwrap_or(0.0), max.unwrap_or(min.unwrap_or(0.0) + 10.0));
                format!(
                    "{:.*}",
                    usize::from(*decimals),
                    lo + (hi - lo) * self.rng.f64()
                )
            }
            AnswerType::Text { .. } => "Checked and recorded on site".to_owned(),
            AnswerType::Time => format!("{:02}:{:02}", 8 + self.rng.u8(..10), self.rng.u8(..60)),
            AnswerType::Date => Timestamp::now().to_string().chars().take(10).collect(),
        }
    }

    /// Answers and photographs until the checklist of `journey` is empty; returns how many
    /// answers and photos that took. Gaps no answer can fill (codes, ONT) are returned.
    pub fn complete_flow(
        &mut self,
        engine: &Engine,
        job_ref: &str,
        journey: Journey,
        closure: Option<&str>,
    ) -> Result<usize, Error> {
        // Every round answers a question or adds photos; a flow is acyclic and finite.
        for given in 0..256 {
            let view = engine.flow(job_ref, journey, closure, None)?;
            let Some(gap) = view.gaps.first() else {
                return Ok(given);
            };
            match gap {
                Gap::UnansweredQuestion { question_code, .. }
                | Gap::InvalidAnswer { question_code, .. } => {
                    let question = engine.matrix().question(question_code).ok_or_else(|| {
                        Error::UnknownQuestion {
                            question_code: question_code.clone(),
                        }
                    })?;
                    let raw = self.answer_for(&question.answer);
                    engine.answer_question(job_ref, journey, question_code, &raw, None)?;
                }
                Gap::MissingPhotos {
                    question_code,
                    have,
                    ..
                } => {
                    let picture = picture(job_ref, question_code, *have);
                    engine.attach_photo(job_ref, journey, question_code, &picture)?;
                }
                Gap::TooManyPhotos { question_code, .. } => {
                    let newest = view
                        .answered
                        .iter()
                        .chain(&view.next)
                        .filter(|q| &q.code == question_code)
                        .flat_map(|q| &q.photos)
                        .map(|p| p.id)
                        .max();
                    match newest {
                        Some(id) => engine.remove_photo(job_ref, id)?,
                        None => return Err(Error::Incomplete { gaps: view.gaps }),
                    }
                }
                _ => return Err(Error::Incomplete { gaps: view.gaps }),
            }
        }
        Err(Error::Incomplete {
            gaps: engine.flow(job_ref, journey, closure, None)?.gaps,
        })
    }

    /// Completes the closure questions for `code` and closes.
    fn close(
        &mut self,
        engine: &Engine,
        job_ref: &str,
        code: &str,
        description: &str,
    ) -> Result<Vec<ActionReceipt>, Error> {
        self.complete_flow(engine, job_ref, Journey::Closure, Some(code))?;
        engine
            .close(job_ref, code, None, description, None)
            .map(|r| vec![r])
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
                self.close(engine, job_ref, "RNA", "Customer not in"),
            ),
            JobState::EnRoute => (
                "on site",
                self.location()
                    .and_then(|l| engine.arrive(job_ref, l, None))
                    .map(|r| vec![r]),
            ),
            JobState::OnSite => ("answer and scan ONT", {
                let answered = self
                    .complete_flow(engine, job_ref, Journey::Visit, None)
                    .and_then(|_| engine.send_visit_answers(job_ref));
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
                self.close(
                    engine,
                    job_ref,
                    "ONT",
                    "Provisioning failed, order desk informed",
                ),
            ),
            JobState::Provisioned { .. } => ("close SP", self.close(engine, job_ref, "SP", "")),
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

/// A photo for `question_code` of `job_ref`: a small PNG whose pixels depend on both and on
/// `index`, so every photo of the demo is a different object.
fn picture(job_ref: &str, question_code: &str, index: u32) -> Vec<u8> {
    let seed = format!("{job_ref}/{question_code}/{index}")
        .bytes()
        .fold(0x811c_9dc5u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
    let [r, g, b, _] = seed.to_le_bytes();
    let image = image::RgbImage::from_fn(96, 64, |x, y| {
        image::Rgb([r ^ (x as u8), g ^ (y as u8), b.wrapping_add((x + y) as u8)])
    });
    let mut png = Vec::new();
    // Encoding an in-memory RGB image to PNG cannot fail for want of input.
    let _ = image.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png);
    png
}
