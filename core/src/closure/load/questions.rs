//! Reading `/questions`: each question's code, text, answer type (with its choices, ranges and
//! limits), whether it is required, optional or `requiredWhen` a condition, and its photo
//! rules. Conditions a question holds are kept with their places for the whole-matrix checks,
//! which need the flows that ask the question.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::problems::ProblemKind;
use super::readers::is_question_code;
use super::{
    AnswerType, Condition, Loader, MAX_DECIMALS, PhotoRule, Question, QuestionCondition,
    Requirement,
};

const ANSWER_TYPES: &str = "yesNo, singleChoice, multipleChoice, number, text, time, date";

/// Longest free-text answer a matrix may allow.
pub const MAX_TEXT_LENGTH: u64 = 10_000;
/// Most photos a question may require.
pub const MAX_PHOTOS: u64 = 20;

impl Loader<'_> {
    pub(super) fn question(
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
    pub(super) fn question_conditions<'q>(
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
                // Counts are u32 in the loaded matrix (and across the FFI): a limit above that
                // is refused here like any other out-of-range value.
                let count = choices
                    .as_ref()
                    .map_or(u64::MAX, |c| c.len() as u64)
                    .min(u64::from(u32::MAX));
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
                    // Bounded to u32 above.
                    min_selected: min? as u32,
                    max_selected: max?.map(|m| m as u32),
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
                    // At most MAX_TEXT_LENGTH.
                    max_length: max_length as u32,
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
}
