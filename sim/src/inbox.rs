//! The device inbox: what CityFibre sends (createJob, cancelJob, ONT provisioning), queued
//! per engineer and fetched with `pull`.
//!
//! In production these envelopes reach the partner hub, which assigns jobs and relays them to
//! phones; the simulator plays both parts, so the core's inbox code can be tested end to end
//! against one server. Envelopes are built from the core's own typed model
//! ([`InboundEnvelope`]) so they are what the contract says by construction. Each engineer's
//! inbox only grows; the cursor `c-<n>` is the number of envelopes already handed out, which
//! makes a pull with an old cursor a redelivery, as the contract allows.

use std::collections::BTreeMap;

use jobpack_core::codes::Catalogue;
use jobpack_core::protocol::{
    CancelJob, InboundEnvelope, InboundMessage, JobPack, JobRef, OntProvisioning,
    ProvisioningNotice, RpcId, Timestamp,
};
use serde_json::{Map, Value, json};

use crate::SimError;

/// How the simulator answers an `ontScanned`: a seeded draw over the seven statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisioningScript {
    pub seed: u64,
    /// Relative weight of statuses 1..=7 as the answer to an ontScanned.
    pub weights: [u32; 7],
}

impl Default for ProvisioningScript {
    /// Mostly 1 and 2, some 4 (then followed by 1), some 3, 5, 6 and 7, so that every status
    /// turns up over a day of jobs.
    fn default() -> Self {
        Self {
            seed: 1,
            weights: [40, 30, 4, 12, 5, 5, 4],
        }
    }
}

impl ProvisioningScript {
    /// Every ontScanned is answered with `status`.
    pub fn always(status: u8) -> Self {
        let mut weights = [0; 7];
        if let Some(w) = weights.get_mut(usize::from(status).wrapping_sub(1)) {
            *w = 1;
        }
        Self { seed: 1, weights }
    }
}

pub(crate) struct ProvisioningDraw {
    weights: [u32; 7],
    rng: fastrand::Rng,
}

impl ProvisioningDraw {
    pub(crate) fn new(script: &ProvisioningScript) -> Self {
        Self {
            weights: script.weights,
            rng: fastrand::Rng::with_seed(script.seed),
        }
    }

    /// A status 1..=7 by weight; 1 when every weight is zero.
    pub(crate) fn draw(&mut self) -> u8 {
        let total: u64 = self.weights.iter().map(|w| u64::from(*w)).sum();
        if total == 0 {
            return 1;
        }
        let mut pick = self.rng.u64(..total);
        for (status, weight) in (1u8..).zip(self.weights) {
            let weight = u64::from(weight);
            if pick < weight {
                return status;
            }
            pick -= weight;
        }
        1
    }
}

/// The ONT a provisioning notice is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ont {
    pub(crate) fsan: String,
    pub(crate) serial_number: String,
}

impl Default for Ont {
    fn default() -> Self {
        Self {
            fsan: "ALCLB443689D".into(),
            serial_number: "YP2244017834".into(),
        }
    }
}

/// One page of an engineer's inbox.
pub(crate) struct Page {
    pub(crate) messages: Vec<Value>,
    pub(crate) next_cursor: String,
    pub(crate) more: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cursor {0:?} is not one this server issued")]
pub(crate) struct BadCursor(pub(crate) String);

pub(crate) struct Inbox {
    catalogue: Catalogue,
    next_id: u64,
    by_engineer: BTreeMap<String, Vec<InboundEnvelope>>,
    engineer_of_job: BTreeMap<String, String>,
    ont_of_job: BTreeMap<String, Ont>,
}

impl Inbox {
    pub(crate) fn new(engineers: impl IntoIterator<Item = String>) -> Self {
        Self {
            catalogue: Catalogue::embedded(),
            next_id: 1,
            by_engineer: engineers.into_iter().map(|e| (e, Vec::new())).collect(),
            engineer_of_job: BTreeMap::new(),
            ont_of_job: BTreeMap::new(),
        }
    }

