//! What a loader reports: each [`MatrixProblem`] with its place (a JSON pointer) and its
//! [`ProblemKind`], and [`MatrixProblems`], the whole report. The kinds are the vocabulary the
//! matrix's maintainer reads, so each message says what is wrong in the file's own terms; the
//! report's size is bounded ([`MAX_LISTED_PROBLEMS`], [`MAX_PROBLEM_LINE`]) whatever the file.

use std::fmt;

use super::AnswerError;

/// One problem of a matrix file, at its place.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixProblem {
    /// JSON pointer into the file (`/flows/3/steps/2/next/0/goto`); empty for the whole file.
    pub place: String,
    pub kind: ProblemKind,
}

impl fmt::Display for MatrixProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = if self.place.is_empty() {
            "/"
        } else {
            &self.place
        };
        // Problems quote the file's values; a line quotes at most a prefix of one.
        let line = format!("{place}: {}", self.kind);
        f.write_str(&crate::text::prefix(&line, MAX_PROBLEM_LINE))
    }
}

/// Longest problem line: values from the file are quoted, and a file may hold huge ones.
pub const MAX_PROBLEM_LINE: usize = 400;

/// Problems listed one by one; the rest are counted in one last `MoreProblems` line, so a
/// file with thousands of copies of one mistake gets a readable report of bounded size.
pub const MAX_LISTED_PROBLEMS: usize = 200;

/// What is wrong at a place.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProblemKind {
    #[error("not valid JSON: {0}")]
    NotJson(String),
    #[error("expected {0}")]
    WrongType(&'static str),
    #[error("missing field {0:?}")]
    MissingField(&'static str),
    #[error("unknown field {0:?}")]
    UnknownField(String),
    #[error("must not be empty")]
    Empty,
    #[error("{value:?} is not one of: {allowed}")]
    NotOneOf {
        value: String,
        allowed: &'static str,
    },
    #[error("{0:?} is not a question code (1-32 letters, digits, _ or -)")]
    BadQuestionCode(String),
    #[error("question code {code:?} is already defined at {first}")]
    DuplicateQuestion { code: String, first: String },
    #[error("flow id {id:?} is already used at {first}")]
    DuplicateFlow { id: String, first: String },
    #[error("code {0:?} is listed twice")]
    DuplicateCode(String),
    #[error("question {0:?} is not defined in /questions")]
    UnknownQuestion(String),
    #[error("question {0:?} is not asked by any flow")]
    UnusedQuestion(String),
    #[error("closure code {0:?} is not in the code catalogue")]
    UnknownClosureCode(String),
    #[error("secondary code {0:?} is not in the code catalogue")]
    UnknownSecondaryCode(String),
    #[error(
        "secondary code {code} belongs to closure code {parent}, which this flow does not list"
    )]
    SecondaryOfAnotherCode { code: String, parent: String },
    #[error("secondaryCodes need closureCodes naming their closure codes")]
    SecondaryWithoutClosure,
    #[error("property flag {0:?} is not in the code catalogue")]
    UnknownFlag(String),
    #[error("ONT provisioning status {0} is not in the code catalogue")]
    UnknownOntStatus(u64),
    #[error("minimum {min} is greater than maximum {max}")]
    ContradictoryRange { min: String, max: String },
    #[error("{value} is outside {limits}")]
    OutOfLimits { value: String, limits: String },
    #[error("choice {0:?} is listed twice (choices are matched ignoring case)")]
    DuplicateChoice(String),
    #[error(
        "choice {0:?} contains ',' or ';', which separate the choices of a multiple-choice answer"
    )]
    ChoiceWithSeparator(String),
    #[error("question {question:?} is already a step of this flow at {first}")]
    DuplicateStep { question: String, first: String },
    #[error("{0:?} is neither a step of this flow nor \"end\"")]
    UnknownTarget(String),
    #[error("the steps form a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    #[error("step {0:?} cannot be reached from the start of its flow")]
    UnreachableStep(String),
    #[error("this rule is never tried: an earlier rule of the step has no condition")]
    DeadRule,
    #[error("this flow and {other} both apply to {case}")]
    OverlappingFlows { other: String, case: String },
    #[error("{value:?} can never be an answer to question {question}: {reason}")]
    ImpossibleAnswer {
        question: String,
        value: String,
        reason: AnswerError,
    },
    #[error("question {question} is a {kind} question; atLeast and atMost need a number question")]
    RangeOnNonNumber {
        question: String,
        kind: &'static str,
    },
    #[error("reads the answer to question {0}, which is not asked before this point")]
    AnswerNotYetGiven(String),
    #[error("a condition has exactly one of: {0}")]
    BadCondition(&'static str),
    #[error("this condition can never hold: {0}")]
    NeverHolds(String),
    #[error("at most {max} photo(s) but at least {min} required")]
    PhotoMaximumBelowMinimum { min: u32, max: u32 },
    #[error(
        "an optional question cannot always require {0} photo(s): make the photos depend on \
         a condition (photoRules) or the question required"
    )]
    OptionalWithPhotos(u32),
    #[error("a question is either optional or requiredWhen a condition, not both")]
    OptionalAndRequiredWhen,
    #[error("and {0} more problem(s) not listed; fix the ones above and check again")]
    MoreProblems(usize),
}

/// Every problem of a matrix file that could not be loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixProblems(pub Vec<MatrixProblem>);

impl MatrixProblems {
    pub fn iter(&self) -> impl Iterator<Item = &MatrixProblem> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for MatrixProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the closure matrix has {} problem(s):", self.0.len())?;
        for p in &self.0 {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for MatrixProblems {}
