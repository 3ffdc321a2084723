//! The engine with no network: actions are transactions with their outbox message, the
//! inbox is applied exactly once, cancellation keeps queued work, state survives a restart.

use jobpack_core::closure::Journey;
use jobpack_core::engine::{Engine, Error};
use jobpack_core::lifecycle::{JobState, LifecycleError};
use jobpack_core::outbox::{ItemState, OutboxError};
use jobpack_core::protocol::{Location, OntDevice, OutboundCall, Timestamp, parse_outbound};
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
            "address": {"line1": "1 High Street", "town": "Leeds", "postcode": "LS1 1AA"},
            "propertyFlags": ["DAN"]
        },
        "response": {"providerJobId": format!("JP-{id}")}
    })
}

fn cancel_job(id: u64, job_ref: &str) -> Value {
    json!({"id": id, "sent": "2018-01-02T09:32:33+00:00", "method": "cancelJob", "ref": job_ref,
           "content": {"reason": "Customer cancelled order"}, "response": {}})
}

fn here() -> Location {
    Location::new(53.8, -1.55, 10.0).unwrap()
}

fn at(text: &str) -> Option<Timestamp> {
    Some(Timestamp::parse_lenient(text).unwrap())
}

#[test]
fn an_action_commits_the_state_and_its_message_with_the_action_time() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(config(&dir.path().join("e.sqlite"))).unwrap();
    engine.apply_inbound(&[create_job(1, "S1")]).unwrap();
    let accepted = engine.accept("S1").unwrap();
    assert_eq!(accepted.state, JobState::Assigned);
    assert_eq!(accepted.warnings.len(), 1, "DAN shown before travelling");
    let travel = engine
        .start_travel("S1", here(), at("2026-12-01T07:40:00+00:00"))
        .unwrap();
    let items = engine.outbox(Some("S1")).unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].seq, travel.outbox_seq.unwrap());
    assert_eq!(items[1].idempotency_key, travel.idempotency_key.unwrap());
    assert_eq!(items[1].state, ItemState::Queued);
    let body = engine.outbox_body(items[1].seq).unwrap();
    let request = parse_outbound(&body).unwrap();
    assert_eq!(request.id.get(), travel.rpc_id.unwrap());
    match request.call {
        OutboundCall::NotifyJob(n) => {
            assert_eq!(n.event_time.to_rfc3339(), "2026-12-01T07:40:00+00:00");
            assert_eq!(n.job_header.provider_job_id.as_str(), "JP-1");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(engine.job("S1").unwrap().state, JobState::EnRoute);
}

#[test]
fn a_refused_action_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(config(&dir.path().join("e.sqlite"))).unwrap();
    engine.apply_inbound(&[create_job(1, "S1")]).unwrap();
    let err = engine.arrive("S1", here(), None).unwrap_err();
    assert!(matches!(
        err,
        Error::Lifecycle(LifecycleError::IllegalAction {
            state: JobState::Received,
            ..
        })
    ));
    assert!(engine.outbox(None).unwrap().is_empty());
    assert_eq!(
        engine.accept("NOPE").unwrap_err(),
        Error::UnknownJob {
            job_ref: "NOPE".into()
        }
    );
    let bad_ont = OntDevice::new("ALCL", "1");
    assert!(bad_ont.is_err(), "bad FSANs never reach the engine");
}

#[test]
fn the_inbox_is_applied_once_and_bad_messages_are_quarantined_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(config(&dir.path().join("e.sqlite"))).unwrap();
    let page = [
        create_job(1, "S1"),
        json!({"id": 9, "method": "createJob", "ref": "S9"}),
        json!("not even an object"),
        create_job(2, "S2"),
    ];
    let first = engine.apply_inbound(&page).unwrap();
    assert_eq!((first.applied, first.quarantined), (2, 2));
    let again = engine.apply_inbound(&page).unwrap();
    assert_eq!(again.redelivered, 2, "redelivery ignored");
    assert_eq!(again.applied, 0);
    assert_eq!(engine.jobs().unwrap().len(), 2);
    let quarantine = engine.quarantine().unwrap();
    assert_eq!(
        quarantine.len(),
        4,
        "each bad delivery is kept with its reason"
    );
    assert!(
        quarantine[0].reason.contains("sent"),
        "{}",
        quarantine[0].reason
    );
}

#[test]
fn a_cancelled_job_keeps_its_queued_messages_and_refuses_new_actions() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(config(&dir.path().join("e.sqlite"))).unwrap();
    engine.apply_inbound(&[create_job(1, "S1")]).unwrap();
    engine.accept("S1").unwrap();
    engine.start_travel("S1", here(), None).unwrap();
    engine.apply_inbound(&[cancel_job(5, "S1")]).unwrap();
    let job = engine.job("S1").unwrap();
    assert_eq!(job.state, JobState::Cancelled);
    assert_eq!(
        job.cancel_reason.as_deref(),
        Some("Customer cancelled order")
    );
    let queued: Vec<ItemState> = engine
        .outbox(Some("S1"))
        .unwrap()
        .iter()
        .map(|i| i.state)
        .collect();
    assert_eq!(queued, [ItemState::Queued, ItemState::Queued]);
    let err = engine.arrive("S1", here(), None).unwrap_err();
    assert!(err.to_string().contains("cancelled"), "{err}");
    // A cancel for a job that is already closed is kept with a note, not an error.
    engine.apply_inbound(&[create_job(2, "S2")]).unwrap();
    engine.accept("S2").unwrap();
    let refused = engine.close("S2", "MBORC", None, "", None).unwrap_err();
    assert!(
        matches!(&refused, Error::Incomplete { gaps } if gaps.len() == 1),
        "{refused}"
    );
    for (code, raw) in [("5200", "2"), ("5210", "07:45"), ("5220", "02/12/2026")] {
        engine
            .answer_question("S2", Journey::Closure, code, raw, None)
            .unwrap();
    }
    engine.close("S2", "MBORC", None, "", None).unwrap();
    let late = engine.apply_inbound(&[cancel_job(6, "S2")]).unwrap();
    assert_eq!(late.noted, 1);
    assert_eq!(engine.job("S2").unwrap().state, JobState::Closed);
}

