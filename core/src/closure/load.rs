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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

use crate::codes::Catalogue;

use super::answer::{AnswerError, AnswerType, MAX_DECIMALS};
use super::condition::{AnswerTest, Condition};
use super::matrix::{
    Flow, Journey, Matrix, MatrixInfo, PhotoRule, Question, Requirement, Rule, Step, Target,
};

/// Longest free-text answer a matrix may allow.
pub const MAX_TEXT_LENGTH: u64 = 10_000;
/// Most photos a question may require.
pub const MAX_PHOTOS: u64 = 20;

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

const CONDITION_KEYS: &str = "answer, closureCode, secondaryCode, flag, ontStatus, all, any, not";
const ANSWER_TYPES: &str = "yesNo, singleChoice, multipleChoice, number, text, time, date";

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

    // ------------------------------------------------------------------ questions

    fn question(
        &mut self,
        value: &Value,
        place: &str,
        defined: &mut BTreeMap<String, String>,
    ) -> Option<Question> {
        let obj = self.object(
            value,
            place,
            &[
                "code",
                "text",
                "help",
                "answer",
                "optional",
                "requiredWhen",
                "minPhotos",
                "maxPhotos",
                "photoHint",
                "photoRules",
            ],
        )?;
        let code = self.required_string(obj, "code", place).and_then(|code| {
            let code_place = format!("{place}/code");
            if !is_question_code(&code) {
                self.problem(&code_place, ProblemKind::BadQuestionCode(code));
                return None;
            }
            if let Some(first) = defined.get(&code) {
                self.problem(
                    &code_place,
                    ProblemKind::DuplicateQuestion {
                        code,
                        first: first.clone(),
                    },
                );
                return None;
            }
            defined.insert(code.clone(), code_place);
            Some(code)
        });
        let text = self.required_string(obj, "text", place);
        let help = obj
            .get("help")
            .and_then(|h| self.string(h, &format!("{place}/help")));
        let answer = obj
            .get("answer")
            .or_else(|| {
                self.problem(place, ProblemKind::MissingField("answer"));
                None
            })
            .and_then(|a| self.answer_type(a, &format!("{place}/answer")));
        let min_photos = match obj.get("minPhotos") {
            None => Some(0),
            Some(v) => self
                .bounded_uint(v, &format!("{place}/minPhotos"), 0, MAX_PHOTOS)
                .map(|n| n as u32),
        };
        let max_photos = match obj.get("maxPhotos") {
            None => Some(None),
            Some(v) => self
                .bounded_uint(v, &format!("{place}/maxPhotos"), 0, MAX_PHOTOS)
                .map(|n| Some(n as u32)),
        };
        if let (Some(min), Some(Some(max))) = (min_photos, max_photos)
            && max < min
        {
            self.problem(
                &format!("{place}/maxPhotos"),
                ProblemKind::PhotoMaximumBelowMinimum { min, max },
            );
        }
        let optional = match obj.get("optional") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.problem(
                    &format!("{place}/optional"),
                    ProblemKind::WrongType("true or false"),
                );
                false
            }
        };
        if optional && obj.contains_key("requiredWhen") {
            self.problem(
                &format!("{place}/requiredWhen"),
                ProblemKind::OptionalAndRequiredWhen,
            );
        }
        if optional && let Some(min) = min_photos.filter(|&m| m > 0) {
            self.problem(
                &format!("{place}/minPhotos"),
                ProblemKind::OptionalWithPhotos(min),
            );
        }
        let photo_hint = obj
            .get("photoHint")
            .and_then(|h| self.string(h, &format!("{place}/photoHint")));
        Some(Question {
            code: code?,
            text: text?,
            help,
            answer: answer?,
            // `requiredWhen` and `photoRules` hold conditions, which may read other
            // questions: they are read once every question is known (`question_conditions`).
            requirement: if optional {
                Requirement::Optional
            } else {
                Requirement::Always
            },
            min_photos: min_photos?,
            max_photos: max_photos?,
            photo_hint,
            photo_rules: Vec::new(),
        })
    }

    /// Reads a question's `requiredWhen` and `photoRules`, whose conditions need every
    /// question defined. Returns the requirement, the rules and every condition with its
    /// place, for the checks that need the flows.
    fn question_conditions<'q>(
        &mut self,
        obj: &Map<String, Value>,
        question: &Question,
        place: &str,
        lookup: &impl Fn(&str) -> Option<&'q Question>,
    ) -> (Option<Condition>, Vec<PhotoRule>, Vec<QuestionCondition>) {
        let mut held = Vec::new();
        let required_when = obj.get("requiredWhen").and_then(|c| {
            let cplace = format!("{place}/requiredWhen");
            let condition = self.condition(c, &cplace, lookup)?;
            held.push(QuestionCondition {
                question: question.code.clone(),
                place: cplace,
                condition: condition.clone(),
                after_own_answer: false,
            });
            Some(condition)
        });
        let mut rules = Vec::new();
        if let Some(list) = obj.get("photoRules") {
            let rules_place = format!("{place}/photoRules");
            let Some(list) = list.as_array() else {
                self.problem(&rules_place, ProblemKind::WrongType("an array"));
                return (required_when, rules, held);
            };
            for (i, rule) in list.iter().enumerate() {
                let rplace = format!("{rules_place}/{i}");
                let Some(robj) = self.object(
                    rule,
                    &rplace,
                    &["when", "minPhotos", "maxPhotos", "photoHint"],
                ) else {
                    continue;
                };
                let when = match robj.get("when") {
                    None => {
                        self.problem(&rplace, ProblemKind::MissingField("when"));
                        None
                    }
                    Some(c) => self.condition(c, &format!("{rplace}/when"), lookup),
                };
                let min = match robj.get("minPhotos") {
                    None => Some(question.min_photos),
                    Some(v) => self
                        .bounded_uint(v, &format!("{rplace}/minPhotos"), 0, MAX_PHOTOS)
                        .map(|n| n as u32),
                };
                let max = match robj.get("maxPhotos") {
                    None => Some(None),
                    Some(v) => self
                        .bounded_uint(v, &format!("{rplace}/maxPhotos"), 0, MAX_PHOTOS)
                        .map(|n| Some(n as u32)),
                };
                let hint = robj
                    .get("photoHint")
                    .and_then(|h| self.string(h, &format!("{rplace}/photoHint")));
                let (Some(when), Some(min), Some(max)) = (when, min, max) else {
                    continue;
                };
                if let Some(effective_max) = max.or(question.max_photos)
                    && effective_max < min
                {
                    self.problem(
                        &rplace,
                        ProblemKind::PhotoMaximumBelowMinimum {
                            min,
                            max: effective_max,
                        },
                    );
                }
                held.push(QuestionCondition {
                    question: question.code.clone(),
                    place: format!("{rplace}/when"),
                    condition: when.clone(),
                    after_own_answer: true,
                });
                rules.push(PhotoRule {
                    when,
                    min_photos: min,
                    max_photos: max,
                    photo_hint: hint,
                });
            }
        }
        (required_when, rules, held)
    }

    fn answer_type(&mut self, value: &Value, place: &str) -> Option<AnswerType> {
        let obj = self.object(
            value,
            place,
            &[
                "type",
                "choices",
                "minSelected",
                "maxSelected",
                "unit",
                "min",
                "max",
                "decimals",
                "maxLength",
            ],
        )?;
        let kind = self.required_string(obj, "type", place)?;
        let allowed: &[&str] = match kind.as_str() {
            "yesNo" | "time" | "date" => &["type"],
            "singleChoice" => &["type", "choices"],
            "multipleChoice" => &["type", "choices", "minSelected", "maxSelected"],
            "number" => &["type", "unit", "min", "max", "decimals"],
            "text" => &["type", "maxLength"],
            _ => {
                self.problem(
                    &format!("{place}/type"),
                    ProblemKind::NotOneOf {
                        value: kind,
                        allowed: ANSWER_TYPES,
                    },
                );
                return None;
            }
        };
        for key in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
            self.problem(
                &format!("{place}/{key}"),
                ProblemKind::UnknownField(format!("{key} (not used by {kind})")),
            );
        }
        match kind.as_str() {
            "yesNo" => Some(AnswerType::YesNo),
            "time" => Some(AnswerType::Time),
            "date" => Some(AnswerType::Date),
            "singleChoice" => Some(AnswerType::SingleChoice {
                choices: self.choices(obj, place, false)?,
            }),
            "multipleChoice" => {
                let choices = self.choices(obj, place, true);
                let count = choices.as_ref().map_or(u64::MAX, |c| c.len() as u64);
                let min = match obj.get("minSelected") {
                    None => Some(1),
                    Some(v) => self.bounded_uint(v, &format!("{place}/minSelected"), 1, count),
                };
                let max = match obj.get("maxSelected") {
                    None => Some(None),
                    Some(v) => self
                        .bounded_uint(v, &format!("{place}/maxSelected"), 1, count)
                        .map(Some),
                };
                if let (Some(lo), Some(Some(hi))) = (min, max)
                    && lo > hi
                {
                    self.problem(
                        &format!("{place}/minSelected"),
                        ProblemKind::ContradictoryRange {
                            min: lo.to_string(),
                            max: hi.to_string(),
                        },
                    );
                    return None;
                }
                Some(AnswerType::MultipleChoice {
                    choices: choices?,
                    min_selected: min? as usize,
                    max_selected: max?.map(|m| m as usize),
                })
            }
            "number" => {
                let unit = obj
                    .get("unit")
                    .map(|u| self.string(u, &format!("{place}/unit")));
                let min = obj
                    .get("min")
                    .map(|v| self.number(v, &format!("{place}/min")));
                let max = obj
                    .get("max")
                    .map(|v| self.number(v, &format!("{place}/max")));
                let decimals = match obj.get("decimals") {
                    None => Some(0),
                    Some(v) => self.bounded_uint(
                        v,
                        &format!("{place}/decimals"),
                        0,
                        u64::from(MAX_DECIMALS),
                    ),
                };
                if let (Some(Some(lo)), Some(Some(hi))) = (min, max)
                    && lo > hi
                {
                    self.problem(
                        &format!("{place}/min"),
                        ProblemKind::ContradictoryRange {
                            min: lo.to_string(),
                            max: hi.to_string(),
                        },
                    );
                    return None;
                }
                Some(AnswerType::Number {
                    unit: unit.map_or(Some(None), |u| u.map(Some))?,
                    min: min.map_or(Some(None), |m| m.map(Some))?,
                    max: max.map_or(Some(None), |m| m.map(Some))?,
                    decimals: decimals? as u8,
                })
            }
            _ => {
                let max_length = obj
                    .get("maxLength")
                    .or_else(|| {
                        self.problem(place, ProblemKind::MissingField("maxLength"));
                        None
                    })
                    .and_then(|v| {
                        self.bounded_uint(v, &format!("{place}/maxLength"), 1, MAX_TEXT_LENGTH)
                    })?;
                Some(AnswerType::Text {
                    max_length: max_length as usize,
                })
            }
        }
    }

    fn choices(
        &mut self,
        obj: &Map<String, Value>,
        place: &str,
        multiple: bool,
    ) -> Option<Vec<String>> {
        let list = self.required_array(obj, "choices", place)?;
        let place = format!("{place}/choices");
        if list.is_empty() {
            self.problem(&place, ProblemKind::Empty);
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for (i, c) in list.iter().enumerate() {
            let at = format!("{place}/{i}");
            let Some(c) = self.string(c, &at) else {
                ok = false;
                continue;
            };
            if out.iter().any(|o: &String| o.eq_ignore_ascii_case(&c)) {
                self.problem(&at, ProblemKind::DuplicateChoice(c));
                ok = false;
            } else if multiple && c.contains([',', ';']) {
                self.problem(&at, ProblemKind::ChoiceWithSeparator(c));
                ok = false;
            } else {
                out.push(c);
            }
        }
        ok.then_some(out)
    }

    // ---------------------------------------------------------------------- flows

    fn flow<'q>(
        &mut self,
        value: &Value,
        place: &str,
        defined: &BTreeMap<String, String>,
        lookup: &impl Fn(&str) -> Option<&'q Question>,
    ) -> Option<ReadFlow> {
        let obj = self.object(
            value,
            place,
            &["id", "journey", "closureCodes", "secondaryCodes", "steps"],
        )?;
        let id = self.required_string(obj, "id", place);
        let journey = self.required_string(obj, "journey", place).and_then(|j| {
            Journey::from_name(&j).or_else(|| {
                self.problem(
                    &format!("{place}/journey"),
                    ProblemKind::NotOneOf {
                        value: j,
                        allowed: "visit, closure",
                    },
                );
                None
            })
        });
        let closure_codes = self.code_list(obj, "closureCodes", place, |c, code| {
            c.closure_code(code)
                .is_none()
                .then(|| ProblemKind::UnknownClosureCode(code.to_owned()))
        });
        let secondary_codes = self.code_list(obj, "secondaryCodes", place, |c, code| {
            (!c.secondary_codes().any(|s| s.code == code))
                .then(|| ProblemKind::UnknownSecondaryCode(code.to_owned()))
        });
        if let (Some(closures), Some(secondaries)) = (&closure_codes, &secondary_codes) {
            if closures.is_empty() && !secondaries.is_empty() {
                self.problem(
                    &format!("{place}/secondaryCodes"),
                    ProblemKind::SecondaryWithoutClosure,
                );
            } else {
                for (i, code) in secondaries.iter().enumerate() {
                    let parent = self
                        .catalogue
                        .secondary_codes()
                        .find(|s| &s.code == code)
                        .map(|s| s.parent.clone());
                    if let Some(parent) = parent.filter(|p| !closures.contains(p)) {
                        self.problem(
                            &format!("{place}/secondaryCodes/{i}"),
                            ProblemKind::SecondaryOfAnotherCode {
                                code: code.clone(),
                                parent,
                            },
                        );
                    }
                }
            }
        }

        self.flow_closures = closure_codes.clone().unwrap_or_default();
        let steps_place = format!("{place}/steps");
        let list = self.required_array(obj, "steps", place)?;
        if list.is_empty() {
            self.problem(&steps_place, ProblemKind::Empty);
            return None;
        }
        // First the step questions, so jumps forward can be resolved.
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        let mut step_objects = Vec::new();
        for (i, s) in list.iter().enumerate() {
            let at = format!("{steps_place}/{i}");
            let obj = self.object(s, &at, &["question", "askWhen", "next"]);
            let question = obj.and_then(|o| self.required_string(o, "question", &at));
            if let Some(q) = &question {
                if !defined.contains_key(q) {
                    self.problem(
                        &format!("{at}/question"),
                        ProblemKind::UnknownQuestion(q.clone()),
                    );
                }
                if let Some(&first) = index.get(q) {
                    self.problem(
                        &format!("{at}/question"),
                        ProblemKind::DuplicateStep {
                            question: q.clone(),
                            first: format!("{steps_place}/{first}"),
                        },
                    );
                } else {
                    index.insert(q.clone(), i);
                }
            }
            step_objects.push((at, obj, question));
        }
        let count = step_objects.len();
        let mut steps = Vec::new();
        let mut conditions = Vec::new();
        let mut ok = true;
        for (i, (at, obj, question)) in step_objects.into_iter().enumerate() {
            let (Some(obj), Some(question)) = (obj, question) else {
                ok = false;
                continue;
            };
            let mut held = Vec::new();
            let ask_when = obj.get("askWhen").and_then(|c| {
                let cplace = format!("{at}/askWhen");
                let c = self.condition(c, &cplace, lookup)?;
                held.push((cplace, c.clone(), false));
                Some(c)
            });
            let mut rules = Vec::new();
            if let Some(next) = obj.get("next") {
                match next.as_array() {
                    None => self.problem(&format!("{at}/next"), ProblemKind::WrongType("an array")),
                    Some(list) => {
                        let mut unconditional = false;
                        for (r, rule) in list.iter().enumerate() {
                            let rplace = format!("{at}/next/{r}");
                            if unconditional {
                                self.problem(&rplace, ProblemKind::DeadRule);
                            }
                            let Some(rule) = self.rule(rule, &rplace, &index, lookup, &mut held)
                            else {
                                ok = false;
                                continue;
                            };
                            unconditional |= rule.when.is_none();
                            rules.push(rule);
                        }
                    }
                }
            }
            conditions.push(held);
            steps.push(Step {
                question,
                ask_when,
                rules,
                fallthrough: if i + 1 < count {
                    Target::Step(i + 1)
                } else {
                    Target::End
                },
            });
        }
        if !ok || steps.len() != count {
            return None;
        }
        Some(ReadFlow {
            flow: Flow {
                id: id?,
                journey: journey?,
                closure_codes: closure_codes?,
                secondary_codes: secondary_codes?,
                steps,
            },
            place: place.to_owned(),
            conditions,
        })
    }

    fn rule<'q>(
        &mut self,
        value: &Value,
        place: &str,
        index: &BTreeMap<String, usize>,
        lookup: &impl Fn(&str) -> Option<&'q Question>,
        held: &mut Vec<(String, Condition, bool)>,
    ) -> Option<Rule> {
        let obj = self.object(value, place, &["when", "goto"])?;
        let when = match obj.get("when") {
            None => Some(None),
            Some(c) => {
                let cplace = format!("{place}/when");
                self.condition(c, &cplace, lookup).map(|c| {
                    held.push((cplace, c.clone(), true));
                    Some(c)
                })
            }
        };
        let goto = self.required_string(obj, "goto", place).and_then(|g| {
            if g == "end" {
                Some(Target::End)
            } else if let Some(&i) = index.get(&g) {
                Some(Target::Step(i))
            } else {
                self.problem(&format!("{place}/goto"), ProblemKind::UnknownTarget(g));
                None
            }
        });
        Some(Rule {
            when: when?,
            goto: goto?,
        })
    }

    fn condition<'q>(
        &mut self,
        value: &Value,
        place: &str,
        lookup: &impl Fn(&str) -> Option<&'q Question>,
    ) -> Option<Condition> {
        let obj = match value.as_object() {
            Some(o) => o,
            None => {
                self.problem(place, ProblemKind::WrongType("an object (a condition)"));
                return None;
            }
        };
        let keys: Vec<&str> = obj
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "$comment")
            .collect();
        let head = keys.iter().copied().find(|k| {
            [
                "answer",
                "closureCode",
                "secondaryCode",
                "flag",
                "ontStatus",
                "all",
                "any",
                "not",
            ]
            .contains(k)
        });
        let Some(head) = head else {
            self.problem(place, ProblemKind::BadCondition(CONDITION_KEYS));
            return None;
        };
        let at = format!("{place}/{head}");
        let inner = &obj[head];
        if head == "answer" {
            return self.answer_condition(obj, place, lookup);
        }
        if keys.len() != 1 {
            self.problem(place, ProblemKind::BadCondition(CONDITION_KEYS));
            return None;
        }
        match head {
            "closureCode" => self
                .string_list(inner, &at)
                .inspect(|codes| {
                    for (i, c) in codes.iter().enumerate() {
                        if self.catalogue.closure_code(c).is_none() {
                            self.problem(
                                &format!("{at}/{i}"),
                                ProblemKind::UnknownClosureCode(c.clone()),
                            );
                        }
                    }
                })
                .map(Condition::ClosureCode),
            "secondaryCode" => self
                .string_list(inner, &at)
                .inspect(|codes| {
                    for (i, c) in codes.iter().enumerate() {
                        let parent = self
                            .catalogue
                            .secondary_codes()
                            .find(|s| &s.code == c)
                            .map(|s| s.parent.clone());
                        let kind = match parent {
                            None => ProblemKind::UnknownSecondaryCode(c.clone()),
                            Some(parent)
                                if !self.flow_closures.is_empty()
                                    && !self.flow_closures.contains(&parent) =>
                            {
                                ProblemKind::SecondaryOfAnotherCode {
                                    code: c.clone(),
                                    parent,
                                }
                            }
                            Some(_) => continue,
                        };
                        self.problem(&format!("{at}/{i}"), kind);
                    }
                })
                .map(Condition::SecondaryCode),
            "flag" => self.string(inner, &at).and_then(|f| {
                if self.catalogue.property_flag(&f).is_none() {
                    self.problem(&at, ProblemKind::UnknownFlag(f));
                    return None;
                }
                Some(Condition::Flag(f))
            }),
            "ontStatus" => {
                let Some(list) = inner.as_array().filter(|l| !l.is_empty()) else {
                    self.problem(&at, ProblemKind::WrongType("a non-empty array of statuses"));
                    return None;
                };
                let mut ids = Vec::new();
                for (i, v) in list.iter().enumerate() {
                    let vplace = format!("{at}/{i}");
                    let id = self.bounded_uint(v, &vplace, 1, u64::from(u8::MAX))?;
                    if self.catalogue.provisioning_status(id as u8).is_err() {
                        self.problem(&vplace, ProblemKind::UnknownOntStatus(id));
                        return None;
                    }
                    ids.push(id as u8);
                }
                Some(Condition::OntStatus(ids))
            }
            "not" => self
                .condition(inner, &at, lookup)
                .map(|c| Condition::Not(Box::new(c))),
            _ => {
                let Some(list) = inner.as_array().filter(|l| !l.is_empty()) else {
                    self.problem(
                        &at,
                        ProblemKind::WrongType("a non-empty array of conditions"),
                    );
                    return None;
                };
                let mut all = Vec::new();
                let mut ok = true;
                for (i, c) in list.iter().enumerate() {
                    match self.condition(c, &format!("{at}/{i}"), lookup) {
                        Some(c) => all.push(c),
                        None => ok = false,
                    }
                }
                ok.then(|| {
                    if head == "all" {
                        Condition::All(all)
                    } else {
                        Condition::Any(all)
                    }
                })
            }
        }
    }

    fn answer_condition<'q>(
        &mut self,
        obj: &Map<String, Value>,
        place: &str,
        lookup: &impl Fn(&str) -> Option<&'q Question>,
    ) -> Option<Condition> {
        const TESTS: &str = "answer with one of: equals, anyOf, atLeast/atMost, answered";
        for key in obj.keys() {
            if ![
                "answer", "equals", "anyOf", "atLeast", "atMost", "answered", "$comment",
            ]
            .contains(&key.as_str())
            {
                self.problem(
                    &format!("{place}/{key}"),
                    ProblemKind::UnknownField(key.clone()),
                );
            }
        }
        let code = self.string(&obj["answer"], &format!("{place}/answer"))?;
        let Some(question) = lookup(&code) else {
            self.problem(
                &format!("{place}/answer"),
                ProblemKind::UnknownQuestion(code),
            );
            return None;
        };
        let multiple = matches!(question.answer, AnswerType::MultipleChoice { .. });
        let tests = ["equals", "anyOf", "answered"]
            .iter()
            .filter(|k| obj.contains_key(**k))
            .count()
            + usize::from(obj.contains_key("atLeast") || obj.contains_key("atMost"));
        if tests != 1 {
            self.problem(place, ProblemKind::BadCondition(TESTS));
            return None;
        }
        let test = if let Some(v) = obj.get("equals") {
            let at = format!("{place}/equals");
            let value = self.string(v, &at)?;
            AnswerTest::Equals(self.possible_answer(question, &value, &at)?)
        } else if let Some(v) = obj.get("anyOf") {
            let at = format!("{place}/anyOf");
            let values = self.string_list(v, &at)?;
            let mut out = Vec::new();
            for (i, value) in values.iter().enumerate() {
                out.push(self.possible_answer(question, value, &format!("{at}/{i}"))?);
            }
            AnswerTest::AnyOf(out)
        } else if obj.contains_key("answered") {
            if obj["answered"] != Value::Bool(true) {
                self.problem(&format!("{place}/answered"), ProblemKind::WrongType("true"));
                return None;
            }
            AnswerTest::Answered
        } else {
            if !matches!(question.answer, AnswerType::Number { .. }) {
                self.problem(
                    place,
                    ProblemKind::RangeOnNonNumber {
                        question: code,
                        kind: question.answer.name(),
                    },
                );
                return None;
            }
            let min = match obj.get("atLeast") {
                None => None,
                Some(v) => Some(self.number(v, &format!("{place}/atLeast"))?),
            };
            let max = match obj.get("atMost") {
                None => None,
                Some(v) => Some(self.number(v, &format!("{place}/atMost"))?),
            };
            if let (Some(lo), Some(hi)) = (min, max)
                && lo > hi
            {
                self.problem(
                    &format!("{place}/atLeast"),
                    ProblemKind::ContradictoryRange {
                        min: lo.to_string(),
                        max: hi.to_string(),
                    },
                );
                return None;
            }
            if let AnswerType::Number {
                min: limit_lo,
                max: limit_hi,
                ..
            } = &question.answer
            {
                let above = min.zip(*limit_hi).filter(|(lo, hi)| lo > hi);
                let below = max.zip(*limit_lo).filter(|(hi, lo)| hi < lo);
                if above.is_some() || below.is_some() {
                    self.problem(
                        place,
                        ProblemKind::NeverHolds(format!(
                            "question {code} only accepts answers {}",
                            question.answer.describe()
                        )),
                    );
                    return None;
                }
            }
            AnswerTest::Range { min, max }
        };
        Some(Condition::Answer {
            question: code,
            multiple,
            test,
        })
    }

    /// The canonical form of a value a condition compares an answer with; for multiple
    /// choice, one of the choices.
    fn possible_answer(&mut self, question: &Question, value: &str, place: &str) -> Option<String> {
        let checked = match &question.answer {
            AnswerType::MultipleChoice { choices, .. } => AnswerType::SingleChoice {
                choices: choices.clone(),
            }
            .canonical(value),
            other => other.canonical(value),
        };
        match checked {
            Ok(v) => Some(v),
            Err(reason) => {
                self.problem(
                    place,
                    ProblemKind::ImpossibleAnswer {
                        question: question.code.clone(),
                        value: value.to_owned(),
                        reason,
                    },
                );
                None
            }
        }
    }

    // -------------------------------------------------------- whole-flow checks

    fn check_flows(&mut self, flows: &[ReadFlow]) {
        let visit_questions: BTreeSet<&str> = flows
            .iter()
            .filter(|f| f.flow.journey == Journey::Visit)
            .flat_map(|f| f.flow.steps.iter().map(|s| s.question.as_str()))
            .collect();
        for read in flows {
            self.check_graph(read, &visit_questions);
        }
        // Each flow is reported once, against the first earlier flow it overlaps: n copies of
        // one flow are n - 1 problems, not n² / 2.
        for (b, later) in flows.iter().enumerate() {
            let first = flows[..b]
                .iter()
                .find_map(|earlier| overlap(&earlier.flow, &later.flow).map(|c| (earlier, c)));
            if let Some((earlier, case)) = first {
                self.problem(
                    &later.place,
                    ProblemKind::OverlappingFlows {
                        other: format!("{} ({})", earlier.flow.id, earlier.place),
                        case,
                    },
                );
            }
        }
    }

    fn check_graph(&mut self, read: &ReadFlow, visit_questions: &BTreeSet<&str>) {
        let flow = &read.flow;
        let (edges, reach) = step_graph(flow);

        // Cycles: the fall-through only goes forward, so every cycle contains a jump to the
        // same or an earlier step; such a jump closes a cycle when it can lead back to itself.
        for (i, step) in flow.steps.iter().enumerate() {
            for (r, rule) in step.rules.iter().enumerate() {
                let Target::Step(to) = rule.goto else {
                    continue;
                };
                if to <= i && edges[i].contains(&to) && reach[to][i] {
                    let mut path: Vec<String> = path_between(&edges, to, i)
                        .into_iter()
                        .map(|s| flow.steps[s].question.clone())
                        .collect();
                    path.push(flow.steps[to].question.clone());
                    self.problem(
                        &format!("{}/steps/{i}/next/{r}/goto", read.place),
                        ProblemKind::Cycle(path),
                    );
                }
            }
        }
        for (i, step) in flow.steps.iter().enumerate() {
            if !reach[0][i] {
                self.problem(
                    &format!("{}/steps/{i}", read.place),
                    ProblemKind::UnreachableStep(step.question.clone()),
                );
            }
        }

        // Answers read by conditions must have been asked before the condition is evaluated.
        for (i, held) in read.conditions.iter().enumerate() {
            for (place, condition, after_own_answer) in held {
                for q in unasked_answers(
                    flow,
                    &reach,
                    i,
                    condition,
                    *after_own_answer,
                    visit_questions,
                ) {
                    self.problem(place, ProblemKind::AnswerNotYetGiven(q.to_owned()));
                }
                if let Some(why) = never_holds(condition, flow) {
                    self.problem(place, ProblemKind::NeverHolds(why));
                }
            }
        }
    }

    /// The checks of the questions' own conditions, which apply wherever a flow asks the
    /// question: the answers they read must be given before (before the question itself
    /// for `requiredWhen`; a photo rule may read its own question's answer), and each must
    /// be able to hold in at least one flow that asks the question.
    fn check_question_conditions(&mut self, flows: &[ReadFlow], held: &[QuestionCondition]) {
        let visit_questions: BTreeSet<&str> = flows
            .iter()
            .filter(|f| f.flow.journey == Journey::Visit)
            .flat_map(|f| f.flow.steps.iter().map(|s| s.question.as_str()))
            .collect();
        let graphs: Vec<Vec<Vec<bool>>> = flows.iter().map(|f| step_graph(&f.flow).1).collect();
        for qc in held {
            let mut unasked: BTreeSet<&str> = BTreeSet::new();
            let mut asking = 0;
            let mut never = Vec::new();
            for (read, reach) in flows.iter().zip(&graphs) {
                let flow = &read.flow;
                let Some(at) = flow.steps.iter().position(|s| s.question == qc.question) else {
                    continue;
                };
                asking += 1;
                unasked.extend(unasked_answers(
                    flow,
                    reach,
                    at,
                    &qc.condition,
                    qc.after_own_answer,
                    &visit_questions,
                ));
                if let Some(why) = never_holds(&qc.condition, flow) {
                    never.push(format!("in flow {}: {why}", flow.id));
                }
            }
            for q in unasked {
                self.problem(&qc.place, ProblemKind::AnswerNotYetGiven(q.to_owned()));
            }
            if asking > 0 && never.len() == asking {
                self.problem(&qc.place, ProblemKind::NeverHolds(never.join("; ")));
            }
        }
    }

    // ---------------------------------------------------------------- readers

    fn object<'v>(
        &mut self,
        value: &'v Value,
        place: &str,
        allowed: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let Some(obj) = value.as_object() else {
            self.problem(place, ProblemKind::WrongType("an object"));
            return None;
        };
        for key in obj.keys() {
            if key != "$comment" && !allowed.contains(&key.as_str()) {
                self.problem(
                    &format!("{place}/{}", pointer_escape(key)),
                    ProblemKind::UnknownField(key.clone()),
                );
            }
        }
        Some(obj)
    }

    fn string(&mut self, value: &Value, place: &str) -> Option<String> {
        match value.as_str() {
            None => {
                self.problem(place, ProblemKind::WrongType("a string"));
                None
            }
            Some(s) if s.trim().is_empty() => {
                self.problem(place, ProblemKind::Empty);
                None
            }
            Some(s) => Some(s.to_owned()),
        }
    }

    fn required_string(
        &mut self,
        obj: &Map<String, Value>,
        key: &'static str,
        place: &str,
    ) -> Option<String> {
        match obj.get(key) {
            None => {
                self.problem(place, ProblemKind::MissingField(key));
                None
            }
            Some(v) => self.string(v, &format!("{place}/{key}")),
        }
    }

    fn required_array<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        key: &'static str,
        place: &str,
    ) -> Option<&'v Vec<Value>> {
        match obj.get(key) {
            None => {
                self.problem(place, ProblemKind::MissingField(key));
                None
            }
            Some(Value::Array(a)) => Some(a),
            Some(_) => {
                self.problem(
                    &format!("{place}/{key}"),
                    ProblemKind::WrongType("an array"),
                );
                None
            }
        }
    }

    fn string_list(&mut self, value: &Value, place: &str) -> Option<Vec<String>> {
        let Some(list) = value.as_array() else {
            self.problem(place, ProblemKind::WrongType("an array of strings"));
            return None;
        };
        if list.is_empty() {
            self.problem(place, ProblemKind::Empty);
            return None;
        }
        let mut out = Vec::new();
        for (i, v) in list.iter().enumerate() {
            out.push(self.string(v, &format!("{place}/{i}"))?);
        }
        Some(out)
    }

    /// An optional list of catalogue codes (absent: empty, meaning "any"); `unknown` says
    /// what is wrong with a code the catalogue does not have.
    fn code_list(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        place: &str,
        unknown: impl Fn(&Catalogue, &str) -> Option<ProblemKind>,
    ) -> Option<Vec<String>> {
        let Some(value) = obj.get(key) else {
            return Some(Vec::new());
        };
        let at = format!("{place}/{key}");
        let codes = self.string_list(value, &at)?;
        let mut ok = true;
        for (i, code) in codes.iter().enumerate() {
            if codes[..i].contains(code) {
                self.problem(
                    &format!("{at}/{i}"),
                    ProblemKind::DuplicateCode(code.clone()),
                );
                ok = false;
            } else if let Some(kind) = unknown(self.catalogue, code) {
                self.problem(&format!("{at}/{i}"), kind);
                ok = false;
            }
        }
        ok.then_some(codes)
    }

    fn number(&mut self, value: &Value, place: &str) -> Option<f64> {
        let n = value.as_f64().filter(|n| n.is_finite());
        if n.is_none() {
            self.problem(place, ProblemKind::WrongType("a number"));
        }
        n
    }

    fn bounded_uint(&mut self, value: &Value, place: &str, min: u64, max: u64) -> Option<u64> {
        let Some(n) = value.as_u64() else {
            self.problem(place, ProblemKind::WrongType("a whole number"));
            return None;
        };
        if n < min || n > max {
            self.problem(
                place,
                ProblemKind::OutOfLimits {
                    value: n.to_string(),
                    limits: format!("{min}..={max}"),
                },
            );
            return None;
        }
        Some(n)
    }
}

