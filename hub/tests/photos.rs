//! Presigned S3 PUT URLs from the hub, against the real S3 stand-in (moto behind SigV4
//! checks): a phone uploads with no S3 key of its own; a URL is good for its object only, and
//! only until it expires; only the job's engineer gets one.

mod common;

use std::time::Duration;

use common::{World, post};
use jobpack_hub::PhotoBucket;
use jobpack_sim::s3::{self, S3StandIn};
use jobpack_sim::sample_job_pack;
use serde_json::json;

const BUCKET: &str = "cityfibre-evidence";

fn bucket(stand_in: &S3StandIn, validity: Duration) -> PhotoBucket {
    PhotoBucket {
        endpoint: stand_in.endpoint(),
        region: s3::REGION.into(),
        bucket: BUCKET.into(),
        access_key_id: s3::ACCESS_KEY_ID.into(),
        secret_access_key: s3::SECRET_ACCESS_KEY.into(),
        path_style: true,
        validity,
    }
}

fn photo_key(job_ref: &str, n: u8) -> String {
    format!("jobs/{job_ref}/4900/{}.jpg", format!("{n:02x}").repeat(32))
}

fn ask(key: &str) -> Vec<u8> {
    json!({"jsonrpc": "2.0", "id": 3, "method": "photoUrl", "params": {"key": key}})
        .to_string()
        .into_bytes()
}

async fn put(url: &str, bytes: &[u8]) -> (u16, String) {
    let response = reqwest::Client::new()
        .put(url)
        .body(bytes.to_vec())
        .send()
        .await
        .expect("S3 answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

on_both! {
async fn a_phone_uploads_with_a_presigned_url_for_its_own_job_only(kind) {
    let stand_in = S3StandIn::start(&[BUCKET]).await.expect("S3 stand-in");
    let world = World::start_with(kind, 1, Some(bucket(&stand_in, Duration::from_secs(120)))).await;
    for (job, engineer) in [("S1", "E001"), ("S2", "E002")] {
        world
            .cityfibre
            .create_job(job, sample_job_pack(job).expect("pack"))
            .await
            .expect("create");
        world.hub.assign(job, engineer).expect("assign");
    }
    let phone = world.device("phone-1", "E001");
    let key = photo_key("S1", 1);
    let (status, answer) = post(&world, &phone, "/photoUrl", None, ask(&key))
        .await
        .expect("answer");
    assert_eq!(status, 200, "{answer}");
    let url = answer["result"]["url"].as_str().expect("url").to_owned();
    assert_eq!(
        answer["result"]["objectPath"],
        format!("s3://{BUCKET}/{key}")
    );
    assert!(!url.contains(s3::SECRET_ACCESS_KEY), "no secret in the URL");

    let photo = b"\xff\xd8\xff\xe0 a jpeg, as far as S3 cares".to_vec();
    assert_eq!(put(&url, &photo).await.0, 200);
    let stored = stand_in
        .get_object(BUCKET, &key)
        .await
        .expect("read back")
        .expect("stored");
    assert_eq!(stored.bytes, photo);

    // The signature covers the key: the same URL for another object is refused by S3.
    let other = url.replace(&key, &photo_key("S1", 2));
    let (status, body) = put(&other, &photo).await;
    assert_eq!(status, 403);
    assert!(body.contains("SignatureDoesNotMatch"), "{body}");
    assert!(
        stand_in
            .get_object(BUCKET, &photo_key("S1", 2))
            .await
            .expect("read")
            .is_none()
    );

    // Another engineer's job, or something that is not a photo key: no URL.
    let (status, body) = post(&world, &phone, "/photoUrl", None, ask(&photo_key("S2", 1)))
        .await
        .expect("answer");
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (403, Some(-32003))
    );
    let mismatch = json!({"jsonrpc": "2.0", "id": 4, "method": "photoUrl",
                          "params": {"key": key, "sha256": "cd".repeat(32)}});
    let (status, body) = post(
        &world,
        &phone,
        "/photoUrl",
        None,
        mismatch.to_string().into_bytes(),
    )
    .await
    .expect("answer");
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(-32602))
    );
    let (status, body) = post(
        &world,
        &phone,
        "/photoUrl",
        None,
        ask("jobs/S1/../../etc/passwd"),
    )
    .await
    .expect("answer");
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(-32602))
    );
}
}

