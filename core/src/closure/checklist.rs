//! The checklist: everything that still stands between the engineer and a valid close.
//!
//! A UI needs more than "not valid": it needs each missing thing as an item it can draw and
//! act on (jump to the question, open the camera, pick a secondary code). So each gap is a
//! variant with what the screen needs, and the list is complete for what can be known now:
//! the codes, the ONT, every answered question on the path whose answer or photos fall short,
//! and the next unanswered question that must be answered. Optional questions left
//! unanswered are never gaps. Photo counts are evaluated like the path, from the answers as
//! they stand, so a photo asked for because of an answer ("No: photograph the obstruction")
//! stops being a gap when the answer is changed, and the gap names the rule's condition. Questions after that one depend on its answer, so they
//! cannot be listed yet; `more_may_follow` says whether there may be some.

use std::collections::BTreeMap;
use std::fmt;

use crate::codes::{Catalogue, CodeError, ProvisioningOutcome};

use super::answer::AnswerError;
use super::condition::Condition;
use super::matrix::{Journey, Matrix, Question};
use super::walk::{Answers, FlowContext};

/// One thing missing before the answers of a journey point can be sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Gap {
    /// Closing needs a closure code.
    NoClosureCode,
    /// The catalogue refuses the closure code or its secondary code.
    ClosureCodeRefused { code: String, reason: CodeError },
    /// The closure code needs a secondary code (CON, POP); `allowed` are its choices.
    MissingSecondaryCode {
        closure: String,
        allowed: Vec<String>,
    },
    /// The closure code (SP) needs an ONT CityFibre has provisioned; `status` is the latest
    /// provisioning status, if any arrived.
    OntNotProvisioned { closure: String, status: Option<u8> },
    /// The next question on the path has no answer.
    UnansweredQuestion {
        question_code: String,
        text: String,
        /// More questions may follow once this one is answered.
        more_may_follow: bool,
    },
    /// A recorded answer the matrix no longer accepts (the matrix was replaced).
    InvalidAnswer {
        question_code: String,
        text: String,
        answer: String,
        reason: AnswerError,
    },
    /// A question on the path needs more photos.
    MissingPhotos {
        question_code: String,
        text: String,
        required: u32,
        have: u32,
        hint: Option<String>,
        /// The condition of the matrix's photo rule that asks for these photos (an answer,
        /// a property flag, the codes, the ONT status); `None` when the question always
        /// asks for them.
        required_by: Option<Condition>,
    },
    /// A question on the path carries more photos than it accepts now (its answer changed
    /// and a photo rule with a lower maximum applies): some must be removed.
    TooManyPhotos {
        question_code: String,
        text: String,
        allowed: u32,
        have: u32,
        /// The condition of the photo rule that sets the maximum, as for `MissingPhotos`.
        required_by: Option<Condition>,
    },
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoClosureCode => f.write_str("no closure code chosen"),
            Self::ClosureCodeRefused { reason, .. } => write!(f, "{reason}"),
            Self::MissingSecondaryCode { closure, allowed } => write!(
                f,
                "closure code {closure} needs a secondary code: one of {}",
                allowed.join(", ")
            ),
            Self::OntNotProvisioned { closure, status } => match status {
                Some(s) => write!(
                    f,
                    "closure code {closure} needs a provisioned ONT; the latest provisioning status is {s}"
                ),
                None => write!(
                    f,
                    "closure code {closure} needs a provisioned ONT; no provisioning status has arrived"
                ),
            },
            Self::UnansweredQuestion {
                question_code,
                text,
                ..
            } => write!(f, "question {question_code} is not answered: {text}"),
            Self::InvalidAnswer {
                question_code,
                answer,
                reason,
                ..
            } => write!(
                f,
                "the answer {answer:?} to question {question_code} is no longer valid: {reason}"
            ),
            Self::MissingPhotos {
                question_code,
                required,
                have,
                hint,
                required_by,
                ..
            } => {
                write!(
                    f,
                    "question {question_code} needs {required} photo(s), {have} attached"
                )?;
                if let Some(h) = hint {
                    write!(f, " ({h})")?;
                }
                match required_by {
                    Some(c) => write!(f, ", because {c}"),
                    None => Ok(()),
                }
            }
            Self::TooManyPhotos {
                question_code,
                allowed,
                have,
                required_by,
                ..
            } => {
                write!(
                    f,
                    "question {question_code} accepts at most {allowed} photo(s), {have} attached"
                )?;
                match required_by {
                    Some(c) => write!(f, ", because {c}"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl Matrix {
    /// Everything missing before the answers of `context.journey` can be sent; empty when
    /// they are complete. `photos` counts the photos attached per question code. At closure
    /// the codes are checked against `catalogue`, including a provisioned ONT where the code
    /// needs one (from `context.ont_status`).
    pub fn checklist(
        &self,
        context: &FlowContext,
        answers: &Answers,
        photos: &BTreeMap<String, u32>,
        catalogue: &Catalogue,
    ) -> Vec<Gap> {
        let mut gaps = Vec::new();
        if context.journey == Journey::Closure {
            code_gaps(context, catalogue, &mut gaps);
        }
        let walk = self.walk(context, answers);
        let photo_gap = |q: &Question| {
            let have = photos.get(&q.code).copied().unwrap_or(0);
            let wanted = q.photo_requirement(context, answers);
            if have < wanted.min {
                Some(Gap::MissingPhotos {
                    question_code: q.code.clone(),
                    text: q.text.clone(),
                    required: wanted.min,
                    have,
                    hint: wanted.hint,
                    required_by: wanted.required_by,
                })
            } else {
                let allowed = wanted.max.filter(|&max| have > max)?;
                Some(Gap::TooManyPhotos {
                    question_code: q.code.clone(),
                    text: q.text.clone(),
                    allowed,
                    have,
                    required_by: wanted.required_by,
                })
            }
        };
        for question in &walk.answered {
            if let Some(recorded) = answers.latest(&question.code)
                && let Err(reason) = question.validate(&recorded.answer)
            {
                gaps.push(Gap::InvalidAnswer {
                    question_code: question.code.clone(),
                    text: question.text.clone(),
                    answer: recorded.answer.clone(),
                    reason,
                });
            }
            gaps.extend(photo_gap(question));
        }
        if let Some(next) = walk.next {
            gaps.push(Gap::UnansweredQuestion {
                question_code: next.code.clone(),
                text: next.text.clone(),
                more_may_follow: walk.more_may_follow,
            });
            gaps.extend(photo_gap(next));
        }
        gaps
    }
}

fn code_gaps(context: &FlowContext, catalogue: &Catalogue, gaps: &mut Vec<Gap>) {
    let Some(code) = context.closure_code.as_deref() else {
        gaps.push(Gap::NoClosureCode);
        return;
    };
    match catalogue.check_closure(code, context.secondary_code.as_deref()) {
        Ok(rule) => {
            let provisioned = context.ont_status.is_some_and(|id| {
                catalogue
                    .provisioning_status(id)
                    .is_ok_and(|s| s.outcome == ProvisioningOutcome::Provisioned)
            });
            if rule.requires_provisioned_ont && !provisioned {
                gaps.push(Gap::OntNotProvisioned {
                    closure: code.to_owned(),
                    status: context.ont_status,
                });
            }
        }
        Err(CodeError::MissingSecondaryCode { closure, .. }) => {
            gaps.push(Gap::MissingSecondaryCode {
                allowed: catalogue
                    .secondary_codes_of(&closure)
                    .map(|s| s.code.clone())
                    .collect(),
                closure,
            });
        }
        Err(reason) => gaps.push(Gap::ClosureCodeRefused {
            code: code.to_owned(),
            reason,
        }),
    }
}
