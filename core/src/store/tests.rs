use super::*;

fn schema(conn: &Connection) -> Vec<(String, String, String)> {
    let mut stmt = conn
        .prepare(
            "SELECT type, name, COALESCE(sql, '') FROM sqlite_schema
             WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Column lists as SQLite reports them, which normalises ALTER TABLE text differences.
fn columns(conn: &Connection) -> Vec<(String, String, String, bool, bool)> {
    let mut out = Vec::new();
    for (kind, name, _) in schema(conn) {
        if kind != "table" {
            continue;
        }
        let mut stmt = conn.prepare(&format!("PRAGMA table_info({name})")).unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    name.clone(),
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, bool>(5)?,
                ))
            })
            .unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out
}

#[test]
fn a_database_upgraded_step_by_step_equals_a_fresh_one() {
    let dir = tempfile::tempdir().unwrap();
    let fresh_path = dir.path().join("fresh.sqlite");
    let (fresh, _) = Store::open(&fresh_path).unwrap();

    let old_path = dir.path().join("old.sqlite");
    for version in 1..=LATEST_VERSION {
        // An older app opens and migrates to its own version, then a newer one takes over.
        let conn = Connection::open(&old_path).unwrap();
        migrate_to(&conn, version).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, version);
    }
    let (upgraded, report) = Store::open(&old_path).unwrap();
    assert_eq!(report, OpenReport::default());
    let tables = |c: &Connection| -> Vec<String> {
        schema(c)
            .into_iter()
            .map(|(k, n, _)| format!("{k} {n}"))
            .collect()
    };
    assert_eq!(tables(upgraded.conn()), tables(fresh.conn()));
    assert_eq!(columns(upgraded.conn()), columns(fresh.conn()));
}

#[test]
fn the_store_is_durable_by_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(&dir.path().join("db.sqlite")).unwrap();
    let c = store.conn();
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
    let fk: i64 = c
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(sync, 2, "FULL");
    assert_eq!(fk, 1);
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    {
        let (store, _) = Store::open(&path).unwrap();
        store
            .conn()
            .execute_batch(&format!("PRAGMA user_version = {}", LATEST_VERSION + 5))
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found, supported } if found == LATEST_VERSION + 5 && supported == LATEST_VERSION)
    );
    assert!(err.to_string().contains("newer version"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let entries = std::fs::read_dir(dir.path()).unwrap().count();
    assert!(
        entries <= 3,
        "nothing moved aside or created beyond WAL files"
    );
}

#[test]
fn a_file_that_is_not_a_database_is_moved_aside_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    std::fs::write(&path, b"this is not a database, it is a shopping list").unwrap();
    let (store, report) = Store::open(&path).unwrap();
    let recovery = report.recovery.expect("a recovery is reported");
    assert_eq!(
        std::fs::read(&recovery.moved_to).unwrap(),
        b"this is not a database, it is a shopping list"
    );
    assert!(
        recovery.salvage_problem.is_some(),
        "nothing could be read from it"
    );
    let jobs: i64 = store
        .conn()
        .query_row("SELECT COUNT(*) FROM jobs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(jobs, 0, "a fresh, usable database");
}

fn seed_old_file(path: &Path) {
    let (store, _) = Store::open(path).unwrap();
    store
        .conn()
        .execute_batch(
            "INSERT INTO jobs VALUES ('S1', 'JP-S1', '{}', '{\"state\":\"assigned\"}', NULL, NULL, NULL, 1, 1);
             INSERT INTO outbox (job_ref, method, label, rpc_id, idempotency_key, body, acted_at, created_at, state)
               VALUES ('S1', 'notifyJob', 'accept', 7, 'key-sent', x'7b7d', 1, 1, 'sent'),
                      ('S1', 'notifyJob', 'en route', 8, 'key-open', x'7b7d', 2, 2, 'retrying'),
                      ('S1', 'notifyJob', 'on site', 9, 'key-sending', x'7b7d', 3, 3, 'sending');
             INSERT INTO outbox (job_ref, kind, method, label, rpc_id, idempotency_key, body, acted_at, created_at, state)
               VALUES ('S1', 'upload', 'upload', 'photo', 10, 'key-photo', x'7b7d', 4, 4, 'retrying'),
                      ('S1', 'rpc', 'closeJob', 'close', 11, 'key-close', x'7b7d', 5, 5, 'queued');
             INSERT INTO outbox_dependencies VALUES (5, 4), (5, 1);
             INSERT INTO answers (job_ref, journey, question_code, answer, answered_at, superseded_at)
               VALUES ('S1', 'closure', '1100', 'No', 1, 2), ('S1', 'closure', '1100', 'Yes', 2, NULL);
             INSERT INTO photos (job_ref, journey, question_code, sha256, file_name, object_path, upload_seq, attached_at)
               VALUES ('S1', 'closure', '4900', 'ab', 'door.jpg', 's3://b/k', 4, 3);
             PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
}

#[test]
fn salvage_copies_jobs_and_open_outbox_items_with_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.sqlite");
    seed_old_file(&old);
    let new = Store::open_in_memory().unwrap();
    let mut recovery = Recovery {
        moved_to: old.clone(),
        reason: "test".into(),
        salvaged_jobs: 0,
        salvaged_outbox_items: 0,
        salvage_problem: None,
    };
    salvage::salvage_into(&old, new.conn(), &mut recovery);
    assert_eq!(recovery.salvage_problem, None);
    assert_eq!(recovery.salvaged_jobs, 1);
    assert_eq!(recovery.salvaged_outbox_items, 4);
    let keys: Vec<(i64, String, String, String)> = new
        .conn()
        .prepare("SELECT seq, kind, idempotency_key, state FROM outbox ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let row = |seq, kind: &str, key: &str| (seq, kind.to_owned(), key.to_owned(), "queued".into());
    assert_eq!(
        keys,
        [
            row(2, "rpc", "key-open"),
            row(3, "rpc", "key-sending"),
            row(4, "upload", "key-photo"),
            row(5, "rpc", "key-close"),
        ],
        "unsent items keep their numbers, kinds and keys; the sent one is not resurrected"
    );
    let links: Vec<(i64, i64)> = new
        .conn()
        .prepare("SELECT item, depends_on FROM outbox_dependencies")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        links,
        [(5, 4)],
        "the link to a sent item is satisfied already"
    );
    let history = answer_history(new.conn(), "S1").unwrap();
    assert_eq!(history.len(), 2, "superseded answers are kept too");
    let current = current_answers(new.conn(), "S1", "closure").unwrap();
    assert_eq!(current[0].answer, "Yes");
    let photos = current_photos(new.conn(), "S1", "closure").unwrap();
    assert_eq!(photos[0].upload_seq, 4);
}

#[test]
fn a_damaged_database_is_never_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    seed_old_file(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    let original = bytes.clone();
    // Damage everything after the header page.
    for b in bytes.iter_mut().skip(4096) {
        *b ^= 0x5A;
    }
    std::fs::write(&path, &bytes).unwrap();
    let (store, report) = Store::open(&path).expect("a damaged file never stops the app");
    let recovery = report.recovery.expect("damage is detected and reported");
    assert_eq!(
        std::fs::read(&recovery.moved_to).unwrap(),
        bytes,
        "kept for support"
    );
    assert_ne!(bytes, original);
    let jobs: i64 = store
        .conn()
        .query_row("SELECT COUNT(*) FROM jobs", [], |r| r.get(0))
        .unwrap();
    assert!(jobs <= 1);
}

#[test]
fn a_directory_in_the_way_is_an_io_error_not_a_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err}");
}

