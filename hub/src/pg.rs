//! The hub on PostgreSQL: for partners who outgrow one machine, several hub processes behind
//! one address share one database.
//!
//! * **Commit before answering** holds as on SQLite: a request's whole effect is one
//!   transaction, and the answer leaves after `COMMIT`. Transactions run at READ COMMITTED;
//!   where two processes could race they meet on a transaction-scoped advisory lock
//!   (`sql::lock_job` for anything that changes a job or its lane — advisory, so it also
//!   covers a job not created yet; `sql::lock_engineer` for anything that appends to an
//!   inbox) or on a unique constraint (envelope key, job ref, `providerJobId`,
//!   Idempotency-Key). A transaction that loses such a race (unique violation, serialization
//!   failure, deadlock) is run again from the start, and then finds the winner's row and
//!   answers from it, exactly as a redelivery does. If it keeps losing, the caller gets 503.
//! * **The outbox** has the core's columns plus a claim (`claimed_by`, `claimed_until`).
//!   [`PgDb::claim`] takes the head of each job's lane with `FOR UPDATE SKIP LOCKED` and
//!   leases it to this process; another process skips it while the lease runs, and takes it
//!   over (resending with the same Idempotency-Key) when a crashed claimant's lease expires.
//!   Outcomes are recorded only by the claimant still holding the lease.
//! * **Inbox order**: a phone's cursor is the last inbox `seq` it saw, so rows must become
//!   visible in `seq` order per engineer. Appending takes the engineer's lock before the
//!   sequence number is drawn, so a later number is never committed before an earlier one.
//!
//! The client is `tokio-postgres` (no TLS: loopback or a Unix socket). Its connections run on
//! a small runtime of their own, so the hub's modules can stay synchronous (as they are on
//! SQLite) and call it from inside or outside the hub's runtime alike.

use std::collections::{HashMap, HashSet};
use std::error::Error as StdError;
use std::future::Future;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use bytes::BytesMut;
use jobpack_core::outbox::{ItemKind, ItemState, NewItem, OutboxItem, ReadyItem};
use jobpack_core::protocol::Timestamp;
use jobpack_core::sync::Verdict;
use postgres_types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, Statement, Transaction};

use crate::HubError;
use crate::sql::{Arg, Dialect, Row, Tx, Value, args};

/// Numbered migrations, applied in order, each in its own transaction with its version.
const MIGRATIONS: [&str; 1] = [include_str!("../migrations/postgres/0001_hub.sql")];

/// The schema version this build writes on PostgreSQL.
pub const PG_LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// Connections one hub process opens at most.
const POOL: usize = 8;

/// How long opening a connection may take unless the URL says (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How many times a transaction that lost a race is run again before the caller gets 503.
const ATTEMPTS: usize = 12;

/// Blocks the calling thread on `future` (which must not need the hub's runtime: the
/// connections run on [`PgDb`]'s own).
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut context) {
            return value;
        }
        std::thread::park();
    }
}

struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

