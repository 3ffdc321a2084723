//! The SHA-256 of a prepared photo's JPEG bytes, as 64 lower-case hex digits.
//!
//! The hash is the photo's identity everywhere: its file name in the local store, the last
//! segment of its S3 key, and the check made before every upload. Holding a [`PhotoHash`]
//! means the text was checked, so it is safe to use as a file name (no `/`, no `..`) and
//! two spellings of one hash cannot exist.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

/// A checked SHA-256 in lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PhotoHash(String);

/// Text that is not 64 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a SHA-256 in lower-case hex (64 digits)")]
pub struct InvalidHash(pub String);

impl PhotoHash {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self::from_digest(&Sha256::digest(bytes))
    }

    pub(crate) fn from_digest(digest: &[u8]) -> Self {
        use fmt::Write as _;
        let mut hex = String::with_capacity(64);
        for byte in digest {
            // Writing to a String cannot fail.
            let _ = write!(hex, "{byte:02x}");
        }
        Self(hex)
    }

    /// Checks `text` (64 lower-case hex digits).
    pub fn parse(text: &str) -> Result<Self, InvalidHash> {
        let ok = text.len() == 64
            && text
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidHash(text.chars().take(80).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 32 raw bytes (for S3's base64 checksum header).
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, pair) in self.0.as_bytes().chunks_exact(2).enumerate() {
            out[i] = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
        }
        out
    }
}

fn hex_value(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        // Only lower-case hex ever gets in (checked by `parse`, produced by `of`).
        _ => c - b'a' + 10,
    }
}

impl fmt::Display for PhotoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PhotoHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_lower_hex_and_round_trip_to_bytes() {
        let h = PhotoHash::of(b"abc");
        assert_eq!(
            h.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(PhotoHash::parse(h.as_str()).unwrap(), h);
        assert_eq!(PhotoHash::from_digest(&h.to_bytes()), h);
    }

    #[test]
    fn only_64_lower_hex_digits_parse() {
        let good = "a".repeat(64);
        assert!(PhotoHash::parse(&good).is_ok());
        assert!(PhotoHash::parse(&"A".repeat(64)).is_err());
        assert!(PhotoHash::parse(&"a".repeat(63)).is_err());
        assert!(PhotoHash::parse("../../etc/passwd").is_err());
        assert!(serde_json::from_str::<PhotoHash>("\"xyz\"").is_err());
    }
}