#[test]
fn a_changed_answer_supersedes_the_old_one_which_stays_in_history() {
    let store = Store::open_in_memory().unwrap();
    let conn = store.conn();
    conn.execute_batch(
        "INSERT INTO jobs VALUES ('J1', 'JP-1', '{}', '{\"state\":\"onSite\"}', NULL, NULL, NULL, 1, 1)",
    )
    .unwrap();
    let at = |ms| crate::protocol::Timestamp::from_unix_millis(ms).unwrap();
    assert!(record_answer(conn, "J1", "visit", "1100", "Yes", at(1_000)).unwrap());
    assert!(
        !record_answer(conn, "J1", "visit", "1100", "Yes", at(2_000)).unwrap(),
        "the same answer again is not a change"
    );
    assert!(record_answer(conn, "J1", "closure", "1100", "Yes", at(2_500)).unwrap());
    assert!(record_answer(conn, "J1", "visit", "1100", "No", at(3_000)).unwrap());
    let visit = current_answers(conn, "J1", "visit").unwrap();
    assert_eq!(visit.len(), 1);
    assert_eq!(
        (visit[0].answer.as_str(), visit[0].answered_at),
        ("No", at(3_000))
    );
    let history = answer_history(conn, "J1").unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[0].superseded_at, Some(at(3_000)));
    assert!(withdraw_answer(conn, "J1", "visit", "1100", at(4_000)).unwrap());
    assert!(current_answers(conn, "J1", "visit").unwrap().is_empty());
    assert_eq!(
        current_answers(conn, "J1", "closure").unwrap().len(),
        1,
        "journeys are apart"
    );
}

#[test]
fn the_same_photo_twice_on_a_question_is_one_photo_and_removal_keeps_history() {
    let store = Store::open_in_memory().unwrap();
    let conn = store.conn();
    conn.execute_batch(
        "INSERT INTO jobs VALUES ('J1', 'JP-1', '{}', '{\"state\":\"onSite\"}', NULL, NULL, NULL, 1, 1)",
    )
    .unwrap();
    let at = crate::protocol::Timestamp::from_unix_millis(1_000).unwrap();
    let photo = NewPhoto {
        job_ref: "J1",
        journey: "closure",
        question_code: "4900",
        sha256: "ab12",
        file_name: "door.jpg",
        object_path: "s3://bucket/jobs/J1/4900/ab12.jpg",
        upload_seq: 9,
    };
    let id = add_photo(conn, &photo, at)
        .unwrap()
        .expect("first time is new");
    assert_eq!(add_photo(conn, &photo, at).unwrap(), None);
    assert_eq!(current_photos(conn, "J1", "closure").unwrap().len(), 1);
    assert_eq!(
        remove_photo(conn, "J2", id, at).unwrap(),
        None,
        "another job's photo"
    );
    assert!(remove_photo(conn, "J1", id, at).unwrap().is_some());
    assert!(current_photos(conn, "J1", "closure").unwrap().is_empty());
    assert!(
        add_photo(conn, &photo, at).unwrap().is_some(),
        "can be attached again"
    );
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM photos", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 2);
}
