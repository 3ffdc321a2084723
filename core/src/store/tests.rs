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
pub(super) fn columns(conn: &Connection) -> Vec<(String, String, String, bool, bool)> {
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
        matches!(err, StoreError::NewerSchema { found, supported } if found == LATEST_VERSION + 5 && supported == LATEST_VERSION),
        "{err}"
    );
    assert!(err.to_string().contains("newer version"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let entries = std::fs::read_dir(dir.path()).unwrap().count();
    assert!(
        entries <= 3,
        "nothing moved aside or created beyond WAL files"
    );
}

pub(super) fn seed_old_file(path: &Path) {
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
    salvage::salvage_into(&old, None, new.conn(), &mut recovery);
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

// ------------------------------------------------------------------ opening hostile files

/// Every file in `dir` with its bytes, to prove an open changed nothing.
pub(super) fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let bytes = if p.is_file() {
                std::fs::read(&p).unwrap()
            } else {
                Vec::new()
            };
            (p.file_name().unwrap().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    files.sort();
    files
}

fn job_count(store: &Store) -> i64 {
    store
        .conn()
        .query_row("SELECT count(*) FROM jobs", [], |r| r.get(0))
        .unwrap()
}

fn fast(path: &Path) -> Result<(Store, OpenReport), StoreError> {
    Store::open_with(
        path,
        &StoreOptions {
            busy_timeout: std::time::Duration::from_millis(200),
            key: None,
        },
    )
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    std::fs::write(&path, b"this is not a database, it is a shopping list").unwrap();
    let before = snapshot(dir.path());
    let err = fast(&path).unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
    assert_eq!(
        snapshot(dir.path()),
        before,
        "not one byte written or moved"
    );
}

#[test]
fn a_damaged_header_bearing_our_mark_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    seed_old_file(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        &bytes[68..72],
        &APPLICATION_ID.to_be_bytes(),
        "the file is marked"
    );
    bytes[..16].copy_from_slice(b"garbage garbage!");
    std::fs::write(&path, &bytes).unwrap();
    let (_store, report) = fast(&path).unwrap();
    let recovery = report.recovery.expect("ours and damaged: moved aside");
    assert_eq!(std::fs::read(&recovery.moved_to).unwrap(), bytes);
}

#[test]
fn a_locked_database_is_busy_not_corrupt_and_stays_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    seed_old_file(&path);
    // Another process's connection (a background sync) holds the write lock.
    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    holder
        .execute("UPDATE jobs SET updated_at = 2", [])
        .unwrap();
    let before = snapshot(dir.path());
    let err = fast(&path).unwrap_err();
    assert!(matches!(err, StoreError::Busy { .. }), "{err}");
    assert_eq!(
        snapshot(dir.path()),
        before,
        "nothing moved aside or written"
    );
    holder.execute_batch("COMMIT").unwrap();
    let (store, report) = fast(&path).unwrap();
    assert_eq!(report, OpenReport::default());
    assert_eq!(job_count(&store), 1, "the jobs are all there");
}

#[test]
fn a_lock_released_within_the_wait_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    seed_old_file(&path);
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let holder_path = path.clone();
    let holder = std::thread::spawn(move || {
        let conn = Connection::open(&holder_path).unwrap();
        conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
        locked_tx.send(()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        conn.execute_batch("COMMIT").unwrap();
    });
    locked_rx.recv().unwrap();
    let options = StoreOptions {
        busy_timeout: std::time::Duration::from_secs(30),
        key: None,
    };
    let (store, report) = Store::open_with(&path, &options).unwrap();
    assert_eq!(report, OpenReport::default());
    assert_eq!(job_count(&store), 1);
    holder.join().unwrap();
}

#[test]
fn a_read_only_database_is_refused_untouched() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    seed_old_file(&path);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = snapshot(dir.path());
    let err = fast(&path).unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err}");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn a_directory_or_a_device_is_not_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = fast(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::NotARegularFile { .. }), "{err}");
    let null = Path::new("/dev/null");
    if null.exists() {
        let err = fast(null).unwrap_err();
        assert!(
            matches!(&err, StoreError::NotARegularFile { kind, .. } if kind == "a character device"),
            "{err}"
        );
        assert!(null.exists(), "the device node stays where it is");
    }
}

#[test]
fn another_applications_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    // Marked by its own application.
    let marked = dir.path().join("marked.sqlite");
    Connection::open(&marked)
        .unwrap()
        .execute_batch("PRAGMA application_id = 1234; CREATE TABLE notes (body TEXT);")
        .unwrap();
    // Unmarked, with a `jobs` table of its own.
    let unmarked = dir.path().join("unmarked.sqlite");
    Connection::open(&unmarked)
        .unwrap()
        .execute_batch("CREATE TABLE jobs (id INTEGER, title TEXT);")
        .unwrap();
    let before = snapshot(dir.path());
    for path in [&marked, &unmarked] {
        let err = fast(path).unwrap_err();
        assert!(matches!(err, StoreError::ForeignDatabase { .. }), "{err}");
    }
    assert_eq!(
        snapshot(dir.path()),
        before,
        "not extended, not switched to WAL, not moved"
    );
}