    pub(crate) fn knows_engineer(&self, engineer: &str) -> bool {
        self.by_engineer.contains_key(engineer)
    }

    pub(crate) fn engineer_of(&self, job_ref: &str) -> Option<&str> {
        self.engineer_of_job.get(job_ref).map(String::as_str)
    }

    /// A job first heard of from an engineer's own message belongs to that engineer.
    pub(crate) fn adopt(&mut self, job_ref: &str, engineer: &str) {
        if self.knows_engineer(engineer) {
            self.engineer_of_job
                .entry(job_ref.to_owned())
                .or_insert_with(|| engineer.to_owned());
        }
    }

    pub(crate) fn remember_ont(&mut self, job_ref: &str, ont: Ont) {
        self.ont_of_job.insert(job_ref.to_owned(), ont);
    }

    pub(crate) fn create_job(
        &mut self,
        engineer: &str,
        job_ref: &str,
        pack: JobPack,
    ) -> Result<(), SimError> {
        if !self.knows_engineer(engineer) {
            return Err(SimError::UnknownEngineer(engineer.to_owned()));
        }
        let job = JobRef::new(job_ref)?;
        self.engineer_of_job
            .insert(job_ref.to_owned(), engineer.to_owned());
        self.push(engineer, job, InboundMessage::CreateJob(Box::new(pack)))
    }

    pub(crate) fn cancel_job(&mut self, job_ref: &str, reason: &str) -> Result<(), SimError> {
        let engineer = self.owner(job_ref)?;
        let job = JobRef::new(job_ref)?;
        let content = CancelJob {
            reason: reason.to_owned(),
            cancelled_at: Some(Timestamp::now()),
            extra: Map::new(),
        };
        self.push(&engineer, job, InboundMessage::CancelJob(content))
    }

    /// Queues a provisioning notice with the seed table's success flag and details.
    pub(crate) fn provisioning(&mut self, job_ref: &str, status: u8) -> Result<(), SimError> {
        let row = self
            .catalogue
            .provisioning_status(status)
            .map_err(|_| SimError::BadProvisioningStatus(status))?;
        let (success, details) = (row.success, row.details.clone());
        let engineer = self.owner(job_ref)?;
        let job = JobRef::new(job_ref)?;
        let ont = self.ont_of_job.get(job_ref).cloned().unwrap_or_default();
        let notice = ProvisioningNotice {
            ont_provisioning: OntProvisioning {
                status_id: status,
                success,
                details: Some(details),
                fsan: Some(ont.fsan),
                serial_number: Some(ont.serial_number),
                extra: Map::new(),
            },
            extra: Map::new(),
        };
        self.push(&engineer, job, InboundMessage::Provisioning(notice))
    }

    /// The envelopes after `cursor`, at most `limit`.
    pub(crate) fn page(
        &self,
        engineer: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, BadCursor> {
        let all = self
            .by_engineer
            .get(engineer)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let start = match cursor {
            None => 0,
            Some(text) => text
                .strip_prefix("c-")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n <= all.len())
                .ok_or_else(|| BadCursor(text.to_owned()))?,
        };
        let end = start.saturating_add(limit).min(all.len());
        let messages = all
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .map(|envelope| serde_json::to_value(envelope).unwrap_or(Value::Null))
            .collect();
        Ok(Page {
            messages,
            next_cursor: format!("c-{end}"),
            more: end < all.len(),
        })
    }

    fn owner(&self, job_ref: &str) -> Result<String, SimError> {
        self.engineer_of(job_ref)
            .map(str::to_owned)
            .ok_or_else(|| SimError::UnknownJob(job_ref.to_owned()))
    }

