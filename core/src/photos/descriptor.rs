//! What an upload item in the outbox says: which photo, to which object.
//!
//! The descriptor names the photo by its hash, not by a file path: the app's data directory
//! can move (iOS gives an app a new container path after an update), while the hash finds the
//! file in the uploader's [`PhotoStore`](super::PhotoStore) wherever it is, and is the very
//! value the file is checked against before it leaves the device. Bucket and key are fixed
//! when the photo is attached, because the same `object_path` is written into the answers;
//! a later change of the configured bucket must not send an attached photo elsewhere.

use serde::{Deserialize, Serialize};

use super::PHOTO_CONTENT_TYPE;
use super::hash::PhotoHash;
use super::naming::PhotoObject;

/// The body of a photo upload item (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadDescriptor {
    /// Format version of this descriptor.
    pub version: u32,
    /// SHA-256 of the JPEG: finds the local file and is checked before sending.
    pub sha256: PhotoHash,
    pub bucket: String,
    pub key: String,
    pub content_type: String,
    /// Size of the JPEG in bytes.
    pub size: u64,
}

impl UploadDescriptor {
    pub const VERSION: u32 = 1;

    /// The descriptor uploading a prepared photo of `size` bytes to `object`.
    pub fn for_photo(object: &PhotoObject, size: u64) -> Self {
        Self {
            version: Self::VERSION,
            sha256: object.sha256.clone(),
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            content_type: PHOTO_CONTENT_TYPE.to_owned(),
            size,
        }
    }

    /// The outbox item body.
    pub fn to_json(&self) -> Vec<u8> {
        // A struct of strings and integers always serialises.
        serde_json::to_vec(self).expect("an upload descriptor serialises")
    }

    /// Reads an outbox item body.
    pub fn from_json(body: &[u8]) -> Result<Self, String> {
        let descriptor: Self =
            serde_json::from_slice(body).map_err(|e| format!("unreadable upload item: {e}"))?;
        if descriptor.version != Self::VERSION {
            return Err(format!(
                "upload item version {} is not known to this build",
                descriptor.version
            ));
        }
        if descriptor.key.is_empty() || descriptor.bucket.is_empty() {
            return Err("upload item without bucket or key".to_owned());
        }
        Ok(descriptor)
    }
}
