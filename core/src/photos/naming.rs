//! Where a photo lives in S3, decided by what it is and nothing else.
//!
//! The key is `jobs/<job_ref>/<question_code>/<sha256>.jpg`. Deterministic keys make the
//! upload idempotent: after a crash, a timeout or a retry the same bytes are PUT to the same
//! key, so a second upload is harmless, and the `object_path` written into the closeJob
//! answer can be fixed as soon as the photo is taken, before any upload happened. The hash in
//! the key means a retaken photo never overwrites an earlier one, and grouping by job and
//! question lets CityFibre's side (and a person browsing the bucket) find a job's evidence.
//!
//! Escaping: the job reference and question code are written as they are when they consist
//! of ASCII letters, digits, `_` and `-` (every code in the seed does). Any other byte,
//! including `.`, `/`, spaces and non-ASCII, is written as `%XX` (upper-case hex of each
//! UTF-8 byte), so a segment can never be `.` or `..`, never adds a `/`, and two different
//! codes never map to the same key (the escaping is reversible). S3 stores `%` literally in
//! the key; the uploader percent-encodes the key again for the URL.

use crate::protocol::{FileReference, is_s3_object_path};

use super::hash::PhotoHash;

/// The MIME type of every prepared photo.
pub const PHOTO_CONTENT_TYPE: &str = "image/jpeg";

/// Longest job reference or question code accepted for a key (before escaping); S3 keys
/// may be 1024 bytes long, and this keeps the worst case (every byte escaped) within that.
pub const MAX_SEGMENT_BYTES: usize = 128;

/// The S3 object of one photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoObject {
    pub bucket: String,
    pub key: String,
    pub sha256: PhotoHash,
}

/// Why a photo cannot be named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamingError {
    #[error("the {what} for a photo's S3 key is empty")]
    Empty { what: &'static str },
    #[error("the {what} {value:?} is longer than {MAX_SEGMENT_BYTES} bytes")]
    TooLong { what: &'static str, value: String },
    #[error("{0:?} is not a valid S3 bucket name for an object path")]
    Bucket(String),
}

impl PhotoObject {
    /// Names the photo with hash `sha256` answering `question_code` on job `job_ref`.
    pub fn new(
        bucket: &str,
        job_ref: &str,
        question_code: &str,
        sha256: &PhotoHash,
    ) -> Result<Self, NamingError> {
        let key = format!(
            "jobs/{}/{}/{sha256}.jpg",
            segment("job reference", job_ref)?,
            segment("question code", question_code)?
        );
        if !is_s3_object_path(&format!("s3://{bucket}/{key}")) {
            return Err(NamingError::Bucket(bucket.to_owned()));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            key,
            sha256: sha256.clone(),
        })
    }

    /// `s3://<bucket>/<key>`, as CityFibre's `object_path`.
    pub fn object_path(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// The file name shown with the answer: `<sha256>.jpg`.
    pub fn file_name(&self) -> String {
        format!("{}.jpg", self.sha256)
    }

    /// The reference that goes into `questions_answers[].files`.
    pub fn file_reference(&self) -> FileReference {
        FileReference {
            name: self.file_name(),
            mime_type: PHOTO_CONTENT_TYPE.to_owned(),
            object_path: self.object_path(),
            url: None,
        }
    }
}

fn segment(what: &'static str, value: &str) -> Result<String, NamingError> {
    if value.is_empty() {
        return Err(NamingError::Empty { what });
    }
    if value.len() > MAX_SEGMENT_BYTES {
        return Err(NamingError::TooLong {
            what,
            value: value.chars().take(MAX_SEGMENT_BYTES).collect(),
        });
    }
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(out)
}
