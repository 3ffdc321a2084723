use super::*;
use crate::protocol::{InboundMessage, Source, StrictTimestamp, parse_inbound};

fn catalogue() -> Catalogue {
    Catalogue::embedded()
}

fn pack(flags: &[&str]) -> JobPack {
    let flags: Vec<String> = flags.iter().map(|f| format!("{f:?}")).collect();
    let json = format!(
        r#"{{"id": 2, "sent": "2022-03-18T17:39:21+0000", "method": "createJob", "ref": "S114677",
            "content": {{"serviceOrder": {{"serviceOrderId": "SO-1"}},
                         "appointment": {{"date": "2026-12-01", "slot": "AM"}},
                         "customer": {{"name": "A Customer"}},
                         "address": {{"line1": "1 High Street", "town": "Leeds", "postcode": "LS1 1AA"}},
                         "propertyFlags": [{}]}},
            "response": {{}}}}"#,
        flags.join(",")
    );
    match parse_inbound(json.as_bytes()).unwrap().message {
        InboundMessage::CreateJob(p) => *p,
        other => panic!("{other:?}"),
    }
}

fn job(flags: &[&str]) -> Job {
    Job::received(
        JobRef::new("S114677").unwrap(),
        ProviderJobId::new("JP-1").unwrap(),
        pack(flags),
    )
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse_lenient(text).unwrap()
}

fn engineer() -> EngineerDetails {
    EngineerDetails {
        engineer_id: "E42".into(),
        name: "Sam Splicer".into(),
        phone: "+447700900123".into(),
        company: None,
    }
}

fn here() -> Location {
    Location::new(53.8, -1.55, 8.0).unwrap()
}

fn ont() -> OntDevice {
    OntDevice::new("ALCLB443689D", "YP2345678901").unwrap()
}

fn close(code: &str, secondary: Option<&str>) -> Action {
    Action::Close {
        closure_code: code.into(),
        secondary_code: secondary.map(str::to_owned),
        description: String::new(),
        answers: vec![],
    }
}

/// Drives a job to `target` through the happy path.
fn job_at(target: JobState) -> Job {
    let c = catalogue();
    let mut j = job(&[]);
    let steps = [
        (
            JobState::Assigned,
            Action::Accept {
                engineer: engineer(),
            },
        ),
        (JobState::EnRoute, Action::StartTravel { location: here() }),
        (JobState::OnSite, Action::Arrive { location: here() }),
        (JobState::OntScanned, Action::ScanOnt { ont: ont() }),
    ];
    for (state, action) in steps {
        if j.state == target {
            return j;
        }
        j.apply(action, at("2026-12-01T09:00:00Z"), &c).unwrap();
        assert_eq!(j.state, state);
    }
    if j.state != target {
        let status = match target {
            JobState::Provisioned { status }
            | JobState::ProvisioningFailed { status }
            | JobState::ProvisioningRetrying { status } => status,
            other => panic!("no path to {other}"),
        };
        j.apply(
            Action::ProvisioningResult { status },
            at("2026-12-01T09:30:00Z"),
            &c,
        )
        .unwrap();
    }
    assert_eq!(j.state, target);
    j
}

#[test]
fn the_happy_path_emits_one_message_per_step_with_the_action_time() {
    let c = catalogue();
    let mut j = job(&[]);
    let mut types = Vec::new();
    let actions = [
        Action::Accept {
            engineer: engineer(),
        },
        Action::StartTravel { location: here() },
        Action::Arrive { location: here() },
        Action::ScanOnt { ont: ont() },
        Action::ProvisioningResult { status: 1 },
        Action::Answer {
            answers: vec![QuestionAnswer {
                question: "Did Sponge Pass?".into(),
                question_code: "1100".into(),
                answer: "Yes".into(),
                response_received: StrictTimestamp(at("2026-12-01T10:00:00+01:00")),
                source: Source::NotifyJob,
                files: vec![],
            }],
        },
        close("SP", None),
    ];
    for (i, action) in actions.into_iter().enumerate() {
        let when = at(&format!("2026-12-01T09:{:02}:00+01:00", i * 5));
        let outcome = j.apply(action, when, &c).unwrap();
        match outcome.message {
            Some(OutboundCall::NotifyJob(n)) => {
                assert_eq!(n.event_time, when, "the action time, not the send time");
                types.push(n.event.notification_type());
            }
            Some(OutboundCall::CloseJob(cj)) => {
                assert_eq!(cj.closed_at.0, when);
                assert_eq!(cj.description, "Service Provided");
                types.push("closeJob");
            }
            None => types.push("-"),
        }
    }
    assert_eq!(
        types,
        [
            "engineerAssigned",
            "enRoute",
            "onSite",
            "ontScanned",
            "-",
            "questionsAnswered",
            "closeJob"
        ]
    );
    assert_eq!(j.state, JobState::Closed);
    assert_eq!(j.closure.as_ref().unwrap().code, "SP");
}

