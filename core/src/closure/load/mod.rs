//! Loading a matrix file: reading it, and checking what a JSON Schema cannot.
//!
//! The file is read from a `serde_json::Value` by hand rather than through serde derive so
//! that one pass reports *every* problem, each with its place as a JSON pointer
//! (`/flows/3/steps/2/next/0/goto`): whoever maintains CityFibre's matrix fixes a file in one
//! round, not one error per run. After the shape come the rules that need the whole file or
//! the code catalogue: question codes referenced but not defined, questions no flow asks,
//! steps that cannot be reached, cycles, contradictory ranges, answers in conditions that
//! the question could never receive, answers read before they can have been given, closure
//! and secondary codes the catalogue does not know, and flows that claim the same case.
//!
//! A part that is broken is left out of the loaded matrix and the checks go on with the
//! rest; a question whose answer definition is broken still counts as defined, so one mistake
//! does not cascade into a page of "unknown question" reports.
//!
//! One file per part, each building on the ones before it (`core/tests/layers.rs` checks that
//! their `super::` uses form no circle):
//! * `problems` — what is reported: a problem's place and kind, the bounded report;
//! * `readers` — the file's shape: typed readers that report and skip what is malformed;
//! * `flows` — `/flows`: selection, steps, rules, and the conditions (which questions'
//!   `requiredWhen` and photo rules use too);
//! * `questions` — `/questions`: answer types, requirements, photo rules;
//! * `checks` — the whole-flow and whole-matrix rules (graph, conditions, overlaps).
//!
//! This file holds the `Loader` they share and the walk over the file's top level. The
//! parts reach the rest of `closure` only through the names imported here, so the layer test
//! sees `load`'s dependencies in one place.

mod checks;
mod flows;
mod problems;
mod questions;
mod readers;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::codes::Catalogue;

pub use problems::{
    MAX_LISTED_PROBLEMS, MAX_PROBLEM_LINE, MatrixProblem, MatrixProblems, ProblemKind,
};

use super::answer::{AnswerError, AnswerType, MAX_DECIMALS};
use super::condition::{AnswerTest, Condition};
use super::matrix::{
    Flow, Journey, Matrix, MatrixInfo, PhotoRule, Question, Requirement, Rule, Step, Target,
};

pub(crate) fn load(json: &str, catalogue: &Catalogue) -> Result<Matrix, MatrixProblems> {
    let value: Value = serde_json::from_str(json).map_err(|e| {
        MatrixProblems(vec![MatrixProblem {
            place: String::new(),
            kind: ProblemKind::NotJson(e.to_string()),
        }])
    })?;
    let mut loader = Loader {
        catalogue,
        problems: Vec::new(),
        omitted: 0,
        flow_closures: Vec::new(),
    };
    let matrix = loader.matrix(&value);
    if loader.problems.is_empty() {
        matrix.ok_or_else(|| MatrixProblems(Vec::new()))
    } else {
        if loader.omitted > 0 {
            loader.problems.push(MatrixProblem {
                place: String::new(),
                kind: ProblemKind::MoreProblems(loader.omitted),
            });
        }
        Err(MatrixProblems(loader.problems))
    }
}

struct Loader<'c> {
    catalogue: &'c Catalogue,
    problems: Vec<MatrixProblem>,
    /// Problems found beyond [`MAX_LISTED_PROBLEMS`].
    omitted: usize,
    /// The closure codes of the flow being read (empty: any), for secondary-code conditions.
    flow_closures: Vec<String>,
}

/// A condition of a question (`requiredWhen`, a photo rule's `when`), with its place, for
/// the checks that need the flows asking the question.
struct QuestionCondition {
    question: String,
    place: String,
    condition: Condition,
    /// True when it is read once the question itself is answered (photo rules).
    after_own_answer: bool,
}

/// A flow as read, with the places of its parts for the whole-flow checks.
struct ReadFlow {
    flow: Flow,
    place: String,
    /// Per step: the conditions it holds, with their places and whether they are read
    /// before (`askWhen`) or after (`next`) the step's own question.
    conditions: Vec<Vec<(String, Condition, bool)>>,
}

