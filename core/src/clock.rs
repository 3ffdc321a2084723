//! Trusted action times: the phone's clock, checked against the servers'.
//!
//! Every message carries the time of the action, and CityFibre and the back office rely on
//! it (en route, on site, each answer's `response_received`). A phone's clock can be hours
//! wrong — set by hand, reset by a dead battery, left in another time zone's settings — and
//! nothing in the action itself shows it. Every HTTP response the core receives carries the
//! server's time in its `Date` header, so the core learns the offset between the two clocks
//! from each one and keeps the last ([`ClockCheck`], persisted by the engine so a restart
//! offline still knows it).
//!
//! Each action is stamped with both times ([`ActionTime`]): what the device said and the
//! corrected time, which is what the message carries. An action taken before the clock was
//! ever checked keeps the device time and is marked unchecked, so the back office can tell a
//! corrected time from an unverified one. Offsets within [`TOLERANCE_MS`] are not applied: the
//! `Date` header has whole seconds and a round trip takes time, so a smaller difference says
//! nothing about the phone.
//!
//! Clocks can also jump while a job is under way (set back while offline). That is handled
//! where a job's actions are ordered (the engine), which clamps an action that would come
//! before the job's previous one and warns; this module only says what the time is.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::protocol::Timestamp;

/// Differences up to this many milliseconds are the `Date` header's resolution and network
/// latency, not a wrong clock.
pub const TOLERANCE_MS: i64 = 2_000;

/// What a server's clock said, compared with the device's at the same moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockCheck {
    /// Server time minus device time.
    pub offset_ms: i64,
    /// The device's time when the check was made (its age is measured from it).
    pub checked_at_device: Timestamp,
}

impl ClockCheck {
    /// The check a response's `Date` makes, received at `device_now`.
    pub fn new(server: Timestamp, device_now: Timestamp) -> Self {
        Self {
            offset_ms: server.unix_millis() - device_now.unix_millis(),
            checked_at_device: device_now,
        }
    }

    /// How it is kept between runs: `offset_ms@device_millis`.
    pub fn to_record(self) -> String {
        format!(
            "{}@{}",
            self.offset_ms,
            self.checked_at_device.unix_millis()
        )
    }

    /// Reads [`ClockCheck::to_record`]'s form; `None` for anything else.
    pub fn from_record(text: &str) -> Option<Self> {
        let (offset, at) = text.split_once('@')?;
        Some(Self {
            offset_ms: offset.parse().ok()?,
            checked_at_device: Timestamp::from_unix_millis(at.parse().ok()?)?,
        })
    }
}

/// How an action's time was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// The device clock was never checked against a server: its time is used unverified.
    Unchecked,
    /// The device clock agreed with the last check (within [`TOLERANCE_MS`]).
    Checked {
        /// Milliseconds between the check and the action, by the device's clock.
        check_age_ms: i64,
    },
    /// The device clock was off; the last known offset was applied.
    Corrected { offset_ms: i64, check_age_ms: i64 },
    /// The time would have come before the job's previous action (the clock was set back):
    /// it was moved forward to that action's time so the job's messages keep their order.
    Clamped {
        /// How far before the previous action the time fell.
        set_back_ms: i64,
    },
}

impl TimeSource {
    /// The name kept in the database and shown to QA.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unchecked => "unchecked",
            Self::Checked { .. } => "checked",
            Self::Corrected { .. } => "corrected",
            Self::Clamped { .. } => "clamped",
        }
    }

    /// Milliseconds since the clock check it relied on, if it relied on one.
    pub fn check_age_ms(self) -> Option<i64> {
        match self {
            Self::Checked { check_age_ms } | Self::Corrected { check_age_ms, .. } => {
                Some(check_age_ms)
            }
            Self::Unchecked | Self::Clamped { .. } => None,
        }
    }
}

/// The time of one action: what the device said and what is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionTime {
    pub device: Timestamp,
    /// The time the message carries.
    pub corrected: Timestamp,
    pub source: TimeSource,
}

impl ActionTime {
    /// The offset applied, in milliseconds (0 when none was).
    pub fn correction_ms(&self) -> i64 {
        self.corrected.unix_millis() - self.device.unix_millis()
    }

    /// An unchecked time: the device's, used as it is.
    pub fn unchecked(device: Timestamp) -> Self {
        Self {
            device,
            corrected: device,
            source: TimeSource::Unchecked,
        }
    }

