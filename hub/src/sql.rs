//! The storage seam: what every hub module needs from a database, for SQLite and PostgreSQL.
//!
//! Why the seam is shaped like this: the hub's rules (dedup, stable `providerJobId`, crossed
//! and stale messages, dispatch, refusals back to the phone) are written once, in the modules,
//! against [`Tx`] — one open transaction. A module sends plain SQL (the subset both databases
//! speak: `?N` placeholders, `INSERT … RETURNING`, `ON CONFLICT`, `COALESCE`), with [`Arg`]s,
//! and reads [`Row`]s. What really differs per backend is kept behind the trait, not spread
//! through the modules:
//! * the outbox's own statements: on SQLite they are the core's functions
//!   (`jobpack_core::outbox`, `sync::rules::record`) on the core's table, as on a phone; on
//!   PostgreSQL they are the same statements in PostgreSQL's dialect (`pg.rs`), plus a claim
//!   lease so several hub processes share one outbox (see `forward.rs`);
//! * locks ([`Tx::lock`], [`lock_job`], [`lock_engineer`]): SQLite has one writer, so there
//!   is nothing to lock; on PostgreSQL the same places take a transaction-scoped advisory lock
//!   on the job (or engineer), so two hub processes serialise their changes to one job's lane
//!   or one engineer's inbox.
//!
//! A trait object rather than generics keeps one compiled copy of every module and lets
//! [`crate::store::Storage`] pick the backend at run time (`jobpack hub serve --postgres URL`).

use jobpack_core::outbox::{NewItem, OutboxItem};
use jobpack_core::protocol::Timestamp;
use jobpack_core::sync::Verdict;

use crate::HubError;

/// Which SQL the database speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// One statement argument.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Int(i64::from(v))
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Arg::Blob(v)
    }
}

impl<'a> From<&'a Vec<u8>> for Arg<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Arg::Blob(v)
    }
}

impl<'a, T: Into<Arg<'a>>> From<Option<T>> for Arg<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Arg::Null, Into::into)
    }
}

/// `args![a, b]`: a statement's arguments.
macro_rules! args {
    ($($arg:expr),* $(,)?) => {
        &[$($crate::sql::Arg::from($arg)),*][..]
    };
}
pub(crate) use args;

/// A column value as read.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, HubError> {
        let value = self
            .0
            .get(index)
            .ok_or_else(|| HubError::Corrupt(format!("no column {index}")))?;
        T::from_value(value).ok_or_else(|| {
            HubError::Corrupt(format!(
                "column {index}: {value:?} is not a {}",
                std::any::type_name::<T>()
            ))
        })
    }
}

/// Reading a column as a Rust type.
pub trait FromValue: Sized {
    fn from_value(value: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Option<Self> {
        i64::from_value(value).map(|v| v != 0)
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Blob(v) => Some(v.clone()),
            Value::Text(v) => Some(v.clone().into_bytes()),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// The first column of the first row, if there is a row.
pub fn first<T: FromValue>(
    tx: &dyn Tx,
    sql: &str,
    args: &[Arg<'_>],
) -> Result<Option<T>, HubError> {
    tx.query_opt(sql, args)?.map(|r| r.get(0)).transpose()
}

/// Serialises, across hub processes, the transactions that change one job or its outbox lane
/// (an advisory lock, so it also covers a job not created yet: a cancel racing its create).
pub fn lock_job(tx: &dyn Tx, job_ref: &str) -> Result<(), HubError> {
    tx.lock(
        "SELECT pg_advisory_xact_lock(1, hashtext(?1))",
        args![job_ref],
    )
}

/// Serialises, across hub processes, the transactions that append to one engineer's inbox,
/// so that its rows become visible in `seq` order (a phone's cursor is the last `seq` seen).
pub fn lock_engineer(tx: &dyn Tx, engineer_id: &str) -> Result<(), HubError> {
    tx.lock(
        "SELECT pg_advisory_xact_lock(2, hashtext(?1))",
        args![engineer_id],
    )
}

/// One open transaction on the hub's database. Committed by [`crate::store::Storage::write`]
/// after the closure returned `Ok`; rolled back otherwise.
pub trait Tx {
    fn dialect(&self) -> Dialect;

    /// Runs a statement; how many rows it changed.
    fn execute(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64, HubError>;

    /// Runs a query; every row.
    fn query(&self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>, HubError>;

    /// The first row, if any.
    fn query_opt(&self, sql: &str, args: &[Arg<'_>]) -> Result<Option<Row>, HubError> {
        Ok(self.query(sql, args)?.into_iter().next())
    }

    /// The first row; a query that must return one.
    fn query_one(&self, sql: &str, args: &[Arg<'_>]) -> Result<Row, HubError> {
        self.query_opt(sql, args)?
            .ok_or_else(|| HubError::Corrupt(format!("no row from {sql}")))
    }

    /// Runs a locking statement (held until the transaction ends) where several writers can
    /// run at once (PostgreSQL); nothing on SQLite, which has one writer.
    fn lock(&self, sql: &str, args: &[Arg<'_>]) -> Result<(), HubError> {
        if self.dialect() == Dialect::Postgres {
            self.execute(sql, args)?;
        }
        Ok(())
    }

    /// `jobpack_core::outbox::enqueue`.
    fn enqueue(&self, item: &NewItem<'_>, now: Timestamp) -> Result<i64, HubError>;

    /// `jobpack_core::outbox::list`.
    fn outbox_list(&self, job_ref: Option<&str>) -> Result<Vec<OutboxItem>, HubError>;

    /// `jobpack_core::outbox::resend`.
    fn resend(&self, seq: i64) -> Result<(), HubError>;

    /// `jobpack_core::outbox::discard`.
    fn discard(&self, seq: i64, confirmation_key: &str) -> Result<(), HubError>;

    /// Records what a delivery attempt meant (`jobpack_core::sync::rules::record`); on
    /// PostgreSQL only while `claimant` still holds the item's lease. False when the lease was
    /// lost (another process owns the item now; nothing is written).
    fn record(
        &self,
        claimant: &str,
        seq: i64,
        verdict: &Verdict,
        now: Timestamp,
    ) -> Result<bool, HubError>;
}
