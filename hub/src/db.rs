//! The hub's SQLite database: one file, WAL, `synchronous=FULL`, numbered migrations.
//!
//! Why commit before answering: CityFibre (and a phone) treats our 200 as "the partner has
//! it". If we answered first and crashed before writing, the message would be gone on both
//! sides. So every handler writes its whole effect in one transaction and answers only after
//! `COMMIT` returned; with `synchronous=FULL` the commit survives a power cut. A crash after
//! the commit but before the answer only makes the caller retry, and the redelivery is
//! recognised (inbound envelope key, Idempotency-Key) and answered from what was stored.
//!
//! Migrations are numbered files in `hub/migrations/`, applied in order inside one write
//! transaction each, recorded in `PRAGMA user_version`; released ones are never edited.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use jobpack_core::outbox::{self, NewItem, OutboxItem};
use jobpack_core::protocol::Timestamp;
use jobpack_core::sync::Verdict;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, TransactionBehavior};

use crate::HubError;
use crate::sql::{Arg, Dialect, Row, Tx, Value};

const MIGRATIONS: [&str; 3] = [
    include_str!("../migrations/0001_cityfibre_side.sql"),
    include_str!("../migrations/0002_dispatch_devices_outbox.sql"),
    include_str!("../migrations/0003_refusals_to_phones.sql"),
];

/// The schema version this build writes.
pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// The hub's database behind one lock: SQLite has one writer anyway, and the lock is never
/// held across an `await`.
pub struct Db {
    conn: Mutex<Connection>,
}

impl Db {
    /// Opens (creating) the file and migrates it to the latest schema.
    pub fn open(path: &Path) -> Result<Db, HubError> {
        let conn = Connection::open(path)?;
        Self::from_connection(conn, LATEST_VERSION)
    }

    /// A throw-away database, for tests.
    pub fn open_in_memory() -> Result<Db, HubError> {
        Self::from_connection(Connection::open_in_memory()?, LATEST_VERSION)
    }

    pub(crate) fn from_connection(conn: Connection, target: i64) -> Result<Db, HubError> {
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )?;
        migrate_to(&conn, target)?;
        Ok(Db {
            conn: Mutex::new(conn),
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        // Every change is one transaction, so a panic elsewhere leaves nothing half-written.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction and commits; the commit is the moment an
    /// answer may be given.
    pub fn write<T>(&self, f: impl FnOnce(&dyn Tx) -> Result<T, HubError>) -> Result<T, HubError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&SqliteTx(&tx))?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `f` on the connection without a transaction of its own (reads).
    pub fn read<T>(&self, f: impl FnOnce(&dyn Tx) -> Result<T, HubError>) -> Result<T, HubError> {
        let conn = self.lock();
        f(&SqliteTx(&conn))
    }
}

/// [`Tx`] on a SQLite connection (inside the transaction [`Db::write`] opened); the outbox
/// operations are the core's own functions.
pub(crate) struct SqliteTx<'a>(pub(crate) &'a Connection);

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Arg::Null => ValueRef::Null,
            Arg::Int(v) => ValueRef::Integer(*v),
            Arg::Text(v) => ValueRef::Text(v.as_bytes()),
            Arg::Blob(v) => ValueRef::Blob(v),
        }))
    }
}

impl Tx for SqliteTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64, HubError> {
        let changed = self
            .0
            .prepare_cached(sql)?
            .execute(rusqlite::params_from_iter(args))?;
        Ok(changed as u64)
    }

    fn query(&self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>, HubError> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(match row.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Real(v) => Value::Int(v as i64),
                    ValueRef::Text(v) => Value::Text(String::from_utf8_lossy(v).into_owned()),
                    ValueRef::Blob(v) => Value::Blob(v.to_vec()),
                });
            }
            out.push(Row(values));
        }
        Ok(out)
    }

    fn enqueue(&self, item: &NewItem<'_>, now: Timestamp) -> Result<i64, HubError> {
        Ok(outbox::enqueue(self.0, item, now)?)
    }

    fn outbox_list(&self, job_ref: Option<&str>) -> Result<Vec<OutboxItem>, HubError> {
        Ok(outbox::list(self.0, job_ref)?)
    }

    fn resend(&self, seq: i64) -> Result<(), HubError> {
        Ok(outbox::resend(self.0, seq)?)
    }

    fn discard(&self, seq: i64, confirmation_key: &str) -> Result<(), HubError> {
        Ok(outbox::discard(self.0, seq, confirmation_key)?)
    }

    fn record(
        &self,
        _claimant: &str,
        seq: i64,
        verdict: &Verdict,
        now: Timestamp,
    ) -> Result<bool, HubError> {
        jobpack_core::sync::rules::record(self.0, seq, verdict, now)?;
        Ok(true)
    }
}

/// Applies migrations after the current version up to `target`, each with its version bump
/// in one transaction.
pub(crate) fn migrate_to(conn: &Connection, target: i64) -> Result<(), HubError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > LATEST_VERSION {
        return Err(HubError::NewerSchema {
            found: current,
            supported: LATEST_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        if version <= current || version > target {
            continue;
        }
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
        ))
        .inspect_err(|_| {
            let _ = conn.execute_batch("ROLLBACK");
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema as SQLite describes it, with column order as written by each path.
    fn schema(conn: &Connection) -> Vec<(String, String, String)> {
        let mut stmt = conn
            .prepare(
                "SELECT m.name, p.name, p.type || ':' || p.\"notnull\" || ':' || IFNULL(p.dflt_value, '') || ':' || p.pk
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p
                 WHERE m.type = 'table' ORDER BY m.name, p.name",
            )
            .expect("schema query");
        let mut rows: Vec<(String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("rows")
            .map(|r| r.expect("row"))
            .collect();
        let mut indexes = conn
            .prepare("SELECT tbl_name, name, IFNULL(sql, '') FROM sqlite_master WHERE type = 'index' ORDER BY name")
            .expect("index query");
        rows.extend(
            indexes
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .expect("rows")
                .map(|r| r.expect("row")),
        );
        rows
    }

    #[test]
    fn a_database_upgraded_from_version_1_equals_a_fresh_one() {
        let dir = tempfile::tempdir().expect("dir");
        let old_path = dir.path().join("old.sqlite");
        {
            let old = Db::from_connection(Connection::open(&old_path).expect("open"), 1)
                .expect("version 1");
            old.write(|tx| {
                tx.execute(
                    "INSERT INTO jobs (job_ref, provider_job_id, pack, created_at, updated_at)
                     VALUES ('S1', 'JP-000001', '{}', 1, 1)",
                    &[],
                )?;
                Ok(())
            })
            .expect("data at version 1");
        }
        let upgraded = Db::open(&old_path).expect("upgrade");
        let fresh = Db::open_in_memory().expect("fresh");
        assert_eq!(schema(&upgraded.lock()), schema(&fresh.lock()));
        let (version, engineer): (i64, Option<String>) = {
            let conn = upgraded.lock();
            let version = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .expect("version");
            let engineer = conn
                .query_row(
                    "SELECT engineer_id FROM jobs WHERE job_ref = 'S1'",
                    [],
                    |r| r.get(0),
                )
                .expect("the old job survives");
            (version, engineer)
        };
        assert_eq!(version, LATEST_VERSION);
        assert_eq!(engineer, None);
    }

    #[test]
    fn a_newer_database_is_refused() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch("PRAGMA user_version = 99")
            .expect("bump");
        assert!(matches!(
            Db::from_connection(conn, LATEST_VERSION),
            Err(HubError::NewerSchema { found: 99, .. })
        ));
    }
}
