//! Question based closure in SQLite: answers with their history, and photos per question.
//!
//! An answer is never overwritten: a new answer to the same question marks the current row
//! superseded and adds a row, so the phone keeps what was said first (QA asks) while the
//! payload is built from current rows only. Which current answers reach CityFibre is decided
//! by the flow (`crate::closure`): an answer left off the path by a changed earlier answer
//! stays current here but is not sent. Photos work the same way with `removed_at`.
//!
//! The journey point (`visit` or `closure`) is part of every key: the same question may be
//! asked during the visit and again at closure, and the two answers travel separately.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use crate::protocol::Timestamp;

/// A current answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub question_code: String,
    pub answer: String,
    pub answered_at: Timestamp,
}

/// An answer as it was given, current or superseded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRecord {
    pub journey: String,
    pub question_code: String,
    pub answer: String,
    pub answered_at: Timestamp,
    pub superseded_at: Option<Timestamp>,
}

/// A photo attached to a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPhoto {
    pub id: i64,
    pub journey: String,
    pub question_code: String,
    pub sha256: String,
    pub file_name: String,
    pub object_path: String,
    /// The outbox item uploading it; messages that reference the photo depend on it.
    pub upload_seq: i64,
    pub attached_at: Timestamp,
}

/// A photo to record.
#[derive(Debug, Clone, Copy)]
pub struct NewPhoto<'a> {
    pub job_ref: &'a str,
    pub journey: &'a str,
    pub question_code: &'a str,
    pub sha256: &'a str,
    pub file_name: &'a str,
    pub object_path: &'a str,
    pub upload_seq: i64,
}

fn millis(row: &Row<'_>, i: usize) -> rusqlite::Result<Result<Timestamp, StoreError>> {
    let ms: i64 = row.get(i)?;
    Ok(Timestamp::from_unix_millis(ms).ok_or_else(|| StoreError::corrupt("time out of range")))
}

/// Records `answer` as the current answer, superseding the previous one. Returns `false`
/// (and writes nothing) when the current answer is already exactly this.
pub fn record_answer(
    conn: &Connection,
    job_ref: &str,
    journey: &str,
    question_code: &str,
    answer: &str,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let current: Option<String> = conn
        .prepare_cached(
            "SELECT answer FROM answers
             WHERE job_ref = ?1 AND journey = ?2 AND question_code = ?3 AND superseded_at IS NULL",
        )?
        .query_row(params![job_ref, journey, question_code], |r| r.get(0))
        .optional()?;
    if current.as_deref() == Some(answer) {
        return Ok(false);
    }
    withdraw_answer(conn, job_ref, journey, question_code, at)?;
    conn.prepare_cached(
        "INSERT INTO answers (job_ref, journey, question_code, answer, answered_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        job_ref,
        journey,
        question_code,
        answer,
        at.unix_millis()
    ])?;
    Ok(true)
}

/// Records how the current answer's time was decided (`crate::clock`): the device's own
/// time and the source name, beside the `answered_at` that is sent.
pub fn set_answer_time(
    conn: &Connection,
    job_ref: &str,
    journey: &str,
    question_code: &str,
    time: &crate::clock::ActionTime,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE answers SET device_answered_at = ?4, time_source = ?5
         WHERE job_ref = ?1 AND journey = ?2 AND question_code = ?3 AND superseded_at IS NULL",
    )?
    .execute(params![
        job_ref,
        journey,
        question_code,
        time.device.unix_millis(),
        time.source.name()
    ])?;
    Ok(())
}

/// The latest time recorded for a job, by an action or an answer: a later action must not
/// come before it (`crate::clock::ActionTime::not_before`).
pub fn latest_time_of_job(
    conn: &Connection,
    job_ref: &str,
) -> Result<Option<Timestamp>, StoreError> {
    let millis: Option<i64> = conn
        .prepare_cached(
            "SELECT MAX(t) FROM (
                 SELECT MAX(acted_at) AS t FROM actions WHERE job_ref = ?1
                 UNION ALL
                 SELECT MAX(answered_at) FROM answers WHERE job_ref = ?1)",
        )?
        .query_row([job_ref], |r| r.get(0))?;
    Ok(millis.and_then(Timestamp::from_unix_millis))
}

/// Marks the current answer to a question superseded without a new one (the engineer
/// cleared it). Returns whether there was one.
pub fn withdraw_answer(
    conn: &Connection,
    job_ref: &str,
    journey: &str,
    question_code: &str,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE answers SET superseded_at = ?4
             WHERE job_ref = ?1 AND journey = ?2 AND question_code = ?3 AND superseded_at IS NULL",
        )?
        .execute(params![job_ref, journey, question_code, at.unix_millis()])?;
    Ok(n > 0)
}

