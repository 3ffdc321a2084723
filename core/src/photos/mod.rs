//! Photos for the question based closure: prepared on the device, kept locally, uploaded
//! to CityFibre's S3 bucket through the outbox. See `docs/PHOTOS.md`.
//!
//! The path of one photo:
//! 1. [`ingest::prepare`] decodes the camera's bytes within limits, applies the EXIF
//!    orientation, shrinks, re-encodes as JPEG (dropping all metadata, GPS included) and
//!    hashes the result.
//! 2. [`PhotoObject::new`] names it in S3 from the job, the question and the hash; its
//!    [`FileReference`](crate::protocol::FileReference) goes into the answer at once.
//! 3. [`PhotoStore::put`] keeps the core's own copy, atomically, named by the hash.
//! 4. An [`UploadDescriptor`] becomes an upload item in the outbox
//!    ([`Engine::enqueue_upload`](crate::engine::Engine::enqueue_upload)); the sync engine
//!    hands it to the [`S3Uploader`], which checks the file's hash and PUTs it. Retries,
//!    resumption after a crash and parking are the outbox's, like any message.
//!
//! [`attach`] does steps 1 to 3 in one call.

mod descriptor;
mod hash;
pub mod ingest;
mod naming;
mod s3;
mod storage;
mod via_hub;

#[cfg(test)]
mod tests;

pub use descriptor::UploadDescriptor;
pub use hash::{InvalidHash, PhotoHash};
pub use ingest::{IngestConfig, IngestError, PreparedPhoto, prepare};
pub use naming::{MAX_SEGMENT_BYTES, NamingError, PHOTO_CONTENT_TYPE, PhotoObject};
pub use s3::{S3Config, S3Uploader};
pub use storage::{PhotoKey, PhotoStore, StorageError};
pub use via_hub::HubPresignedUploader;

/// Why a photo could not be attached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Naming(#[from] NamingError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A photo kept on the device, with everything needed to reference and upload it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedPhoto {
    pub object: PhotoObject,
    pub width: u32,
    pub height: u32,
    /// Size of the JPEG in bytes.
    pub size: u64,
    pub local_path: std::path::PathBuf,
}

impl AttachedPhoto {
    /// The outbox body that uploads this photo.
    pub fn upload_descriptor(&self) -> UploadDescriptor {
        UploadDescriptor::for_photo(&self.object, self.size)
    }
}

/// Prepares `source`, names it for `question_code` of `job_ref` in `bucket`, and stores it.
/// Attaching the same source twice gives the same photo and writes nothing the second time.
pub fn attach(
    store: &PhotoStore,
    config: &IngestConfig,
    bucket: &str,
    job_ref: &str,
    question_code: &str,
    source: &[u8],
) -> Result<AttachedPhoto, PhotoError> {
    let photo = prepare(source, config)?;
    let object = PhotoObject::new(bucket, job_ref, question_code, &photo.sha256)?;
    let local_path = store.put(&photo)?;
    Ok(AttachedPhoto {
        object,
        width: photo.width,
        height: photo.height,
        size: photo.jpeg.len() as u64,
        local_path,
    })
}
