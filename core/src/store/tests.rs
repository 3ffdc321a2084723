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
    assert_eq!(recovery.salvaged_outbox_items, 2);
    let keys: Vec<(String, String, bool)> = new
        .conn()
        .prepare("SELECT idempotency_key, state, maybe_delivered FROM outbox ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        keys,
        [
            ("key-open".to_owned(), "queued".to_owned(), false),
            ("key-sending".to_owned(), "queued".to_owned(), false)
        ],
        "unsent items keep their keys and order; the sent one is not resurrected"
    );
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
