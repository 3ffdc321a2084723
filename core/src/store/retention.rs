//! Retention: what is deleted once it is done with, and what never is.
//!
//! Customer names, phone numbers and addresses travel in inbox bodies and outbox messages,
//! and photos show people's homes. Keeping them forever on a phone that may be lost is a
//! liability, so delivered work is pruned after an age the app configures. Unsent work is
//! never pruned: only outbox rows in state `sent` go (queued, retrying, parked and discarded
//! rows stay), an inbox row keeps its key (so a redelivered message is still recognised)
//! and loses only its body, and a photo's local file goes only when its upload is sent and
//! every message that references it is sent too — the row stays, marked `pruned_at`.

use std::time::Duration;

use rusqlite::{Connection, params};

use super::StoreError;

/// How long delivered work is kept; `None` keeps it forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Outbox rows delivered upstream (`sent`), counted from delivery.
    pub sent_messages: Option<Duration>,
    /// Inbox bodies already applied, counted from receipt.
    pub applied_inbox: Option<Duration>,
    /// Local photo files uploaded and referenced only by sent messages, counted from the
    /// upload's delivery.
    pub uploaded_photos: Option<Duration>,
}

impl Default for Retention {
    fn default() -> Self {
        let month = Some(Duration::from_secs(30 * 24 * 3600));
        Self {
            sent_messages: month,
            applied_inbox: month,
            uploaded_photos: month,
        }
    }
}

impl Retention {
    /// Keeps everything.
    pub const FOREVER: Self = Self {
        sent_messages: None,
        applied_inbox: None,
        uploaded_photos: None,
    };
}

/// What one pruning pass removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneReport {
    pub outbox_rows: u64,
    pub inbox_bodies: u64,
    /// Local photo files removed.
    pub photo_files: u64,
}

/// What the database pass decided; the caller removes the files after the commit.
#[derive(Debug, Default)]
pub struct Pruned {
    pub report: PruneReport,
    /// Hashes whose every photo row is pruned: their files may go (files of earlier passes
    /// that a crash left behind are listed again, so they go too).
    pub photo_files: Vec<String>,
}

fn cutoff(now_ms: i64, age: Option<Duration>) -> Option<i64> {
    age.map(|a| now_ms.saturating_sub(a.as_millis().min(i64::MAX as u128) as i64))
}

/// One photo row may lose its file: upload delivered before `cutoff` (or its row already
/// pruned, which only happens to sent rows), at least one message waited for it and all of
/// those are sent.
const PHOTO_DONE: &str = "
    (NOT EXISTS (SELECT 1 FROM outbox u WHERE u.seq = q.upload_seq)
     OR EXISTS (SELECT 1 FROM outbox u WHERE u.seq = q.upload_seq
                AND u.state = 'sent' AND u.sent_at < ?1
                AND EXISTS (SELECT 1 FROM outbox_dependencies d JOIN outbox m ON m.seq = d.item
                            WHERE d.depends_on = u.seq AND m.state = 'sent')
                AND NOT EXISTS (SELECT 1 FROM outbox_dependencies d JOIN outbox m ON m.seq = d.item
                                WHERE d.depends_on = u.seq AND m.state <> 'sent')))";

/// Sent outbox rows that may go: delivered before `?1`, and for an upload, every message
/// that waited for it sent (at least one).
const PRUNABLE_SENT: &str = "
    SELECT o.seq FROM outbox o
    WHERE o.state = 'sent' AND o.sent_at < ?1
      AND NOT EXISTS (SELECT 1 FROM outbox_dependencies d JOIN outbox m ON m.seq = d.item
                      WHERE d.depends_on = o.seq AND m.state <> 'sent')
      AND (o.kind <> 'upload'
           OR EXISTS (SELECT 1 FROM outbox_dependencies d JOIN outbox m ON m.seq = d.item
                      WHERE d.depends_on = o.seq AND m.state = 'sent'))";

/// Prunes in the caller's transaction; the caller removes the listed photo files after the
/// commit (a crash in between leaves files of rows marked pruned: the next pass removes them).
pub fn prune(conn: &Connection, retention: &Retention, now_ms: i64) -> Result<Pruned, StoreError> {
    let mut pruned = Pruned::default();
    // Photos first: the outbox rows they are judged by may be pruned below.
    if let Some(cut) = cutoff(now_ms, retention.uploaded_photos) {
        let mut stmt = conn.prepare(&format!(
            "SELECT DISTINCT p.sha256 FROM photos p
             WHERE NOT EXISTS (SELECT 1 FROM photos q WHERE q.sha256 = p.sha256
                               AND q.pruned_at IS NULL AND NOT {PHOTO_DONE})
             ORDER BY p.sha256"
        ))?;
        let hashes = stmt
            .query_map([cut], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        for hash in &hashes {
            conn.execute(
                "UPDATE photos SET pruned_at = ?2 WHERE sha256 = ?1 AND pruned_at IS NULL",
                params![hash, now_ms],
            )?;
        }
        pruned.photo_files = hashes;
    }
    if let Some(cut) = cutoff(now_ms, retention.sent_messages) {
        // A link to a sent item is satisfied already; the dependent's own link rows go with
        // it (ON DELETE CASCADE). An upload stays while a message that waits for it is unsent
        // (its photo is judged by it), and until one was sent at all.
        // The set is fixed first: removing a link changes what the query would answer.
        let seqs = conn
            .prepare(PRUNABLE_SENT)?
            .query_map([cut], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        for seq in &seqs {
            conn.execute(
                "DELETE FROM outbox_dependencies WHERE depends_on = ?1",
                [seq],
            )?;
            conn.execute("DELETE FROM outbox WHERE seq = ?1", [seq])?;
        }
        pruned.report.outbox_rows = seqs.len() as u64;
    }
    if let Some(cut) = cutoff(now_ms, retention.applied_inbox) {
        pruned.report.inbox_bodies = conn.execute(
            "UPDATE inbox SET body = '' WHERE received_at < ?1 AND body <> ''",
            [cut],
        )? as u64;
    }
    Ok(pruned)
}

/// Work on this device that has not reached CityFibre: outbox items not yet sent (queued,
/// retrying, parked — a parked item waits for the engineer, it is not given up).
pub fn unsent_items(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM outbox WHERE state NOT IN ('sent', 'discarded')",
        [],
        |r| r.get(0),
    )?;
    Ok(n.max(0) as u64)
}