#[test]
fn illegal_actions_name_the_state_and_the_action_and_change_nothing() {
    let c = catalogue();
    let mut j = job(&[]);
    let before = j.clone();
    let err = j
        .apply(
            Action::Arrive { location: here() },
            at("2026-12-01T09:00:00Z"),
            &c,
        )
        .unwrap_err();
    assert_eq!(
        err,
        LifecycleError::IllegalAction {
            state: JobState::Received,
            action: "on site"
        }
    );
    assert_eq!(err.to_string(), "cannot on site a job that is received");
    assert_eq!(j, before);

    let mut j = job_at(JobState::EnRoute);
    assert!(matches!(
        j.apply(
            Action::ScanOnt { ont: ont() },
            at("2026-12-01T09:00:00Z"),
            &c
        ),
        Err(LifecycleError::IllegalAction {
            state: JobState::EnRoute,
            action: "scan ONT"
        })
    ));
    assert!(matches!(
        j.apply(
            Action::Accept {
                engineer: engineer()
            },
            at("2026-12-01T09:00:00Z"),
            &c
        ),
        Err(LifecycleError::IllegalAction {
            state: JobState::EnRoute,
            action: "accept"
        })
    ));
}

#[test]
fn provisioning_statuses_move_the_job() {
    let c = catalogue();
    for (status, expected) in [
        (1, JobState::Provisioned { status: 1 }),
        (2, JobState::Provisioned { status: 2 }),
        (3, JobState::ProvisioningFailed { status: 3 }),
        (4, JobState::ProvisioningRetrying { status: 4 }),
        (5, JobState::ProvisioningFailed { status: 5 }),
        (6, JobState::ProvisioningFailed { status: 6 }),
        (7, JobState::ProvisioningFailed { status: 7 }),
    ] {
        let mut j = job_at(JobState::OntScanned);
        let outcome = j
            .apply(
                Action::ProvisioningResult { status },
                at("2026-12-01T09:00:00Z"),
                &c,
            )
            .unwrap();
        assert_eq!(outcome.state, expected);
        assert!(outcome.message.is_none(), "inbound events emit nothing");
    }
    // Retrying then success.
    let mut j = job_at(JobState::ProvisioningRetrying { status: 4 });
    j.apply(
        Action::ProvisioningResult { status: 1 },
        at("2026-12-01T09:05:00Z"),
        &c,
    )
    .unwrap();
    assert_eq!(j.state, JobState::Provisioned { status: 1 });
    // A status before any scan is refused, an unknown one too.
    let mut j = job_at(JobState::OnSite);
    assert!(
        j.apply(
            Action::ProvisioningResult { status: 1 },
            at("2026-12-01T09:00:00Z"),
            &c
        )
        .is_err()
    );
    let mut j = job_at(JobState::OntScanned);
    assert_eq!(
        j.apply(
            Action::ProvisioningResult { status: 9 },
            at("2026-12-01T09:00:00Z"),
            &c
        ),
        Err(LifecycleError::Code(CodeError::UnknownProvisioningStatus {
            id: 9
        }))
    );
}

