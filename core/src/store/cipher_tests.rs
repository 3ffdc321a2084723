//! The database at rest: encrypted, keyed, migrated from plain without loss, and a wrong key
//! never costs the engineer the file.

use std::path::Path;

use super::tests::{columns, open_at_once_with, seed_old_file, snapshot};
use super::*;

const CUSTOMER: &str = "Ada Lovelace-Byron";
const PHONE: &str = "07700 900461";

fn key(byte: u8) -> DatabaseKey {
    DatabaseKey::new(&[byte; DATABASE_KEY_LEN]).unwrap()
}

fn options(key: Option<DatabaseKey>) -> StoreOptions {
    StoreOptions {
        busy_timeout: std::time::Duration::from_millis(300),
        key,
    }
}

fn open(path: &Path, key: Option<DatabaseKey>) -> Result<(Store, OpenReport), StoreError> {
    Store::open_with(path, &options(key))
}

/// A job whose pack carries a customer's name and phone number, and an unsent message.
fn add_customer_job(store: &Store, job_ref: &str) {
    let pack = serde_json::json!({ "customer": { "name": CUSTOMER, "phone": PHONE } });
    store
        .conn()
        .execute(
            "INSERT INTO jobs VALUES (?1, 'JP-1', ?2, '{\"state\":\"assigned\"}', NULL, NULL, NULL, 1, 1)",
            [job_ref, pack.to_string().as_str()],
        )
        .unwrap();
    store
        .conn()
        .execute(
            "INSERT INTO outbox (job_ref, method, label, rpc_id, idempotency_key, body, acted_at, created_at, state)
             VALUES (?1, 'notifyJob', 'accept', 1, ?2, ?3, 1, 1, 'queued')",
            rusqlite::params![job_ref, format!("key-{job_ref}"), PHONE.as_bytes()],
        )
        .unwrap();
}

fn jobs_and_open_items(store: &Store) -> (Vec<String>, i64) {
    let mut stmt = store
        .conn()
        .prepare("SELECT job_ref FROM jobs ORDER BY job_ref")
        .unwrap();
    let jobs = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let open: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM outbox WHERE state = 'queued'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (jobs, open)
}

/// Every byte the database left on disk (main file, WAL, journal).
fn bytes_on_disk(dir: &Path) -> Vec<u8> {
    snapshot(dir)
        .into_iter()
        .flat_map(|(_, bytes)| bytes)
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn an_encrypted_database_holds_no_customer_data_in_the_clear_and_reopens_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let (store, report) = open(&path, Some(key(1))).unwrap();
    assert_eq!(report, OpenReport::default());
    add_customer_job(&store, "J1");
    // Still open: the WAL holds the newest pages, and it is encrypted too.
    let on_disk = bytes_on_disk(dir.path());
    assert!(!contains(&on_disk, CUSTOMER) && !contains(&on_disk, PHONE));
    assert!(!contains(&on_disk, "SQLite format 3"));
    assert!(
        !contains(&on_disk, "CREATE TABLE"),
        "the schema is encrypted too"
    );
    drop(store);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (store, _) = open(&path, Some(key(1))).unwrap();
    assert_eq!(jobs_and_open_items(&store), (vec!["J1".to_owned()], 1));
}

#[test]
fn a_wrong_key_or_no_key_is_a_typed_error_and_the_file_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let (store, _) = open(&path, Some(key(1))).unwrap();
    add_customer_job(&store, "J1");
    drop(store);
    let before = snapshot(dir.path());

    let err = open(&path, Some(key(2))).unwrap_err();
    assert!(matches!(err, StoreError::WrongKey { .. }), "{err}");
    assert_eq!(snapshot(dir.path()), before, "not one byte written");
    let err = open(&path, None).unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
    assert_eq!(snapshot(dir.path()), before, "never moved aside");

    let (store, _) = open(&path, Some(key(1))).unwrap();
    assert_eq!(jobs_and_open_items(&store), (vec!["J1".to_owned()], 1));
}