/// A pool of connections to one PostgreSQL database.
pub struct PgDb {
    config: tokio_postgres::Config,
    runtime: Option<tokio::runtime::Runtime>,
    idle: Mutex<(Vec<Conn>, usize)>,
    freed: Condvar,
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// `?N` placeholders (the modules' SQL) as PostgreSQL's `$N`.
fn dollar(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

fn retryable(e: &HubError) -> bool {
    match e {
        HubError::Postgres(e) => e.code().is_some_and(|code| {
            *code == SqlState::UNIQUE_VIOLATION
                || *code == SqlState::T_R_SERIALIZATION_FAILURE
                || *code == SqlState::T_R_DEADLOCK_DETECTED
        }),
        _ => false,
    }
}

impl PgDb {
    /// Connects to `url` (`host=/run/postgresql user=hub dbname=hub` or
    /// `postgresql://hub@localhost/hub`) and migrates the database to the latest schema.
    pub fn open(url: &str) -> Result<PgDb, HubError> {
        let mut config: tokio_postgres::Config = url.parse()?;
        // A server that accepts and never answers must not hold a hub thread for ever.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("hub-postgres")
            .enable_all()
            .build()
            .map_err(|e| HubError::Upstream(format!("PostgreSQL runtime: {e}")))?;
        let db = PgDb {
            config,
            runtime: Some(runtime),
            idle: Mutex::new((Vec::new(), 0)),
            freed: Condvar::new(),
        };
        db.migrate()?;
        Ok(db)
    }

    fn connect(&self) -> Result<Conn, HubError> {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| HubError::Upstream("PostgreSQL runtime stopped".into()))?;
        let config = self.config.clone();
        let client = block_on(runtime.spawn(async move {
            let (client, connection) = config.connect(NoTls).await?;
            tokio::spawn(connection);
            Ok::<_, tokio_postgres::Error>(client)
        }))
        .map_err(|e| HubError::Upstream(format!("PostgreSQL connection task: {e}")))??;
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }

    fn take(&self) -> Result<Conn, HubError> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(conn) = idle.0.pop() {
                return Ok(conn);
            }
            if idle.1 < POOL {
                idle.1 += 1;
                drop(idle);
                return self.connect().inspect_err(|_| {
                    let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
                    idle.1 -= 1;
                });
            }
            idle = self
                .freed
                .wait(idle)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn give_back(&self, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if conn.client.is_closed() {
            idle.1 -= 1;
        } else {
            idle.0.push(conn);
        }
        self.freed.notify_one();
    }

    /// Runs `f` in one transaction and commits; the commit is the moment an answer may be
    /// given. A transaction that lost a race to another hub process is run again.
    pub fn write<T>(
        &self,
        mut f: impl FnMut(&dyn Tx) -> Result<T, HubError>,
    ) -> Result<T, HubError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.once(&mut f) {
                Err(e) if attempt < ATTEMPTS && retryable(&e) => {
                    std::thread::sleep(Duration::from_millis(fastrand::u64(
                        1..=5 * attempt as u64,
                    )));
                }
                other => return other,
            }
        }
    }

    fn once<T>(&self, f: &mut impl FnMut(&dyn Tx) -> Result<T, HubError>) -> Result<T, HubError> {
        let mut conn = self.take()?;
        let result = (|| {
            let Conn { client, statements } = &mut conn;
            let tx = block_on(client.transaction())?;
            let pg = PgTx {
                tx,
                statements: std::cell::RefCell::new(statements),
            };
            let value = f(&pg)?;
            block_on(pg.tx.commit())?;
            Ok(value)
        })();
        self.give_back(conn);
        result
    }

    fn migrate(&self) -> Result<(), HubError> {
        for (index, sql) in MIGRATIONS.iter().enumerate() {
            let version = index as i64 + 1;
            let mut conn = self.take()?;
            let result = (|| {
                let tx = block_on(conn.client.transaction())?;
                // Two hub processes starting together: one migrates, the other waits here.
                block_on(tx.execute("SELECT pg_advisory_xact_lock(7423015)", &[]))?;
                block_on(tx.batch_execute(
                    "CREATE TABLE IF NOT EXISTS hub_schema (version BIGINT NOT NULL)",
                ))?;
                let current: Option<i64> =
                    block_on(tx.query_one("SELECT MAX(version) FROM hub_schema", &[]))?
                        .try_get(0)?;
                let current = current.unwrap_or(0);
                if current > PG_LATEST_VERSION {
                    return Err(HubError::NewerSchema {
                        found: current,
                        supported: PG_LATEST_VERSION,
                    });
                }
                if version > current {
                    block_on(tx.batch_execute(sql))?;
                    block_on(
                        tx.execute("INSERT INTO hub_schema (version) VALUES ($1)", &[&version]),
                    )?;
                }
                block_on(tx.commit())?;
                Ok(())
            })();
            self.give_back(conn);
            result?;
        }
        Ok(())
    }

    /// Leases up to `limit` items that may be sent now — the head of each job's lane, queued
    /// or due, dependencies sent, not leased to anyone — to `claimant` until `until`.
    pub(crate) fn claim(
        &self,
        claimant: &str,
        limit: usize,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<ReadyItem>, HubError> {
        self.write(|tx| {
            let rows = tx.query(
                "UPDATE outbox SET claimed_by = ?1, claimed_until = ?2
                 WHERE seq IN (
                   SELECT o.seq FROM outbox o
                   WHERE (o.state = 'queued' OR (o.state = 'retrying' AND o.next_attempt_at <= ?3))
                     AND (o.claimed_until IS NULL OR o.claimed_until < ?3)
                     AND o.seq = (SELECT MIN(p.seq) FROM outbox p
                                  WHERE p.job_ref = o.job_ref AND p.kind = o.kind
                                    AND p.state NOT IN ('sent', 'discarded'))
                     AND NOT EXISTS (SELECT 1 FROM outbox_dependencies d
                                     JOIN outbox p ON p.seq = d.depends_on
                                     WHERE d.item = o.seq AND p.state <> 'sent')
                   ORDER BY o.seq
                   LIMIT ?4
                   FOR UPDATE SKIP LOCKED)
                 RETURNING seq, job_ref, kind, method, idempotency_key, body, attempts",
                args![
                    claimant,
                    until.unix_millis(),
                    now.unix_millis(),
                    limit as i64
                ],
            )?;
            let mut items = rows
                .iter()
                .map(|r| {
                    Ok(ReadyItem {
                        seq: r.get(0)?,
                        job_ref: r.get(1)?,
                        kind: kind(&r.get::<String>(2)?),
                        method: r.get(3)?,
                        idempotency_key: r.get(4)?,
                        body: r.get(5)?,
                        attempts: r.get::<i64>(6)?.clamp(0, i64::from(u32::MAX)) as u32,
                    })
                })
                .collect::<Result<Vec<_>, HubError>>()?;
            items.sort_by_key(|i| i.seq);
            Ok(items)
        })
    }

    /// Gives up this process's leases (a clean shutdown), so another process need not wait
    /// them out.
    pub(crate) fn release(&self, claimant: &str, seqs: &HashSet<i64>) -> Result<(), HubError> {
        self.write(|tx| {
            for seq in seqs {
                tx.execute(
                    "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL
                     WHERE seq = ?1 AND claimed_by = ?2",
                    args![*seq, claimant],
                )?;
            }
            Ok(())
        })
    }
}

