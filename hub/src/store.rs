//! The hub's database, whichever it is: SQLite (the default, one file, one process) or
//! PostgreSQL (several hub processes on one database). Every module works on either through
//! [`crate::sql::Tx`]; this enum only opens the transaction and holds what the forwarder needs
//! to claim and record deliveries, where the two backends really differ (in-memory claims on
//! one SQLite process, leased row claims on PostgreSQL).

use std::collections::HashSet;

use jobpack_core::outbox::{self, ReadyItem};
use jobpack_core::protocol::Timestamp;

use crate::HubError;
use crate::db::Db;
use crate::pg::{self, PgDb};
use crate::sql::Tx;

/// Where the hub keeps its state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Backend {
    /// `hub.sqlite` in the hub's directory.
    #[default]
    Sqlite,
    /// A PostgreSQL database (`host=… user=… dbname=…` or `postgresql://…`), shared by any
    /// number of hub processes.
    Postgres(String),
}

/// An open database of either kind.
pub enum Storage {
    Sqlite(Db),
    Postgres(Box<PgDb>),
}

impl Storage {
    /// Runs `f` in one transaction and commits it; only then may an answer be given. On
    /// PostgreSQL a transaction that lost a race to another hub process runs again.
    pub fn write<T>(&self, f: impl FnMut(&dyn Tx) -> Result<T, HubError>) -> Result<T, HubError> {
        match self {
            Storage::Sqlite(db) => db.write(f),
            Storage::Postgres(db) => db.write(f),
        }
    }

    /// Runs `f` for reading (a transaction on PostgreSQL, so it sees one state).
    pub fn read<T>(&self, f: impl FnMut(&dyn Tx) -> Result<T, HubError>) -> Result<T, HubError> {
        match self {
            Storage::Sqlite(db) => db.read(f),
            Storage::Postgres(db) => db.write(f),
        }
    }

    /// Items to send now, up to `room`, none of them already in flight in this process.
    /// SQLite: the core's `outbox::ready`, claims in memory (one process). PostgreSQL: the
    /// same choice, leased in the database to `claimant` until `until`.
    pub(crate) fn claim(
        &self,
        claimant: &str,
        room: usize,
        in_flight: &HashSet<i64>,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<ReadyItem>, HubError> {
        let ready = match self {
            Storage::Sqlite(db) => outbox::ready(&db.lock(), now, room + in_flight.len())?,
            Storage::Postgres(db) => db.claim(claimant, room, now, until)?,
        };
        Ok(ready
            .into_iter()
            .filter(|i| !in_flight.contains(&i.seq))
            .take(room)
            .collect())
    }

    /// When the next retry falls due.
    pub(crate) fn next_due(&self) -> Result<Option<Timestamp>, HubError> {
        match self {
            Storage::Sqlite(db) => Ok(outbox::next_due(&db.lock())?),
            Storage::Postgres(db) => db.write(pg::next_due),
        }
    }

    /// Gives back the leases of items still in flight (PostgreSQL; nothing on SQLite).
    pub(crate) fn release(&self, claimant: &str, in_flight: &HashSet<i64>) {
        if let Storage::Postgres(db) = self
            && !in_flight.is_empty()
        {
            let _ = db.release(claimant, in_flight);
        }
    }
}
