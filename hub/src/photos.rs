//! Photos without secrets on phones: the hub hands out short-lived presigned S3 PUT URLs.
//!
//! The partner's S3 keys stay at the hub. A phone asks (`/photoUrl`) for the object key the
//! core already derives for a photo (`jobs/<job_ref>/<question_code>/<sha256>.jpg`,
//! `core/src/photos/naming.rs`); the hub checks the key's shape and that the job is assigned to
//! the device's engineer, and answers with a SigV4 query-signed URL (rusty-s3, sans-IO) valid
//! for `validity`. The signature covers the method, the bucket and the key, so the URL cannot
//! be used for another object, and S3 refuses it once it has expired.

use std::time::Duration;

use crate::sql::{Tx, args};
use base64::Engine as _;
use jobpack_core::protocol::{JobRef, Timestamp};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use serde_json::{Value, json};

use crate::HubError;
use crate::rpc::{Answer, RpcCode, Side, reject};

/// The partner's photo bucket, as the hub reaches it.
#[derive(Clone)]
pub struct PhotoBucket {
    /// Base URL of the S3-compatible endpoint.
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// `host/bucket/key` (true) or `bucket.host/key` (false).
    pub path_style: bool,
    /// How long a presigned URL is good for.
    pub validity: Duration,
}

impl std::fmt::Debug for PhotoBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhotoBucket")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("secret_access_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

pub(crate) struct Presigner {
    bucket: Bucket,
    name: String,
    credentials: Credentials,
    validity: Duration,
}

impl Presigner {
    pub(crate) fn new(config: &PhotoBucket) -> Result<Self, HubError> {
        let endpoint: reqwest::Url = config.endpoint.parse().map_err(|e| HubError::Invalid {
            field: "photos.endpoint",
            reason: format!("{e}"),
        })?;
        let style = if config.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(
            endpoint,
            style,
            config.bucket.clone(),
            config.region.clone(),
        )
        .map_err(|e| HubError::Invalid {
            field: "photos.bucket",
            reason: e.to_string(),
        })?;
        Ok(Self {
            bucket,
            name: config.bucket.clone(),
            credentials: Credentials::new(
                config.access_key_id.clone(),
                config.secret_access_key.clone(),
            ),
            validity: config.validity,
        })
    }

    /// Answers a `photoUrl` request from `engineer`'s device.
    pub(crate) fn answer(
        &self,
        conn: &dyn Tx,
        engineer: &str,
        body: &[u8],
    ) -> Result<Answer, HubError> {
        let refuse = |code, reason: String| {
            reject(
                conn,
                Side::Device,
                "/photoUrl",
                body,
                body.len(),
                code,
                reason,
            )
        };
        let request: Value = match serde_json::from_slice(body) {
            Ok(value) => value,
            Err(e) => return refuse(RpcCode::ParseError, format!("not JSON: {e}")),
        };
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let Some(key) = request.pointer("/params/key").and_then(Value::as_str) else {
            return refuse(RpcCode::InvalidParams, "params.key is required".into());
        };
        let job_ref = match photo_job(key) {
            Ok(job_ref) => job_ref,
            Err(reason) => return refuse(RpcCode::InvalidParams, reason),
        };
        let owner: Option<Option<String>> = conn
            .query_opt(
                "SELECT engineer_id FROM jobs WHERE job_ref = ?1",
                args![&job_ref],
            )?
            .map(|r| r.get(0))
            .transpose()?;
        if owner.flatten().as_deref() != Some(engineer) {
            return refuse(
                RpcCode::Forbidden,
                format!("job {job_ref} is not assigned to engineer {engineer}"),
            );
        }
        let mut action = self.bucket.put_object(Some(&self.credentials), key);
        // With the photo's hash (and type) the signature covers the checksum headers too, so
        // the URL uploads these bytes only (S3 verifies the body against the checksum).
        if let Some(hash) = request.pointer("/params/sha256").and_then(Value::as_str) {
            let matches = key
                .rsplit('/')
                .next()
                .and_then(|file| file.strip_suffix(".jpg"))
                == Some(hash);
            let Some(bytes) = hex_bytes(hash).filter(|_| matches) else {
                return refuse(
                    RpcCode::InvalidParams,
                    "params.sha256 is not the hash the key names".into(),
                );
            };
            action.headers_mut().insert(
                "x-amz-checksum-sha256",
                base64::engine::general_purpose::STANDARD.encode(bytes),
            );
            action
                .headers_mut()
                .insert("x-amz-sdk-checksum-algorithm", "SHA256");
        }
        if let Some(content_type) = request
            .pointer("/params/contentType")
            .and_then(Value::as_str)
        {
            if content_type != "image/jpeg" {
                return refuse(
                    RpcCode::InvalidParams,
                    format!("params.contentType {content_type:?}: photos are image/jpeg"),
                );
            }
            action.headers_mut().insert("content-type", content_type);
        }
        let url = action.sign(self.validity);
        let expires = Timestamp::from_unix_millis(
            Timestamp::now().unix_millis() + self.validity.as_millis().min(i64::MAX as u128) as i64,
        )
        .unwrap_or_else(Timestamp::now);
        Ok(Answer::ok(json!({
            "jsonrpc": "2.0",
            "id": id,
            "result": {
                "method": "PUT",
                "url": url.as_str(),
                "objectPath": format!("s3://{}/{key}", self.name),
                "expiresAt": expires.to_rfc3339(),
            },
        })))
    }
}

/// 64 lowercase hex digits as 32 bytes.
fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 64 {
        return None;
    }
    (0..32)
        .map(|i| {
            hex.get(i * 2..i * 2 + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

/// The job a photo key belongs to, when the key has the core's shape
/// `jobs/<job_ref>/<question_code>/<64 hex>.jpg`.
fn photo_job(key: &str) -> Result<String, String> {
    let bad =
        || format!("{key:?} is not a photo key (jobs/<job_ref>/<question_code>/<sha256>.jpg)");
    let parts: Vec<&str> = key.split('/').collect();
    let [jobs, job_ref, question, file] = parts.as_slice() else {
        return Err(bad());
    };
    let question_ok = (1..=32).contains(&question.len())
        && question
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let hash_ok = file.strip_suffix(".jpg").is_some_and(|hash| {
        hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    });
    if *jobs != "jobs" || !question_ok || !hash_ok {
        return Err(bad());
    }
    JobRef::new(*job_ref).map_err(|e| format!("{}: {e}", bad()))?;
    Ok((*job_ref).to_owned())
}

#[cfg(test)]
mod tests {
    use super::photo_job;

    #[test]
    fn only_the_cores_photo_keys_are_signed() {
        let hash = "ab".repeat(32);
        assert_eq!(
            photo_job(&format!("jobs/S1/4900/{hash}.jpg")),
            Ok("S1".into())
        );
        for bad in [
            format!("jobs/S1/4900/{hash}.png"),
            format!("jobs/S1/4900/{}.jpg", "AB".repeat(32)),
            format!("jobs/S1/../{hash}.jpg"),
            format!("other/S1/4900/{hash}.jpg"),
            format!("jobs/S1/4900/x/{hash}.jpg"),
            "jobs/S1/4900/short.jpg".into(),
        ] {
            assert!(photo_job(&bad).is_err(), "{bad}");
        }
    }
}