    fn push(
        &mut self,
        engineer: &str,
        job_ref: JobRef,
        message: InboundMessage,
    ) -> Result<(), SimError> {
        let id = RpcId::new(self.next_id)?;
        let envelope = InboundEnvelope {
            id,
            sent: Timestamp::now(),
            job_ref,
            message,
            response: Value::Object(Map::new()),
            extra: Map::new(),
        };
        let queue = self
            .by_engineer
            .get_mut(engineer)
            .ok_or_else(|| SimError::UnknownEngineer(engineer.to_owned()))?;
        queue.push(envelope);
        self.next_id += 1;
        Ok(())
    }
}

/// A plausible job pack for `job_ref`, for QA scripts and `jobpack sim --jobs`; its appointment
/// is tomorrow, in the AM slot.
pub fn sample_job_pack(job_ref: &str) -> Result<JobPack, SimError> {
    let tomorrow = Timestamp::from_unix_millis(Timestamp::now().unix_millis() + 86_400_000)
        .unwrap_or_else(Timestamp::now)
        .as_datetime()
        .date_naive()
        .to_string();
    let pack = json!({
        "serviceOrder": {
            "serviceOrderId": format!("SO-{job_ref}"),
            "product": "FTTP 900/900",
            "orderType": "Provide",
            "ispName": "Example ISP"
        },
        "appointment": { "date": tomorrow, "slot": "AM" },
        "customer": { "name": "Alex Example", "phone": "07700 900456" },
        "address": {
            "line1": "14 Canal Wharf",
            "town": "Leeds",
            "postcode": "LS11 5PS",
            "latitude": 53.7921,
            "longitude": -1.5497
        },
        "propertyFlags": ["MDU"],
        "notes": "Simulated job pack."
    });
    serde_json::from_value(pack).map_err(|e| SimError::JobPack(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobpack_core::protocol::parse_inbound_value;

    #[test]
    fn every_status_turns_up_with_the_default_weights() {
        let mut draw = ProvisioningDraw::new(&ProvisioningScript::default());
        let mut seen = [0u32; 7];
        for _ in 0..2000 {
            let status = draw.draw();
            assert!((1..=7).contains(&status));
            seen[usize::from(status - 1)] += 1;
        }
        assert!(seen.iter().all(|n| *n > 0), "{seen:?}");
        assert!(seen[0] + seen[1] > 1000, "{seen:?}");
        let mut only = ProvisioningDraw::new(&ProvisioningScript::always(4));
        assert!((0..20).all(|_| only.draw() == 4));
    }

    #[test]
    fn envelopes_parse_with_the_core_model_and_pages_follow_the_cursor() {
        let mut inbox = Inbox::new(["E001".to_owned(), "E002".to_owned()]);
        for n in 0..3 {
            let job = format!("S10000{n}");
            let pack = sample_job_pack(&job).expect("pack");
            inbox.create_job("E001", &job, pack).expect("create");
        }
        inbox
            .cancel_job("S100001", "customer cancelled")
            .expect("cancel");
        for status in 1..=7 {
            inbox.provisioning("S100002", status).expect("provision");
        }
        assert!(matches!(
            inbox.provisioning("S100002", 8),
            Err(SimError::BadProvisioningStatus(8))
        ));
        assert!(matches!(
            inbox.cancel_job("S999", "x"),
            Err(SimError::UnknownJob(_))
        ));
        let first = inbox.page("E001", None, 5).expect("page");
        assert_eq!(first.messages.len(), 5);
        assert!(first.more);
        let rest = inbox
            .page("E001", Some(&first.next_cursor), 100)
            .expect("page");
        assert_eq!(rest.messages.len(), 6);
        assert!(!rest.more);
        for value in first.messages.into_iter().chain(rest.messages) {
            parse_inbound_value(value).expect("envelope follows the model");
        }
        assert!(
            inbox
                .page("E002", None, 100)
                .expect("page")
                .messages
                .is_empty()
        );
        assert!(inbox.page("E001", Some("c-99"), 1).is_err());
        assert!(inbox.page("E001", Some("zzz"), 1).is_err());
    }
}
