//! What a flow is walked with, below every other part of `closure`: the point of the journey,
//! the job's context (codes, property flags, ONT status) and the answers given so far. The
//! matrix, its conditions and the walk all read these; none of them is needed to build them.

use crate::protocol::{Source, Timestamp};

/// The point of the journey a question is asked at, which decides the answer's `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Journey {
    /// During the visit: answers go with `notifyJob`.
    Visit,
    /// At closure: answers go with `closeJob`.
    Closure,
}

impl Journey {
    /// The name in the matrix format and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Visit => "visit",
            Self::Closure => "closure",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "visit" => Some(Self::Visit),
            "closure" => Some(Self::Closure),
            _ => None,
        }
    }

    /// The `source` written on answers given at this point.
    pub fn source(self) -> Source {
        match self {
            Self::Visit => Source::NotifyJob,
            Self::Closure => Source::CloseJob,
        }
    }
}

/// What the flow's conditions may depend on besides the answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowContext {
    pub journey: Journey,
    /// Unknown during much of the visit; known at closure.
    pub closure_code: Option<String>,
    pub secondary_code: Option<String>,
    /// The job's property flag codes (DAN, CHP, SUR, DTL, MDU, WSD, ...).
    pub property_flags: Vec<String>,
    /// The latest ONT provisioning status CityFibre sent (1-7), if any.
    pub ont_status: Option<u8>,
}

impl FlowContext {
    /// A context with no codes, flags or ONT status.
    pub fn new(journey: Journey) -> Self {
        Self {
            journey,
            closure_code: None,
            secondary_code: None,
            property_flags: Vec::new(),
            ont_status: None,
        }
    }

    /// A closure context for these codes.
    pub fn closure(code: &str, secondary: Option<&str>) -> Self {
        Self {
            closure_code: Some(code.to_owned()),
            secondary_code: secondary.map(str::to_owned),
            ..Self::new(Journey::Closure)
        }
    }
}

/// One answer as the engineer gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAnswer {
    pub question_code: String,
    /// The canonical answer ([`Matrix::validate_answer`]'s output).
    pub answer: String,
    /// When the engineer answered; sent as `response_received`.
    pub answered_at: Timestamp,
}

/// The answers of a job in the order they were given; for a question answered more than
/// once, the latest counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    entries: Vec<RecordedAnswer>,
}

impl Answers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an answer; an earlier answer to the same question stops counting.
    pub fn record(&mut self, question_code: &str, answer: String, answered_at: Timestamp) {
        self.entries.push(RecordedAnswer {
            question_code: question_code.to_owned(),
            answer,
            answered_at,
        });
    }

    /// The answer that counts for a question.
    pub fn latest(&self, question_code: &str) -> Option<&RecordedAnswer> {
        self.entries
            .iter()
            .rev()
            .find(|a| a.question_code == question_code)
    }

    /// Every answer ever given, oldest first.
    pub fn history(&self) -> &[RecordedAnswer] {
        &self.entries
    }
}

impl FromIterator<RecordedAnswer> for Answers {
    fn from_iter<I: IntoIterator<Item = RecordedAnswer>>(iter: I) -> Self {
        Self {
            entries: iter.into_iter().collect(),
        }
    }
}
