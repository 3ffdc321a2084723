//! The closure flow through the engine, offline: answers and photos are durable as they are
//! given, bad input is refused with typed errors, and a closeJob is queued only when nothing
//! is missing.

use std::io::Cursor;

use jobpack_core::closure::{Gap, Journey};
use jobpack_core::engine::{Config, Engine, Error};
use jobpack_core::outbox::{ItemKind, ItemState};
use jobpack_core::protocol::{EngineerDetails, OutboundCall, parse_outbound};
use jobpack_core::store::{Store, answer_history};
use serde_json::json;

fn config(db: &std::path::Path) -> Config {
    Config {
        database: db.to_owned(),
        database_key: None,
        endpoints: vec![],
        tls: Default::default(),
        timeouts: Default::default(),
        engineer: EngineerDetails {
            engineer_id: "E042".into(),
            name: "Sam Splicer".into(),
            phone: "+44 7700 900123".into(),
            company: None,
        },
        partner_catalogue: None,
        sync: Default::default(),
        start_online: false,
        closure_matrix: None,
        photos: Default::default(),
    }
}

fn engine_with_job(db: &std::path::Path) -> Engine {
    let engine = Engine::open(config(db)).unwrap();
    engine
        .apply_inbound(&[json!({
            "id": 1, "sent": "2026-11-30T08:00:00+0000", "method": "createJob", "ref": "C1",
            "content": {
                "serviceOrder": {"serviceOrderId": "SO-1"},
                "appointment": {"date": "2026-12-01", "slot": "AM"},
                "customer": {"name": "A Customer"},
                "address": {"line1": "1 High Street", "town": "Leeds", "postcode": "LS1 1AA"},
                "propertyFlags": []
            },
            "response": {"providerJobId": "JP-1"}
        })])
        .unwrap();
    engine.accept("C1").unwrap();
    engine
}

fn png(shade: u8) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([shade, x as u8, y as u8]))
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

#[test]
fn answers_and_photos_survive_a_restart_and_changes_keep_their_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.sqlite");
    {
        let engine = engine_with_job(&db);
        assert_eq!(
            engine
                .answer_question("C1", Journey::Closure, "4900", "9:40", None)
                .unwrap(),
            "09:40"
        );
        engine
            .answer_question("C1", Journey::Closure, "4900", "09:45", None)
            .unwrap();
        engine
            .attach_photo("C1", Journey::Closure, "4900", &png(1))
            .unwrap();
    }
    let engine = Engine::open(config(&db)).unwrap();
    let view = engine
        .flow("C1", Journey::Closure, Some("RNA"), None)
        .unwrap();
    let first = &view.answered[0];
    assert_eq!(
        (first.code.as_str(), first.answer.as_deref()),
        ("4900", Some("09:45"))
    );
    assert_eq!(first.photos.len(), 1);
    assert_eq!(first.photos[0].upload_state, Some(ItemState::Queued));
    assert!(
        view.gaps.iter().any(|g| matches!(
            g,
            Gap::MissingPhotos {
                required: 2,
                have: 1,
                ..
            }
        )),
        "{:?}",
        view.gaps
    );
    drop(engine);
    let (store, _) = Store::open(&db).unwrap();
    let history = answer_history(store.conn(), "C1").unwrap();
    assert_eq!(history.len(), 2);
    assert!(history[0].superseded_at.is_some());
}

#[test]
fn bad_answers_photos_and_questions_are_refused_with_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with_job(&dir.path().join("c.sqlite"));
    assert!(matches!(
        engine.answer_question("C1", Journey::Closure, "4900", "teatime", None),
        Err(Error::Answer { .. })
    ));
    assert!(matches!(
        engine.answer_question("C1", Journey::Closure, "nope", "Yes", None),
        Err(Error::Answer { .. })
    ));
    assert!(matches!(
        engine.answer_question("ZZ", Journey::Closure, "4900", "10:00", None),
        Err(Error::UnknownJob { .. })
    ));
    assert!(matches!(
        engine.attach_photo("C1", Journey::Closure, "4900", b"not a picture"),
        Err(Error::Photo(_))
    ));
    assert!(matches!(
        engine.attach_photo("C1", Journey::Closure, "nope", &png(2)),
        Err(Error::UnknownQuestion { .. })
    ));
    assert!(matches!(
        engine.remove_photo("C1", 999),
        Err(Error::UnknownPhoto { photo_id: 999 })
    ));
    assert!(
        engine
            .outbox(Some("C1"))
            .unwrap()
            .iter()
            .all(|i| i.kind == ItemKind::Rpc),
        "nothing queued by refused input"
    );
}