fn is_question_code(code: &str) -> bool {
    (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The jumps out of each step of a flow, and which steps each step can reach (small
/// graphs: a search per step is fine).
fn step_graph(flow: &Flow) -> (Vec<Vec<usize>>, Vec<Vec<bool>>) {
    let edges: Vec<Vec<usize>> = flow
        .steps
        .iter()
        .map(|s| {
            s.targets()
                .filter_map(|t| match t {
                    Target::Step(i) => Some(i),
                    Target::End => None,
                })
                .collect()
        })
        .collect();
    let reach = (0..flow.steps.len())
        .map(|s| reachable(&edges, s))
        .collect();
    (edges, reach)
}

/// The questions whose answers `condition` reads at step `at` of `flow` although they
/// cannot have been asked by then. A closure flow may read answers given during the visit.
fn unasked_answers<'c>(
    flow: &Flow,
    reach: &[Vec<bool>],
    at: usize,
    condition: &'c Condition,
    after_own_answer: bool,
    visit_questions: &BTreeSet<&str>,
) -> Vec<&'c str> {
    condition
        .questions_read()
        .into_iter()
        .filter(|q| {
            let asked_before = match flow.steps.iter().position(|s| s.question == *q) {
                Some(j) if j == at => after_own_answer,
                Some(j) => reach[j][at],
                None => flow.journey == Journey::Closure && visit_questions.contains(q),
            };
            !asked_before
        })
        .collect()
}

/// Why `condition` can never hold where `flow` evaluates it, if it provably cannot: codes
/// the flow is not for, a condition together with its negation, one answer required to be
/// two different values. (A full satisfiability check is not needed to catch the mistakes
/// people make when editing a matrix; these are those.)
fn never_holds(condition: &Condition, flow: &Flow) -> Option<String> {
    let outside = |codes: &[String], allowed: &[String]| {
        !allowed.is_empty() && codes.iter().all(|c| !allowed.contains(c))
    };
    match condition {
        Condition::ClosureCode(codes)
            if flow.journey == Journey::Closure && outside(codes, &flow.closure_codes) =>
        {
            Some(format!(
                "the flow is only for closure codes {}",
                flow.closure_codes.join(", ")
            ))
        }
        Condition::SecondaryCode(codes) if outside(codes, &flow.secondary_codes) => Some(format!(
            "the flow is only for secondary codes {}",
            flow.secondary_codes.join(", ")
        )),
        Condition::All(parts) => {
            if let Some(why) = parts.iter().find_map(|p| never_holds(p, flow)) {
                return Some(why);
            }
            for (i, a) in parts.iter().enumerate() {
                for b in &parts[i + 1..] {
                    if let Some(why) = contradict(a, b) {
                        return Some(why);
                    }
                }
            }
            None
        }
        Condition::Any(parts) => {
            let reasons: Option<Vec<String>> = parts.iter().map(|p| never_holds(p, flow)).collect();
            reasons.map(|r| r.join("; "))
        }
        _ => None,
    }
}

/// Why `a` and `b` cannot both hold, if they plainly cannot.
fn contradict(a: &Condition, b: &Condition) -> Option<String> {
    match (a, b) {
        (Condition::Not(inner), other) | (other, Condition::Not(inner))
            if inner.as_ref() == other =>
        {
            Some(format!("it requires both {other} and its opposite"))
        }
        (
            Condition::Answer {
                question: qa,
                multiple: false,
                test: AnswerTest::Equals(va),
            },
            Condition::Answer {
                question: qb,
                test: AnswerTest::Equals(vb),
                ..
            },
        ) if qa == qb && va != vb => Some(format!(
            "the answer to {qa} cannot be both {va:?} and {vb:?}"
        )),
        (Condition::ClosureCode(x), Condition::ClosureCode(y))
        | (Condition::SecondaryCode(x), Condition::SecondaryCode(y))
            if x.iter().all(|c| !y.contains(c)) =>
        {
            Some(format!(
                "no code is both one of {} and one of {}",
                x.join(", "),
                y.join(", ")
            ))
        }
        _ => None,
    }
}

fn reachable(edges: &[Vec<usize>], from: usize) -> Vec<bool> {
    let mut seen = vec![false; edges.len()];
    let mut todo = vec![from];
    seen[from] = true;
    while let Some(at) = todo.pop() {
        for &to in &edges[at] {
            if !seen[to] {
                seen[to] = true;
                todo.push(to);
            }
        }
    }
    seen
}

/// The steps of a shortest path from `from` to `to` (both included); `to` must be reachable.
fn path_between(edges: &[Vec<usize>], from: usize, to: usize) -> Vec<usize> {
    let mut parent = vec![usize::MAX; edges.len()];
    let mut queue = std::collections::VecDeque::from([from]);
    parent[from] = from;
    while let Some(at) = queue.pop_front() {
        if at == to {
            break;
        }
        for &next in &edges[at] {
            if parent[next] == usize::MAX {
                parent[next] = at;
                queue.push_back(next);
            }
        }
    }
    let mut path = vec![to];
    let mut at = to;
    while at != from && parent[at] != usize::MAX {
        at = parent[at];
        path.push(at);
    }
    path.reverse();
    path
}

/// The case two flows of the same specificity would both claim, if any.
fn overlap(a: &Flow, b: &Flow) -> Option<String> {
    if a.journey != b.journey || a.specificity() != b.specificity() {
        return None;
    }
    let shared = |x: &[String], y: &[String]| -> Option<Option<String>> {
        match (x.is_empty(), y.is_empty()) {
            (true, true) => Some(None),
            (false, false) => x.iter().find(|c| y.contains(c)).map(|c| Some(c.clone())),
            _ => None,
        }
    };
    let closure = shared(&a.closure_codes, &b.closure_codes)?;
    let secondary = shared(&a.secondary_codes, &b.secondary_codes)?;
    let mut case = format!("the {} journey", a.journey.name());
    match closure {
        Some(c) => case.push_str(&format!(" with closure code {c}")),
        None => case.push_str(" with any closure code"),
    }
    if let Some(s) = secondary {
        case.push_str(&format!(" and secondary code {s}"));
    }
    Some(case)
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
