//! Acting: the engineer's lifecycle actions. Each one is a single SQLite transaction holding
//! the job's new state, the action in the history and the outbox message it produces, with the
//! message's JSON-RPC id and idempotency key fixed there and then ([`enqueue_call`]); the call
//! returns as soon as that commit is done and wakes the sync loop. The closure flow
//! (`engine/closure.rs`) builds its actions on [`Engine::act_with`].

use rusqlite::{Connection, Transaction};

use super::{ActionReceipt, Engine, Error, Event, view};
use crate::clock::{ActionTime, TimeSource};
use crate::lifecycle::{Action, Warning};
use crate::outbox::{self, ItemKind, ItemState, NewItem};
use crate::protocol::{Location, OntDevice, OutboundCall, OutboundRequest, RpcId, Timestamp};
use crate::store::{self, StoreError, StoredJob};

/// A fresh JSON-RPC id with its idempotency key, both from one random UUID.
pub(super) fn new_message_identity() -> (RpcId, String) {
    let uuid = uuid::Uuid::new_v4();
    let id = (uuid.as_u128() as u64) & RpcId::MAX;
    // An id of 0 is one chance in 2^53; 1 keeps it valid and the key keeps it unique.
    let id = RpcId::new(id.max(1)).unwrap_or_else(|_| unreachable!("masked to 53 bits"));
    (id, uuid.to_string())
}

impl Engine {
    /// Applies an action taken at `at` (now when `None`), committing the job's new state, the
    /// history entry and the outbox message in one durable transaction. Answers and closing
    /// go through the closure flow (`send_visit_answers`, `close`), never through here.
    pub(crate) fn act(
        &self,
        job_ref: &str,
        action: Action,
        at: Option<Timestamp>,
    ) -> Result<ActionReceipt, Error> {
        self.act_with(job_ref, at, |_, _| Ok((action, Vec::new())))
    }

    /// [`Engine::act`] for actions built from what the store holds (the answers and photos of
    /// a closure): `build` runs inside the transaction, so what it reads is what is sent, and
    /// returns the action with the outbox items (uploads) its message must wait for.
    pub(crate) fn act_with(
        &self,
        job_ref: &str,
        at: Option<Timestamp>,
        build: impl FnOnce(&Transaction<'_>, &StoredJob) -> Result<(Action, Vec<i64>), Error>,
    ) -> Result<ActionReceipt, Error> {
        let catalogue = &self.shared.catalogue;
        let receipt = self.shared.transact(|tx| {
            let Some(mut stored) = store::load_job(tx, job_ref)? else {
                return Err(Error::UnknownJob {
                    job_ref: job_ref.to_owned(),
                });
            };
            let (time, clamped) = self.shared.action_time(tx, job_ref, at)?;
            let at = time.corrected;
            let (action, depends_on) = build(tx, &stored)?;
            let name = action.name();
            let label = view::label(&action);
            let outcome = stored.job.apply(action, at, catalogue)?;
            store::save_job(tx, &stored.job, Timestamp::now())?;
            store::record_action(tx, &stored.job.header.job_ref, name, at, outcome.state)?;
            let mut warnings = outcome.warnings;
            if clamped && let TimeSource::Clamped { set_back_ms } = time.source {
                warnings.push(Warning::ClockSetBack { set_back_ms });
            }
            let mut receipt = ActionReceipt {
                job_ref: job_ref.to_owned(),
                state: outcome.state,
                warnings,
                outbox_seq: None,
                idempotency_key: None,
                rpc_id: None,
            };
            if let Some(call) = outcome.message {
                let (seq, key, id) = enqueue_call(tx, job_ref, &label, call, time, &depends_on)?;
                receipt.outbox_seq = Some(seq);
                receipt.idempotency_key = Some(key);
                receipt.rpc_id = Some(id);
            }
            Ok(receipt)
        })?;
        self.shared.emit(Event::JobChanged {
            job_ref: job_ref.to_owned(),
        });
        if let Some(seq) = receipt.outbox_seq {
            self.shared.emit(Event::OutboxChanged {
                seq,
                job_ref: job_ref.to_owned(),
                state: ItemState::Queued,
            });
            self.shared.wake.notify_one();
        }
        Ok(receipt)
    }

    /// The engineer accepts the job; CityFibre is told who is coming.
    pub fn accept(&self, job_ref: &str) -> Result<ActionReceipt, Error> {
        let engineer = self.shared.engineer().clone();
        self.act(job_ref, Action::Accept { engineer }, None)
    }

    pub fn start_travel(
        &self,
        job_ref: &str,
        location: Location,
        at: Option<Timestamp>,
    ) -> Result<ActionReceipt, Error> {
        self.act(job_ref, Action::StartTravel { location }, at)
    }

    pub fn arrive(
        &self,
        job_ref: &str,
        location: Location,
        at: Option<Timestamp>,
    ) -> Result<ActionReceipt, Error> {
        self.act(job_ref, Action::Arrive { location }, at)
    }

    pub fn confirm_ont(
        &self,
        job_ref: &str,
        ont: OntDevice,
        at: Option<Timestamp>,
    ) -> Result<ActionReceipt, Error> {
        self.act(job_ref, Action::ScanOnt { ont }, at)
    }
}

/// Serialises a call with a fresh identity and puts it in the outbox.
pub(super) fn enqueue_call(
    conn: &Connection,
    job_ref: &str,
    label: &str,
    call: OutboundCall,
    time: ActionTime,
    depends_on: &[i64],
) -> Result<(i64, String, u64), StoreError> {
    let (id, key) = new_message_identity();
    let method = call.method();
    let body = serde_json::to_vec(&OutboundRequest { id, call }).map_err(StoreError::corrupt)?;
    let seq = outbox::enqueue(
        conn,
        &NewItem {
            job_ref,
            kind: ItemKind::Rpc,
            method,
            label,
            rpc_id: id.get(),
            idempotency_key: &key,
            body: &body,
            acted_at: time.corrected,
            depends_on,
            time: Some(time),
        },
        Timestamp::now(),
    )?;
    Ok((seq, key, id.get()))
}
