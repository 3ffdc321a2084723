//! What the simulator received: every first delivery per job in arrival order, the
//! duplicates it absorbed, the order violations it saw and the payloads it refused.
//!
//! This is the evidence the core's delivery guarantees are judged by. "Exactly-once effect"
//! means a retried message (same `Idempotency-Key`) is answered as the first time and not
//! recorded again, so `duplicates` counts retries that reached us and `jobs` holds each message
//! once. "Messages of one job go in the order they were made" is checked per job by rank in the
//! visit and by event time; a violation is recorded and the message still accepted, because a
//! real server would accept it too and the point is to see it.

use std::collections::BTreeMap;

use jobpack_core::protocol::{JobEvent, OutboundCall, OutboundRequest, Timestamp};
use serde::{Deserialize, Serialize};

/// One message as first delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedMessage {
    /// `notifyJob` or `closeJob`.
    pub method: String,
    /// For notifyJob: `engineerAssigned`, `enRoute`, `onSite`, `ontScanned`, `questionsAnswered`.
    pub notification_type: Option<String>,
    pub idempotency_key: Option<String>,
    pub rpc_id: u64,
    /// eventTime (notifyJob) or closedAt (closeJob), RFC 3339.
    pub event_time: String,
}

/// A message that arrived out of the order it must have been made in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderViolation {
    pub job_ref: String,
    pub detail: String,
}

/// A payload the simulator refused, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    pub reason: String,
    /// The body as lossy UTF-8, at most [`QUARANTINE_BODY_LIMIT`] bytes.
    pub body: String,
}

/// How much of a refused body is kept.
pub const QUARANTINE_BODY_LIMIT: usize = 2048;

/// Everything the simulator observed; the answer to a `stats` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// notifyJob / closeJob requests received, whatever became of them.
    pub requests: u64,
    /// Per job ref, in arrival order, first delivery only.
    pub jobs: BTreeMap<String, Vec<ReceivedMessage>>,
    /// Same Idempotency-Key seen again: answered as the first time, not re-applied.
    pub duplicates: u64,
    pub order_violations: Vec<OrderViolation>,
    pub quarantined: Vec<Quarantined>,
    /// Fault kind name (and `permanent_rejection`) -> how many times.
    pub faults_injected: BTreeMap<String, u64>,
    /// ONT provisioning status -> how many notices were queued for `pull`.
    pub provisioning_sent: BTreeMap<u8, u64>,
}

/// Position of a message in the visit; a job's messages must not go back down.
fn rank(call: &OutboundCall) -> u8 {
    match call {
        OutboundCall::NotifyJob(n) => match n.event {
            JobEvent::EngineerAssigned(_) => 0,
            JobEvent::EnRoute(_) => 1,
            JobEvent::OnSite(_) => 2,
            JobEvent::OntScanned(_) | JobEvent::QuestionsAnswered(_) => 3,
        },
        OutboundCall::CloseJob(_) => 4,
    }
}

/// The time of the action a message reports.
pub(crate) fn event_time(call: &OutboundCall) -> Timestamp {
    match call {
        OutboundCall::NotifyJob(n) => n.event_time,
        OutboundCall::CloseJob(c) => c.closed_at.0,
    }
}

fn describe(call: &OutboundCall) -> &'static str {
    match call {
        OutboundCall::NotifyJob(n) => n.event.notification_type(),
        OutboundCall::CloseJob(_) => "closeJob",
    }
}

#[derive(Default)]
struct JobTrack {
    highest_rank: u8,
    highest_kind: &'static str,
    last_time: Option<Timestamp>,
    closed: bool,
}

/// The answer given to an accepted message, replayed for its duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RememberedAnswer {
    pub(crate) status: u16,
    pub(crate) body: String,
}

#[derive(Default)]
pub(crate) struct Ledger {
    stats: Stats,
    tracks: BTreeMap<String, JobTrack>,
    answers: BTreeMap<String, RememberedAnswer>,
}

impl Ledger {
    pub(crate) fn count_request(&mut self) {
        self.stats.requests += 1;
    }

    pub(crate) fn count_fault(&mut self, name: &str) {
        *self
            .stats
            .faults_injected
            .entry(name.to_owned())
            .or_default() += 1;
    }

    pub(crate) fn count_provisioning(&mut self, status: u8) {
        *self.stats.provisioning_sent.entry(status).or_default() += 1;
    }

    /// The answer to replay when `key` was accepted before; counts the duplicate.
    pub(crate) fn duplicate_of(&mut self, key: Option<&str>) -> Option<RememberedAnswer> {
        let answer = self.answers.get(key?)?.clone();
        self.stats.duplicates += 1;
        Some(answer)
    }

