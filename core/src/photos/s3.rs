//! Photo uploads to an S3-compatible store: PutObject, signed with AWS Signature V4.
//!
//! Signing is rusty-s3's (sans-IO: it presigns a URL with the RustCrypto HMAC-SHA256; no AWS
//! SDK, no OpenSSL); the request goes out on a reqwest client with rustls (ring) like every
//! other call of the core. The URL is presigned at the moment of sending, for a few minutes,
//! so it never sits in the database.
//!
//! Integrity, end to end: before sending, the local file is hashed and must equal the
//! descriptor's SHA-256 — a damaged file is never uploaded under a name that promises other
//! bytes. The PUT carries the same hash as `x-amz-checksum-sha256` (signed), so S3 (and
//! MinIO, R2, Ceph) verify the body and refuse a corrupted transfer with `BadDigest`. (moto,
//! the test server, stores the checksum but does not verify it.)
//!
//! Outcomes, in the sync engine's classes:
//! * 2xx: uploaded. PUTting the same key again is harmless (same bytes), which is what makes
//!   the resend after a crash or a lost answer safe.
//! * No connection, timeout, reset, 5xx, 408, 429, `SlowDown`, `RequestTimeout`: transient,
//!   retried with backoff.
//! * 403 (wrong key or secret, a bad signature, the device clock too far off, no permission)
//!   and other signs of a wrong configuration (wrong region, redirects): configuration — the
//!   queue stays and the UI is told, since nothing will work until the settings change.
//! * Any other 4xx (`NoSuchBucket`, `BadDigest`, `InvalidArgument`...): permanent, parked with
//!   S3's error code and message.
//! * The local file is gone or damaged, or the item is unreadable: permanent
//!   ([`TransportError::Unsendable`]); the photo must be taken again.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use crate::transport::{Timeouts, TransportError, Uploader};

use super::descriptor::UploadDescriptor;
use super::storage::{PhotoStore, StorageError};

/// How long a presigned PUT stays valid; it is used at once.
const PRESIGN_VALIDITY: Duration = Duration::from_secs(15 * 60);
/// Most of an error answer read (S3's XML errors are a few hundred bytes).
const MAX_ERROR_BODY: usize = 16 * 1024;

/// Where and as whom photos are uploaded.
#[derive(Clone)]
pub struct S3Config {
    /// `https://` base URL of the S3-compatible endpoint (`http://` only on loopback, with
    /// `allow_plain_http_loopback`).
    pub endpoint: String,
    pub region: String,
    /// The bucket new photos are named in (`object_path`); an upload item keeps its own.
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// `https://host/bucket/key` (true; S3-compatible servers) or
    /// `https://bucket.host/key` (false; AWS's virtual-hosted style).
    pub path_style: bool,
    /// CA certificates (PEM) trusted for an `https` endpoint. The core embeds no public
    /// roots: the shell passes the ones it trusts for the store (for AWS, Amazon's roots).
    pub trust_anchors_pem: Option<String>,
    pub timeouts: Timeouts,
    /// QA only: accept an `http://` endpoint on a loopback address (a local S3 stand-in).
    pub allow_plain_http_loopback: bool,
}

impl S3Config {
    /// A path-style configuration with upload-sized timeouts and no extra trust anchors.
    pub fn new(
        endpoint: impl Into<String>,
        region: impl Into<String>,
        bucket: impl Into<String>,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        Self {
            endpoint: endpoint.into(),
            region: region.into(),
            bucket: bucket.into(),
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            path_style: true,
            trust_anchors_pem: None,
            allow_plain_http_loopback: false,
            timeouts: Timeouts {
                connect: Duration::from_secs(10),
                // A 1 MB photo on a poor 3G link.
                request: Duration::from_secs(120),
            },
        }
    }
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("path_style", &self.path_style)
            .field("trust_anchors", &self.trust_anchors_pem.is_some())
            .finish_non_exhaustive()
    }
}

/// Uploads photo items from a [`PhotoStore`] to S3.
#[derive(Debug, Clone)]
pub struct S3Uploader {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    style: UrlStyle,
    region: String,
    credentials: Arc<Credentials>,
    store: PhotoStore,
}