#[test]
fn the_same_photo_twice_is_one_upload_and_a_removed_photo_is_missing_again() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with_job(&dir.path().join("c.sqlite"));
    let a = engine
        .attach_photo("C1", Journey::Closure, "4900", &png(7))
        .unwrap();
    let again = engine
        .attach_photo("C1", Journey::Closure, "4900", &png(7))
        .unwrap();
    assert_eq!(a.id, again.id);
    let uploads = engine
        .outbox(Some("C1"))
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == ItemKind::Upload)
        .count();
    assert_eq!(uploads, 1);
    engine.remove_photo("C1", a.id).unwrap();
    let view = engine
        .flow("C1", Journey::Closure, Some("RNA"), None)
        .unwrap();
    assert!(
        view.answered
            .iter()
            .chain(&view.next)
            .all(|q| q.photos.is_empty())
    );
}

#[test]
fn close_lists_every_gap_then_queues_a_complete_closejob_waiting_for_its_photos() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with_job(&dir.path().join("c.sqlite"));
    match engine.close("C1", "CON", None, "", None) {
        Err(Error::Incomplete { gaps }) => assert!(
            gaps.iter().any(
                |g| matches!(g, Gap::MissingSecondaryCode { allowed, .. } if !allowed.is_empty())
            ),
            "{gaps:?}"
        ),
        other => panic!("{other:?}"),
    }
    engine
        .start_travel(
            "C1",
            jobpack_core::protocol::Location::new(53.8, -1.5, 5.0).unwrap(),
            None,
        )
        .unwrap();
    for (code, raw) in [("4900", "10:00"), ("4910", "10:12"), ("4920", "Yes")] {
        engine
            .answer_question("C1", Journey::Closure, code, raw, None)
            .unwrap();
    }
    let photos: Vec<i64> = (0..2)
        .map(|i| {
            engine
                .attach_photo("C1", Journey::Closure, "4900", &png(10 + i))
                .unwrap()
                .upload_seq
        })
        .collect();
    let receipt = engine.close("C1", "RNA", None, "", None).unwrap();
    let seq = receipt.outbox_seq.unwrap();
    let item = engine
        .outbox(Some("C1"))
        .unwrap()
        .into_iter()
        .find(|i| i.seq == seq)
        .unwrap();
    assert_eq!(
        item.depends_on, photos,
        "offline: the closeJob waits for both uploads"
    );
    let OutboundCall::CloseJob(close) = parse_outbound(&engine.outbox_body(seq).unwrap())
        .unwrap()
        .call
    else {
        panic!("not a closeJob");
    };
    assert_eq!(close.questions_answers.len(), 3);
    assert_eq!(close.questions_answers[0].files.len(), 2);
    assert!(close.questions_answers.iter().all(|a| a.validate().is_ok()));
}

#[test]
fn a_partner_matrix_with_problems_stops_the_engine_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(&dir.path().join("c.sqlite"));
    config.closure_matrix = Some(
        r#"{"name": "broken", "version": "1", "isDefault": false,
            "questions": [{"code": "Q1", "text": "", "answer": {"type": "yesNo"}}],
            "flows": [{"id": "v", "journey": "visit", "steps": [{"question": "Q9"}]}]}"#
            .into(),
    );
    match Engine::open(config) {
        Err(Error::Matrix { problems }) => {
            assert!(problems.iter().any(|p| p.contains("Q9")), "{problems:?}");
        }
        other => panic!("{other:?}"),
    }
}
