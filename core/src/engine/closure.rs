//! The question based closure as the app drives it: answer, attach photos, see what is
//! missing, close.
//!
//! The flow itself is pure (`crate::closure`); this part keeps its inputs durable. Every
//! answer and photo is committed to SQLite as it is given (a phone can die between two
//! questions), with the answer's time as `response_received`. The path is recomputed from
//! the matrix, the job and the current answers each time, so changing an earlier answer
//! takes later answers off the payload without deleting them.
//!
//! A photo is prepared (orientation, size, JPEG, hash), kept in the core's own photo
//! directory and queued as an upload item in the same transaction that records it, so a
//! photo the app has seen attached always reaches S3 eventually. The message that references
//! it (a closeJob, or a notifyJob with visit answers) is queued with a dependency on its
//! upload and leaves only after the object is in the bucket.
//!
//! `close` is the only way to queue a closeJob: it runs the checklist inside the transaction
//! that queues the message and refuses with every gap, so a closeJob that CityFibre would
//! refuse for a missing answer, photo or code is never sent.

use std::collections::BTreeMap;

use rusqlite::Transaction;

use super::{ActionReceipt, Engine, Error, Event};
use crate::closure::{AnswerType, Answers, FlowContext, Gap, Journey, Matrix, Question};
use crate::codes::Catalogue;
use crate::lifecycle::{Action, Job, JobState};
use crate::outbox::{self, ItemKind, ItemState, NewItem};
use crate::photos;
use crate::protocol::{FileReference, Timestamp};
use crate::store::{self, StoreError, StoredPhoto};

/// A question on the current path, as a screen shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionView {
    pub code: String,
    pub text: String,
    pub help: Option<String>,
    pub answer_type: AnswerType,
    /// What a valid answer looks like, in words (for the input's hint).
    pub expects: String,
    /// True when the engineer may leave it unanswered now (optional in the matrix, or
    /// required only under a condition that does not hold).
    pub optional: bool,
    /// The photos it asks for now, given the job and the answers (photo rules included).
    pub min_photos: u32,
    /// The most photos it accepts now (`None`: no limit of its own).
    pub max_photos: Option<u32>,
    pub photo_hint: Option<String>,
    /// The condition of the photo rule that sets the counts, in words, when one applies.
    pub photos_required_by: Option<String>,
    /// The current answer, canonical.
    pub answer: Option<String>,
    pub answered_at: Option<Timestamp>,
    pub photos: Vec<PhotoView>,
}

/// A photo attached to a question.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoView {
    pub id: i64,
    pub question_code: String,
    pub object_path: String,
    pub sha256: String,
    /// The upload's outbox item and its state (`None` once pruned after sending).
    pub upload_seq: i64,
    pub upload_state: Option<ItemState>,
    pub attached_at: Timestamp,
}

/// Where the flow of one journey point stands for a job.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowView {
    pub job_ref: String,
    pub journey: Journey,
    pub closure_code: Option<String>,
    pub secondary_code: Option<String>,
    /// Whether the matrix in use is the built-in default (a partner should replace it).
    pub default_matrix: bool,
    /// The answered questions on the current path, in path order.
    pub answered: Vec<QuestionView>,
    /// Unanswered questions on the path the engineer may skip, in path order.
    pub optional: Vec<QuestionView>,
    /// The question that must be answered now; `None` when the path is complete.
    pub next: Option<QuestionView>,
    /// Everything missing before these answers can be sent.
    pub gaps: Vec<Gap>,
}

impl FlowView {
    /// True when nothing is missing.
    pub fn is_ready(&self) -> bool {
        self.gaps.is_empty()
    }
}

fn ont_status(state: JobState) -> Option<u8> {
    match state {
        JobState::Provisioned { status }
        | JobState::ProvisioningRetrying { status }
        | JobState::ProvisioningFailed { status } => Some(status),
        _ => None,
    }
}