fn kind(text: &str) -> ItemKind {
    if text == "upload" {
        ItemKind::Upload
    } else {
        ItemKind::Rpc
    }
}

fn state(text: &str) -> Result<ItemState, HubError> {
    Ok(match text {
        "queued" => ItemState::Queued,
        "sending" => ItemState::Sending,
        "retrying" => ItemState::Retrying,
        "sent" => ItemState::Sent,
        "parked" => ItemState::Parked,
        "discarded" => ItemState::Discarded,
        other => return Err(HubError::Corrupt(format!("outbox state {other:?}"))),
    })
}

/// What `sync::rules::record` does with a verdict, in PostgreSQL, by the claimant holding the
/// lease only (the lease ends with it; a sent item keeps `claimed_by`: which process sent it). False when the lease was lost: another
/// process owns the item now, and this outcome is dropped (a duplicate send is absorbed by
/// CityFibre through the Idempotency-Key).
fn record(
    tx: &dyn Tx,
    claimant: &str,
    seq: i64,
    verdict: &Verdict,
    now: Timestamp,
) -> Result<bool, HubError> {
    let changed = match verdict {
        Verdict::Sent => tx.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?2, next_attempt_at = NULL,
                    attempts = attempts + 1, claimed_until = NULL
             WHERE seq = ?1 AND claimed_by = ?3",
            args![seq, now.unix_millis(), claimant],
        )?,
        Verdict::Park(reason) => tx.execute(
            "UPDATE outbox SET state = 'parked', parked_reason = ?2, last_error = ?2,
                    next_attempt_at = NULL, attempts = attempts + 1,
                    claimed_by = NULL, claimed_until = NULL
             WHERE seq = ?1 AND claimed_by = ?3",
            args![seq, reason.as_str(), claimant],
        )?,
        Verdict::Retry {
            at,
            error,
            maybe_delivered,
        } => tx.execute(
            "UPDATE outbox SET state = 'retrying', next_attempt_at = ?2, last_error = ?3,
                    maybe_delivered = GREATEST(maybe_delivered, ?4), attempts = attempts + 1,
                    claimed_by = NULL, claimed_until = NULL
             WHERE seq = ?1 AND claimed_by = ?5",
            args![
                seq,
                at.unix_millis(),
                error.as_str(),
                *maybe_delivered,
                claimant
            ],
        )?,
    };
    Ok(changed > 0)
}

