//! The question-based closure: the flow a screen draws, answers, photos, and closing.
//!
//! The core decides everything (the path through CityFibre's matrix, what an answer must look
//! like, what is missing); these records only carry its views across. A screen shows
//! [`FlowView::next`] with its [`AnswerType`] as the input, the answered questions above it,
//! and [`FlowView::gaps`] as the checklist; `close_job` refuses with
//! [`crate::JobpackError::Incomplete`] carrying the same gaps, so the shell never assembles a
//! closeJob itself.

use std::time::SystemTime;

use jobpack_core::closure::Gap as CoreGap;
use jobpack_core::engine::{
    FlowView as CoreFlowView, PhotoView as CorePhotoView, QuestionView as CoreQuestionView,
};

use crate::Jobpack;
use crate::errors::Result;
use crate::jobs::ActionReceipt;
use crate::outbox::ItemState;
use crate::time::{action_time, instant};

// The core's own types, exposed as they are (`uniffi::remote`: the definitions below mirror
// them for the generated code and are checked against them at compile time; nothing is
// copied or converted). See bindings/README.md for which records are copies, and why.
pub use jobpack_core::closure::{AnswerType, Journey};

/// The point of the journey a question is asked at.
#[uniffi::remote(Enum)]
pub enum Journey {
    /// During the visit; sent with `notifyJob` (`send_visit_answers`).
    Visit,
    /// At closure; sent with `closeJob` (`close_job`).
    Closure,
}

/// How a question is answered: the input a screen shows.
#[uniffi::remote(Enum)]
pub enum AnswerType {
    YesNo,
    SingleChoice {
        choices: Vec<String>,
    },
    /// Send the chosen choices joined by `"; "`, or any separator the core accepts.
    MultipleChoice {
        choices: Vec<String>,
        min_selected: u32,
        max_selected: Option<u32>,
    },
    Number {
        unit: Option<String>,
        min: Option<f64>,
        max: Option<f64>,
        decimals: u8,
    },
    Text {
        max_length: u32,
    },
    /// `HH:MM`, 24-hour.
    Time,
    /// `YYYY-MM-DD`.
    Date,
}

/// A photo attached to a question, with its upload's progress.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Photo {
    pub id: i64,
    pub question_code: String,
    /// `s3://bucket/key`, as CityFibre receives it.
    pub object_path: String,
    pub sha256: String,
    /// The upload's outbox item; `None` state once pruned.
    pub upload_seq: i64,
    pub upload_state: Option<ItemState>,
    pub attached_at: SystemTime,
}

impl From<CorePhotoView> for Photo {
    fn from(p: CorePhotoView) -> Self {
        Self {
            id: p.id,
            question_code: p.question_code,
            object_path: p.object_path,
            sha256: p.sha256,
            upload_seq: p.upload_seq,
            upload_state: p.upload_state,
            attached_at: instant(p.attached_at),
        }
    }
}

/// A question on the current path.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Question {
    pub code: String,
    pub text: String,
    pub help: Option<String>,
    pub answer_type: AnswerType,
    /// What a valid answer looks like, in words.
    pub expects: String,
    /// True when it may be left unanswered now (skippable; never a gap).
    pub optional: bool,
    /// The photos it asks for now (photo rules of the matrix included).
    pub min_photos: u32,
    /// The most photos it accepts now; `None` for no limit of its own.
    pub max_photos: Option<u32>,
    pub photo_hint: Option<String>,
    /// Why the photo counts apply, in words, when a photo rule of the matrix sets them.
    pub photos_required_by: Option<String>,
    /// The current answer (canonical), if any.
    pub answer: Option<String>,
    pub answered_at: Option<SystemTime>,
    pub photos: Vec<Photo>,
}

impl From<CoreQuestionView> for Question {
    fn from(q: CoreQuestionView) -> Self {
        Self {
            code: q.code,
            text: q.text,
            help: q.help,
            answer_type: q.answer_type,
            expects: q.expects,
            optional: q.optional,
            min_photos: q.min_photos,
            max_photos: q.max_photos,
            photo_hint: q.photo_hint,
            photos_required_by: q.photos_required_by,
            answer: q.answer,
            answered_at: q.answered_at.map(instant),
            photos: q.photos.into_iter().map(Photo::from).collect(),
        }
    }
}

/// One thing missing before answers can be sent or the job closed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Gap {
    NoClosureCode,
    ClosureCodeRefused {
        code: String,
        reason: String,
    },
    MissingSecondaryCode {
        closure: String,
        allowed: Vec<String>,
    },
    OntNotProvisioned {
        closure: String,
        status: Option<u8>,
    },
    UnansweredQuestion {
        question_code: String,
        text: String,
        more_may_follow: bool,
    },
    InvalidAnswer {
        question_code: String,
        text: String,
        answer: String,
        reason: String,
    },
    MissingPhotos {
        question_code: String,
        text: String,
        required: u32,
        have: u32,
        hint: Option<String>,
        /// The condition that asks for these photos, in words; `None` when always asked.
        required_by: Option<String>,
    },
    /// More photos than the question accepts now (a changed answer lowered the maximum).
    TooManyPhotos {
        question_code: String,
        text: String,
        allowed: u32,
        have: u32,
        required_by: Option<String>,
    },
}