/// The current answers of a job at one journey point, in the order they were given.
pub fn current_answers(
    conn: &Connection,
    job_ref: &str,
    journey: &str,
) -> Result<Vec<StoredAnswer>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT question_code, answer, answered_at FROM answers
         WHERE job_ref = ?1 AND journey = ?2 AND superseded_at IS NULL ORDER BY id",
    )?;
    let rows = stmt.query_map(params![job_ref, journey], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            millis(r, 2)?,
        ))
    })?;
    let mut answers = Vec::new();
    for row in rows {
        let (question_code, answer, at) = row?;
        answers.push(StoredAnswer {
            question_code,
            answer,
            answered_at: at?,
        });
    }
    Ok(answers)
}

/// Every answer ever given on a job, oldest first.
pub fn answer_history(conn: &Connection, job_ref: &str) -> Result<Vec<AnswerRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT journey, question_code, answer, answered_at, superseded_at FROM answers
         WHERE job_ref = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([job_ref], |r| {
        let superseded: Option<i64> = r.get(4)?;
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            millis(r, 3)?,
            superseded,
        ))
    })?;
    let mut history = Vec::new();
    for row in rows {
        let (journey, question_code, answer, at, superseded) = row?;
        history.push(AnswerRecord {
            journey,
            question_code,
            answer,
            answered_at: at?,
            superseded_at: superseded
                .map(|ms| {
                    Timestamp::from_unix_millis(ms)
                        .ok_or_else(|| StoreError::corrupt("time out of range"))
                })
                .transpose()?,
        });
    }
    Ok(history)
}

/// Records a photo; `None` when the same photo is already attached to that question.
pub fn add_photo(
    conn: &Connection,
    photo: &NewPhoto<'_>,
    at: Timestamp,
) -> Result<Option<i64>, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO photos (job_ref, journey, question_code, sha256, file_name, object_path,
                                 upload_seq, attached_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            photo.job_ref,
            photo.journey,
            photo.question_code,
            photo.sha256,
            photo.file_name,
            photo.object_path,
            photo.upload_seq,
            at.unix_millis(),
        ])?;
    Ok((n == 1).then(|| conn.last_insert_rowid()))
}

/// The current photo of a job with this hash on this question, if any.
pub fn find_photo(
    conn: &Connection,
    job_ref: &str,
    journey: &str,
    question_code: &str,
    sha256: &str,
) -> Result<Option<StoredPhoto>, StoreError> {
    Ok(current_photos(conn, job_ref, journey)?
        .into_iter()
        .find(|p| p.question_code == question_code && p.sha256 == sha256))
}

/// Detaches a photo (it stays in the history). Returns the photo if it was current.
pub fn remove_photo(
    conn: &Connection,
    job_ref: &str,
    id: i64,
    at: Timestamp,
) -> Result<Option<StoredPhoto>, StoreError> {
    let photo = current_photos_where(conn, "job_ref = ?1 AND id = ?2", params![job_ref, id])?
        .into_iter()
        .next();
    if photo.is_some() {
        conn.prepare_cached("UPDATE photos SET removed_at = ?2 WHERE id = ?1")?
            .execute(params![id, at.unix_millis()])?;
    }
    Ok(photo)
}

/// The current photos of a job at one journey point, in the order they were attached.
pub fn current_photos(
    conn: &Connection,
    job_ref: &str,
    journey: &str,
) -> Result<Vec<StoredPhoto>, StoreError> {
    current_photos_where(
        conn,
        "job_ref = ?1 AND journey = ?2",
        params![job_ref, journey],
    )
}

fn current_photos_where(
    conn: &Connection,
    filter: &str,
    values: impl rusqlite::Params,
) -> Result<Vec<StoredPhoto>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, journey, question_code, sha256, file_name, object_path, upload_seq, attached_at
         FROM photos WHERE {filter} AND removed_at IS NULL ORDER BY id"
    ))?;
    let rows = stmt.query_map(values, |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, i64>(6)?,
            millis(r, 7)?,
        ))
    })?;
    let mut photos = Vec::new();
    for row in rows {
        let (id, journey, question_code, sha256, file_name, object_path, upload_seq, at) = row?;
        photos.push(StoredPhoto {
            id,
            journey,
            question_code,
            sha256,
            file_name,
            object_path,
            upload_seq,
            attached_at: at?,
        });
    }
    Ok(photos)
}
