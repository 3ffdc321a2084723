//! The loaded closure matrix: questions, and flows of steps per closure code, secondary code
//! and point of the journey.
//!
//! A `Matrix` only exists once `super::load` has checked it against the code catalogue, so
//! everything here can rely on it: every step's question exists, every jump lands on a step
//! of the same flow or ends it, the steps of a flow form no cycle, and at most one flow is
//! the most specific for any (journey, closure code, secondary code). Jumps are resolved to
//! step indices at load time, which keeps the walk free of lookups that could fail.

use std::collections::BTreeMap;

use crate::codes::Catalogue;

use super::answer::{AnswerError, AnswerType};
use super::condition::Condition;
pub use super::context::Journey;
use super::context::{Answers, FlowContext};

/// The matrix shipped with Jobpack, replaced at run time by the partner's copy of CityFibre's
/// Question Based Closure Matrix.
pub const DEFAULT_MATRIX_JSON: &str = include_str!("default-matrix.json");

/// Who wrote the matrix and whether it is Jobpack's stand-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixInfo {
    pub name: String,
    pub version: String,
    /// True for the matrix shipped with Jobpack, which a partner replaces with CityFibre's.
    pub is_default: bool,
}

/// One question of the matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// The question's id (`1100`), sent as `question_code`.
    pub code: String,
    /// The text, sent as `question` exactly as written here.
    pub text: String,
    pub help: Option<String>,
    pub answer: AnswerType,
    /// Whether the engineer must answer it when it is on the path.
    pub requirement: Requirement,
    /// Photos the engineer must attach to the answer when no photo rule applies.
    pub min_photos: u32,
    /// Most photos the answer may carry when no photo rule applies (`None`: no limit of its
    /// own; the matrix format caps every count at 20).
    pub max_photos: Option<u32>,
    /// What the photos must show.
    pub photo_hint: Option<String>,
    /// Photo counts that depend on the answer or the job; the first rule that holds applies.
    pub photo_rules: Vec<PhotoRule>,
}

/// When a question on the path must be answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Requirement {
    /// Always (the matrix format's default).
    Always,
    /// Never: asked, skippable, never a gap (`"optional": true`).
    Optional,
    /// Only while the condition holds; optional otherwise (`"requiredWhen"`).
    When(Condition),
}

/// A photo count that applies while its condition holds (`"photoRules"`).
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoRule {
    pub when: Condition,
    pub min_photos: u32,
    pub max_photos: Option<u32>,
    /// Replaces the question's hint while the rule applies.
    pub photo_hint: Option<String>,
}

/// The photos a question asks for now, given the job and the answers so far.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoRequirement {
    pub min: u32,
    pub max: Option<u32>,
    pub hint: Option<String>,
    /// The condition of the photo rule that set these counts; `None` for the question's own.
    pub required_by: Option<Condition>,
}

impl Question {
    /// Turns raw input into this question's canonical answer string.
    pub fn validate(&self, raw: &str) -> Result<String, AnswerError> {
        self.answer.canonical(raw)
    }

    /// Whether the question must be answered when it is on the path, now.
    pub fn is_required(&self, context: &FlowContext, answers: &Answers) -> bool {
        match &self.requirement {
            Requirement::Always => true,
            Requirement::Optional => false,
            Requirement::When(condition) => condition.holds(context, answers),
        }
    }

    /// The photos asked for now: the first photo rule that holds, else the question's own
    /// counts. A rule may read the question's own answer ("if No, photograph the
    /// obstruction"), so the requirement follows the answer as it is edited.
    pub fn photo_requirement(&self, context: &FlowContext, answers: &Answers) -> PhotoRequirement {
        match self
            .photo_rules
            .iter()
            .find(|r| r.when.holds(context, answers))
        {
            Some(rule) => PhotoRequirement {
                min: rule.min_photos,
                max: rule.max_photos.or(self.max_photos),
                hint: rule.photo_hint.clone().or_else(|| self.photo_hint.clone()),
                required_by: Some(rule.when.clone()),
            },
            None => PhotoRequirement {
                min: self.min_photos,
                max: self.max_photos,
                hint: self.photo_hint.clone(),
                required_by: None,
            },
        }
    }

    /// The most photos the question can ever accept, whatever the answers (`None`: no limit
    /// of its own). Attaching is refused beyond it; a smaller current maximum is a gap.
    pub fn max_photos_ever(&self) -> Option<u32> {
        let own = self.max_photos?;
        Some(
            self.photo_rules
                .iter()
                .map(|r| r.max_photos.unwrap_or(own))
                .fold(own, u32::max),
        )
    }
}

