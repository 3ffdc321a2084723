//! Conditions: what a branch of the flow (or a step's `askWhen`) depends on.
//!
//! A condition reads only what the engine knows at the moment a question is chosen: earlier
//! answers, the closure and secondary codes, the job's property flags and the ONT
//! provisioning status. It is evaluated against a [`FlowContext`] and the recorded answers, so
//! changing an earlier answer changes the path on the next evaluation without any stored
//! state to invalidate.
//!
//! An answer that has not been given makes every test on it false (and `not` of it true):
//! the flow never branches on something the engineer has not said.

use super::answer::split_choices;
use super::context::{Answers, FlowContext};

/// A test on one recorded answer.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerTest {
    /// The question has been answered, whatever the answer.
    Answered,
    /// The answer is this canonical value (for multiple choice: this value is among those chosen).
    Equals(String),
    /// The answer is one of these (for multiple choice: any of them is among those chosen).
    AnyOf(Vec<String>),
    /// A number answer within these inclusive bounds (one may be absent).
    Range { min: Option<f64>, max: Option<f64> },
}

/// A condition of the matrix format.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Answer {
        question: String,
        /// True when the question is multiple choice (set once, at load).
        multiple: bool,
        test: AnswerTest,
    },
    ClosureCode(Vec<String>),
    SecondaryCode(Vec<String>),
    /// The job carries this property flag (DAN, CHP, SUR, DTL, MDU, WSD, ...).
    Flag(String),
    /// The ONT provisioning status is one of these (false while no status has arrived).
    OntStatus(Vec<u8>),
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    /// Whether the condition holds now.
    pub fn holds(&self, context: &FlowContext, answers: &Answers) -> bool {
        match self {
            Self::Answer {
                question,
                multiple,
                test,
            } => answers
                .latest(question)
                .is_some_and(|a| test_answer(test, *multiple, &a.answer)),
            Self::ClosureCode(codes) => context
                .closure_code
                .as_ref()
                .is_some_and(|c| codes.contains(c)),
            Self::SecondaryCode(codes) => context
                .secondary_code
                .as_ref()
                .is_some_and(|c| codes.contains(c)),
            Self::Flag(flag) => context.property_flags.iter().any(|f| f == flag),
            Self::OntStatus(ids) => context.ont_status.is_some_and(|s| ids.contains(&s)),
            Self::All(all) => all.iter().all(|c| c.holds(context, answers)),
            Self::Any(any) => any.iter().any(|c| c.holds(context, answers)),
            Self::Not(inner) => !inner.holds(context, answers),
        }
    }

    /// Every question whose answer the condition reads.
    pub fn questions_read(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_questions(&mut out);
        out
    }

    fn collect_questions<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Self::Answer { question, .. } => out.push(question),
            Self::All(list) | Self::Any(list) => {
                list.iter().for_each(|c| c.collect_questions(out));
            }
            Self::Not(inner) => inner.collect_questions(out),
            Self::ClosureCode(_) | Self::SecondaryCode(_) | Self::Flag(_) | Self::OntStatus(_) => {}
        }
    }
}

fn test_answer(test: &AnswerTest, multiple: bool, answer: &str) -> bool {
    let chosen = |value: &str| {
        if multiple {
            split_choices(answer).any(|c| c == value)
        } else {
            answer == value
        }
    };
    match test {
        AnswerTest::Answered => true,
        AnswerTest::Equals(value) => chosen(value),
        AnswerTest::AnyOf(values) => values.iter().any(|v| chosen(v)),
        AnswerTest::Range { min, max } => answer.parse::<f64>().is_ok_and(|v| {
            v.is_finite() && min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m)
        }),
    }
}

/// In words, for a gap a screen shows ("because the answer to 1100 is \"No\"").
impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |codes: &[String]| match codes {
            [one] => one.clone(),
            many => format!("one of {}", many.join(", ")),
        };
        match self {
            Self::Answer { question, test, .. } => match test {
                AnswerTest::Answered => write!(f, "question {question} is answered"),
                AnswerTest::Equals(v) => write!(f, "the answer to {question} is {v:?}"),
                AnswerTest::AnyOf(vs) => {
                    let quoted: Vec<String> = vs.iter().map(|v| format!("{v:?}")).collect();
                    write!(
                        f,
                        "the answer to {question} is one of {}",
                        quoted.join(", ")
                    )
                }
                AnswerTest::Range { min, max } => match (min, max) {
                    (Some(lo), Some(hi)) => {
                        write!(f, "the answer to {question} is between {lo} and {hi}")
                    }
                    (Some(lo), None) => write!(f, "the answer to {question} is at least {lo}"),
                    (None, Some(hi)) => write!(f, "the answer to {question} is at most {hi}"),
                    (None, None) => write!(f, "the answer to {question} is a number"),
                },
            },
            Self::ClosureCode(codes) => write!(f, "the closure code is {}", list(codes)),
            Self::SecondaryCode(codes) => write!(f, "the secondary code is {}", list(codes)),
            Self::Flag(flag) => write!(f, "the job is flagged {flag}"),
            Self::OntStatus(ids) => {
                let ids: Vec<String> = ids.iter().map(u8::to_string).collect();
                write!(f, "the ONT provisioning status is {}", list(&ids))
            }
            Self::All(all) => join(f, all, " and "),
            Self::Any(any) => join(f, any, " or "),
            Self::Not(inner) => match inner.as_ref() {
                Self::All(_) | Self::Any(_) => write!(f, "not ({inner})"),
                _ => write!(f, "not: {inner}"),
            },
        }
    }
}

fn join(f: &mut std::fmt::Formatter<'_>, parts: &[Condition], with: &str) -> std::fmt::Result {
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            f.write_str(with)?;
        }
        match part {
            Condition::All(_) | Condition::Any(_) => write!(f, "({part})")?,
            _ => write!(f, "{part}")?,
        }
    }
    Ok(())
}