impl From<CoreGap> for Gap {
    fn from(g: CoreGap) -> Self {
        match g {
            CoreGap::NoClosureCode => Self::NoClosureCode,
            CoreGap::ClosureCodeRefused { code, reason } => Self::ClosureCodeRefused {
                code,
                reason: reason.to_string(),
            },
            CoreGap::MissingSecondaryCode { closure, allowed } => {
                Self::MissingSecondaryCode { closure, allowed }
            }
            CoreGap::OntNotProvisioned { closure, status } => {
                Self::OntNotProvisioned { closure, status }
            }
            CoreGap::UnansweredQuestion {
                question_code,
                text,
                more_may_follow,
            } => Self::UnansweredQuestion {
                question_code,
                text,
                more_may_follow,
            },
            CoreGap::InvalidAnswer {
                question_code,
                text,
                answer,
                reason,
            } => Self::InvalidAnswer {
                question_code,
                text,
                answer,
                reason: reason.to_string(),
            },
            CoreGap::MissingPhotos {
                question_code,
                text,
                required,
                have,
                hint,
                required_by,
            } => Self::MissingPhotos {
                question_code,
                text,
                required,
                have,
                hint,
                required_by: required_by.map(|c| c.to_string()),
            },
            CoreGap::TooManyPhotos {
                question_code,
                text,
                allowed,
                have,
                required_by,
            } => Self::TooManyPhotos {
                question_code,
                text,
                allowed,
                have,
                required_by: required_by.map(|c| c.to_string()),
            },
        }
    }
}

/// Where the flow of one journey point stands for a job.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FlowView {
    pub job_ref: String,
    pub journey: Journey,
    pub closure_code: Option<String>,
    pub secondary_code: Option<String>,
    /// True while the built-in default matrix is in use (CityFibre's file replaces it).
    pub default_matrix: bool,
    pub answered: Vec<Question>,
    /// Unanswered questions on the path that may be skipped, in path order.
    pub optional: Vec<Question>,
    /// The question that must be answered now; `None` when the path is complete.
    pub next: Option<Question>,
    pub gaps: Vec<Gap>,
}

impl From<CoreFlowView> for FlowView {
    fn from(v: CoreFlowView) -> Self {
        Self {
            job_ref: v.job_ref,
            journey: v.journey,
            closure_code: v.closure_code,
            secondary_code: v.secondary_code,
            default_matrix: v.default_matrix,
            answered: v.answered.into_iter().map(Question::from).collect(),
            optional: v.optional.into_iter().map(Question::from).collect(),
            next: v.next.map(Question::from),
            gaps: v.gaps.into_iter().map(Gap::from).collect(),
        }
    }
}

#[uniffi::export]
impl Jobpack {
    /// The flow of `journey` for a job; at closure, for the closure code the engineer picked.
    pub async fn flow(
        &self,
        job_ref: String,
        journey: Journey,
        closure_code: Option<String>,
        secondary_code: Option<String>,
    ) -> Result<FlowView> {
        let view = self
            .blocking_for(job_ref, move |e, job| {
                e.flow(
                    job,
                    journey,
                    closure_code.as_deref(),
                    secondary_code.as_deref(),
                )
            })
            .await?;
        Ok(view.into())
    }

    /// Records an answer (typed as the engineer typed it) and returns its canonical form.
    /// `at`: RFC 3339, `None` = now; it is sent as `response_received`.
    pub async fn answer_question(
        &self,
        job_ref: String,
        journey: Journey,
        question_code: String,
        answer: String,
        at: Option<String>,
    ) -> Result<String> {
        let at = action_time(at)?;
        self.blocking_for(job_ref, move |e, job| {
            e.answer_question(job, journey, &question_code, &answer, at)
        })
        .await
    }

    /// Clears an answer (it stays in the job's history).
    pub async fn clear_answer(
        &self,
        job_ref: String,
        journey: Journey,
        question_code: String,
    ) -> Result<()> {
        self.blocking_for(job_ref, move |e, job| {
            e.clear_answer(job, journey, &question_code)
        })
        .await
    }

    /// Attaches a photo (the camera's JPEG or PNG bytes; the phone library decodes no WebP) to a question. The core
    /// orients, resizes and re-encodes it, keeps its own copy and queues the upload before
    /// returning; the same picture twice is one photo.
    pub async fn attach_photo(
        &self,
        job_ref: String,
        journey: Journey,
        question_code: String,
        image: Vec<u8>,
    ) -> Result<Photo> {
        let photo = self
            .blocking_for(job_ref, move |e, job| {
                e.attach_photo(job, journey, &question_code, &image)
            })
            .await?;
        Ok(photo.into())
    }

    /// Detaches a photo; its upload still completes.
    pub async fn remove_photo(&self, job_ref: String, photo_id: i64) -> Result<()> {
        self.blocking_for(job_ref, move |e, job| e.remove_photo(job, photo_id))
            .await
    }

    /// Sends the visit's answers (notifyJob) once the visit questions have no gaps.
    pub async fn send_visit_answers(&self, job_ref: String) -> Result<ActionReceipt> {
        self.act(job_ref, |e, job| e.send_visit_answers(job)).await
    }

    /// Closes the job with a closure code (and the secondary code the table asks for), with
    /// the closure answers and photos recorded. Refused with `Incomplete` and every gap while
    /// anything is missing. (Not `close`: generated Kotlin classes already have `close()`.)
    pub async fn close_job(
        &self,
        job_ref: String,
        closure_code: String,
        secondary_code: Option<String>,
        description: String,
        at: Option<String>,
    ) -> Result<ActionReceipt> {
        let at = action_time(at)?;
        self.act(job_ref, move |e, job| {
            e.close(
                job,
                &closure_code,
                secondary_code.as_deref(),
                &description,
                at,
            )
        })
        .await
    }
}