#[test]
fn a_plain_database_is_encrypted_in_place_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    seed_old_file(&path);
    let (store, _) = open(&path, None).unwrap();
    add_customer_job(&store, "J2");
    let plain_rows = jobs_and_open_items(&store);
    let plain_schema = columns(store.conn());
    drop(store);
    assert!(
        contains(&bytes_on_disk(dir.path()), CUSTOMER),
        "plain before"
    );

    let (store, report) = open(&path, Some(key(3))).unwrap();
    assert_eq!(report, OpenReport::default());
    assert_eq!(jobs_and_open_items(&store), plain_rows);
    assert_eq!(columns(store.conn()), plain_schema);
    let (version, app_id): (i64, i32) = store
        .conn()
        .query_row(
            "SELECT (SELECT user_version FROM pragma_user_version),
                    (SELECT application_id FROM pragma_application_id)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((version, app_id), (LATEST_VERSION, APPLICATION_ID));
    drop(store);
    let names: Vec<_> = snapshot(dir.path()).into_iter().map(|(n, _)| n).collect();
    assert!(names.iter().all(|n| !n.contains("encrypting")), "{names:?}");
    assert!(
        !contains(&bytes_on_disk(dir.path()), CUSTOMER),
        "encrypted after"
    );
    let err = open(&path, None).unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
}

#[test]
fn a_migration_that_crashed_is_redone_from_the_intact_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    seed_old_file(&path);
    // What a crash between the export and the rename leaves: a half-written copy.
    std::fs::write(cipher::encrypting_path(&path), b"half of an encrypted copy").unwrap();
    let (store, _) = open(&path, Some(key(4))).unwrap();
    assert_eq!(jobs_and_open_items(&store).0, vec!["S1".to_owned()]);
    assert!(!cipher::encrypting_path(&path).exists());
}

#[test]
fn a_plain_database_another_connection_holds_is_not_replaced_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    seed_old_file(&path);
    let (holder, _) = open(&path, None).unwrap();
    let err = open(&path, Some(key(5))).unwrap_err();
    assert!(matches!(err, StoreError::Busy { .. }), "{err}");
    // The holder's writes land in the file that stays the database.
    add_customer_job(&holder, "J3");
    drop(holder);
    assert!(cipher::is_plaintext(&path));
    assert!(!cipher::encrypting_path(&path).exists());
    let (store, _) = open(&path, Some(key(5))).unwrap();
    assert_eq!(
        jobs_and_open_items(&store).0,
        vec!["J3".to_owned(), "S1".to_owned()]
    );
}

#[test]
fn a_damaged_encrypted_database_of_ours_is_moved_aside_and_salvaged_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let (store, _) = open(&path, Some(key(6))).unwrap();
    add_customer_job(&store, "J4");
    store
        .conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    drop(store);
    let mut bytes = std::fs::read(&path).unwrap();
    // Page 1 (mark and schema) decrypts; a later page fails its HMAC.
    let last = bytes.len() - 100;
    bytes[last] ^= 0x5A;
    std::fs::write(&path, &bytes).unwrap();

    let (store, report) = open(&path, Some(key(6))).expect("damage never stops the app");
    let recovery = report.recovery.expect("damage is detected and reported");
    assert_eq!(std::fs::read(&recovery.moved_to).unwrap(), bytes);
    assert!(
        recovery.salvage_problem.is_none() || recovery.salvaged_jobs <= 1,
        "{recovery:?}"
    );
    drop(store);
    let (store, _) = open(&path, Some(key(6))).expect("the new file is encrypted with the key");
    drop(store);
    assert!(!cipher::is_plaintext(&path));
}

#[test]
fn several_openers_creating_one_new_encrypted_file_all_succeed() {
    for round in 0..8 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.sqlite");
        for result in open_at_once_with(
            &path,
            4,
            &StoreOptions {
                key: Some(key(7)),
                ..StoreOptions::default()
            },
        ) {
            assert_eq!(result, Ok(OpenReport::default()), "round {round}");
        }
        assert!(!cipher::is_plaintext(&path), "round {round}");
    }
}

#[test]
fn keys_have_32_bytes_are_redacted_and_the_database_key_is_not_the_storage_key() {
    assert!(matches!(
        DatabaseKey::new(&[1; 16]),
        Err(StoreError::BadKey { .. })
    ));
    assert!(DatabaseKey::derive(&[1; 31]).is_err());
    assert_eq!(format!("{:?}", key(9)), "DatabaseKey(<redacted>)");
    // The derived key opens what it made and the storage key itself does not.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let derived = DatabaseKey::derive(&[9; 32]).unwrap();
    drop(open(&path, Some(derived)).unwrap());
    assert!(open(&path, Some(DatabaseKey::derive(&[9; 32]).unwrap())).is_ok());
    let err = open(&path, Some(key(9))).unwrap_err();
    assert!(matches!(err, StoreError::WrongKey { .. }), "{err}");
}
