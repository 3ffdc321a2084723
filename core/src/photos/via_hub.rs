//! Photo uploads with no S3 key on the phone: the partner hub presigns each PUT.
//!
//! The partner's S3 keys belong at the hub (`docs/HUB.md`). For each upload item this asks the
//! hub (`/photoUrl`, over the same mutual-TLS transport as the messages) for a URL for the
//! photo's deterministic key, its SHA-256 and content type; the hub checks that the job is
//! this engineer's and signs the PUT with the checksum headers, so the URL uploads these bytes
//! to this key and nothing else, for a few minutes. The PUT and the reading of S3's answer are
//! the direct uploader's (`s3.rs`), so outcomes fall in the same classes; a hub refusal
//! (another engineer's job, a key that is not a photo's) parks the item like any refusal.
//! [`super::S3Uploader`] with the keys on the device stays for QA.

use std::pin::Pin;

use serde_json::{Value, json};

use crate::transport::Uploader;
use crate::transport::{Timeouts, Transport, TransportError};

use super::descriptor::UploadDescriptor;
use super::s3::{put_signed, read_photo, tls_config};
use super::storage::PhotoStore;

/// Uploads photo items through URLs the hub presigns.
#[derive(Debug, Clone)]
pub struct HubPresignedUploader {
    transport: Transport,
    client: reqwest::Client,
    store: PhotoStore,
    allow_plain_http_loopback: bool,
}

impl HubPresignedUploader {
    /// `transport` reaches the hub (the engine's own endpoints and certificate);
    /// `s3_trust_anchors_pem` verifies an https S3 endpoint the URLs point at;
    /// `allow_plain_http_loopback` accepts an http S3 stand-in on loopback (QA).
    pub fn new(
        transport: Transport,
        s3_trust_anchors_pem: Option<String>,
        allow_plain_http_loopback: bool,
        timeouts: Timeouts,
        store: PhotoStore,
    ) -> Result<Self, TransportError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .no_proxy();
        if s3_trust_anchors_pem.is_some() {
            builder = builder.use_preconfigured_tls(tls_config(s3_trust_anchors_pem)?);
        }
        let client = builder
            .build()
            .map_err(|e| TransportError::Config(format!("S3 client: {e}")))?;
        Ok(Self {
            transport,
            client,
            store,
            allow_plain_http_loopback,
        })
    }

    /// Asks the hub for a URL, trying the next endpoint when one looks unhealthy.
    async fn presigned_url(&self, item: &UploadDescriptor) -> Result<reqwest::Url, TransportError> {
        let request = json!({
            "jsonrpc": "2.0",
            "id": fastrand::u64(1..=crate::protocol::RpcId::MAX),
            "method": "photoUrl",
            "params": {"key": item.key, "sha256": item.sha256.as_str(), "contentType": item.content_type},
        });
        let body = serde_json::to_vec(&request)
            .map_err(|e| TransportError::Unsendable(format!("photoUrl request: {e}")))?;
        let endpoints = self.transport.endpoints().len().max(1);
        let mut last = None;
        for index in 0..endpoints {
            match self
                .transport
                .call(index, "/photoUrl", body.clone(), None)
                .await
            {
                Ok(result) => return self.url_from(item, result),
                Err(e) if e.suggests_failover() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| TransportError::Config("no hub endpoint".into())))
    }

    fn url_from(
        &self,
        item: &UploadDescriptor,
        result: Option<Value>,
    ) -> Result<reqwest::Url, TransportError> {
        let bad = |reason: String| TransportError::BadResponse {
            endpoint: "hub /photoUrl".into(),
            reason,
        };
        let result = result.ok_or_else(|| bad("no result".into()))?;
        let object_path = result.get("objectPath").and_then(Value::as_str);
        let expected = format!("s3://{}/{}", item.bucket, item.key);
        if object_path != Some(expected.as_str()) {
            return Err(TransportError::Config(format!(
                "the hub signs for {}, the photo is named {expected}: the bucket settings differ",
                crate::text::prefix(object_path.unwrap_or("nothing"), 200)
            )));
        }
        let url = result
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no url".into()))?;
        crate::transport::check_endpoint(url, self.allow_plain_http_loopback)?;
        url.parse().map_err(|e| bad(format!("url: {e}")))
    }

    /// Uploads the photo an upload item describes.
    pub async fn upload_descriptor(&self, item: &UploadDescriptor) -> Result<(), TransportError> {
        let jpeg = read_photo(&self.store, item)?;
        let url = self.presigned_url(item).await?;
        put_signed(&self.client, url, item, jpeg).await
    }
}

impl Uploader for HubPresignedUploader {
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
