//! Question based closure: the data-driven question flow CityFibre closes every job with.
//!
//! CityFibre hands each partner a "Question Based Closure Matrix" separately from the API and
//! changes it without changing the API, so nothing here knows a question: the matrix is a
//! JSON file (format and schema in `docs/CLOSURE-MATRIX.md` and
//! `spec/closure-matrix.schema.json`), checked against the code catalogue when it is loaded.
//! Jobpack ships a default matrix ([`DEFAULT_MATRIX_JSON`], marked `"isDefault": true`) that
//! a partner replaces at run time with CityFibre's file.
//!
//! The module is pure — no clock, no storage, no I/O — in the style of `lifecycle`: the
//! engine records answers with their time and passes them in; everything here is a function
//! of the matrix, the [`FlowContext`] (journey point, codes, property flags, ONT status) and
//! the [`Answers`]. Its parts, one concern each:
//!
//! * `context` — the journey point, the job's context and the answers a flow is walked with;
//! * [`answer`](AnswerType) — answer types and raw input → canonical answer string;
//! * `load` — reading a matrix file and reporting every problem with its place;
//! * `matrix` — the checked matrix and flow selection;
//! * `condition` — what branches depend on;
//! * `walk` — the current path and the next question;
//! * `checklist` — the typed gaps a UI shows before closing;
//! * `payload` — the `questions_answers` of `notifyJob` / `closeJob`.
//!
//! They build on each other without a circle (`core/tests/layers.rs` checks): `context` and
//! `answer` at the bottom, then `condition`, `matrix`, `load` (which makes a `Matrix`) and
//! `walk`.

mod answer;
mod checklist;
mod condition;
mod context;
mod load;
mod matrix;
mod payload;
mod walk;

pub use answer::{AnswerError, AnswerType, CHOICE_SEPARATOR, split_choices};
pub use checklist::Gap;
pub use condition::{AnswerTest, Condition};
pub use load::{MAX_LISTED_PROBLEMS, MAX_PROBLEM_LINE, MatrixProblem, MatrixProblems, ProblemKind};
pub use matrix::{
    DEFAULT_MATRIX_JSON, Flow, Journey, Matrix, MatrixInfo, PhotoRequirement, PhotoRule, Question,
    Requirement, Rule, Step, Target,
};
pub use walk::{Answers, FlowContext, RecordedAnswer, Walk};

#[cfg(test)]
mod conditional_tests;
#[cfg(test)]
mod tests;
