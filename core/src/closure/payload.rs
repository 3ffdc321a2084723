//! The `questions_answers` of a message: the answers on the current path, as CityFibre
//! receives them.
//!
//! Only answers on the path go out. An answer the engineer gave before changing an earlier
//! one, and which the new path no longer reaches, stays in the caller's history but would
//! contradict the rest of the payload, so it is left out. The question text is the matrix's,
//! byte for byte, because CityFibre matches on it; `response_received` is the time of
//! answering, never the time of sending; `source` is the journey point.

use std::collections::BTreeMap;

use crate::protocol::{FileReference, QuestionAnswer};

use super::matrix::Matrix;
use super::walk::{Answers, FlowContext};

impl Matrix {
    /// The answers on the current path of `context`, in path order, each with the files
    /// `files` lists for its question code (photos uploaded by the caller).
    pub fn questions_answers(
        &self,
        context: &FlowContext,
        answers: &Answers,
        files: &BTreeMap<String, Vec<FileReference>>,
    ) -> Vec<QuestionAnswer> {
        let source = context.journey.source();
        self.walk(context, answers)
            .answered
            .into_iter()
            .filter_map(|question| {
                let recorded = answers.latest(&question.code)?;
                Some(QuestionAnswer {
                    question: question.text.clone(),
                    question_code: question.code.clone(),
                    answer: recorded.answer.clone(),
                    response_received: recorded.answered_at.into(),
                    source,
                    files: files.get(&question.code).cloned().unwrap_or_default(),
                })
            })
            .collect()
    }
}