fn context(
    job: &Job,
    journey: Journey,
    closure_code: Option<&str>,
    secondary: Option<&str>,
) -> FlowContext {
    FlowContext {
        journey,
        closure_code: closure_code.map(str::to_owned),
        secondary_code: secondary.map(str::to_owned),
        property_flags: job.pack.property_flags.clone(),
        ont_status: ont_status(job.state),
    }
}

/// What the store holds for a journey point of a job: the inputs of the flow, and where
/// each photo's upload stands.
struct Recorded {
    answers: Answers,
    photos: Vec<StoredPhoto>,
    /// Upload item state per `upload_seq` (absent once an item is pruned).
    upload_states: BTreeMap<i64, ItemState>,
}

impl Recorded {
    fn load(
        conn: &rusqlite::Connection,
        job_ref: &str,
        journey: Journey,
    ) -> Result<Self, StoreError> {
        let answers = store::current_answers(conn, job_ref, journey.name())?
            .into_iter()
            .map(|a| crate::closure::RecordedAnswer {
                question_code: a.question_code,
                answer: a.answer,
                answered_at: a.answered_at,
            })
            .collect();
        let photos = store::current_photos(conn, job_ref, journey.name())?;
        let mut upload_states = BTreeMap::new();
        for p in &photos {
            if let Some(item) = outbox::get(conn, p.upload_seq)? {
                upload_states.insert(p.upload_seq, item.state);
            }
        }
        Ok(Self {
            answers,
            photos,
            upload_states,
        })
    }

    /// The checklist of `context` for what is recorded.
    fn gaps(&self, matrix: &Matrix, context: &FlowContext, catalogue: &Catalogue) -> Vec<Gap> {
        let mut photo_counts = BTreeMap::new();
        for p in &self.photos {
            *photo_counts.entry(p.question_code.clone()).or_insert(0) += 1;
        }
        matrix.checklist(context, &self.answers, &photo_counts, catalogue)
    }

    fn files(&self) -> BTreeMap<String, Vec<FileReference>> {
        let mut files: BTreeMap<String, Vec<FileReference>> = BTreeMap::new();
        for p in &self.photos {
            files
                .entry(p.question_code.clone())
                .or_default()
                .push(FileReference {
                    name: p.file_name.clone(),
                    mime_type: photos::PHOTO_CONTENT_TYPE.to_owned(),
                    object_path: p.object_path.clone(),
                    url: None,
                });
        }
        files
    }

    /// The upload items of the photos on the path that are still to be delivered.
    fn open_uploads(&self, on_path: &[String]) -> Vec<i64> {
        let mut seqs = Vec::new();
        for p in self
            .photos
            .iter()
            .filter(|p| on_path.contains(&p.question_code))
        {
            let open = self
                .upload_states
                .get(&p.upload_seq)
                .is_some_and(|state| *state != ItemState::Sent);
            if open && !seqs.contains(&p.upload_seq) {
                seqs.push(p.upload_seq);
            }
        }
        seqs
    }
}

fn question_view(question: &Question, recorded: &Recorded, context: &FlowContext) -> QuestionView {
    let answer = recorded.answers.latest(&question.code);
    let photos = question.photo_requirement(context, &recorded.answers);
    QuestionView {
        code: question.code.clone(),
        text: question.text.clone(),
        help: question.help.clone(),
        answer_type: question.answer.clone(),
        expects: question.answer.describe(),
        optional: !question.is_required(context, &recorded.answers),
        min_photos: photos.min,
        max_photos: photos.max,
        photo_hint: photos.hint,
        photos_required_by: photos.required_by.map(|c| c.to_string()),
        answer: answer.map(|a| a.answer.clone()),
        answered_at: answer.map(|a| a.answered_at),
        photos: recorded
            .photos
            .iter()
            .filter(|p| p.question_code == question.code)
            .map(|p| photo_view(p, recorded.upload_states.get(&p.upload_seq).copied()))
            .collect(),
    }
}