#[test]
fn rescan_is_allowed_only_after_statuses_5_6_and_7() {
    let c = catalogue();
    for status in 1..=7u8 {
        let target = match status {
            1 | 2 => JobState::Provisioned { status },
            4 => JobState::ProvisioningRetrying { status },
            _ => JobState::ProvisioningFailed { status },
        };
        let mut j = job_at(target);
        let result = j.apply(
            Action::ScanOnt { ont: ont() },
            at("2026-12-01T09:40:00Z"),
            &c,
        );
        if (5..=7).contains(&status) {
            assert_eq!(
                result.unwrap().state,
                JobState::OntScanned,
                "status {status}"
            );
        } else {
            assert_eq!(
                result.unwrap_err(),
                LifecycleError::RescanNotAllowed { state: target },
                "status {status}"
            );
        }
    }
    let mut j = job_at(JobState::OntScanned);
    assert!(matches!(
        j.apply(
            Action::ScanOnt { ont: ont() },
            at("2026-12-01T09:40:00Z"),
            &c
        ),
        Err(LifecycleError::RescanNotAllowed { .. })
    ));
}

#[test]
fn sp_needs_a_provisioned_ont() {
    let c = catalogue();
    for state in [
        JobState::OnSite,
        JobState::OntScanned,
        JobState::ProvisioningRetrying { status: 4 },
        JobState::ProvisioningFailed { status: 3 },
    ] {
        let mut j = job_at(state);
        assert_eq!(
            j.apply(close("SP", None), at("2026-12-01T10:00:00Z"), &c),
            Err(LifecycleError::OntNotProvisioned {
                code: "SP".into(),
                state
            })
        );
    }
    let mut j = job_at(JobState::Provisioned { status: 2 });
    assert!(
        j.apply(close("SP", None), at("2026-12-01T10:00:00Z"), &c)
            .is_ok()
    );
}

