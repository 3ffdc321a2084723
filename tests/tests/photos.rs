//! Closure photos end to end: prepared by the core, uploaded with SigV4-presigned PUTs to a
//! real S3-compatible server (moto, started by each test), checked byte for byte and by
//! SHA-256 on the server; failures classed as the sync engine needs them; and uploads
//! through the engine's outbox, including a crash while the store is down.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use jobpack_core::outbox::{ItemKind, ItemState};
use jobpack_core::photos::{
    AttachedPhoto, IngestConfig, PhotoStore, S3Config, S3Uploader, UploadDescriptor, attach,
};
use jobpack_core::sync::Uploader;
use jobpack_core::transport::{FailureClass, TransportError};
use jobpack_e2e::s3::{MotoServer, StoredObject};
use jobpack_e2e::{World, eventually};
use sha2::{Digest, Sha256};

const BUCKET: &str = "cityfibre-evidence";
const IDLE: Duration = Duration::from_secs(30);

/// A distinct camera-like JPEG per `seed`.
fn camera_jpeg(seed: u8) -> Vec<u8> {
    let image = RgbImage::from_fn(320, 240, |x, y| {
        Rgb([
            (x as u8).wrapping_add(seed),
            (y as u8).wrapping_mul(3),
            seed.wrapping_mul(40),
        ])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image)
        .write_to(&mut out, ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

fn attach_photo(store: &PhotoStore, job: &str, question: &str, seed: u8) -> AttachedPhoto {
    attach(
        store,
        &IngestConfig::default(),
        BUCKET,
        job,
        question,
        &camera_jpeg(seed),
    )
    .unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The object is exactly the local photo: same bytes, same hash as its name says.
fn assert_exact(object: Option<StoredObject>, photo: &AttachedPhoto) {
    let object = object.unwrap_or_else(|| panic!("{} is not in S3", photo.object.key));
    let local = std::fs::read(&photo.local_path).unwrap();
    assert_eq!(object.bytes, local, "{}", photo.object.key);
    assert_eq!(sha256_hex(&object.bytes), photo.object.sha256.as_str());
    assert!(
        photo
            .object
            .key
            .ends_with(&format!("{}.jpg", sha256_hex(&object.bytes)))
    );
    assert_eq!(object.content_type.as_deref(), Some("image/jpeg"));
    let checksum = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&object.bytes));
    assert_eq!(object.checksum_sha256.as_deref(), Some(checksum.as_str()));
}

fn uploader(config: S3Config, store: &PhotoStore) -> S3Uploader {
    S3Uploader::new(config, store.clone()).unwrap()
}

async fn upload(uploader: &S3Uploader, photo: &AttachedPhoto) -> Result<(), TransportError> {
    uploader.upload(&photo.upload_descriptor().to_json()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_photo_is_byte_for_byte_the_local_one_and_reuploading_is_harmless() {
    let s3 = MotoServer::start(&[BUCKET]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = PhotoStore::open(dir.path()).unwrap();
    let up = uploader(s3.config(BUCKET), &store);
    let photo = attach_photo(&store, "S114677", "4900", 1);
    upload(&up, &photo).await.unwrap();
    assert_exact(s3.get_object(BUCKET, &photo.object.key).await, &photo);
    // The retry after a lost answer PUTs the same bytes to the same key.
    upload(&up, &photo).await.unwrap();
    assert_exact(s3.get_object(BUCKET, &photo.object.key).await, &photo);
    // A question code that needs escaping still lands under its escaped key.
    let odd = attach_photo(&store, "S114677", "door/call log 1.2", 2);
    upload(&up, &odd).await.unwrap();
    assert!(odd.object.key.contains("door%2Fcall%20log%201%2E2"));
    assert_exact(s3.get_object(BUCKET, &odd.object.key).await, &odd);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_a_configuration_failure() {
    let s3 = MotoServer::start(&[BUCKET]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = PhotoStore::open(dir.path()).unwrap();
    let photo = attach_photo(&store, "S1", "4900", 3);

    let mut wrong_secret = s3.config(BUCKET);
    wrong_secret.secret_access_key = "not-the-secret".into();
    let error = upload(&uploader(wrong_secret, &store), &photo)
        .await
        .unwrap_err();
    assert_eq!(error.class(), FailureClass::Configuration, "{error}");
    assert!(
        error.to_string().contains("SignatureDoesNotMatch"),
        "{error}"
    );

    let mut wrong_key = s3.config(BUCKET);
    wrong_key.access_key_id = "AKIAUNKNOWNKEY000000".into();
    let error = upload(&uploader(wrong_key, &store), &photo)
        .await
        .unwrap_err();
    assert_eq!(error.class(), FailureClass::Configuration, "{error}");
    assert!(error.to_string().contains("InvalidAccessKeyId"), "{error}");
    assert!(s3.get_object(BUCKET, &photo.object.key).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_is_permanent_with_s3s_code_and_message() {
    let s3 = MotoServer::start(&[BUCKET]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = PhotoStore::open(dir.path()).unwrap();
    let photo = attach(
        &store,
        &IngestConfig::default(),
        "no-such-bucket",
        "S1",
        "4900",
        &camera_jpeg(4),
    )
    .unwrap();
    let error = upload(&uploader(s3.config(BUCKET), &store), &photo)
        .await
        .unwrap_err();
    assert_eq!(error.class(), FailureClass::Permanent, "{error}");
    let text = error.to_string();
    assert!(text.contains("NoSuchBucket"), "{text}");
    assert!(text.contains("does not exist"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_is_transient_and_the_upload_succeeds_once_it_is_back() {
    let mut s3 = MotoServer::start(&[BUCKET]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = PhotoStore::open(dir.path()).unwrap();
    let up = uploader(s3.config(BUCKET), &store);
    let photo = attach_photo(&store, "S1", "1100", 5);
    s3.stop().await;
    let error = upload(&up, &photo).await.unwrap_err();
    assert_eq!(error.class(), FailureClass::Transient, "{error}");
    assert!(matches!(error, TransportError::Connect { .. }), "{error}");
    s3.restart().await;
    upload(&up, &photo).await.unwrap();
    assert_exact(s3.get_object(BUCKET, &photo.object.key).await, &photo);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_or_missing_local_file_is_permanent_and_never_sent() {
    let s3 = MotoServer::start(&[BUCKET]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = PhotoStore::open(dir.path()).unwrap();
    let up = uploader(s3.config(BUCKET), &store);
    let photo = attach_photo(&store, "S1", "4900", 6);
    let mut bytes = std::fs::read(&photo.local_path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xFF;
    std::fs::write(&photo.local_path, &bytes).unwrap();
    let error = upload(&up, &photo).await.unwrap_err();
    assert_eq!(error.class(), FailureClass::Permanent, "{error}");
    assert!(error.to_string().contains("damaged"), "{error}");
    assert!(s3.get_object(BUCKET, &photo.object.key).await.is_none());

    std::fs::remove_file(&photo.local_path).unwrap();
    let error = upload(&up, &photo).await.unwrap_err();
    assert_eq!(error.class(), FailureClass::Permanent, "{error}");
    assert!(error.to_string().contains("not on this device"), "{error}");

    let error = up.upload(b"{not json").await.unwrap_err();
    assert_eq!(error.class(), FailureClass::Permanent, "{error}");
}

// ------------------------------------------------------------------ through the engine

fn upload_items(engine: &jobpack_core::engine::Engine) -> Vec<jobpack_core::outbox::OutboxItem> {
    engine
        .outbox(None)
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == ItemKind::Upload)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_uploads_queued_photos_through_the_outbox() {
    let world = World::start(1, 1).await;
    let s3 = MotoServer::start(&[BUCKET]).await;
    let jobs = world.create_jobs("E001", "P", 2);
    let db = "photos.sqlite";
    let store = PhotoStore::beside_database(&world.dir.path().join(db)).unwrap();
    let config = world.config("E001", db, world.sim.urls(), world.tls("E001"));
    let engine = World::open(config, Some(Arc::new(uploader(s3.config(BUCKET), &store))));
    engine.sync_until_idle(IDLE).await.expect("jobs pulled");
    assert_eq!(engine.jobs().unwrap().len(), 2);

    let photos: Vec<AttachedPhoto> = (0..4u8)
        .map(|i| {
            let job = &jobs[usize::from(i) % 2];
            let photo = attach_photo(&store, job, if i < 2 { "4900" } else { "1100" }, 10 + i);
            engine
                .enqueue_upload(job, "photo", &photo.upload_descriptor().to_json())
                .unwrap();
            photo
        })
        .collect();
    engine.sync_until_idle(IDLE).await.expect("uploads done");
    for photo in &photos {
        assert_exact(s3.get_object(BUCKET, &photo.object.key).await, photo);
    }
    let items = upload_items(&engine);
    assert_eq!(items.len(), 4);
    assert!(
        items.iter().all(|i| i.state == ItemState::Sent),
        "{items:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_queued_during_an_outage_survive_a_crash_and_complete_after_restart() {
    let world = World::start(1, 1).await;
    let mut s3 = MotoServer::start(&[BUCKET]).await;
    s3.stop().await;
    let jobs = world.create_jobs("E001", "C", 1);
    let db = "crash.sqlite";
    let database = world.dir.path().join(db);
    let s3_config = s3.config(BUCKET);
    let open = |store: &PhotoStore| {
        World::open(
            world.config("E001", db, world.sim.urls(), world.tls("E001")),
            Some(Arc::new(uploader(s3_config.clone(), store))),
        )
    };

    let store = PhotoStore::beside_database(&database).unwrap();
    let engine = open(&store);
    engine.sync_until_idle(IDLE).await.expect("jobs pulled");
    let photos: Vec<AttachedPhoto> = (0..3u8)
        .map(|i| {
            let photo = attach_photo(&store, &jobs[0], "4900", 20 + i);
            engine
                .enqueue_upload(&jobs[0], "photo", &photo.upload_descriptor().to_json())
                .unwrap();
            photo
        })
        .collect();
    // The store is down: attempts fail transiently and the items wait.
    assert!(
        eventually(IDLE, || upload_items(&engine)
            .iter()
            .any(|i| i.state == ItemState::Retrying && i.attempts > 0))
        .await,
        "{:?}",
        upload_items(&engine)
    );
    assert!(
        upload_items(&engine)
            .iter()
            .all(|i| !matches!(i.state, ItemState::Sent | ItemState::Parked))
    );
    drop(engine); // as a crash would: nothing but the database and the photo files remain
    drop(store);

    s3.restart().await;
    let store = PhotoStore::beside_database(&database).unwrap();
    let engine = open(&store);
    engine.sync_until_idle(IDLE).await.expect("uploads resumed");
    for photo in &photos {
        assert_exact(s3.get_object(BUCKET, &photo.object.key).await, photo);
    }
    let items = upload_items(&engine);
    assert_eq!(items.len(), 3);
    assert!(
        items.iter().all(|i| i.state == ItemState::Sent),
        "{items:?}"
    );
    let _ = UploadDescriptor::from_json(&engine.outbox_body(items[0].seq).unwrap()).unwrap();
}