/// Where a step leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The step at this index of the same flow.
    Step(usize),
    End,
}

/// One branch out of a step: taken when `when` holds (or always, without one).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub when: Option<Condition>,
    pub goto: Target,
}

/// One question's place in a flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub question: String,
    /// The step is asked only when this holds; otherwise it is passed over and its rules
    /// still choose where the flow goes.
    pub ask_when: Option<Condition>,
    /// Tried in order; the first that holds is taken. When none does, the flow goes on to
    /// `fallthrough`.
    pub rules: Vec<Rule>,
    /// The next step in listing order, or the end after the last one.
    pub fallthrough: Target,
}

impl Step {
    /// Where the flow goes after this step, given what is known now.
    pub(crate) fn next(&self, holds: impl Fn(&Condition) -> bool) -> Target {
        self.rules
            .iter()
            .find(|r| r.when.as_ref().is_none_or(&holds))
            .map_or(self.fallthrough, |r| r.goto)
    }

    /// Every place the flow can go after this step.
    pub(crate) fn targets(&self) -> impl Iterator<Item = Target> + '_ {
        let always = self.rules.iter().any(|r| r.when.is_none());
        let until_always = self
            .rules
            .iter()
            .position(|r| r.when.is_none())
            .map_or(self.rules.len(), |i| i + 1);
        self.rules[..until_always]
            .iter()
            .map(|r| r.goto)
            .chain((!always).then_some(self.fallthrough))
    }
}

/// The questions asked at one point of the journey for some closure (and secondary) codes.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub id: String,
    pub journey: Journey,
    /// Empty: any closure code (or none yet).
    pub closure_codes: Vec<String>,
    /// Empty: any secondary code (or none).
    pub secondary_codes: Vec<String>,
    /// The first step is where the flow starts.
    pub steps: Vec<Step>,
}

impl Flow {
    /// How specific the flow is; the most specific matching flow is the one used.
    pub(crate) fn specificity(&self) -> u8 {
        u8::from(!self.closure_codes.is_empty()) + 2 * u8::from(!self.secondary_codes.is_empty())
    }

    pub(crate) fn matches(
        &self,
        journey: Journey,
        closure: Option<&str>,
        secondary: Option<&str>,
    ) -> bool {
        let within = |list: &[String], code: Option<&str>| {
            list.is_empty() || code.is_some_and(|c| list.iter().any(|l| l == c))
        };
        self.journey == journey
            && within(&self.closure_codes, closure)
            && within(&self.secondary_codes, secondary)
    }
}

/// A checked closure matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub(crate) info: MatrixInfo,
    /// In listing order.
    pub(crate) questions: Vec<Question>,
    pub(crate) by_code: BTreeMap<String, usize>,
    pub(crate) flows: Vec<Flow>,
}

impl Matrix {
    pub fn info(&self) -> &MatrixInfo {
        &self.info
    }

    pub fn questions(&self) -> &[Question] {
        &self.questions
    }

    pub fn question(&self, code: &str) -> Option<&Question> {
        self.by_code.get(code).map(|&i| &self.questions[i])
    }

    pub fn flows(&self) -> &[Flow] {
        &self.flows
    }

    /// The flow used at `journey` for these codes: the most specific one that matches.
    pub fn flow_for(
        &self,
        journey: Journey,
        closure: Option<&str>,
        secondary: Option<&str>,
    ) -> Option<&Flow> {
        self.flows
            .iter()
            .filter(|f| f.matches(journey, closure, secondary))
            .max_by_key(|f| f.specificity())
    }

    /// Turns raw input into the canonical answer of `question_code`.
    pub fn validate_answer(&self, question_code: &str, raw: &str) -> Result<String, AnswerError> {
        self.question(question_code)
            .ok_or_else(|| AnswerError::UnknownQuestion {
                code: question_code.to_owned(),
            })?
            .validate(raw)
    }

    /// Closure codes of the catalogue without a closure flow (none for the default matrix).
    pub fn uncovered_closure_codes<'a>(&self, catalogue: &'a Catalogue) -> Vec<&'a str> {
        catalogue
            .closure_codes()
            .filter(|c| {
                self.flow_for(Journey::Closure, Some(&c.code), None)
                    .is_none()
            })
            .map(|c| c.code.as_str())
            .collect()
    }
}