#[test]
fn a_newer_schema_is_refused_before_any_write_or_journal_switch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    Connection::open(&path)
        .unwrap()
        .execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {};
             CREATE TABLE jobs (x); CREATE TABLE outbox (y);",
            LATEST_VERSION + 1
        ))
        .unwrap();
    let before = snapshot(dir.path());
    let err = fast(&path).unwrap_err();
    assert!(matches!(err, StoreError::NewerSchema { .. }), "{err}");
    assert_eq!(
        snapshot(dir.path()),
        before,
        "still in rollback mode, no WAL"
    );
}

#[test]
fn an_empty_file_is_claimed_and_a_new_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.sqlite");
    std::fs::write(&empty, b"").unwrap();
    let (store, _) = fast(&empty).unwrap();
    let id: i32 = store
        .conn()
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(id, APPLICATION_ID);
    let new = dir.path().join("sub/new.sqlite");
    let (store, _) = fast(&new).unwrap();
    store
        .conn()
        .execute("INSERT INTO sync_state VALUES ('k', 'v')", [])
        .unwrap();
    for file in ["new.sqlite", "new.sqlite-wal", "new.sqlite-shm"] {
        let mode = std::fs::metadata(dir.path().join("sub").join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
}

#[test]
fn a_legacy_database_without_the_mark_is_recognised_and_marked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let conn = Connection::open(&path).unwrap();
    migrate_to(&conn, LATEST_VERSION).unwrap();
    conn.execute_batch(
        "INSERT INTO jobs VALUES ('L1', 'JP-L1', '{}', '{\"state\":\"assigned\"}', NULL, NULL, NULL, 1, 1)",
    )
    .unwrap();
    drop(conn);
    let (store, report) = fast(&path).unwrap();
    assert_eq!(report, OpenReport::default());
    assert_eq!(job_count(&store), 1);
    drop(store);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[68..72], &APPLICATION_ID.to_be_bytes());
}

/// Threads with their own connections stand in for processes: SQLite's locks are per
/// connection (the CLI test runs real processes).
fn open_at_once(path: &Path, openers: usize) -> Vec<Result<OpenReport, String>> {
    open_at_once_with(path, openers, &StoreOptions::default())
}