    pub(crate) fn quarantine(&mut self, reason: String, body: &[u8]) {
        let mut text = String::from_utf8_lossy(body).into_owned();
        if text.len() > QUARANTINE_BODY_LIMIT {
            let mut cut = QUARANTINE_BODY_LIMIT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        self.stats
            .quarantined
            .push(Quarantined { reason, body: text });
    }

    /// Records a first delivery, checks its order and remembers the answer for its retries.
    pub(crate) fn record(
        &mut self,
        request: &OutboundRequest,
        key: Option<&str>,
        answer: RememberedAnswer,
    ) {
        let call = &request.call;
        let job_ref = call.job_header().job_ref.as_str().to_owned();
        let at = event_time(call);
        let this_rank = rank(call);
        let track = self.tracks.entry(job_ref.clone()).or_default();

        let mut problems = Vec::new();
        if track.closed {
            problems.push("the job was already closed".to_owned());
        }
        if this_rank < track.highest_rank {
            problems.push(format!(
                "{} arrived after {}",
                describe(call),
                track.highest_kind
            ));
        }
        if let Some(last) = track.last_time.filter(|last| at < *last) {
            problems.push(format!(
                "event time {} is earlier than the previous message's {}",
                at.to_rfc3339(),
                last.to_rfc3339()
            ));
        }
        if this_rank >= track.highest_rank {
            track.highest_rank = this_rank;
            track.highest_kind = describe(call);
        }
        track.last_time = Some(at);
        if matches!(call, OutboundCall::CloseJob(_)) {
            track.closed = true;
        }
        if !problems.is_empty() {
            self.stats.order_violations.push(OrderViolation {
                job_ref: job_ref.clone(),
                detail: format!(
                    "{} (rpc id {}): {}",
                    describe(call),
                    request.id,
                    problems.join("; ")
                ),
            });
        }

        let notification_type = match call {
            OutboundCall::NotifyJob(n) => Some(n.event.notification_type().to_owned()),
            OutboundCall::CloseJob(_) => None,
        };
        self.stats
            .jobs
            .entry(job_ref)
            .or_default()
            .push(ReceivedMessage {
                method: call.method().to_owned(),
                notification_type,
                idempotency_key: key.map(str::to_owned),
                rpc_id: request.id.get(),
                event_time: at.to_rfc3339(),
            });
        if let Some(key) = key {
            self.answers.insert(key.to_owned(), answer);
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        self.stats.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobpack_core::protocol::parse_outbound;

    fn notify(id: u64, kind: &str, payload: &str, at: &str) -> OutboundRequest {
        let text = format!(
            r#"{{"id":{id},"jsonrpc":"2.0","method":"notifyJob","params":{{"jobHeader":{{"ref":"S1","providerJobId":"P1"}},"notificationType":"{kind}","eventTime":"{at}",{payload}}}}}"#
        );
        match parse_outbound(text.as_bytes()) {
            Ok(r) => r,
            Err(e) => panic!("test payload invalid: {e}"),
        }
    }

    fn ok() -> RememberedAnswer {
        RememberedAnswer {
            status: 200,
            body: "{}".into(),
        }
    }

    const LOCATION: &str = r#""location":{"latitude":53.0,"longitude":-1.5,"accuracy":10}"#;

    #[test]
    fn going_back_in_rank_or_time_is_a_violation() {
        let mut ledger = Ledger::default();
        ledger.record(
            &notify(1, "onSite", LOCATION, "2026-12-01T09:00:00Z"),
            Some("k-onsite-1"),
            ok(),
        );
        ledger.record(
            &notify(2, "enRoute", LOCATION, "2026-12-01T09:30:00Z"),
            Some("k-enroute-2"),
            ok(),
        );
        ledger.record(
            &notify(3, "onSite", LOCATION, "2026-12-01T09:10:00Z"),
            None,
            ok(),
        );
        let stats = ledger.stats();
        assert_eq!(
            stats.order_violations.len(),
            2,
            "{:?}",
            stats.order_violations
        );
        assert!(
            stats.order_violations[0]
                .detail
                .contains("enRoute arrived after onSite")
        );
        assert!(stats.order_violations[1].detail.contains("earlier"));
        assert_eq!(stats.jobs["S1"].len(), 3);
    }

    #[test]
    fn duplicates_replay_the_first_answer() {
        let mut ledger = Ledger::default();
        assert!(ledger.duplicate_of(Some("k-1-abcdef")).is_none());
        ledger.record(
            &notify(1, "enRoute", LOCATION, "2026-12-01T09:00:00Z"),
            Some("k-1-abcdef"),
            ok(),
        );
        assert_eq!(ledger.duplicate_of(Some("k-1-abcdef")), Some(ok()));
        assert!(ledger.duplicate_of(None).is_none());
        assert_eq!(ledger.stats().duplicates, 1);
    }

    #[test]
    fn quarantined_bodies_are_cut_on_a_character_boundary() {
        let mut ledger = Ledger::default();
        let body = "é".repeat(QUARANTINE_BODY_LIMIT);
        ledger.quarantine("too long".into(), body.as_bytes());
        let kept = &ledger.stats().quarantined[0].body;
        assert!(kept.len() <= QUARANTINE_BODY_LIMIT && kept.len() > QUARANTINE_BODY_LIMIT - 4);
    }
}