impl S3Uploader {
    pub fn new(config: S3Config, store: PhotoStore) -> Result<Self, TransportError> {
        crate::transport::check_endpoint(&config.endpoint, config.allow_plain_http_loopback)
            .map_err(|e| match e {
                TransportError::Config(reason) => TransportError::Config(format!("S3 {reason}")),
                other => other,
            })?;
        let endpoint: reqwest::Url = config.endpoint.parse().map_err(|e| {
            TransportError::Config(format!(
                "S3 endpoint {:?}: {e}",
                crate::text::prefix(&config.endpoint, 200)
            ))
        })?;
        let https = match endpoint.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return Err(TransportError::Config(format!(
                    "S3 endpoint scheme {other:?}: only http and https"
                )));
            }
        };
        if config.region.is_empty() || config.access_key_id.is_empty() {
            return Err(TransportError::Config(
                "S3 region and access key id must be set".into(),
            ));
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.timeouts.connect)
            .timeout(config.timeouts.request)
            .no_proxy();
        if https {
            builder = builder.use_preconfigured_tls(tls_config(config.trust_anchors_pem)?);
        }
        let client = builder
            .build()
            .map_err(|e| TransportError::Config(format!("S3 client: {e}")))?;
        Ok(Self {
            client,
            endpoint,
            style: if config.path_style {
                UrlStyle::Path
            } else {
                UrlStyle::VirtualHost
            },
            region: config.region,
            credentials: Arc::new(Credentials::new(
                config.access_key_id,
                config.secret_access_key,
            )),
            store,
        })
    }

    pub fn store(&self) -> &PhotoStore {
        &self.store
    }

    /// Uploads the photo an upload item describes.
    pub async fn upload_descriptor(&self, item: &UploadDescriptor) -> Result<(), TransportError> {
        let jpeg = read_photo(&self.store, item)?;
        let bucket = Bucket::new(
            self.endpoint.clone(),
            self.style,
            item.bucket.clone(),
            self.region.clone(),
        )
        .map_err(|e| TransportError::Config(format!("S3 bucket {:?}: {e}", item.bucket)))?;
        let checksum = base64::engine::general_purpose::STANDARD.encode(item.sha256.to_bytes());
        let mut action = bucket.put_object(Some(&self.credentials), &item.key);
        // Signed headers: S3 refuses the request if they are changed on the way.
        action
            .headers_mut()
            .insert("content-type", item.content_type.clone());
        action
            .headers_mut()
            .insert("x-amz-checksum-sha256", checksum);
        action
            .headers_mut()
            .insert("x-amz-sdk-checksum-algorithm", "SHA256");
        let url = action.sign(PRESIGN_VALIDITY);
        put_signed(&self.client, url, item, jpeg).await
    }
}

/// The photo an item describes, read back and checked against its hash and size.
pub(super) fn read_photo(
    store: &PhotoStore,
    item: &UploadDescriptor,
) -> Result<Vec<u8>, TransportError> {
    let jpeg = store.read_verified(&item.sha256).map_err(|e| match e {
        // The device's storage or key: nothing the item can fix, the settings can.
        StorageError::Io { .. } | StorageError::WrongKey { .. } => {
            TransportError::Config(e.to_string())
        }
        other => TransportError::Unsendable(other.to_string()),
    })?;
    if jpeg.len() as u64 != item.size {
        return Err(TransportError::Unsendable(format!(
            "photo {} has {} bytes, its upload item says {}",
            item.sha256,
            jpeg.len(),
            item.size
        )));
    }
    Ok(jpeg)
}

/// PUTs `jpeg` to a presigned `url` with the headers the signature covers (content type and
/// checksum), and classifies S3's answer.
pub(super) async fn put_signed(
    client: &reqwest::Client,
    url: reqwest::Url,
    item: &UploadDescriptor,
    jpeg: Vec<u8>,
) -> Result<(), TransportError> {
    let checksum = base64::engine::general_purpose::STANDARD.encode(item.sha256.to_bytes());
    let where_to = format!("s3://{}/{}", item.bucket, item.key);
    let response = client
        .put(url)
        .header("content-type", &item.content_type)
        .header("x-amz-checksum-sha256", checksum)
        .header("x-amz-sdk-checksum-algorithm", "SHA256")
        .header("content-length", jpeg.len())
        .body(jpeg)
        .send()
        .await
        .map_err(|e| crate::transport::classify_send_error(&where_to, &e))?;
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let retry_after = crate::transport::retry_after(response.headers());
    let body = crate::transport::read_prefix(response, MAX_ERROR_BODY).await;
    Err(classify_refusal(where_to, status, retry_after, &body))
}

impl Uploader for S3Uploader {
    fn upload<'a>(
        &'a self,
        item_body: &'a [u8],
    ) -> Pin<Box<dyn std::future::Future<Output = Result<(), TransportError>> + Send + 'a>> {
        Box::pin(async move {
            let item =
                UploadDescriptor::from_json(item_body).map_err(TransportError::Unsendable)?;
            self.upload_descriptor(&item).await
        })
    }
}

/// The core's one rustls configuration, with the store's anchors and no client identity.
pub(super) fn tls_config(anchors: Option<String>) -> Result<rustls::ClientConfig, TransportError> {
    let Some(pem) = anchors else {
        return Err(TransportError::Config(
            "an https S3 endpoint needs trust anchors (PEM)".into(),
        ));
    };
    crate::transport::rustls_config("S3 ", &pem, None)
}