#[test]
fn everything_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.sqlite");
    let key = {
        let engine = Engine::open(config(&db)).unwrap();
        engine.apply_inbound(&[create_job(1, "S1")]).unwrap();
        engine.accept("S1").unwrap().idempotency_key.unwrap()
    };
    let engine = Engine::open(config(&db)).unwrap();
    assert_eq!(engine.job("S1").unwrap().state, JobState::Assigned);
    assert_eq!(engine.outbox(None).unwrap()[0].idempotency_key, key);
}

#[test]
fn parked_items_are_only_touched_when_parked() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(config(&dir.path().join("e.sqlite"))).unwrap();
    engine.apply_inbound(&[create_job(1, "S1")]).unwrap();
    let seq = engine.accept("S1").unwrap().outbox_seq.unwrap();
    assert!(matches!(engine.resend(seq), Err(Error::Outbox(_))));
    assert!(matches!(engine.discard(seq, "x"), Err(Error::Outbox(_))));
    // Not a closeJob: an outbox refusal naming the item (it was a configuration error).
    assert!(matches!(
        engine.correct_parked_close(seq, "SP", None),
        Err(Error::Outbox(OutboxError::NotACloseJob { seq: s })) if s == seq
    ));
}

#[test]
fn sync_without_endpoints_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(config(&dir.path().join("e.sqlite"))).unwrap();
    assert_eq!(
        engine.sync_until_idle_blocking(std::time::Duration::from_millis(10)),
        Err(Error::NoEndpoints)
    );
}

#[test]
fn an_ont_on_another_live_job_is_found_but_not_on_the_same_or_a_cancelled_one() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(config(&dir.path().join("e.sqlite"))).unwrap();
    engine
        .apply_inbound(&[
            create_job(1, "S1"),
            create_job(2, "S2"),
            create_job(3, "S3"),
        ])
        .unwrap();
    for job in ["S1", "S3"] {
        engine.accept(job).unwrap();
        engine.start_travel(job, here(), None).unwrap();
        engine.arrive(job, here(), None).unwrap();
        let ont = OntDevice::new("ALCLB443689D", "YP2244017834").unwrap();
        engine.confirm_ont(job, ont, None).unwrap();
    }
    assert_eq!(
        engine.job_holding_ont("ALCLB443689D", "S2").unwrap(),
        Some("S1".into())
    );
    // The job being scanned does not count against itself.
    engine.apply_inbound(&[cancel_job(4, "S1")]).unwrap();
    assert_eq!(
        engine.job_holding_ont("ALCLB443689D", "S3").unwrap(),
        None,
        "S1 is cancelled and S3 is the job asking"
    );
    assert_eq!(engine.job_holding_ont("CXNK00000001", "S2").unwrap(), None);
}

#[test]
fn the_engines_scan_sessions_decide_duplicates_and_publish_their_progress() {
    use jobpack_core::engine::Event;
    use jobpack_core::qr::{Frame, ManualEntryError, PixelFormat, Rotation, ScanProgress};
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(config(&dir.path().join("e.sqlite"))).unwrap();
    engine
        .apply_inbound(&[create_job(1, "S1"), create_job(2, "S2")])
        .unwrap();
    engine.accept("S1").unwrap();
    engine.start_travel("S1", here(), None).unwrap();
    engine.arrive("S1", here(), None).unwrap();
    let ont = OntDevice::new("ALCLB443689D", "YP2244017834").unwrap();
    engine.confirm_ont("S1", ont, None).unwrap();

    // The duplicate rule is the engine's: S1 holds the FSAN, so S2 may not take it.
    let refused = engine
        .manual_ont_entry("S2")
        .confirm("ALCLB443689D", "ALCLB443689D")
        .unwrap_err();
    assert_eq!(
        refused,
        ManualEntryError::Duplicate {
            fsan: "ALCLB443689D".into(),
            other_job: "S1".into()
        }
    );
    assert!(
        engine
            .manual_ont_entry("S1")
            .confirm("ALCLB443689D", "ALCLB443689D")
            .is_ok(),
        "a job does not hold its own ONT against itself"
    );

    // Every frame's result reaches subscribers as an event of the job's session.
    let mut events = engine.subscribe();
    let session = engine.scan_session("S2");
    let blank = vec![255u8; 64 * 64];
    let frame = Frame::new(&blank, 64, 64, 64, PixelFormat::Luma8, Rotation::R0).unwrap();
    assert_eq!(session.feed(&frame), ScanProgress::Nothing);
    match events.try_recv().unwrap() {
        Event::ScanProgress { job_ref, progress } => {
            assert_eq!(job_ref, "S2");
            assert_eq!(progress, ScanProgress::Nothing);
        }
        other => panic!("{other:?}"),
    }
}
