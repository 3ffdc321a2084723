//! Outbox control, the engineer's hands on undelivered work: resending or discarding a parked
//! item, correcting a refused closeJob's codes; and the two ways work enters besides actions —
//! queued uploads and inbound messages that arrived another way than `pull`. Every change is
//! one transaction followed by its event and a wake of the sync loop.

use super::{Engine, Error, Event, closure, new_message_identity};
use crate::outbox::{self, OutboxError};
use crate::protocol::{OutboundCall, OutboundRequest, Timestamp};
use crate::store::{self, StoreError};
use crate::sync::inbox::PageOutcome;

impl Engine {
    /// Queues a parked item again, unchanged (the cause was fixed upstream).
    pub fn resend(&self, seq: i64) -> Result<(), Error> {
        self.shared.transact(|tx| outbox::resend(tx, seq))?;
        self.after_outbox_change(seq);
        Ok(())
    }

    /// Discards a parked item; `confirmation_key` must be the item's idempotency key, shown to
    /// the engineer with what will be lost.
    pub fn discard(&self, seq: i64, confirmation_key: &str) -> Result<(), Error> {
        self.shared
            .transact(|tx| outbox::discard(tx, seq, confirmation_key))?;
        self.after_outbox_change(seq);
        Ok(())
    }

    /// Corrects the closure codes of a parked closeJob (CityFibre refused them) and queues the
    /// corrected message, which is a new message with a new id and key.
    pub fn correct_parked_close(
        &self,
        seq: i64,
        closure_code: &str,
        secondary_code: Option<&str>,
    ) -> Result<(), Error> {
        let catalogue = &self.shared.catalogue;
        self.shared.transact(|tx| {
            let Some(body) = outbox::body(tx, seq)? else {
                return Err(Error::Outbox(OutboxError::UnknownItem { seq }));
            };
            let request = crate::protocol::parse_outbound(&body)?;
            let OutboundCall::CloseJob(mut close) = request.call else {
                return Err(Error::Outbox(OutboxError::NotACloseJob { seq }));
            };
            let rule = catalogue
                .check_closure(closure_code, secondary_code)
                .map_err(|e| Error::Lifecycle(e.into()))?;
            close.closure_code = rule.code.clone();
            close.secondary_closure_code = rule.secondary.clone();
            let job_ref = close.job_header.job_ref.as_str().to_owned();
            let (id, key) = new_message_identity();
            let body = serde_json::to_vec(&OutboundRequest {
                id,
                call: OutboundCall::CloseJob(close),
            })
            .map_err(StoreError::corrupt)?;
            let label = format!("close {}", rule.code);
            outbox::replace_parked(tx, seq, &label, id.get(), &key, &body)?;
            if let Some(mut stored) = store::load_job(tx, &job_ref)? {
                stored.job.closure = Some(rule);
                store::save_job(tx, &stored.job, Timestamp::now())?;
            }
            Ok(())
        })?;
        self.after_outbox_change(seq);
        Ok(())
    }

    fn after_outbox_change(&self, seq: i64) {
        if let Ok(Some(item)) = self.shared.with_store(|s| outbox::get(s.conn(), seq)) {
            self.shared.emit(Event::OutboxChanged {
                seq,
                job_ref: item.job_ref,
                state: item.state,
            });
        }
        self.shared.wake.notify_one();
    }

    /// Queues an upload (a file the sync engine hands to the uploader) that later items can
    /// depend on. Returns its sequence number.
    pub fn enqueue_upload(
        &self,
        job_ref: &str,
        label: &str,
        descriptor: &[u8],
    ) -> Result<i64, Error> {
        let seq = self.shared.transact(|tx| {
            if store::load_job(tx, job_ref)?.is_none() {
                return Err(Error::UnknownJob {
                    job_ref: job_ref.to_owned(),
                });
            }
            Ok(closure::enqueue_upload_item(
                tx,
                job_ref,
                label,
                descriptor,
                Timestamp::now(),
            )?)
        })?;
        self.after_outbox_change(seq);
        Ok(seq)
    }

    /// Applies inbound envelopes that reached the device another way than `pull` (a push, a
    /// file, a test), exactly as a pulled page is applied.
    pub fn apply_inbound(&self, messages: &[serde_json::Value]) -> Result<PageOutcome, Error> {
        let catalogue = &self.shared.catalogue;
        let outcome = self.shared.with_store_tx(|tx| {
            crate::sync::inbox::apply_page(tx, messages, None, catalogue, Timestamp::now())
        })?;
        for job_ref in &outcome.changed_jobs {
            self.shared.emit(Event::JobChanged {
                job_ref: job_ref.clone(),
            });
        }
        Ok(outcome)
    }
}
