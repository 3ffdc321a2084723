//! Question based closure answers (`questions_answers`) and the files attached to them.
//!
//! Answers travel in two places: with `notifyJob` during the visit and with `closeJob` at the
//! end. The `source` field says which; CityFibre's own sample also uses `Closure`, so that is
//! accepted when reading, while we only ever write `notifyJob` or `closeJob`.

use serde::{Deserialize, Serialize};

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