fn photo_view(p: &StoredPhoto, upload_state: Option<ItemState>) -> PhotoView {
    PhotoView {
        id: p.id,
        question_code: p.question_code.clone(),
        object_path: p.object_path.clone(),
        sha256: p.sha256.clone(),
        upload_seq: p.upload_seq,
        upload_state,
        attached_at: p.attached_at,
    }
}

impl Engine {
    /// The matrix in use: the partner's file from the configuration, or the default.
    pub fn matrix(&self) -> &Matrix {
        &self.shared.matrix
    }

    /// Where the flow of `journey` stands for a job; at closure, for the closure code the
    /// engineer has picked (the path and the gaps depend on it).
    pub fn flow(
        &self,
        job_ref: &str,
        journey: Journey,
        closure_code: Option<&str>,
        secondary_code: Option<&str>,
    ) -> Result<FlowView, Error> {
        let (stored, recorded) = self
            .shared
            .with_store(|s| {
                let conn = s.conn();
                let Some(stored) = store::load_job(conn, job_ref)? else {
                    return Ok(None);
                };
                Ok(Some((stored, Recorded::load(conn, job_ref, journey)?)))
            })?
            .ok_or_else(|| Error::UnknownJob {
                job_ref: job_ref.to_owned(),
            })?;
        let matrix = &self.shared.matrix;
        let context = context(&stored.job, journey, closure_code, secondary_code);
        let walk = matrix.walk(&context, &recorded.answers);
        let gaps = recorded.gaps(matrix, &context, &self.shared.catalogue);
        Ok(FlowView {
            job_ref: job_ref.to_owned(),
            journey,
            closure_code: context.closure_code.clone(),
            secondary_code: context.secondary_code.clone(),
            default_matrix: matrix.info().is_default,
            answered: walk
                .answered
                .iter()
                .map(|q| question_view(q, &recorded, &context))
                .collect(),
            optional: walk
                .optional
                .iter()
                .map(|q| question_view(q, &recorded, &context))
                .collect(),
            next: walk.next.map(|q| question_view(q, &recorded, &context)),
            gaps,
        })
    }

    /// Records the engineer's answer to a question, answered at `at` (now when `None`).
    /// The raw input is checked against the question's type and stored canonical; an
    /// answer to a question already answered replaces it (the old one stays in history).
    pub fn answer_question(
        &self,
        job_ref: &str,
        journey: Journey,
        question_code: &str,
        raw_answer: &str,
        at: Option<Timestamp>,
    ) -> Result<String, Error> {
        let canonical = self
            .shared
            .matrix
            .validate_answer(question_code, raw_answer)
            .map_err(|reason| Error::Answer {
                question_code: question_code.to_owned(),
                reason,
            })?;
        self.shared.transact(|tx| {
            let Some(stored) = store::load_job(tx, job_ref)? else {
                return Err(Error::UnknownJob {
                    job_ref: job_ref.to_owned(),
                });
            };
            writable(&stored.job, "answer a question")?;
            // `response_received` is the answer's time, corrected like any action's.
            let (time, _) = self.shared.action_time(tx, job_ref, at)?;
            let journey = journey.name();
            if store::record_answer(
                tx,
                job_ref,
                journey,
                question_code,
                &canonical,
                time.corrected,
            )? {
                store::set_answer_time(tx, job_ref, journey, question_code, &time)?;
            }
            Ok(())
        })?;
        self.shared.emit(Event::JobChanged {
            job_ref: job_ref.to_owned(),
        });
        Ok(canonical)
    }