    /// Keeps the time from coming before `previous`, the job's latest recorded time: a
    /// clock set back (while offline, say) must not reorder a job's messages. Returns the
    /// time to use and whether it was moved.
    ///
    /// A time that falls before `previous` by no more than [`TOLERANCE_MS`] is moved without
    /// being called a clamp: that is the resolution of clock checks, not a clock set back.
    pub fn not_before(self, previous: Option<Timestamp>) -> (Self, bool) {
        let Some(previous) = previous.filter(|p| self.corrected < *p) else {
            return (self, false);
        };
        let set_back_ms = previous.unix_millis() - self.corrected.unix_millis();
        if set_back_ms <= TOLERANCE_MS {
            let moved = Self {
                corrected: previous,
                ..self
            };
            return (moved, false);
        }
        let clamped = Self {
            corrected: previous,
            source: TimeSource::Clamped { set_back_ms },
            ..self
        };
        (clamped, true)
    }
}

/// The last clock check, shared by the transport (which makes checks) and the engine (which
/// stamps actions with them).
#[derive(Debug, Default)]
pub struct TrustedClock {
    last: Mutex<Option<ClockCheck>>,
}

impl TrustedClock {
    /// A clock that starts from a check kept from an earlier run, if any.
    pub fn new(last: Option<ClockCheck>) -> Self {
        Self {
            last: Mutex::new(last),
        }
    }

    /// Learns from a response's `Date` header value, received at `device_now`. A header that
    /// is not an HTTP date is ignored (it teaches nothing; the response itself still counts).
    /// An offset within [`TOLERANCE_MS`] of the one known is the header's one-second
    /// resolution, not a change of clock: the known offset is kept (only its age is renewed),
    /// so the times of a job's actions do not jitter against each other.
    pub fn observe_date_header(&self, value: &str, device_now: Timestamp) -> Option<ClockCheck> {
        let server = parse_http_date(value)?;
        let mut check = ClockCheck::new(server, device_now);
        let mut last = self.lock();
        if let Some(known) = *last
            && (known.offset_ms - check.offset_ms).abs() <= TOLERANCE_MS
        {
            check.offset_ms = known.offset_ms;
        }
        *last = Some(check);
        Some(check)
    }

    pub fn last_check(&self) -> Option<ClockCheck> {
        *self.lock()
    }

