//! Retry timing: capped exponential backoff with full jitter.
//!
//! Full jitter (a uniformly random delay between zero and the exponential cap) spreads the
//! retries of many phones coming back online at once — the morning after a gateway outage
//! every engineer's backlog retries — instead of synchronising them into waves. A server's
//! `Retry-After` is a floor, never shortened by jitter.

use std::time::Duration;

/// How retries are spaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The cap of the first retry's delay.
    pub base: Duration,
    /// The largest delay between two attempts.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The upper bound of the delay after `attempts` failed attempts (1 = the first failure).
    pub fn cap(&self, attempts: u32) -> Duration {
        let exponent = attempts.saturating_sub(1).min(30);
        self.base
            .checked_mul(1u32 << exponent)
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// A delay drawn uniformly from `0..=cap(attempts)`, at least `retry_after` when the
    /// server asked for one.
    pub fn delay(
        &self,
        attempts: u32,
        retry_after: Option<Duration>,
        rng: &mut fastrand::Rng,
    ) -> Duration {
        let cap = self.cap(attempts).as_millis().min(u64::MAX as u128) as u64;
        let jittered = Duration::from_millis(rng.u64(0..=cap));
        match retry_after {
            Some(floor) => jittered.max(floor.min(self.max.max(floor))),
            None => jittered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_doubles_and_stops_at_the_maximum() {
        let p = RetryPolicy {
            base: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        let caps: Vec<u128> = (1..=7).map(|a| p.cap(a).as_millis()).collect();
        assert_eq!(caps, [100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(p.cap(u32::MAX), Duration::from_secs(2));
    }

    #[test]
    fn delays_are_spread_over_the_whole_window() {
        let p = RetryPolicy {
            base: Duration::from_millis(1000),
            max: Duration::from_secs(60),
        };
        let mut rng = fastrand::Rng::with_seed(7);
        let delays: Vec<Duration> = (0..1000).map(|_| p.delay(3, None, &mut rng)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(4)));
        let low = delays
            .iter()
            .filter(|d| **d < Duration::from_secs(1))
            .count();
        let high = delays
            .iter()
            .filter(|d| **d > Duration::from_secs(3))
            .count();
        assert!(
            low > 150 && high > 150,
            "full jitter, not a fixed delay: {low} {high}"
        );
    }

    #[test]
    fn retry_after_is_a_floor() {
        let p = RetryPolicy::default();
        let mut rng = fastrand::Rng::with_seed(1);
        for _ in 0..100 {
            assert!(p.delay(1, Some(Duration::from_secs(5)), &mut rng) >= Duration::from_secs(5));
        }
    }
}