#[test]
fn no_access_and_cant_attend_codes_close_without_an_ont() {
    let c = catalogue();
    for code in ["RNA", "NA", "NAPUV"] {
        for state in [JobState::EnRoute, JobState::OnSite] {
            let mut j = job_at(state);
            let outcome = j
                .apply(close(code, None), at("2026-12-01T10:00:00Z"), &c)
                .unwrap();
            assert_eq!(outcome.state, JobState::Closed, "{code} from {state}");
        }
        let mut j = job_at(JobState::Assigned);
        assert!(matches!(
            j.apply(close(code, None), at("2026-12-01T10:00:00Z"), &c),
            Err(LifecycleError::ClosureNotAllowedNow { .. })
        ));
    }
    for code in ["MBORC", "FTA", "NTR"] {
        for state in [JobState::Assigned, JobState::EnRoute] {
            let mut j = job_at(state);
            assert!(
                j.apply(close(code, None), at("2026-12-01T10:00:00Z"), &c)
                    .is_ok()
            );
        }
        let mut j = job_at(JobState::OnSite);
        assert_eq!(
            j.apply(close(code, None), at("2026-12-01T10:00:00Z"), &c),
            Err(LifecycleError::ClosureNotAllowedNow {
                code: code.into(),
                attendance: Attendance::NotAttended,
                state: JobState::OnSite
            })
        );
    }
    // A fault found on site closes without a provisioned ONT, with its secondary code.
    let mut j = job_at(JobState::OnSite);
    let outcome = j
        .apply(close("CON", Some("CON06")), at("2026-12-01T10:00:00Z"), &c)
        .unwrap();
    match outcome.message {
        Some(OutboundCall::CloseJob(cj)) => {
            assert_eq!(cj.secondary_closure_code.as_deref(), Some("CON06"));
            assert_eq!(
                cj.description,
                "Fault at Node (or between Toby and Node) - Line of Sight issue"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn closure_code_errors_come_through_typed() {
    let c = catalogue();
    let mut j = job_at(JobState::OnSite);
    assert!(matches!(
        j.apply(close("CON", None), at("2026-12-01T10:00:00Z"), &c),
        Err(LifecycleError::Code(CodeError::MissingSecondaryCode { .. }))
    ));
    assert!(matches!(
        j.apply(close("XYZ", None), at("2026-12-01T10:00:00Z"), &c),
        Err(LifecycleError::Code(CodeError::UnknownClosureCode { .. }))
    ));
    assert_eq!(j.state, JobState::OnSite);
}

#[test]
fn cancelled_from_any_open_state_and_then_everything_is_refused() {
    let c = catalogue();
    for state in [
        JobState::Received,
        JobState::Assigned,
        JobState::EnRoute,
        JobState::OnSite,
        JobState::OntScanned,
        JobState::Provisioned { status: 1 },
    ] {
        let mut j = job_at(state);
        j.apply(
            Action::Cancel {
                reason: "customer cancelled order".into(),
            },
            at("2026-12-01T10:00:00Z"),
            &c,
        )
        .unwrap();
        assert_eq!(j.state, JobState::Cancelled);
        let err = j
            .apply(
                Action::Answer { answers: vec![] },
                at("2026-12-01T10:01:00Z"),
                &c,
            )
            .unwrap_err();
        assert!(matches!(err, LifecycleError::Cancelled { .. }));
        assert!(
            err.to_string().contains("customer cancelled order"),
            "{err}"
        );
    }
    let mut closed = job_at(JobState::Provisioned { status: 1 });
    closed
        .apply(close("SP", None), at("2026-12-01T10:00:00Z"), &c)
        .unwrap();
    assert_eq!(
        closed.apply(
            Action::Cancel {
                reason: "late".into()
            },
            at("2026-12-01T10:00:00Z"),
            &c
        ),
        Err(LifecycleError::IllegalAction {
            state: JobState::Closed,
            action: "cancel"
        })
    );
}

#[test]
fn property_flags_warn_when_they_matter() {
    let c = catalogue();
    let mut j = job(&["DAN", "CHP", "MDU", "XYZ"]);
    let codes = |w: &[Warning]| -> Vec<String> {
        w.iter()
            .map(|w| match w {
                Warning::PropertyFlag { code, .. } | Warning::UnknownPropertyFlag { code } => {
                    code.clone()
                }
                Warning::ClockSetBack { .. } => "clock".to_owned(),
            })
            .collect()
    };
    assert_eq!(codes(&j.warnings(&c)), ["DAN", "CHP", "MDU", "XYZ"]);
    let accepted = j
        .apply(
            Action::Accept {
                engineer: engineer(),
            },
            at("2026-12-01T08:00:00Z"),
            &c,
        )
        .unwrap();
    assert_eq!(codes(&accepted.warnings), ["DAN", "XYZ"]);
    let travel = j
        .apply(
            Action::StartTravel { location: here() },
            at("2026-12-01T08:10:00Z"),
            &c,
        )
        .unwrap();
    assert_eq!(
        codes(&travel.warnings),
        ["DAN", "XYZ"],
        "DAN at the moment of setting off"
    );
    assert_eq!(
        codes(&j.warnings(&c)),
        ["CHP", "MDU", "XYZ"],
        "DAN no longer stands once travelling"
    );
    let arrive = j
        .apply(
            Action::Arrive { location: here() },
            at("2026-12-01T08:40:00Z"),
            &c,
        )
        .unwrap();
    assert_eq!(codes(&arrive.warnings), ["CHP", "MDU", "XYZ"]);
}

#[test]
fn check_does_not_change_the_job() {
    let c = catalogue();
    let j = job_at(JobState::OnSite);
    assert_eq!(
        j.check(&Action::ScanOnt { ont: ont() }, &c),
        Ok(JobState::OntScanned)
    );
    assert_eq!(j.state, JobState::OnSite);
    assert!(j.ont.is_none());
}

/// Every state the offers are checked in (including the final ones).
fn every_state() -> Vec<Job> {
    let c = catalogue();
    let mut states: Vec<Job> = [
        JobState::Received,
        JobState::Assigned,
        JobState::EnRoute,
        JobState::OnSite,
        JobState::OntScanned,
        JobState::Provisioned { status: 1 },
        JobState::ProvisioningRetrying { status: 4 },
        JobState::ProvisioningFailed { status: 3 },
        JobState::ProvisioningFailed { status: 5 },
    ]
    .into_iter()
    .map(job_at)
    .collect();
    let mut closed = job_at(JobState::Provisioned { status: 1 });
    closed
        .apply(close("SP", None), at("2026-12-01T11:00:00Z"), &c)
        .unwrap();
    let mut cancelled = job_at(JobState::Assigned);
    cancelled
        .apply(
            Action::Cancel {
                reason: "customer cancelled".into(),
            },
            at("2026-12-01T08:00:00Z"),
            &c,
        )
        .unwrap();
    states.extend([closed, cancelled]);
    states
}

/// A close with `code` that satisfies the secondary rule (its first secondary code).
fn close_with_secondary(c: &Catalogue, code: &str) -> Action {
    let secondary = c.secondary_codes_of(code).next().map(|s| s.code.clone());
    let required = c.closure_code(code).is_some_and(|cc| cc.secondary_required);
    close(code, if required { secondary.as_deref() } else { None })
}

#[test]
fn offered_actions_are_exactly_the_ones_check_accepts() {
    let c = catalogue();
    let answers = vec![QuestionAnswer {
        question: "Did Sponge Pass?".into(),
        question_code: "1100".into(),
        answer: "Yes".into(),
        response_received: StrictTimestamp(at("2026-12-01T10:00:00+01:00")),
        source: Source::NotifyJob,
        files: vec![],
    }];
    for j in every_state() {
        let offered = j.next_actions(&c);
        let probes = [
            (
                NextAction::Accept,
                vec![Action::Accept {
                    engineer: engineer(),
                }],
            ),
            (
                NextAction::StartTravel,
                vec![Action::StartTravel { location: here() }],
            ),
            (
                NextAction::Arrive,
                vec![Action::Arrive { location: here() }],
            ),
            (NextAction::ScanOnt, vec![Action::ScanOnt { ont: ont() }]),
            (
                NextAction::AnswerVisit,
                vec![Action::Answer {
                    answers: answers.clone(),
                }],
            ),
            (
                NextAction::Close,
                c.closure_codes()
                    .map(|code| close_with_secondary(&c, &code.code))
                    .collect(),
            ),
        ];
        for (action, attempts) in probes {
            let accepted = attempts.iter().any(|a| j.check(a, &c).is_ok());
            assert_eq!(
                offered.contains(&action),
                accepted,
                "{action:?} in state {}: offered {offered:?}",
                j.state
            );
        }
    }
}

#[test]
fn closure_choices_list_the_codes_usable_now_and_flag_the_ones_waiting_for_the_ont() {
    let c = catalogue();
    for j in every_state() {
        let choices = j.closure_choices(&c);
        for code in c.closure_codes() {
            let choice = choices.iter().find(|ch| ch.code == code.code);
            let outcome = j.check(&close_with_secondary(&c, &code.code), &c);
            match choice {
                Some(ch) if ch.ready => assert!(outcome.is_ok(), "{} in {}", ch.code, j.state),
                Some(ch) => assert!(
                    matches!(outcome, Err(LifecycleError::OntNotProvisioned { .. })),
                    "{} in {}: {outcome:?}",
                    ch.code,
                    j.state
                ),
                None => assert!(outcome.is_err(), "{} missing in {}", code.code, j.state),
            }
            if let Some(ch) = choice {
                assert_eq!(ch.secondary_required, code.secondary_required);
                let expected: Vec<&str> = c
                    .secondary_codes_of(&code.code)
                    .map(|s| s.code.as_str())
                    .collect();
                let listed: Vec<&str> = ch.secondary.iter().map(|(s, _)| s.as_str()).collect();
                assert_eq!(listed, expected);
            }
        }
    }
    // On site before provisioning: SP is listed but not ready; after status 1 it is.
    let on_site = job_at(JobState::OnSite).closure_choices(&c);
    assert!(on_site.iter().any(|ch| ch.code == "SP" && !ch.ready));
    let provisioned = job_at(JobState::Provisioned { status: 1 }).closure_choices(&c);
    assert!(provisioned.iter().any(|ch| ch.code == "SP" && ch.ready));
    // CON needs a secondary code and lists its choices.
    let con = provisioned.iter().find(|ch| ch.code == "CON").unwrap();
    assert!(con.secondary_required && !con.secondary.is_empty());
}
