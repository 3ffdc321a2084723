//! The checks that need a whole flow or the whole matrix, run after reading: steps that cannot
//! be reached, cycles, rules never tried, conditions that can never hold or that read answers
//! not yet given, and flows that claim the same case. The graphs are small (a flow has tens of
//! steps), so plain searches per step are used.

use std::collections::BTreeSet;

use super::problems::ProblemKind;
use super::{AnswerTest, Condition, Flow, Journey, Loader, QuestionCondition, ReadFlow, Target};

impl Loader<'_> {
    pub(super) fn check_flows(&mut self, flows: &[ReadFlow]) {
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
    pub(super) fn check_question_conditions(
        &mut self,
        flows: &[ReadFlow],
        held: &[QuestionCondition],
    ) {
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
