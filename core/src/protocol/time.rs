//! Timestamps as CityFibre sends them and as we must send them.
//!
//! CityFibre's payloads are not consistent: the same API has produced
//! `2022-03-18T17:39:21+0000` (offset without a colon), `2018-01-02T09:32:33+00:00` and
//! `2023-09-25T11:37:10.9362823+01:00` (seven fraction digits). Inbound parsing therefore
//! normalises the offset before handing the text to an RFC 3339 parser; outbound parsing
//! (what the simulator and the validator apply to our own messages) accepts RFC 3339 only,
//! and we always emit RFC 3339. The original offset is kept: an engineer's action time is
//! reported in the zone it was taken in.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ProtocolError;

/// A point in time with the offset it was recorded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<FixedOffset>);

impl Timestamp {
    /// The current time, in UTC.
    pub fn now() -> Self {
        Self(Utc::now().fixed_offset())
    }

    /// Wraps a chrono time.
    pub fn from_datetime(at: DateTime<FixedOffset>) -> Self {
        Self(at)
    }

    /// Milliseconds since the Unix epoch (for storage and ordering).
    pub fn unix_millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    /// From milliseconds since the Unix epoch, in UTC.
    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        DateTime::<Utc>::from_timestamp_millis(millis).map(|t| Self(t.fixed_offset()))
    }

    /// The same instant without its sub-millisecond part, in the same offset: what the
    /// store keeps, so a time read back compares equal to the one a message carried.
    pub fn truncated_to_millis(&self) -> Self {
        DateTime::<Utc>::from_timestamp_millis(self.unix_millis())
            .map_or(*self, |t| Self(t.with_timezone(self.0.offset())))
    }

    /// The chrono value.
    pub fn as_datetime(&self) -> DateTime<FixedOffset> {
        self.0
    }

    /// Parses any form CityFibre has been seen to send.
    pub fn parse_lenient(text: &str) -> Result<Self, ProtocolError> {
        let bad = || ProtocolError::BadTimestamp {
            value: text.to_owned(),
        };
        let normalised = normalise_offset(text).ok_or_else(bad)?;
        DateTime::parse_from_rfc3339(&normalised)
            .map(Self)
            .map_err(|_| bad())
    }

    /// Parses RFC 3339 only, as outbound messages must be.
    pub fn parse_strict(text: &str) -> Result<Self, ProtocolError> {
        let has_colon_offset = text.ends_with('Z')
            || text
                .len()
                .checked_sub(6)
                .and_then(|i| text.get(i..))
                .is_some_and(|tail| {
                    let b = tail.as_bytes();
                    (b[0] == b'+' || b[0] == b'-') && b[3] == b':'
                });
        if !has_colon_offset || !text.is_char_boundary(10) || text.as_bytes().get(10) != Some(&b'T')
        {
            return Err(ProtocolError::BadTimestamp {
                value: text.to_owned(),
            });
        }
        DateTime::parse_from_rfc3339(text)
            .map(Self)
            .map_err(|_| ProtocolError::BadTimestamp {
                value: text.to_owned(),
            })
    }

    /// RFC 3339 text, fraction digits only where the time has them.
    pub fn to_rfc3339(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::AutoSi, false)
    }
}

/// Inserts the colon into a `+hhmm` offset; rejects text with no offset at all, since a
/// time without a zone cannot be placed on the engineer's timeline.
fn normalise_offset(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes.get(10) != Some(&b'T') {
        return None;
    }
    if text.ends_with('Z') || text.ends_with('z') {
        return Some(text.to_owned());
    }
    let n = bytes.len();
    let tail = &bytes[n - 5..];
    let compact = (tail[0] == b'+' || tail[0] == b'-') && tail[1..].iter().all(u8::is_ascii_digit);
    if compact {
        let mut out = String::with_capacity(n + 1);
        out.push_str(&text[..n - 2]);
        out.push(':');
        out.push_str(&text[n - 2..]);
        return Some(out);
    }
    let tail = &bytes[n - 6..];
    let with_colon = (tail[0] == b'+' || tail[0] == b'-') && tail[3] == b':';
    with_colon.then(|| text.to_owned())
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl FromStr for Timestamp {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_lenient(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

/// The default, used by inbound models: every form CityFibre sends.
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse_lenient(&text).map_err(serde::de::Error::custom)
    }
}

/// A timestamp field of an outbound message: RFC 3339 on the wire both ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StrictTimestamp(pub Timestamp);

impl Serialize for StrictTimestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for StrictTimestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse_strict(&text)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

impl From<Timestamp> for StrictTimestamp {
    fn from(t: Timestamp) -> Self {
        Self(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_in_the_seed_parses() {
        for (text, rfc) in [
            ("2022-03-18T17:39:21+0000", "2022-03-18T17:39:21+00:00"),
            ("2018-01-02T09:32:33+00:00", "2018-01-02T09:32:33+00:00"),
            (
                "2023-09-25T11:37:10.9362823+01:00",
                "2023-09-25T11:37:10.936282300+01:00",
            ),
            ("2024-06-01T08:00:00Z", "2024-06-01T08:00:00+00:00"),
            ("2024-06-01T08:00:00-0530", "2024-06-01T08:00:00-05:30"),
        ] {
            let t = Timestamp::parse_lenient(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(t.to_rfc3339(), rfc, "{text}");
        }
    }

    #[test]
    fn the_offset_is_kept_and_the_instant_is_right() {
        let a = Timestamp::parse_lenient("2023-09-25T11:37:10+01:00").unwrap();
        let b = Timestamp::parse_lenient("2023-09-25T10:37:10Z").unwrap();
        assert_eq!(a.unix_millis(), b.unix_millis());
        assert_eq!(a.as_datetime().offset().local_minus_utc(), 3600);
    }

    #[test]
    fn garbage_and_zoneless_times_are_refused() {
        for text in [
            "",
            "yesterday",
            "2022-03-18",
            "2022-03-18T17:39:21",
            "2022-03-18 17:39:21+00:00",
            "2022-13-18T17:39:21+00:00",
            "2022-03-18T17:39:21+0",
            "2022-03-18T17:39:21+00:0",
            "ééééééééééééééééééééé",
        ] {
            assert!(
                matches!(
                    Timestamp::parse_lenient(text),
                    Err(ProtocolError::BadTimestamp { .. })
                ),
                "{text:?} must be refused"
            );
        }
    }

    #[test]
    fn strict_parsing_refuses_the_compact_offset() {
        assert!(Timestamp::parse_strict("2022-03-18T17:39:21+0000").is_err());
        assert!(Timestamp::parse_strict("2022-03-18T17:39:21+00:00").is_ok());
        assert!(Timestamp::parse_strict("2022-03-18T17:39:21.5Z").is_ok());
        assert!(Timestamp::parse_strict("é").is_err());
    }

    #[test]
    fn millis_round_trip() {
        let t = Timestamp::parse_lenient("2023-09-25T11:37:10.936+01:00").unwrap();
        let back = Timestamp::from_unix_millis(t.unix_millis()).unwrap();
        assert_eq!(back.unix_millis(), t.unix_millis());
    }
}