on_both! {
async fn an_expired_url_is_refused_by_s3(kind) {
    let stand_in = S3StandIn::start(&[BUCKET]).await.expect("S3 stand-in");
    let world = World::start_with(kind, 1, Some(bucket(&stand_in, Duration::from_secs(1)))).await;
    world
        .cityfibre
        .create_job("S1", sample_job_pack("S1").expect("pack"))
        .await
        .expect("create");
    world.hub.assign("S1", "E001").expect("assign");
    let phone = world.device("phone-1", "E001");
    let key = photo_key("S1", 3);
    let (_, answer) = post(&world, &phone, "/photoUrl", None, ask(&key))
        .await
        .expect("answer");
    let url = answer["result"]["url"].as_str().expect("url").to_owned();
    assert!(url.contains("X-Amz-Expires=1"), "{url}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, body) = put(&url, b"late").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Request has expired"), "{body}");
    assert!(
        stand_in
            .get_object(BUCKET, &key)
            .await
            .expect("read")
            .is_none()
    );
}
}

/// A camera-like JPEG.
fn camera_jpeg(seed: u8) -> Vec<u8> {
    use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
    let image = RgbImage::from_fn(320, 240, |x, y| {
        Rgb([(x as u8) ^ seed, (y as u8).wrapping_add(seed), seed])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image)
        .write_to(&mut out, ImageFormat::Jpeg)
        .expect("jpeg");
    out.into_inner()
}

on_both! {
async fn an_engine_with_no_s3_key_uploads_its_photo_through_the_hub(kind) {
    use jobpack_core::closure::Journey;
    use jobpack_core::photos::{HubPresignedUploader, PhotoHash, PhotoStore};
    use jobpack_core::transport::{Timeouts, Transport};

    let stand_in = S3StandIn::start(&[BUCKET]).await.expect("S3 stand-in");
    let world = World::start_with(kind, 1, Some(bucket(&stand_in, Duration::from_secs(120)))).await;
    world
        .cityfibre
        .create_job("S1", sample_job_pack("S1").expect("pack"))
        .await
        .expect("create");
    world.hub.assign("S1", "E001").expect("assign");
    let tls = world.device("phone-1", "E001");
    let timeouts = Timeouts {
        connect: Duration::from_millis(500),
        request: Duration::from_secs(5),
    };
    let database = world.dir.path().join("E001.sqlite");
    let uploader = HubPresignedUploader::new(
        Transport::new(vec![world.hub.device_url().to_owned()], &tls, timeouts).expect("transport"),
        None,
        true, // the stand-in is plain http on loopback (QA)
        timeouts,
        PhotoStore::open(PhotoStore::dir_beside_database(&database)).expect("store"),
    )
    .expect("uploader");
    let mut config = world.engine_config("E001", tls);
    config.photos.bucket = BUCKET.into();
    assert!(config.photos.upload.is_none(), "the phone holds no S3 key");
    let engine = jobpack_core::engine::Engine::open_on(
        config,
        &tokio::runtime::Handle::current(),
        Some(std::sync::Arc::new(uploader)),
    )
    .expect("engine");
    engine
        .sync_until_idle(Duration::from_secs(20))
        .await
        .expect("pull");
    engine.accept("S1").expect("accept");
    let jpeg = camera_jpeg(9);
    let photo = engine
        .attach_photo("S1", Journey::Closure, "4900", &jpeg)
        .expect("photo");
    engine
        .sync_until_idle(Duration::from_secs(20))
        .await
        .expect("upload");
    let key = photo
        .object_path
        .strip_prefix(&format!("s3://{BUCKET}/"))
        .expect("object path in the bucket")
        .to_owned();
    let stored = stand_in
        .get_object(BUCKET, &key)
        .await
        .expect("read back")
        .expect("uploaded");
    assert_eq!(PhotoHash::of(&stored.bytes).as_str(), photo.sha256);
    engine.shutdown();
}
}