/// When the next retry falls due at the head of a lane (the core's `outbox::next_due`).
pub(crate) fn next_due(tx: &dyn Tx) -> Result<Option<Timestamp>, HubError> {
    let millis: Option<i64> = tx
        .query_one(
            "SELECT MIN(o.next_attempt_at) FROM outbox o
             WHERE o.state = 'retrying'
               AND o.seq = (SELECT MIN(p.seq) FROM outbox p
                            WHERE p.job_ref = o.job_ref AND p.kind = o.kind
                              AND p.state NOT IN ('sent', 'discarded'))",
            &[],
        )?
        .get(0)?;
    Ok(millis.and_then(Timestamp::from_unix_millis))
}

impl ToSql for Arg<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            Arg::Null => Ok(IsNull::Yes),
            Arg::Int(v) => match *ty {
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Arg::Text(v) => v.to_sql(ty, out),
            Arg::Blob(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn values(row: &tokio_postgres::Row) -> Result<Row, HubError> {
    let mut out = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Value::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Blob)
        } else {
            row.try_get::<_, Option<String>>(i)?.map(Value::Text)
        };
        out.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(out))
}

/// [`Tx`] on one PostgreSQL transaction, with the connection's prepared statements.
struct PgTx<'a> {
    tx: Transaction<'a>,
    statements: std::cell::RefCell<&'a mut HashMap<String, Statement>>,
}

impl PgTx<'_> {
    fn statement(&self, sql: &str) -> Result<Statement, HubError> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = block_on(self.tx.prepare(&dollar(sql)))?;
        self.statements
            .borrow_mut()
            .insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

