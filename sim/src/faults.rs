//! Fault injection: what a bad network and a bad day at CityFibre look like to a client.
//!
//! The core promises at-least-once delivery with exactly-once effect, so its tests need the
//! failures that break naive clients: a connection cut before or after the server acted (the
//! client cannot tell which, and must resend with the same `Idempotency-Key`), an answer that
//! arrives after the client gave up, 500, 429 with `Retry-After`, a 200 whose body is a proxy's
//! HTML page, and permanent rejections for chosen payloads. Faults are drawn from a seeded
//! [`fastrand::Rng`], so a failing run can be replayed with the same seed and the same
//! sequence of requests.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One way a `notifyJob` / `closeJob` request can go wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The connection is closed before the message is looked at: not processed.
    DropBeforeProcessing,
    /// The message is processed, then the connection is closed without an answer.
    DropAfterProcessing,
    /// The message is processed and the answer is held back for [`FaultConfig::delay`].
    DelayPastTimeout,
    /// HTTP 500 with a text body: not processed.
    ServerError,
    /// HTTP 429 with `Retry-After`: not processed.
    TooManyRequests,
    /// HTTP 200 with an HTML body instead of JSON: processed.
    Garbage,
}

impl FaultKind {
    pub const ALL: [FaultKind; 6] = [
        Self::DropBeforeProcessing,
        Self::DropAfterProcessing,
        Self::DelayPastTimeout,
        Self::ServerError,
        Self::TooManyRequests,
        Self::Garbage,
    ];

    /// The name used in `Stats::faults_injected` and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::DropBeforeProcessing => "drop_before_processing",
            Self::DropAfterProcessing => "drop_after_processing",
            Self::DelayPastTimeout => "delay_past_timeout",
            Self::ServerError => "server_error",
            Self::TooManyRequests => "too_many_requests",
            Self::Garbage => "garbage",
        }
    }

    /// Reads a name as given by [`FaultKind::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the message is processed (recorded, deduplicated) despite the fault.
    pub fn processes_message(self) -> bool {
        matches!(
            self,
            Self::DropAfterProcessing | Self::DelayPastTimeout | Self::Garbage
        )
    }
}

/// The key in `Stats::faults_injected` that counts permanent rejections.
pub const PERMANENT_REJECTION: &str = "permanent_rejection";

/// Which faults to inject and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Probability 0..=1 that a notifyJob/closeJob request gets one fault.
    pub rate: f64,
    pub seed: u64,
    /// Which kinds may be drawn (default: all six).
    pub kinds: Vec<FaultKind>,
    /// For `DelayPastTimeout`: the message is processed, the answer comes this late.
    pub delay: Duration,
    /// For 429.
    pub retry_after_secs: u64,
    /// Permanent rejection (HTTP 422 + JSON-RPC error) of closeJob with these codes.
    pub reject_closure_codes: Vec<String>,
    /// Permanent rejection of any message for these jobs.
    pub reject_job_refs: Vec<String>,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            rate: 0.0,
            seed: 0,
            kinds: FaultKind::ALL.to_vec(),
            delay: Duration::from_secs(3),
            retry_after_secs: 1,
            reject_closure_codes: Vec::new(),
            reject_job_refs: Vec::new(),
        }
    }
}

impl FaultConfig {
    /// Every request gets `kind`: the shape most tests want.
    pub fn always(kind: FaultKind) -> Self {
        Self {
            rate: 1.0,
            kinds: vec![kind],
            ..Self::default()
        }
    }

    /// The rule that permanently rejects a message, if one does.
    pub(crate) fn rejection(&self, job_ref: &str, closure_code: Option<&str>) -> Option<String> {
        if self.reject_job_refs.iter().any(|r| r == job_ref) {
            return Some(format!(
                "rejected by rule reject_job_refs: job {job_ref} is refused"
            ));
        }
        let code = closure_code?;
        self.reject_closure_codes
            .iter()
            .any(|c| c == code)
            .then(|| {
                format!("rejected by rule reject_closure_codes: closure code {code} is refused")
            })
    }
}

/// The configuration together with its random source, so the draws follow the seed.
pub(crate) struct FaultPlan {
    config: FaultConfig,
    rng: fastrand::Rng,
}

impl FaultPlan {
    pub(crate) fn new(config: FaultConfig) -> Self {
        let rng = fastrand::Rng::with_seed(config.seed);
        Self { config, rng }
    }

    pub(crate) fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// One draw per request: whether it gets a fault, and which.
    pub(crate) fn draw(&mut self) -> Option<FaultKind> {
        if self.config.kinds.is_empty() || self.config.rate <= 0.0 {
            return None;
        }
        if self.rng.f64() >= self.config.rate {
            return None;
        }
        let index = self.rng.usize(..self.config.kinds.len());
        self.config.kinds.get(index).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(seed: u64) -> Vec<Option<FaultKind>> {
        let mut plan = FaultPlan::new(FaultConfig {
            rate: 0.5,
            seed,
            ..FaultConfig::default()
        });
        (0..64).map(|_| plan.draw()).collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_faults() {
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
        let some = draws(7).into_iter().flatten().count();
        assert!(some > 0 && some < 64, "{some} faults out of 64 at rate 0.5");
    }

    #[test]
    fn rate_zero_and_no_kinds_draw_nothing() {
        let mut plan = FaultPlan::new(FaultConfig::default());
        assert!((0..32).all(|_| plan.draw().is_none()));
        let mut plan = FaultPlan::new(FaultConfig {
            rate: 1.0,
            kinds: Vec::new(),
            ..FaultConfig::default()
        });
        assert!(plan.draw().is_none());
        let mut plan = FaultPlan::new(FaultConfig::always(FaultKind::Garbage));
        assert_eq!(plan.draw(), Some(FaultKind::Garbage));
    }

    #[test]
    fn names_round_trip_and_rules_name_themselves() {
        for kind in FaultKind::ALL {
            assert_eq!(FaultKind::from_name(kind.name()), Some(kind));
        }
        let config = FaultConfig {
            reject_closure_codes: vec!["HAZ".into()],
            reject_job_refs: vec!["S1".into()],
            ..FaultConfig::default()
        };
        assert!(
            config
                .rejection("S2", Some("HAZ"))
                .is_some_and(|r| r.contains("HAZ"))
        );
        assert!(
            config
                .rejection("S1", None)
                .is_some_and(|r| r.contains("reject_job_refs"))
        );
        assert!(config.rejection("S2", Some("SP")).is_none());
    }
}