    /// Clears the answer to a question (it stays in history).
    pub fn clear_answer(
        &self,
        job_ref: &str,
        journey: Journey,
        question_code: &str,
    ) -> Result<(), Error> {
        self.shared.transact(|tx| {
            let Some(stored) = store::load_job(tx, job_ref)? else {
                return Err(Error::UnknownJob {
                    job_ref: job_ref.to_owned(),
                });
            };
            writable(&stored.job, "clear an answer")?;
            store::withdraw_answer(tx, job_ref, journey.name(), question_code, Timestamp::now())?;
            Ok(())
        })?;
        self.shared.emit(Event::JobChanged {
            job_ref: job_ref.to_owned(),
        });
        Ok(())
    }

    /// Attaches a photo (the camera's bytes: JPEG or PNG, and WebP with the `webp` feature) to
    /// a question: prepares it,
    /// keeps the core's copy and queues its upload, all before returning. Attaching the same
    /// picture twice to a question is one photo.
    pub fn attach_photo(
        &self,
        job_ref: &str,
        journey: Journey,
        question_code: &str,
        image: &[u8],
    ) -> Result<PhotoView, Error> {
        let Some(question) = self.shared.matrix.question(question_code) else {
            return Err(Error::UnknownQuestion {
                question_code: question_code.to_owned(),
            });
        };
        let most = question.max_photos_ever();
        // The slow part (decode, resize, encode, fsync the file) runs before the store is
        // locked; the file is content-addressed, so a photo never recorded is harmless.
        let attached = photos::attach(
            &self.shared.photos.store,
            &self.shared.photos.ingest,
            &self.shared.photos.bucket,
            job_ref,
            question_code,
            image,
        )?;
        let descriptor = attached.upload_descriptor().to_json();
        let sha256 = attached.object.sha256.as_str().to_owned();
        let file_name = attached.object.file_name();
        let object_path = attached.object.object_path();
        let now = Timestamp::now();
        let (photo, new_upload) = self.shared.transact(|tx| {
            let Some(stored) = store::load_job(tx, job_ref)? else {
                return Err(Error::UnknownJob {
                    job_ref: job_ref.to_owned(),
                });
            };
            writable(&stored.job, "attach a photo")?;
            let journey = journey.name();
            if let Some(existing) = store::find_photo(tx, job_ref, journey, question_code, &sha256)?
            {
                return Ok((existing, None));
            }
            // The answer may still change which photo rule applies, so only the most any
            // rule allows is enforced here; a lower current maximum is a checklist gap.
            if let Some(most) = most {
                let have = store::current_photos(tx, job_ref, journey)?
                    .iter()
                    .filter(|p| p.question_code == question_code)
                    .count();
                if have >= most as usize {
                    return Err(Error::TooManyPhotos {
                        question_code: question_code.to_owned(),
                        allowed: most,
                    });
                }
            }
            let seq = enqueue_upload_item(
                tx,
                job_ref,
                &format!("photo {question_code}"),
                &descriptor,
                now,
            )?;
            let photo = store::NewPhoto {
                job_ref,
                journey,
                question_code,
                sha256: &sha256,
                file_name: &file_name,
                object_path: &object_path,
                upload_seq: seq,
            };
            store::add_photo(tx, &photo, now)?;
            let saved = store::find_photo(tx, job_ref, journey, question_code, &sha256)?
                .ok_or_else(|| StoreError::corrupt("photo row missing after insert"))?;
            Ok((saved, Some(seq)))
        })?;
        self.shared.emit(Event::JobChanged {
            job_ref: job_ref.to_owned(),
        });
        let state = if let Some(seq) = new_upload {
            self.shared.emit(Event::OutboxChanged {
                seq,
                job_ref: job_ref.to_owned(),
                state: ItemState::Queued,
            });
            self.shared.wake.notify_one();
            Some(ItemState::Queued)
        } else {
            self.shared
                .with_store(|s| outbox::get(s.conn(), photo.upload_seq))?
                .map(|i| i.state)
        };
        Ok(photo_view(&photo, state))
    }

