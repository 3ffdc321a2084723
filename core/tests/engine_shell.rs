//! What the phone shells ask the engine instead of deciding themselves: the next legal
//! actions and closure codes of a job, and how much waits in the outbox while offline.

use jobpack_core::engine::{Engine, Error};
use jobpack_core::lifecycle::NextAction;
use jobpack_core::protocol::Location;
use serde_json::{Value, json};

mod common;

use common::offline_config as config;

fn create_job(id: u64, job_ref: &str) -> Value {
    json!({
        "id": id, "sent": "2022-03-18T17:39:21+0000", "method": "createJob", "ref": job_ref,
        "content": {
            "serviceOrder": {"serviceOrderId": format!("SO-{id}")},
            "appointment": {"date": "2026-12-01", "slot": "AM"},
            "customer": {"name": "A Customer"},
            "address": {"line1": "1 High Street", "town": "Leeds", "postcode": "LS1 1AA"}
        },
        "response": {"providerJobId": format!("JP-{id}")}
    })
}

fn here() -> Location {
    Location::new(53.8, -1.55, 10.0).unwrap()
}

#[test]
fn next_actions_and_closure_choices_follow_the_stored_job() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(config(&dir.path().join("e.sqlite"))).unwrap();
    engine.apply_inbound(&[create_job(1, "S1")]).unwrap();
    assert_eq!(engine.next_actions("S1").unwrap(), vec![NextAction::Accept]);
    assert!(engine.closure_choices("S1").unwrap().is_empty());

    engine.accept("S1").unwrap();
    assert_eq!(
        engine.next_actions("S1").unwrap(),
        vec![NextAction::StartTravel, NextAction::Close],
        "not-attended codes can close an accepted job"
    );
    engine.start_travel("S1", here(), None).unwrap();
    engine.arrive("S1", here(), None).unwrap();
    assert_eq!(
        engine.next_actions("S1").unwrap(),
        vec![
            NextAction::ScanOnt,
            NextAction::AnswerVisit,
            NextAction::Close
        ]
    );
    let sp = engine
        .closure_choices("S1")
        .unwrap()
        .into_iter()
        .find(|c| c.code == "SP")
        .unwrap();
    assert!(!sp.ready, "SP waits for a provisioned ONT");

    assert_eq!(
        engine.next_actions("S404").unwrap_err(),
        Error::UnknownJob {
            job_ref: "S404".into()
        }
    );
    assert!(matches!(
        engine.closure_choices("S404"),
        Err(Error::UnknownJob { .. })
    ));
}

#[test]
fn outbox_counts_are_fresh_while_offline() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(config(&dir.path().join("e.sqlite"))).unwrap();
    engine
        .apply_inbound(&[create_job(1, "S1"), create_job(2, "S2")])
        .unwrap();
    assert_eq!(engine.outbox_counts().unwrap().pending(), 0);
    engine.accept("S1").unwrap();
    engine.accept("S2").unwrap();
    engine.start_travel("S1", here(), None).unwrap();
    let counts = engine.outbox_counts().unwrap();
    assert_eq!(counts.pending(), 3);
    assert_eq!(counts.parked, 0);
}
