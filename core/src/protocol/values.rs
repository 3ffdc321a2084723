//! Small validated values shared by several messages.
//!
//! Each is checked once, when it is made or parsed, so code holding one never re-checks.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::ProtocolError;

/// A JSON-RPC id. CityFibre uses integers; we keep them within JavaScript's safe range so
/// that any JSON stack on the way keeps them exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct RpcId(u64);

impl RpcId {
    pub const MAX: u64 = (1 << 53) - 1;

    pub fn new(id: u64) -> Result<Self, ProtocolError> {
        if (1..=Self::MAX).contains(&id) {
            Ok(Self(id))
        } else {
            Err(ProtocolError::InvalidField {
                field: "id",
                reason: format!("{id} is outside 1..=2^53-1"),
            })
        }
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

impl TryFrom<u64> for RpcId {
    type Error = ProtocolError;
    fn try_from(v: u64) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<RpcId> for u64 {
    fn from(v: RpcId) -> u64 {
        v.0
    }
}

impl fmt::Display for RpcId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $field:literal, $check:expr, $rule:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Result<Self, ProtocolError> {
                let value = value.into();
                let check: fn(&str) -> bool = $check;
                if check(&value) {
                    Ok(Self(value))
                } else {
                    Err(ProtocolError::InvalidField {
                        field: $field,
                        reason: format!("{value:?} is not {}", $rule),
                    })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Self::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }
    };
}

fn is_identifier(value: &str, extra: &[u8]) -> bool {
    let b = value.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

checked_string!(
    /// CityFibre's job reference (`S114677`).
    JobRef,
    "ref",
    |v| is_identifier(v, b"_-"),
    "a job reference (letters, digits, _ and -, at most 64)"
);

checked_string!(
    /// The partner's own id for a job, given to CityFibre in the createJob answer.
    ProviderJobId,
    "providerJobId",
    |v| is_identifier(v, b"_.:-"),
    "a provider job id (letters, digits, _ . : and -, at most 64)"
);

/// Four vendor letters and eight upper-case hex digits, the form CityFibre provisions.
pub fn is_fsan(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 12
        && b[..4].iter().all(u8::is_ascii_uppercase)
        && b[4..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c))
}

/// `s3://bucket/key` with a plausible bucket name and a non-empty key. Capitals are allowed in
/// the bucket because CityFibre's own sample (`s3://URLcode.enta.cloud/...`) has them.
pub fn is_s3_object_path(value: &str) -> bool {
    let Some(rest) = value.strip_prefix("s3://") else {
        return false;
    };
    let Some((bucket, key)) = rest.split_once('/') else {
        return false;
    };
    let b = bucket.as_bytes();
    (2..=63).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'-')
        && !key.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_stay_in_the_safe_integer_range() {
        assert!(RpcId::new(0).is_err());
        assert!(RpcId::new(RpcId::MAX).is_ok());
        assert!(RpcId::new(RpcId::MAX + 1).is_err());
    }

    #[test]
    fn job_refs_are_checked() {
        assert!(JobRef::new("S114677").is_ok());
        assert!(JobRef::new("").is_err());
        assert!(JobRef::new("S11 4677").is_err());
        assert!(JobRef::new("-S1").is_err());
        assert!(JobRef::new("S".repeat(65)).is_err());
        let e = JobRef::new("a b").unwrap_err();
        assert!(e.to_string().starts_with("ref:"), "{e}");
    }

    #[test]
    fn fsan_and_object_paths() {
        assert!(is_fsan("ALCLB443689D"));
        assert!(!is_fsan("ALCLb443689D"));
        assert!(!is_fsan("414C434CB443689D"));
        assert!(!is_fsan("ALCLB443689G"));
        assert!(is_s3_object_path("s3://urlcode.enta.cloud/example.jpg"));
        assert!(is_s3_object_path("s3://URLcode.enta.cloud/example.jpg"));
        assert!(!is_s3_object_path("s3://bad_bucket/example.jpg"));
        assert!(!is_s3_object_path("s3://bucket/"));
        assert!(!is_s3_object_path("https://bucket/x.jpg"));
    }
}
