//! Walking a flow: the path through it that the answers so far select, and the next
//! question.
//!
//! An unanswered question that need not be answered now (optional, or required only under a
//! condition that does not hold) does not stop the walk: it is listed as optional and the
//! walk goes on as if its answer were not given, so the engineer can skip it and the
//! checklist never reports it. Answering it later puts it on the answered path like any
//! other answer (and its branches apply from then on).
//!
//! The path is never stored. It is recomputed from the flow, the context and the recorded
//! answers each time it is needed, so when an engineer changes an earlier answer the path
//! follows at once, and answers to questions that are no longer on it simply stop being
//! part of the payload (their history is kept by whoever stores the answers). The loader
//! has proved every flow acyclic, so a walk visits each step at most once; the step budget
//! below only makes that visible to a reader.

pub use super::context::{Answers, FlowContext, RecordedAnswer};
use super::matrix::{Flow, Matrix, Question, Target};

/// Where the walk through a flow stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Walk<'m> {
    /// The flow used; `None` when the matrix has none for the context (nothing to ask).
    pub flow: Option<&'m Flow>,
    /// The answered questions on the current path, in path order.
    pub answered: Vec<&'m Question>,
    /// Unanswered questions on the path that need no answer now (optional, or required only
    /// under a condition that does not hold), in path order. The walk passes over them as
    /// if they were answered with nothing: a branch on their answer does not hold.
    pub optional: Vec<&'m Question>,
    /// The first unanswered question on the path that must be answered; `None` when the
    /// path is complete.
    pub next: Option<&'m Question>,
    /// True when `next` is not the flow's last possible question.
    pub more_may_follow: bool,
}

impl Walk<'_> {
    pub fn is_complete(&self) -> bool {
        self.next.is_none()
    }
}

impl Matrix {
    /// The current path through the context's flow and its next unanswered question.
    pub fn walk<'m>(&'m self, context: &FlowContext, answers: &Answers) -> Walk<'m> {
        let flow = self.flow_for(
            context.journey,
            context.closure_code.as_deref(),
            context.secondary_code.as_deref(),
        );
        let mut walk = Walk {
            flow,
            answered: Vec::new(),
            optional: Vec::new(),
            next: None,
            more_may_follow: false,
        };
        let Some(flow) = flow else {
            return walk;
        };
        let holds = |c: &super::condition::Condition| c.holds(context, answers);
        let mut at = Target::Step(0);
        let mut budget = flow.steps.len();
        while let Target::Step(index) = at {
            let Some(step) = flow.steps.get(index).filter(|_| budget > 0) else {
                break;
            };
            budget -= 1;
            let asked = step.ask_when.as_ref().is_none_or(holds);
            if asked {
                let Some(question) = self.question(&step.question) else {
                    break;
                };
                if answers.latest(&step.question).is_some() {
                    walk.answered.push(question);
                } else if question.is_required(context, answers) {
                    walk.next = Some(question);
                    walk.more_may_follow = step.targets().any(|t| t != Target::End);
                    return walk;
                } else {
                    walk.optional.push(question);
                }
            }
            at = step.next(holds);
        }
        walk
    }

    /// The next question to ask, if any.
    pub fn next_question(&self, context: &FlowContext, answers: &Answers) -> Option<&Question> {
        self.walk(context, answers).next
    }
}
