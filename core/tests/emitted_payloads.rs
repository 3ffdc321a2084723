//! Everything the lifecycle emits satisfies the OpenAPI document: every notification of the
//! journey and a closeJob for every closure code of the catalogue, with and without each of
//! its secondary codes.

use jobpack_core::codes::{Attendance, Catalogue};
use jobpack_core::lifecycle::{Action, Job, JobState, LifecycleError};
use jobpack_core::protocol::{
    EngineerDetails, FileReference, InboundMessage, JobRef, Location, MessageKind, OntDevice,
    OutboundCall, OutboundRequest, ProviderJobId, QuestionAnswer, RpcId, Source, StrictTimestamp,
    Timestamp, parse_inbound, parse_outbound,
};
use jobpack_spec::{EXAMPLES_DIR, Spec};

fn new_job() -> Job {
    let path = format!("{EXAMPLES_DIR}/valid/CreateJobEnvelope/seed-timestamp-form.json");
    let envelope = parse_inbound(&std::fs::read(path).unwrap()).unwrap();
    let InboundMessage::CreateJob(pack) = envelope.message else {
        panic!("not a createJob")
    };
    Job::received(
        envelope.job_ref,
        ProviderJobId::new("JP-000123").unwrap(),
        *pack,
    )
}

fn t(minute: u32) -> Timestamp {
    Timestamp::parse_lenient(&format!("2026-12-01T09:{minute:02}:00+00:00")).unwrap()
}

fn answer(source: Source) -> QuestionAnswer {
    QuestionAnswer {
        question: "Time of first call Mandatory Photos of call log & Photos of door/house".into(),
        question_code: "4900".into(),
        answer: "07:56".into(),
        response_received: StrictTimestamp(t(30)),
        source,
        files: vec![FileReference {
            name: "call-log.jpg".into(),
            mime_type: "image/jpeg".into(),
            object_path: "s3://jobpack-photos/S114677/4900/ab12.jpg".into(),
            url: None,
        }],
    }
}

/// Serialises an emitted call, validates it against the document and reads it back strictly.
fn check_emitted(spec: &Spec, call: OutboundCall, id: u64) {
    let request = OutboundRequest {
        id: RpcId::new(id).unwrap(),
        call,
    };
    let bytes = serde_json::to_vec(&request).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let kind = MessageKind::classify(&value).expect("recognised");
    let violations = spec.validate(kind.schema_name(), &value).unwrap();
    assert!(violations.is_empty(), "{value:#}\n{violations:#?}");
    assert_eq!(parse_outbound(&bytes).unwrap(), request, "strict read-back");
}

/// Drives a job along the happy path to `target`, checking each emitted message.
fn drive(spec: &Spec, catalogue: &Catalogue, target: JobState) -> Job {
    let mut job = new_job();
    let actions = [
        Action::Accept {
            engineer: EngineerDetails {
                engineer_id: "E042".into(),
                name: "Sam Splicer".into(),
                phone: "+44 7700 900123".into(),
                company: Some("Jobpack Installs Ltd".into()),
            },
        },
        Action::StartTravel {
            location: Location::new(53.79, -1.54, 25.0).unwrap(),
        },
        Action::Arrive {
            location: Location::new(53.7921, -1.5497, 6.0).unwrap(),
        },
        Action::Answer {
            answers: vec![answer(Source::NotifyJob)],
        },
        Action::ScanOnt {
            ont: OntDevice::new("ALCLB443689D", "YP2244017834").unwrap(),
        },
        Action::ProvisioningResult { status: 1 },
    ];
    for (i, action) in actions.into_iter().enumerate() {
        if job.state == target {
            break;
        }
        let outcome = job.apply(action, t(i as u32), catalogue).unwrap();
        if let Some(call) = outcome.message {
            check_emitted(spec, call, i as u64 + 1);
        }
    }
    assert_eq!(job.state, target);
    job
}

#[test]
fn every_notification_of_the_journey_satisfies_the_document() {
    let spec = Spec::load().unwrap();
    drive(
        &spec,
        &Catalogue::embedded(),
        JobState::Provisioned { status: 1 },
    );
}

#[test]
fn a_close_job_for_every_closure_code_and_secondary_code_satisfies_the_document() {
    let spec = Spec::load().unwrap();
    let catalogue = Catalogue::embedded();
    let mut emitted = 0;
    for code in catalogue.closure_codes() {
        let state = match code.attendance {
            Attendance::Attended => JobState::Provisioned { status: 1 },
            Attendance::NoAccess => JobState::EnRoute,
            Attendance::NotAttended => JobState::Assigned,
        };
        let secondaries: Vec<Option<String>> = std::iter::once(None)
            .chain(
                catalogue
                    .secondary_codes_of(&code.code)
                    .map(|s| Some(s.code.clone())),
            )
            .collect();
        for secondary in secondaries {
            let mut job = drive(&spec, &catalogue, state);
            let result = job.apply(
                Action::Close {
                    closure_code: code.code.clone(),
                    secondary_code: secondary.clone(),
                    description: String::new(),
                    answers: vec![answer(Source::CloseJob)],
                },
                t(59),
                &catalogue,
            );
            match (result, &secondary) {
                (Err(LifecycleError::Code(_)), None) if code.secondary_required => {}
                (Ok(outcome), _) => {
                    check_emitted(&spec, outcome.message.expect("closeJob"), 99);
                    emitted += 1;
                }
                (Err(e), _) => panic!("{} {secondary:?}: {e}", code.code),
            }
        }
    }
    // 35 codes, 80 secondary codes, CON and POP cannot close without one.
    assert_eq!(emitted, 35 + 80 - 2);
}

#[test]
fn job_refs_from_the_wire_are_checked() {
    assert!(JobRef::new("S114677").is_ok());
    assert!(JobRef::new("S114677; DROP TABLE jobs").is_err());
}