fn refs<'b>(args: &'b [Arg<'_>]) -> Vec<&'b (dyn ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect()
}

const ITEM_COLUMNS: &str = "seq, job_ref, kind, method, label, rpc_id, idempotency_key, acted_at,
    created_at, state, attempts, next_attempt_at, last_error, parked_reason, maybe_delivered,
    sent_at, device_acted_at, time_source, clock_check_age_ms";

fn item(tx: &dyn Tx, r: &Row) -> Result<OutboxItem, HubError> {
    let time = |v: Option<i64>| v.and_then(Timestamp::from_unix_millis);
    let required = |v: i64| {
        Timestamp::from_unix_millis(v).ok_or_else(|| HubError::Corrupt("time out of range".into()))
    };
    let seq: i64 = r.get(0)?;
    let acted_at = required(r.get(7)?)?;
    let device_acted_at = time(r.get(16)?);
    let depends_on = tx
        .query(
            "SELECT depends_on FROM outbox_dependencies WHERE item = ?1 ORDER BY depends_on",
            args![seq],
        )?
        .iter()
        .map(|d| d.get(0))
        .collect::<Result<_, _>>()?;
    Ok(OutboxItem {
        seq,
        job_ref: r.get(1)?,
        kind: kind(&r.get::<String>(2)?),
        method: r.get(3)?,
        label: r.get(4)?,
        rpc_id: r.get::<i64>(5)? as u64,
        idempotency_key: r.get(6)?,
        acted_at,
        created_at: required(r.get(8)?)?,
        state: state(&r.get::<String>(9)?)?,
        attempts: r.get::<i64>(10)?.clamp(0, i64::from(u32::MAX)) as u32,
        next_attempt_at: time(r.get(11)?),
        last_error: r.get(12)?,
        parked_reason: r.get(13)?,
        maybe_delivered: r.get(14)?,
        sent_at: time(r.get(15)?),
        depends_on,
        device_acted_at,
        time_source: r.get(17)?,
        time_correction_ms: device_acted_at.map_or(0, |d| acted_at.unix_millis() - d.unix_millis()),
        clock_check_age_ms: r.get(18)?,
    })
}

/// The core's `require_parked`: the same refusals, worded by the core's `OutboxError`.
fn require_parked(tx: &dyn Tx, seq: i64, operation: &'static str) -> Result<(), HubError> {
    use jobpack_core::outbox::OutboxError;
    let row = tx.query_opt("SELECT state FROM outbox WHERE seq = ?1", args![seq])?;
    let refusal = match row {
        None => OutboxError::UnknownItem { seq },
        Some(row) => match state(&row.get::<String>(0)?)? {
            ItemState::Parked => return Ok(()),
            state => OutboxError::NotParked {
                seq,
                state,
                operation,
            },
        },
    };
    Err(refusal.into())
}

impl Tx for PgTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64, HubError> {
        let statement = self.statement(sql)?;
        Ok(block_on(self.tx.execute(&statement, &refs(args)))?)
    }

    fn query(&self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>, HubError> {
        let statement = self.statement(sql)?;
        block_on(self.tx.query(&statement, &refs(args)))?
            .iter()
            .map(values)
            .collect()
    }

    fn enqueue(&self, item: &NewItem<'_>, now: Timestamp) -> Result<i64, HubError> {
        let kind = match item.kind {
            ItemKind::Rpc => "rpc",
            ItemKind::Upload => "upload",
        };
        let seq: i64 = self
            .query_one(
                "INSERT INTO outbox (job_ref, kind, method, label, rpc_id, idempotency_key, body,
                                     acted_at, created_at, device_acted_at, time_source,
                                     clock_check_age_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 RETURNING seq",
                args![
                    item.job_ref,
                    kind,
                    item.method,
                    item.label,
                    item.rpc_id as i64,
                    item.idempotency_key,
                    item.body,
                    item.acted_at.unix_millis(),
                    now.unix_millis(),
                    item.time.map(|t| t.device.unix_millis()),
                    item.time.map(|t| t.source.name()),
                    item.time.and_then(|t| t.source.check_age_ms()),
                ],
            )?
            .get(0)?;
        for dep in item.depends_on {
            self.execute(
                "INSERT INTO outbox_dependencies (item, depends_on) VALUES (?1, ?2)",
                args![seq, *dep],
            )?;
        }
        Ok(seq)
    }

    fn outbox_list(&self, job_ref: Option<&str>) -> Result<Vec<OutboxItem>, HubError> {
        let rows = match job_ref {
            Some(job_ref) => self.query(
                &format!("SELECT {ITEM_COLUMNS} FROM outbox WHERE job_ref = ?1 ORDER BY seq"),
                args![job_ref],
            )?,
            None => self.query(
                &format!("SELECT {ITEM_COLUMNS} FROM outbox ORDER BY seq"),
                &[],
            )?,
        };
        rows.iter().map(|r| item(self, r)).collect()
    }

    fn resend(&self, seq: i64) -> Result<(), HubError> {
        require_parked(self, seq, "resent")?;
        self.execute(
            "UPDATE outbox SET state = 'queued', parked_reason = NULL, next_attempt_at = NULL
             WHERE seq = ?1",
            args![seq],
        )?;
        Ok(())
    }

    fn discard(&self, seq: i64, confirmation_key: &str) -> Result<(), HubError> {
        require_parked(self, seq, "discarded")?;
        let key: String = self
            .query_one(
                "SELECT idempotency_key FROM outbox WHERE seq = ?1",
                args![seq],
            )?
            .get(0)?;
        if key != confirmation_key {
            return Err(jobpack_core::outbox::OutboxError::ConfirmationMismatch { seq }.into());
        }
        self.execute(
            "UPDATE outbox SET state = 'discarded' WHERE seq = ?1",
            args![seq],
        )?;
        Ok(())
    }

    fn record(
        &self,
        claimant: &str,
        seq: i64,
        verdict: &Verdict,
        now: Timestamp,
    ) -> Result<bool, HubError> {
        record(self, claimant, seq, verdict, now)
    }
}

#[cfg(test)]
mod tests {
    use super::dollar;

    #[test]
    fn placeholders_become_dollars_and_nothing_else_changes() {
        assert_eq!(
            dollar("SELECT a FROM t WHERE b = ?1 AND c = ?12 AND d = '?'"),
            "SELECT a FROM t WHERE b = $1 AND c = $12 AND d = '?'"
        );
    }
}
