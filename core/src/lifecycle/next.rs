//! What the engineer can do next on a job: the job screen's buttons and the closure code
//! picker.
//!
//! A shell must not work this out from the state (it would copy the lifecycle's rules and
//! drift from them), so the answer comes from the rules themselves: each candidate action is
//! put to [`Job::check`] with stand-in inputs that pass the field rules, and offered when the
//! lifecycle accepts it. A button shown is therefore an action `apply` accepts with real input
//! (the tests hold the two together state by state). Closing is offered when at least one
//! closure code of the catalogue is usable now; [`Job::closure_choices`] lists those codes,
//! with the secondary codes each needs, for the picker.

use serde::Serialize;

use super::{Action, Job};
use crate::codes::{Attendance, Catalogue};
use crate::protocol::{
    EngineerDetails, Location, OntDevice, QuestionAnswer, Source, StrictTimestamp, Timestamp,
};

/// An action the engineer can take now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NextAction {
    Accept,
    StartTravel,
    Arrive,
    /// Scan the ONT (again, after provisioning statuses 5, 6 and 7).
    ScanOnt,
    /// Answer the question-based closure's questions (the visit's, sent with notifyJob).
    AnswerQuestions,
    /// Close with one of [`Job::closure_choices`].
    Close,
}

/// A closure code usable for the job now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosureChoice {
    pub code: String,
    pub description: String,
    pub attendance: Attendance,
    /// The secondary codes to pick from; empty when the code takes none.
    pub secondary_codes: Vec<String>,
    /// The code must come with one of `secondary_codes` (CON, POP).
    pub secondary_required: bool,
}

impl Job {
    /// The actions the lifecycle accepts now, in the order of a visit. `engineer` is the one
    /// who would accept (an unusable one is never offered Accept, as accepting would fail).
    pub fn next_actions(
        &self,
        engineer: &EngineerDetails,
        catalogue: &Catalogue,
    ) -> Vec<NextAction> {
        let mut actions = Vec::new();
        let mut offer = |next: NextAction, action: Option<Action>| {
            if action.is_some_and(|a| self.check(&a, catalogue).is_ok()) {
                actions.push(next);
            }
        };
        let place = Location::new(0.0, 0.0, 1.0).ok();
        offer(
            NextAction::Accept,
            Some(Action::Accept {
                engineer: engineer.clone(),
            }),
        );
        offer(
            NextAction::StartTravel,
            place.map(|location| Action::StartTravel { location }),
        );
        offer(
            NextAction::Arrive,
            place.map(|location| Action::Arrive { location }),
        );
        offer(
            NextAction::ScanOnt,
            OntDevice::new("ALCLB443689D", "YP2244017834")
                .ok()
                .map(|ont| Action::ScanOnt { ont }),
        );
        offer(
            NextAction::AnswerQuestions,
            Some(Action::Answer {
                answers: vec![QuestionAnswer {
                    question: "stand-in".into(),
                    question_code: "0".into(),
                    answer: "stand-in".into(),
                    response_received: StrictTimestamp(Timestamp::now()),
                    source: Source::NotifyJob,
                    files: vec![],
                }],
            }),
        );
        if !self.closure_choices(catalogue).is_empty() {
            actions.push(NextAction::Close);
        }
        actions
    }