impl Loader<'_> {
    fn problem(&mut self, place: &str, kind: ProblemKind) {
        if self.problems.len() >= MAX_LISTED_PROBLEMS {
            self.omitted += 1;
            return;
        }
        self.problems.push(MatrixProblem {
            place: place.to_owned(),
            kind,
        });
    }

    fn matrix(&mut self, root: &Value) -> Option<Matrix> {
        let obj = self.object(
            root,
            "",
            &[
                "$schema",
                "name",
                "version",
                "isDefault",
                "note",
                "questions",
                "flows",
            ],
        )?;
        let name = self.required_string(obj, "name", "");
        let version = self.required_string(obj, "version", "");
        let is_default = match obj.get("isDefault") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.problem("/isDefault", ProblemKind::WrongType("true or false"));
                false
            }
        };
        if let Some(note) = obj.get("note") {
            self.string(note, "/note");
        }

        let mut questions = Vec::new();
        let mut question_objects = Vec::new();
        let mut defined: BTreeMap<String, String> = BTreeMap::new();
        if let Some(list) = self.required_array(obj, "questions", "") {
            for (i, q) in list.iter().enumerate() {
                let place = format!("/questions/{i}");
                if let Some(question) = self.question(q, &place, &mut defined) {
                    questions.push(question);
                    question_objects.push((q, place));
                }
            }
        }
        let by_code: BTreeMap<String, usize> = questions
            .iter()
            .enumerate()
            .map(|(i, q)| (q.code.clone(), i))
            .collect();
        let lookup = |code: &str| by_code.get(code).map(|&i| &questions[i]);

        let mut question_conditions = Vec::new();
        let mut conditional = Vec::new();
        for (i, (value, place)) in question_objects.iter().enumerate() {
            let Some(qobj) = value.as_object() else {
                continue;
            };
            let (required_when, rules, held) =
                self.question_conditions(qobj, &questions[i], place, &lookup);
            question_conditions.extend(held);
            conditional.push((i, required_when, rules));
        }

        let mut flows = Vec::new();
        if let Some(list) = self.required_array(obj, "flows", "") {
            let mut ids: BTreeMap<String, String> = BTreeMap::new();
            for (i, f) in list.iter().enumerate() {
                let place = format!("/flows/{i}");
                if let Some(flow) = self.flow(f, &place, &defined, &lookup) {
                    if let Some(first) = ids.get(&flow.flow.id) {
                        self.problem(
                            &format!("{place}/id"),
                            ProblemKind::DuplicateFlow {
                                id: flow.flow.id.clone(),
                                first: first.clone(),
                            },
                        );
                    } else {
                        ids.insert(flow.flow.id.clone(), format!("{place}/id"));
                    }
                    flows.push(flow);
                }
            }
        }
        self.check_flows(&flows);
        self.check_question_conditions(&flows, &question_conditions);
        let asked: BTreeSet<&str> = flows
            .iter()
            .flat_map(|f| f.flow.steps.iter().map(|s| s.question.as_str()))
            .collect();
        for (code, place) in &defined {
            if !asked.contains(code.as_str()) {
                self.problem(place, ProblemKind::UnusedQuestion(code.clone()));
            }
        }
        for (i, required_when, rules) in conditional {
            if let Some(condition) = required_when {
                questions[i].requirement = Requirement::When(condition);
            }
            questions[i].photo_rules = rules;
        }
        Some(Matrix {
            info: MatrixInfo {
                name: name?,
                version: version?,
                is_default,
            },
            by_code,
            questions,
            flows: flows.into_iter().map(|f| f.flow).collect(),
        })
    }
}

impl Matrix {
    /// Loads and checks a matrix file against the catalogue; every problem found is returned,
    /// each with its place in the file.
    pub fn from_json(json: &str, catalogue: &Catalogue) -> Result<Self, MatrixProblems> {
        load(json, catalogue)
    }

    /// Jobpack's default matrix, checked against `catalogue` (a partner catalogue may move a
    /// secondary code to another parent, which the default would then contradict).
    pub fn default_for(catalogue: &Catalogue) -> Result<Self, MatrixProblems> {
        Self::from_json(super::matrix::DEFAULT_MATRIX_JSON, catalogue)
    }
}