    /// Detaches a photo from its question. Its upload still completes (a message may
    /// already reference the object); it just leaves the next payload.
    pub fn remove_photo(&self, job_ref: &str, photo_id: i64) -> Result<(), Error> {
        let removed = self
            .shared
            .with_store_tx(|tx| store::remove_photo(tx, job_ref, photo_id, Timestamp::now()))?;
        if removed.is_none() {
            return Err(Error::UnknownPhoto { photo_id });
        }
        self.shared.emit(Event::JobChanged {
            job_ref: job_ref.to_owned(),
        });
        Ok(())
    }

    /// Sends the answers of the visit so far (notifyJob with `source: notifyJob`), once the
    /// visit's path has no gaps; the message waits for their photos' uploads.
    pub fn send_visit_answers(&self, job_ref: &str) -> Result<ActionReceipt, Error> {
        self.act_with(job_ref, None, |tx, stored| {
            let (answers, uploads) =
                self.checked_answers(tx, &stored.job, Journey::Visit, None, None)?;
            Ok((Action::Answer { answers }, uploads))
        })
    }

    /// Closes the job: refuses with [`Error::Incomplete`] listing every gap, or queues the
    /// closeJob with the complete `questions_answers` and their files, waiting for the
    /// photo uploads. `description` may be empty (the catalogue's text is used).
    pub fn close(
        &self,
        job_ref: &str,
        closure_code: &str,
        secondary_code: Option<&str>,
        description: &str,
        at: Option<Timestamp>,
    ) -> Result<ActionReceipt, Error> {
        self.act_with(job_ref, at, |tx, stored| {
            let (answers, uploads) = self.checked_answers(
                tx,
                &stored.job,
                Journey::Closure,
                Some(closure_code),
                secondary_code,
            )?;
            Ok((
                Action::Close {
                    closure_code: closure_code.to_owned(),
                    secondary_code: secondary_code.map(str::to_owned),
                    description: description.to_owned(),
                    answers,
                },
                uploads,
            ))
        })
    }

    /// The payload of a journey point if nothing is missing, with the uploads it waits for.
    fn checked_answers(
        &self,
        tx: &Transaction<'_>,
        job: &Job,
        journey: Journey,
        closure_code: Option<&str>,
        secondary_code: Option<&str>,
    ) -> Result<(Vec<crate::protocol::QuestionAnswer>, Vec<i64>), Error> {
        let job_ref = job.header.job_ref.as_str();
        let recorded = Recorded::load(tx, job_ref, journey)?;
        let matrix = &self.shared.matrix;
        let context = context(job, journey, closure_code, secondary_code);
        let gaps = recorded.gaps(matrix, &context, &self.shared.catalogue);
        if !gaps.is_empty() {
            return Err(Error::Incomplete { gaps });
        }
        let answers = matrix.questions_answers(&context, &recorded.answers, &recorded.files());
        let on_path: Vec<String> = answers.iter().map(|a| a.question_code.clone()).collect();
        let uploads = recorded.open_uploads(&on_path);
        Ok((answers, uploads))
    }
}

/// Answers and photos are refused once the job is over: nothing would send them.
fn writable(job: &Job, what: &'static str) -> Result<(), Error> {
    if job.state.is_final() {
        return Err(Error::Lifecycle(
            crate::lifecycle::LifecycleError::IllegalAction {
                state: job.state,
                action: what,
            },
        ));
    }
    Ok(())
}

pub(super) fn enqueue_upload_item(
    conn: &rusqlite::Connection,
    job_ref: &str,
    label: &str,
    descriptor: &[u8],
    now: Timestamp,
) -> Result<i64, StoreError> {
    let (id, key) = super::new_message_identity();
    outbox::enqueue(
        conn,
        &NewItem {
            job_ref,
            kind: ItemKind::Upload,
            method: "upload",
            label,
            rpc_id: id.get(),
            idempotency_key: &key,
            body: descriptor,
            acted_at: now,
            depends_on: &[],
            time: None,
        },
        now,
    )
}
