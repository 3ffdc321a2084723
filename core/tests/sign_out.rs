//! Signing out: the device's data is wiped, but never silently while work is unsent.

use jobpack_core::engine::{DatabaseProblem, Engine, Error};
use jobpack_core::store::{DatabaseKey, Retention};
use serde_json::json;

mod common;

use common::offline_config as config;

fn create_job() -> serde_json::Value {
    json!({
        "id": 1, "sent": "2022-03-18T17:39:21+0000", "method": "createJob", "ref": "S1",
        "content": {
            "serviceOrder": {"serviceOrderId": "SO-1"},
            "appointment": {"date": "2026-12-01", "slot": "AM"},
            "customer": {"name": "A Customer"},
            "address": {"line1": "1 High Street", "town": "Leeds", "postcode": "LS1 1AA"}
        },
        "response": {"providerJobId": "JP-1"}
    })
}

#[test]
fn a_wipe_refuses_while_work_is_unsent_and_says_how_much() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.sqlite");
    {
        let engine = Engine::open(config(&db)).unwrap();
        engine.apply_inbound(&[create_job()]).unwrap();
        engine.accept("S1").unwrap();
        assert_eq!(engine.unsent_items().unwrap(), 1);
        let pruned = engine.prune(&Retention::default()).unwrap();
        assert_eq!(pruned.outbox_rows, 0, "unsent work is never pruned");
        engine.shutdown();
    }
    let err = Engine::wipe(&db, None, None, false).unwrap_err();
    assert_eq!(err, Error::UnsentWork { items: 1 });
    assert!(err.to_string().contains("1 item(s)"), "{err}");
    assert!(db.exists(), "nothing removed");

    let report = Engine::wipe(&db, None, None, true).unwrap();
    assert_eq!(report.unsent_items_lost, 1);
    assert!(report.files_removed >= 1);
    assert!(!db.exists());
    assert!(!dir.path().join("e.sqlite.photos").exists());
    // A wipe of nothing is fine (signing out twice).
    assert_eq!(
        Engine::wipe(&db, None, None, false).unwrap().files_removed,
        0
    );
}

#[test]
fn a_wipe_of_a_device_with_everything_sent_needs_no_force() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.sqlite");
    {
        let engine = Engine::open(config(&db)).unwrap();
        engine.apply_inbound(&[create_job()]).unwrap();
        engine.shutdown();
    }
    let report = Engine::wipe(&db, None, None, false).unwrap();
    assert_eq!(report.unsent_items_lost, 0);
    assert!(!db.exists());
}

#[test]
fn an_encrypted_device_is_counted_with_its_key_and_one_whose_key_is_lost_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.sqlite");
    let key = DatabaseKey::derive(&[3; 32]).unwrap();
    let lost = DatabaseKey::derive(&[4; 32]).unwrap();
    {
        let mut config = config(&db);
        config.database_key = Some(key.clone());
        let engine = Engine::open(config).unwrap();
        engine.apply_inbound(&[create_job()]).unwrap();
        engine.accept("S1").unwrap();
        engine.shutdown();
    }
    // Without the key the engine is refused and nothing is touched.
    let err = Engine::open(config(&db)).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::DatabaseUnavailable {
                problem: DatabaseProblem::NotADatabase,
                ..
            }
        ),
        "{err}"
    );
    let mut wrong = config(&db);
    wrong.database_key = Some(lost.clone());
    let err = Engine::open(wrong).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::DatabaseUnavailable {
                problem: DatabaseProblem::WrongKey,
                ..
            }
        ),
        "{err}"
    );

    assert_eq!(
        Engine::wipe(&db, None, Some(&key), false).unwrap_err(),
        Error::UnsentWork { items: 1 }
    );
    let err = Engine::wipe(&db, None, Some(&lost), false).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::DatabaseUnavailable {
                problem: DatabaseProblem::WrongKey,
                ..
            }
        ),
        "{err}"
    );
    assert!(db.exists(), "nothing removed without force");
    let report = Engine::wipe(&db, None, Some(&lost), true).unwrap();
    assert!(report.unreadable && report.files_removed >= 1, "{report:?}");
    assert!(!db.exists());
}
