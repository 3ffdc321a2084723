//! Signing out: the device's data is wiped, but never silently while work is unsent.

use jobpack_core::engine::{Engine, Error};
use jobpack_core::store::Retention;
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
    let err = Engine::wipe(&db, None, false).unwrap_err();
    assert_eq!(err, Error::UnsentWork { items: 1 });
    assert!(err.to_string().contains("1 item(s)"), "{err}");
    assert!(db.exists(), "nothing removed");

    let report = Engine::wipe(&db, None, true).unwrap();
    assert_eq!(report.unsent_items_lost, 1);
    assert!(report.files_removed >= 1);
    assert!(!db.exists());
    assert!(!dir.path().join("e.sqlite.photos").exists());
    // A wipe of nothing is fine (signing out twice).
    assert_eq!(Engine::wipe(&db, None, false).unwrap().files_removed, 0);
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
    let report = Engine::wipe(&db, None, false).unwrap();
    assert_eq!(report.unsent_items_lost, 0);
    assert!(!db.exists());
}
