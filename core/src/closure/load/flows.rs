//! Reading `/flows`: each flow's selection (closure and secondary codes, property flags, the
//! journey point), its steps and the rules between them, and the conditions those rules and
//! steps hold — with every answer a condition names checked against the answers its question
//! can receive.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::problems::ProblemKind;

use super::{
    AnswerTest, AnswerType, Condition, Flow, Journey, Loader, Question, ReadFlow, Rule, Step,
    Target,
};

const CONDITION_KEYS: &str = "answer, closureCode, secondaryCode, flag, ontStatus, all, any, not";

impl Loader<'_> {
    pub(super) fn flow<'q>(
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

    pub(super) fn condition<'q>(
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
}
