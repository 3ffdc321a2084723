//! The delivery rules: what one finished attempt means for its outbox item, and which endpoint
//! to use next. Shared by the phone's sync loop and the partner hub's forwarder to CityFibre,
//! so both retry, fail over and park by the same rules — written once, tested once.
//!
//! * accepted → [`Verdict::Sent`];
//! * transient → [`Verdict::Retry`] with capped exponential backoff and full jitter
//!   (`Retry-After` as a floor); a failure that points at the endpoint rotates to the next one,
//!   and the first failure of a round retries at once on the other endpoint;
//! * configuration (TLS, certificates) → a slow retry: the queue waits for a fix;
//! * permanent (4xx, JSON-RPC error, unsendable) → [`Verdict::Park`] with the reason.
//!
//! [`record`] writes a verdict with the outbox's own functions, so the states an item goes
//! through are the same wherever it is delivered from.

use std::time::Duration;

use rusqlite::Connection;

use super::RetryPolicy;
use crate::outbox;
use crate::protocol::Timestamp;
use crate::store::StoreError;
use crate::transport::{FailureClass, TransportError};

/// What to record for an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Sent,
    /// Refused for good, with the reason.
    Park(String),
    Retry {
        at: Timestamp,
        error: String,
        maybe_delivered: bool,
    },
}

/// Backoff, failover and the endpoint in use, for one sender.
#[derive(Debug, Clone)]
pub struct DeliveryRules {
    retry: RetryPolicy,
    configuration_retry: Duration,
    endpoints: usize,
    endpoint: usize,
    healthy_confirmed: bool,
    rng: fastrand::Rng,
}

impl DeliveryRules {
    /// Rules for `endpoints` equivalent endpoints, starting with `endpoint` (clamped).
    pub fn new(
        retry: RetryPolicy,
        configuration_retry: Duration,
        endpoints: usize,
        endpoint: usize,
    ) -> Self {
        let endpoints = endpoints.max(1);
        Self {
            retry,
            configuration_retry,
            endpoints,
            endpoint: if endpoint < endpoints { endpoint } else { 0 },
            healthy_confirmed: false,
            rng: fastrand::Rng::new(),
        }
    }

    /// The endpoint to send to now.
    pub fn endpoint(&self) -> usize {
        self.endpoint
    }

    /// A request succeeded on the current endpoint since it was chosen (worth remembering).
    pub fn healthy_confirmed(&self) -> bool {
        self.healthy_confirmed
    }

    /// Judges one finished attempt of an item that had failed `attempts_before` times, sent to
    /// `endpoint_used`.
    pub fn judge(
        &mut self,
        attempts_before: u32,
        endpoint_used: usize,
        outcome: Result<(), &TransportError>,
    ) -> Verdict {
        let attempts = attempts_before.saturating_add(1);
        let error = match outcome {
            Ok(()) => {
                if endpoint_used == self.endpoint {
                    self.healthy_confirmed = true;
                }
                return Verdict::Sent;
            }
            Err(error) => error,
        };
        let class = error.class();
        let rotated = class == FailureClass::Transient && self.rotate_after(endpoint_used, error);
        let message = error.to_string();
        let delay = match class {
            FailureClass::Permanent => return Verdict::Park(message),
            FailureClass::Configuration => self.configuration_retry,
            FailureClass::Transient if rotated && attempts as usize % self.endpoints != 0 => {
                Duration::ZERO
            }
            FailureClass::Transient => {
                let round = (attempts as usize).div_ceil(self.endpoints) as u32;
                self.retry.delay(round, error.retry_after(), &mut self.rng)
            }
        };
        let at = Timestamp::from_unix_millis(
            Timestamp::now().unix_millis() + delay.as_millis().min(i64::MAX as u128) as i64,
        )
        .unwrap_or_else(Timestamp::now);
        Verdict::Retry {
            at,
            error: message,
            maybe_delivered: error.maybe_delivered(),
        }
    }

    /// Moves to the next endpoint when `error`, seen on `endpoint_used`, says the endpoint in
    /// use is unhealthy; returns whether it moved. (A failure on an endpoint already left
    /// behind moves nothing.)
    pub fn rotate_after(&mut self, endpoint_used: usize, error: &TransportError) -> bool {
        let rotate =
            error.suggests_failover() && self.endpoints > 1 && endpoint_used == self.endpoint;
        if rotate {
            self.endpoint = (self.endpoint + 1) % self.endpoints;
            self.healthy_confirmed = false;
        }
        rotate
    }
}

/// Records `verdict` for outbox item `seq`.
pub fn record(
    conn: &Connection,
    seq: i64,
    verdict: &Verdict,
    now: Timestamp,
) -> Result<(), StoreError> {
    match verdict {
        Verdict::Sent => outbox::mark_sent(conn, seq, now),
        Verdict::Park(reason) => outbox::park(conn, seq, reason),
        Verdict::Retry {
            at,
            error,
            maybe_delivered,
        } => outbox::schedule_retry(conn, seq, *at, error, *maybe_delivered),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(endpoints: usize) -> DeliveryRules {
        DeliveryRules::new(
            RetryPolicy {
                base: Duration::from_millis(100),
                max: Duration::from_secs(1),
            },
            Duration::from_secs(60),
            endpoints,
            0,
        )
    }

    fn down(endpoint: &str) -> TransportError {
        TransportError::Connect {
            endpoint: endpoint.into(),
            reason: "refused".into(),
        }
    }

    #[test]
    fn refusals_park_transients_retry_and_rotate() {
        let mut r = rules(2);
        let refused = TransportError::Rejected {
            endpoint: "a".into(),
            status: 422,
            code: Some(-32010),
            message: "no".into(),
        };
        assert!(matches!(r.judge(0, 0, Err(&refused)), Verdict::Park(m) if m.contains("no")));
        assert_eq!(r.endpoint(), 0);
        // The first failure of a round goes at once to the other endpoint.
        let now = Timestamp::now().unix_millis();
        match r.judge(0, 0, Err(&down("a"))) {
            Verdict::Retry { at, .. } => assert!(at.unix_millis() - now < 50),
            other => panic!("{other:?}"),
        }
        assert_eq!(r.endpoint(), 1);
        // A late failure from the endpoint already left does not rotate back.
        assert!(!r.rotate_after(0, &down("a")));
        assert_eq!(r.endpoint(), 1);
        assert_eq!(r.judge(1, 1, Ok(())), Verdict::Sent);
        assert!(r.healthy_confirmed());
        let tls = TransportError::Tls {
            endpoint: "b".into(),
            reason: "bad certificate".into(),
        };
        match r.judge(0, 1, Err(&tls)) {
            Verdict::Retry { at, .. } => assert!(at.unix_millis() - now >= 59_000),
            other => panic!("{other:?}"),
        }
    }
}
