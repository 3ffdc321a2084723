//! Question based closure answers (`questions_answers`) and the files attached to them.
//!
//! Answers travel in two places: with `notifyJob` during the visit and with `closeJob` at the
//! end. The `source` field says which; CityFibre's own sample also uses `Closure`, so that is
//! accepted when reading, while we only ever write `notifyJob` or `closeJob`.

use serde::{Deserialize, Serialize};

use super::ProtocolError;
use super::time::StrictTimestamp;
use super::values::is_s3_object_path;

/// Point of the journey an answer was sent at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Source {
    #[serde(rename = "notifyJob")]
    NotifyJob,
    #[serde(rename = "closeJob")]
    CloseJob,
    /// Only ever read: CityFibre's closure sample says `Closure` where it means `closeJob`.
    #[serde(rename = "Closure")]
    Closure,
}

/// A file (a photo) attached to an answer, stored in CityFibre's shared S3 bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileReference {
    pub name: String,
    /// MIME type, e.g. `image/jpeg`.
    #[serde(rename = "type")]
    pub mime_type: String,
    /// `s3://bucket/key`.
    #[serde(deserialize_with = "object_path")]
    pub object_path: String,
    /// Optional HTTP(S) GET location (a pre-signed URL); CityFibre's sample sends `""`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

fn object_path<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let path = String::deserialize(d)?;
    if is_s3_object_path(&path) {
        Ok(path)
    } else {
        Err(serde::de::Error::custom(format!(
            "object_path {path:?} is not s3://bucket/key"
        )))
    }
}

/// One answer of the question based closure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionAnswer {
    /// The question's text, exactly as in the closure matrix.
    pub question: String,
    /// The question's id in the closure matrix (`1100`).
    pub question_code: String,
    pub answer: String,
    /// When the engineer answered (not when the message was sent).
    pub response_received: StrictTimestamp,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileReference>,
}

impl QuestionAnswer {
    /// Rules the type cannot express: a question text, a matrix id of letters, digits, `_`
    /// and `-`, and files that name themselves and their MIME type.
    pub fn validate(&self) -> Result<(), ProtocolError> {
        let bad = |field, reason: String| Err(ProtocolError::InvalidField { field, reason });
        if self.question.trim().is_empty() {
            return bad("question", "must not be empty".into());
        }
        let code = self.question_code.as_bytes();
        if code.is_empty()
            || code.len() > 32
            || !code
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
        {
            return bad(
                "question_code",
                format!(
                    "{:?} is not 1-32 letters, digits, _ or -",
                    self.question_code
                ),
            );
        }
        for file in &self.files {
            if file.name.is_empty() || file.name.len() > 255 {
                return bad(
                    "files.name",
                    format!("{:?} is not 1-255 characters", file.name),
                );
            }
            let mime_ok = file.mime_type.split_once('/').is_some_and(|(top, sub)| {
                !top.is_empty()
                    && top.bytes().all(|b| b.is_ascii_lowercase())
                    && !sub.is_empty()
                    && sub.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b".+-".contains(&b)
                    })
            });
            if !mime_ok {
                return bad(
                    "files.type",
                    format!("{:?} is not a MIME type", file.mime_type),
                );
            }
            if !is_s3_object_path(&file.object_path) {
                return bad(
                    "files.object_path",
                    format!("{:?} is not s3://bucket/key", file.object_path),
                );
            }
            if file.url.as_deref().is_some_and(|u| {
                !u.is_empty() && !u.starts_with("https://") && !u.starts_with("http://")
            }) {
                return bad("files.url", "must be empty or an http(s) URL".into());
            }
        }
        Ok(())
    }
}