/// S3 error codes that mean the settings (keys, clock, region) are wrong, whatever the status.
const CONFIGURATION_CODES: &[&str] = &[
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "RequestTimeTooSkewed",
    "AuthorizationHeaderMalformed",
    "AuthorizationQueryParametersError",
    "InvalidToken",
    "ExpiredToken",
    "PermanentRedirect",
    "IllegalLocationConstraintException",
];

/// S3 error codes that are worth retrying, whatever the status.
const TRANSIENT_CODES: &[&str] = &[
    "SlowDown",
    "RequestTimeout",
    "InternalError",
    "ServiceUnavailable",
];

fn classify_refusal(
    endpoint: String,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> TransportError {
    let text = String::from_utf8_lossy(body);
    let code = xml_element(&text, "Code").unwrap_or_default();
    let message = xml_element(&text, "Message").unwrap_or_default();
    let described = match (code.is_empty(), message.is_empty()) {
        (true, true) => text.chars().take(300).collect::<String>(),
        (false, true) => code.clone(),
        (true, false) => message.clone(),
        (false, false) => format!("{code}: {message}"),
    };
    if status == 429 || status == 503 || code == "SlowDown" {
        return TransportError::RateLimited {
            endpoint,
            retry_after,
        };
    }
    if status == 408 || status >= 500 || TRANSIENT_CODES.contains(&code.as_str()) {
        return TransportError::Server { endpoint, status };
    }
    if status == 403 || (300..400).contains(&status) || CONFIGURATION_CODES.contains(&code.as_str())
    {
        return TransportError::Config(format!(
            "S3 refused the upload to {endpoint} (HTTP {status}): {described}; check the S3 access key, secret, region and the device clock"
        ));
    }
    TransportError::Rejected {
        endpoint,
        status,
        code: None,
        message: format!("S3 {described}"),
    }
}

/// The text of the first `<name>…</name>` in S3's small XML error document.
fn xml_element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&close)?;
    let raw = xml[start..start + len].trim();
    Some(
        raw.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::FailureClass;

    fn class(status: u16, code: &str) -> FailureClass {
        let body = format!("<Error><Code>{code}</Code><Message>m &amp; n</Message></Error>");
        classify_refusal("s3://b/k".into(), status, None, body.as_bytes()).class()
    }

    #[test]
    fn refusals_map_to_the_sync_classes() {
        assert_eq!(
            class(403, "SignatureDoesNotMatch"),
            FailureClass::Configuration
        );
        assert_eq!(
            class(403, "RequestTimeTooSkewed"),
            FailureClass::Configuration
        );
        assert_eq!(class(301, "PermanentRedirect"), FailureClass::Configuration);
        assert_eq!(class(404, "NoSuchBucket"), FailureClass::Permanent);
        assert_eq!(class(400, "BadDigest"), FailureClass::Permanent);
        assert_eq!(class(400, "RequestTimeout"), FailureClass::Transient);
        assert_eq!(class(503, "SlowDown"), FailureClass::Transient);
        assert_eq!(class(429, ""), FailureClass::Transient);
        assert_eq!(class(500, "InternalError"), FailureClass::Transient);
    }

    #[test]
    fn permanent_refusals_carry_s3_code_and_message() {
        let body = b"<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>";
        let e = classify_refusal("s3://b/k".into(), 404, None, body);
        let text = e.to_string();
        assert!(text.contains("NoSuchBucket"), "{text}");
        assert!(text.contains("does not exist"), "{text}");
    }

    #[test]
    fn configuration_is_checked() {
        let store = PhotoStore::open(tempfile::tempdir().unwrap().keep()).unwrap();
        let config = |endpoint: &str| S3Config::new(endpoint, "eu-west-2", "b", "k", "s");
        assert!(S3Uploader::new(config("ftp://x"), store.clone()).is_err());
        assert!(S3Uploader::new(config("not a url"), store.clone()).is_err());
        // https without anchors: the core trusts nothing by default.
        assert!(S3Uploader::new(config("https://s3.example"), store.clone()).is_err());
        assert!(
            S3Uploader::new(config("http://127.0.0.1:9"), store.clone()).is_err(),
            "plain http needs the QA flag"
        );
        let mut qa = config("http://127.0.0.1:9");
        qa.allow_plain_http_loopback = true;
        assert!(S3Uploader::new(qa, store.clone()).is_ok());
        let mut remote = config("http://s3.example");
        remote.allow_plain_http_loopback = true;
        assert!(
            S3Uploader::new(remote, store).is_err(),
            "never plain http off the machine"
        );
        let debug = format!("{:?}", config("http://x"));
        assert!(
            debug.contains("<redacted>") && !debug.contains("\"s\""),
            "{debug}"
        );
    }
}