    /// The time of an action the device clock puts at `device` (kept to the millisecond, as
    /// the store keeps it).
    pub fn stamp(&self, device: Timestamp) -> ActionTime {
        let device = device.truncated_to_millis();
        let Some(check) = self.last_check() else {
            return ActionTime::unchecked(device);
        };
        let check_age_ms = device.unix_millis() - check.checked_at_device.unix_millis();
        if check.offset_ms.abs() <= TOLERANCE_MS {
            return ActionTime {
                device,
                corrected: device,
                source: TimeSource::Checked { check_age_ms },
            };
        }
        match Timestamp::from_unix_millis(device.unix_millis().saturating_add(check.offset_ms)) {
            Some(corrected) => ActionTime {
                device,
                corrected,
                source: TimeSource::Corrected {
                    offset_ms: check.offset_ms,
                    check_age_ms,
                },
            },
            // An offset that leaves the representable range is no clock at all.
            None => ActionTime::unchecked(device),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<ClockCheck>> {
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Reads an HTTP `Date` header (RFC 9110's IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`;
/// other RFC 2822 forms with a zone are accepted too).
pub fn parse_http_date(value: &str) -> Option<Timestamp> {
    let parsed = DateTime::parse_from_rfc2822(value.trim()).ok()?;
    Some(Timestamp::from_datetime(parsed))
}

/// Writes `at` as an HTTP `Date` header value (IMF-fixdate, always GMT).
pub fn format_http_date(at: Timestamp) -> String {
    let utc = DateTime::<Utc>::from_timestamp_millis(at.unix_millis()).unwrap_or_default();
    utc.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms).expect("in range")
    }

    const HOUR: i64 = 3_600_000;
    const T0: i64 = 1_764_500_000_000;

    #[test]
    fn http_dates_read_and_write() {
        let t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").expect("IMF-fixdate");
        assert_eq!(t.unix_millis(), 784_111_777_000);
        assert_eq!(format_http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            parse_http_date("  Sun, 06 Nov 1994 09:49:37 +0100 "),
            Some(t)
        );
        for bad in [
            "",
            "yesterday",
            "Sun, 06 Nov 1994",
            "1994-11-06T08:49:37Z",
            "\u{0}",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_unchecked_clock_is_used_as_it_is_and_says_so() {
        let clock = TrustedClock::default();
        let stamped = clock.stamp(at(T0));
        assert_eq!(stamped.corrected, at(T0));
        assert_eq!(stamped.source, TimeSource::Unchecked);
        assert_eq!(clock.observe_date_header("not a date", at(T0)), None);
        assert_eq!(clock.last_check(), None);
    }

    #[test]
    fn a_clock_hours_wrong_is_corrected_by_the_last_check() {
        let clock = TrustedClock::default();
        // The phone says T0; the server says three hours later.
        let server = format_http_date(at(T0 + 3 * HOUR));
        clock.observe_date_header(&server, at(T0));
        let stamped = clock.stamp(at(T0 + 60_000));
        assert_eq!(stamped.corrected, at(T0 + 3 * HOUR + 60_000));
        assert_eq!(stamped.correction_ms(), 3 * HOUR);
        assert_eq!(
            stamped.source,
            TimeSource::Corrected {
                offset_ms: 3 * HOUR,
                check_age_ms: 60_000
            }
        );
    }

    #[test]
    fn a_check_within_the_headers_resolution_keeps_the_known_offset() {
        let clock = TrustedClock::default();
        clock.observe_date_header(&format_http_date(at(T0 + HOUR)), at(T0));
        // A second later by the device, the header (whole seconds) says 0.9 s less.
        let later = clock.observe_date_header(&format_http_date(at(T0 + HOUR)), at(T0 + 900));
        assert_eq!(later.map(|c| c.offset_ms), Some(HOUR));
        assert_eq!(later.map(|c| c.checked_at_device), Some(at(T0 + 900)));
        // A real change of clock is taken.
        let moved = clock.observe_date_header(&format_http_date(at(T0 + 10 * HOUR)), at(T0));
        assert_eq!(moved.map(|c| c.offset_ms), Some(10 * HOUR));
    }

    #[test]
    fn a_clock_within_tolerance_is_not_moved() {
        let clock = TrustedClock::default();
        clock.observe_date_header(&format_http_date(at(T0 + 1_000)), at(T0));
        let stamped = clock.stamp(at(T0 + 5_000));
        assert_eq!(stamped.corrected, at(T0 + 5_000));
        assert_eq!(
            stamped.source,
            TimeSource::Checked {
                check_age_ms: 5_000
            }
        );
    }

    #[test]
    fn a_time_before_the_previous_action_is_clamped_to_it() {
        let previous = at(T0);
        let (kept, moved) = ActionTime::unchecked(at(T0 + 1)).not_before(Some(previous));
        assert!(!moved);
        assert_eq!(kept.corrected, at(T0 + 1));
        let (nudged, moved) = ActionTime::unchecked(at(T0 - 1_500)).not_before(Some(previous));
        assert!(!moved, "within the checks' resolution: moved, not a clamp");
        assert_eq!(
            (nudged.corrected, nudged.source),
            (previous, TimeSource::Unchecked)
        );
        let (clamped, moved) = ActionTime::unchecked(at(T0 - HOUR)).not_before(Some(previous));
        assert!(moved);
        assert_eq!(clamped.corrected, previous);
        assert_eq!(clamped.device, at(T0 - HOUR), "the device's word is kept");
        assert_eq!(clamped.source, TimeSource::Clamped { set_back_ms: HOUR });
        assert!(!ActionTime::unchecked(at(T0)).not_before(None).1);
    }

    #[test]
    fn a_check_survives_its_record() {
        let check = ClockCheck::new(at(T0 - 2 * HOUR), at(T0));
        assert_eq!(ClockCheck::from_record(&check.to_record()), Some(check));
        for bad in ["", "12", "x@1", "1@x", "1@99999999999999999999"] {
            assert_eq!(ClockCheck::from_record(bad), None, "{bad:?}");
        }
        let clock = TrustedClock::new(Some(check));
        assert_eq!(clock.stamp(at(T0)).corrected, at(T0 - 2 * HOUR));
    }
}