    /// The catalogue's closure codes that the lifecycle accepts for the job now (attendance
    /// against the state, a provisioned ONT where the code needs one), in code order.
    pub fn closure_choices(&self, catalogue: &Catalogue) -> Vec<ClosureChoice> {
        catalogue
            .closure_codes()
            .filter_map(|code| {
                let secondary_codes: Vec<String> = catalogue
                    .secondary_codes_of(&code.code)
                    .map(|s| s.code.clone())
                    .collect();
                let close = Action::Close {
                    closure_code: code.code.clone(),
                    secondary_code: secondary_codes.first().cloned(),
                    description: String::new(),
                    answers: vec![],
                };
                self.check(&close, catalogue).ok()?;
                Some(ClosureChoice {
                    code: code.code.clone(),
                    description: code.description.clone(),
                    attendance: code.attendance,
                    secondary_required: code.secondary_required,
                    secondary_codes,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{InboundMessage, JobRef, ProviderJobId, parse_inbound};

    use NextAction::*;

    const ALL: [NextAction; 6] = [Accept, StartTravel, Arrive, ScanOnt, AnswerQuestions, Close];

    fn job() -> Job {
        let json = br#"{"id": 2, "sent": "2022-03-18T17:39:21+0000", "method": "createJob", "ref": "S114677",
            "content": {"serviceOrder": {"serviceOrderId": "SO-1"},
                        "appointment": {"date": "2026-12-01", "slot": "AM"},
                        "customer": {"name": "A Customer"},
                        "address": {"line1": "1 High Street", "town": "Leeds", "postcode": "LS1 1AA"}},
            "response": {}}"#;
        let InboundMessage::CreateJob(pack) = parse_inbound(json).unwrap().message else {
            panic!("not a createJob");
        };
        Job::received(
            JobRef::new("S114677").unwrap(),
            ProviderJobId::new("JP-1").unwrap(),
            *pack,
        )
    }

    fn engineer() -> EngineerDetails {
        EngineerDetails {
            engineer_id: "E42".into(),
            name: "Sam Splicer".into(),
            phone: "+447700900123".into(),
            company: None,
        }
    }

    fn at() -> Timestamp {
        Timestamp::parse_lenient("2026-12-01T10:00:00+01:00").unwrap()
    }

    /// The action behind a button, with the input a real screen would give (Close: SP, or
    /// the first code the picker offers when SP is not usable).
    fn real(next: NextAction, job: &Job, catalogue: &Catalogue) -> Action {
        let here = Location::new(53.8, -1.55, 8.0).unwrap();
        match next {
            Accept => Action::Accept {
                engineer: engineer(),
            },
            StartTravel => Action::StartTravel { location: here },
            Arrive => Action::Arrive { location: here },
            ScanOnt => Action::ScanOnt {
                ont: OntDevice::new("CXNK00A1B2C3", "YP9988776655").unwrap(),
            },
            AnswerQuestions => Action::Answer {
                answers: vec![QuestionAnswer {
                    question: "Did Sponge Pass?".into(),
                    question_code: "1100".into(),
                    answer: "Yes".into(),
                    response_received: StrictTimestamp(at()),
                    source: Source::NotifyJob,
                    files: vec![],
                }],
            },
            Close => {
                let choice = job.closure_choices(catalogue).into_iter().next();
                Action::Close {
                    closure_code: choice.as_ref().map_or("SP".into(), |c| c.code.clone()),
                    secondary_code: choice.and_then(|c| c.secondary_codes.first().cloned()),
                    description: String::new(),
                    answers: vec![],
                }
            }
        }
    }

    /// Offered exactly when `apply` with real input succeeds; every picker entry closes.
    fn assert_offers(job: &Job, expected: &[NextAction]) {
        let catalogue = Catalogue::embedded();
        let offered = job.next_actions(&engineer(), &catalogue);
        assert_eq!(offered, expected, "in state {}", job.state);
        for next in ALL {
            let applied = job
                .clone()
                .apply(real(next, job, &catalogue), at(), &catalogue);
            assert_eq!(
                applied.is_ok(),
                offered.contains(&next),
                "{next:?} in state {}: {applied:?}",
                job.state
            );
        }
        for choice in job.closure_choices(&catalogue) {
            let close = Action::Close {
                closure_code: choice.code.clone(),
                secondary_code: choice.secondary_codes.first().cloned(),
                description: String::new(),
                answers: vec![],
            };
            assert!(
                job.clone().apply(close, at(), &catalogue).is_ok(),
                "{choice:?}"
            );
        }
    }

    /// Takes the action behind a button, with real input.
    fn step(job: &mut Job, next: NextAction) {
        let action = real(next, job, &Catalogue::embedded());
        inbound(job, action);
    }

    fn inbound(job: &mut Job, action: Action) {
        job.apply(action, at(), &Catalogue::embedded()).unwrap();
    }

    #[test]
    fn a_visit_offers_each_step_in_turn() {
        let mut job = job();
        assert_offers(&job, &[Accept]);
        step(&mut job, Accept);
        assert_offers(&job, &[StartTravel, Close]);
        step(&mut job, StartTravel);
        assert_offers(&job, &[Arrive, Close]);
        step(&mut job, Arrive);
        assert_offers(&job, &[ScanOnt, AnswerQuestions, Close]);
        step(&mut job, ScanOnt);
        assert_offers(&job, &[AnswerQuestions, Close]);
        // Status 5 (wrong FSAN/serial format) allows a rescan; 4 (retrying) does not.
        inbound(&mut job, Action::ProvisioningResult { status: 5 });
        assert_offers(&job, &[ScanOnt, AnswerQuestions, Close]);
        step(&mut job, ScanOnt);
        inbound(&mut job, Action::ProvisioningResult { status: 4 });
        assert_offers(&job, &[AnswerQuestions, Close]);
        inbound(&mut job, Action::ProvisioningResult { status: 1 });
        assert_offers(&job, &[AnswerQuestions, Close]);
        step(&mut job, Close);
        assert_eq!(job.state, super::super::JobState::Closed);
        assert_offers(&job, &[]);
    }

    #[test]
    fn the_picker_offers_the_codes_the_state_allows() {
        let catalogue = Catalogue::embedded();
        let codes = |job: &Job| -> Vec<String> {
            job.closure_choices(&catalogue)
                .into_iter()
                .map(|c| c.code)
                .collect()
        };
        let mut job = job();
        assert!(
            codes(&job).is_empty(),
            "nothing closes a job nobody accepted"
        );
        step(&mut job, Accept);
        let assigned = codes(&job);
        assert!(assigned.contains(&"MBORC".to_owned()), "{assigned:?}");
        assert!(!assigned.contains(&"SP".to_owned()), "{assigned:?}");
        step(&mut job, StartTravel);
        step(&mut job, Arrive);
        let on_site = job.closure_choices(&catalogue);
        assert!(on_site.iter().all(|c| c.code != "SP" && c.code != "MBORC"));
        let con = on_site
            .iter()
            .find(|c| c.code == "CON")
            .expect("CON on site");
        assert!(
            con.secondary_required && !con.secondary_codes.is_empty(),
            "{con:?}"
        );
        step(&mut job, ScanOnt);
        inbound(&mut job, Action::ProvisioningResult { status: 1 });
        let provisioned = codes(&job);
        assert!(provisioned.contains(&"SP".to_owned()), "{provisioned:?}");
    }

    #[test]
    fn a_cancelled_job_offers_nothing() {
        let catalogue = Catalogue::embedded();
        let mut job = job();
        step(&mut job, Accept);
        inbound(
            &mut job,
            Action::Cancel {
                reason: "customer cancelled".into(),
            },
        );
        assert_offers(&job, &[]);
        assert!(job.closure_choices(&catalogue).is_empty());
    }

    #[test]
    fn an_unusable_engineer_is_not_offered_accept() {
        let catalogue = Catalogue::embedded();
        let nobody = EngineerDetails {
            phone: String::new(),
            ..engineer()
        };
        let offered = job().next_actions(&nobody, &catalogue);
        let refused = job().apply(Action::Accept { engineer: nobody }, at(), &catalogue);
        assert!(
            offered.is_empty() && refused.is_err(),
            "{offered:?} {refused:?}"
        );
    }
}