/// [`open_at_once`] with a key or a lock wait of its own.
pub(super) fn open_at_once_with(
    path: &Path,
    openers: usize,
    options: &StoreOptions,
) -> Vec<Result<OpenReport, String>> {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(openers));
    let handles: Vec<_> = (0..openers)
        .map(|_| {
            let (path, barrier, options) = (path.to_owned(), barrier.clone(), options.clone());
            std::thread::spawn(move || {
                barrier.wait();
                Store::open_with(&path, &options)
                    .map(|(_, report)| report)
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn several_openers_creating_one_new_file_all_succeed() {
    for round in 0..15 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.sqlite");
        for result in open_at_once(&path, 6) {
            assert_eq!(result, Ok(OpenReport::default()), "round {round}");
        }
        let names: Vec<_> = snapshot(dir.path()).into_iter().map(|(n, _)| n).collect();
        assert!(
            names.iter().all(|n| !n.contains("corrupt")),
            "round {round}: {names:?}"
        );
    }
}

#[test]
fn several_openers_migrating_one_old_file_all_succeed() {
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.sqlite");
        let conn = Connection::open(&path).unwrap();
        migrate_to(&conn, 2).unwrap();
        drop(conn);
        for result in open_at_once(&path, 6) {
            assert_eq!(result, Ok(OpenReport::default()), "round {round}");
        }
        let (store, _) = Store::open(&path).unwrap();
        let version: i64 = store
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, LATEST_VERSION);
    }
}

// ------------------------------------------------------------------ retention

const DAY: i64 = 24 * 3600 * 1000;

/// A job with: an old sent message, an old sent upload and the sent close that waited for it,
/// a recent sent message, and unsent work in every state, old or not.
fn seed_for_retention(conn: &Connection, now: i64) {
    let old = now - 40 * DAY;
    let recent = now - DAY;
    conn.execute_batch(&format!(
        "INSERT INTO jobs VALUES ('R1', 'JP-R1', '{{}}', '{{\"state\":\"closed\"}}', NULL, NULL, NULL, 1, 1);
         INSERT INTO jobs VALUES ('R2', 'JP-R2', '{{}}', '{{\"state\":\"onSite\"}}', NULL, NULL, NULL, 1, 1);
         INSERT INTO outbox (seq, job_ref, kind, method, label, rpc_id, idempotency_key, body, acted_at, created_at, state, sent_at)
           VALUES (1, 'R1', 'rpc', 'notifyJob', 'accept', 1, 'k1', x'7b7d', {old}, {old}, 'sent', {old}),
                  (2, 'R1', 'upload', 'upload', 'photo', 2, 'k2', x'7b7d', {old}, {old}, 'sent', {old}),
                  (3, 'R1', 'rpc', 'closeJob', 'close', 3, 'k3', x'7b7d', {old}, {old}, 'sent', {old}),
                  (4, 'R1', 'rpc', 'notifyJob', 'late', 4, 'k4', x'7b7d', {recent}, {recent}, 'sent', {recent}),
                  (5, 'R2', 'rpc', 'notifyJob', 'queued', 5, 'k5', x'7b7d', {old}, {old}, 'queued', NULL),
                  (6, 'R2', 'rpc', 'notifyJob', 'retrying', 6, 'k6', x'7b7d', {old}, {old}, 'retrying', NULL),
                  (7, 'R2', 'rpc', 'notifyJob', 'parked', 7, 'k7', x'7b7d', {old}, {old}, 'parked', NULL),
                  (8, 'R2', 'upload', 'upload', 'photo', 8, 'k8', x'7b7d', {old}, {old}, 'sent', {old}),
                  (9, 'R2', 'rpc', 'closeJob', 'close', 9, 'k9', x'7b7d', {old}, {old}, 'queued', NULL);
         INSERT INTO outbox_dependencies VALUES (3, 2), (9, 8);
         INSERT INTO photos (job_ref, journey, question_code, sha256, file_name, object_path, upload_seq, attached_at)
           VALUES ('R1', 'closure', '4900', 'aa', 'a.jpg', 's3://b/a', 2, {old}),
                  ('R2', 'closure', '4900', 'bb', 'b.jpg', 's3://b/b', 8, {old});
         INSERT INTO inbox VALUES ('createJob:1:R1', 'R1', 'createJob', {old}, '{{\"customer\":\"A Customer\"}}', NULL),
                                  ('createJob:2:R2', 'R2', 'createJob', {recent}, '{{\"customer\":\"B Customer\"}}', NULL);"
    ))
    .unwrap();
}

#[test]
fn pruning_removes_delivered_work_only_and_keeps_inbox_keys() {
    let store = Store::open_in_memory().unwrap();
    let conn = store.conn();
    let now = 1_800_000_000_000;
    seed_for_retention(conn, now);
    let before_unsent = unsent_items(conn).unwrap();
    assert_eq!(
        before_unsent, 4,
        "queued, retrying, parked, the waiting close"
    );

    let pruned = prune(conn, &Retention::default(), now).unwrap();
    assert_eq!(
        pruned.report.outbox_rows, 3,
        "the old sent rows 1, 2, 3; upload 8 stays while close 9 waits"
    );
    assert_eq!(pruned.report.inbox_bodies, 1);
    assert_eq!(
        pruned.photo_files,
        ["aa"],
        "uploaded and its close sent; bb's close is unsent"
    );
    let seqs: Vec<i64> = conn
        .prepare("SELECT seq FROM outbox ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        seqs,
        [4, 5, 6, 7, 8, 9],
        "recent sent and every unsent item stay"
    );
    assert_eq!(
        unsent_items(conn).unwrap(),
        before_unsent,
        "nothing unsent lost"
    );
    let keys: i64 = conn
        .query_row("SELECT count(*) FROM inbox", [], |r| r.get(0))
        .unwrap();
    assert_eq!(keys, 2, "keys stay, so a redelivery is still recognised");
    let body: String = conn
        .query_row(
            "SELECT body FROM inbox WHERE envelope_key = 'createJob:1:R1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(body, "", "the customer's details are gone");
    let pruned_photo: Option<i64> = conn
        .query_row(
            "SELECT pruned_at FROM photos WHERE sha256 = 'aa'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(pruned_photo, Some(now));
    let links: Vec<(i64, i64)> = conn
        .prepare("SELECT item, depends_on FROM outbox_dependencies")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(links, [(9, 8)], "the unsent close's link stays");

    // A second pass finds nothing new in the database.
    let again = prune(conn, &Retention::default(), now).unwrap();
    assert_eq!(
        (again.report.outbox_rows, again.report.inbox_bodies),
        (0, 0)
    );
    assert_eq!(Retention::FOREVER.sent_messages, None);
    let none = prune(conn, &Retention::FOREVER, now + 400 * DAY).unwrap();
    assert_eq!(none.report, PruneReport::default());
}
