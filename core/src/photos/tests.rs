//! Photo preparation, naming and local storage (the S3 upload is tested against a real S3
//! server in the end-to-end crate).

use std::collections::HashSet;
use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use proptest::prelude::*;

use super::*;

const RED: Rgb<u8> = Rgb([230, 20, 20]);
const BLUE: Rgb<u8> = Rgb([20, 20, 230]);

/// 80×40, the top-left 40×20 quarter red, the rest blue: any turn or mirror moves the red.
fn marked_image() -> RgbImage {
    RgbImage::from_fn(80, 40, |x, y| if x < 40 && y < 20 { RED } else { BLUE })
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A JPEG of `image` with an APP1 Exif segment (big-endian TIFF, one IFD entry) saying
/// `orientation`, placed right after the start-of-image marker as cameras do.
fn jpeg_with_orientation(image: &RgbImage, orientation: u16) -> Vec<u8> {
    let plain = {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95)
            .encode_image(image)
            .unwrap();
        out
    };
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\x00\x2a\x00\x00\x00\x08"); // header, IFD0 at offset 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // value padding
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut payload = b"Exif\x00\x00".to_vec();
    payload.extend_from_slice(&tiff);
    let mut out = plain[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&plain[2..]);
    out
}

fn decoded(photo: &PreparedPhoto) -> RgbImage {
    image::load_from_memory_with_format(&photo.jpeg, ImageFormat::Jpeg)
        .unwrap()
        .to_rgb8()
}

fn is_red(p: &Rgb<u8>) -> bool {
    p[0] > 150 && p[2] < 100
}

fn is_blue(p: &Rgb<u8>) -> bool {
    p[2] > 150 && p[0] < 100
}

/// Which quarter of `image` is red: (right half?, bottom half?).
fn red_quarter(image: &RgbImage) -> (bool, bool) {
    let (w, h) = image.dimensions();
    let centres = [
        ((w / 4, h / 4), (false, false)),
        ((3 * w / 4, h / 4), (true, false)),
        ((w / 4, 3 * h / 4), (false, true)),
        ((3 * w / 4, 3 * h / 4), (true, true)),
    ];
    let red: Vec<_> = centres
        .iter()
        .filter(|((x, y), _)| is_red(image.get_pixel(*x, *y)))
        .map(|(_, q)| *q)
        .collect();
    for ((x, y), q) in centres {
        if !red.contains(&q) {
            assert!(is_blue(image.get_pixel(x, y)), "quarter {q:?} is neither");
        }
    }
    assert_eq!(red.len(), 1, "exactly one red quarter, got {red:?}");
    red[0]
}

#[test]
fn without_exif_the_pixels_stay_where_they_are() {
    let photo = prepare(
        &jpeg_with_orientation(&marked_image(), 1),
        &IngestConfig::default(),
    )
    .unwrap();
    assert_eq!((photo.width, photo.height), (80, 40));
    assert_eq!(red_quarter(&decoded(&photo)), (false, false));
}

#[test]
fn exif_orientation_6_turns_the_photo_clockwise() {
    let photo = prepare(
        &jpeg_with_orientation(&marked_image(), 6),
        &IngestConfig::default(),
    )
    .unwrap();
    // Width and height swap; the top-left corner goes to the top right.
    assert_eq!((photo.width, photo.height), (40, 80));
    let image = decoded(&photo);
    assert_eq!(image.dimensions(), (40, 80));
    assert_eq!(red_quarter(&image), (true, false));
}

#[test]
fn exif_orientation_8_turns_the_photo_anticlockwise() {
    let photo = prepare(
        &jpeg_with_orientation(&marked_image(), 8),
        &IngestConfig::default(),
    )
    .unwrap();
    assert_eq!((photo.width, photo.height), (40, 80));
    assert_eq!(red_quarter(&decoded(&photo)), (false, true));
}

#[test]
fn the_output_carries_no_exif() {
    let photo = prepare(
        &jpeg_with_orientation(&marked_image(), 6),
        &IngestConfig::default(),
    )
    .unwrap();
    assert!(!photo.jpeg.windows(6).any(|w| w == b"Exif\x00\x00"));
    // Decoding the output again does not turn it a second time.
    let again = prepare(&photo.jpeg, &IngestConfig::default()).unwrap();
    assert_eq!((again.width, again.height), (40, 80));
}

#[test]
fn large_photos_shrink_to_the_longest_edge_keeping_aspect() {
    let config = IngestConfig {
        max_edge: 100,
        ..IngestConfig::default()
    };
    let wide = DynamicImage::ImageRgb8(RgbImage::from_pixel(400, 300, BLUE));
    let photo = prepare(&encode(&wide, ImageFormat::Png), &config).unwrap();
    assert_eq!((photo.width, photo.height), (100, 75));
    let tall = DynamicImage::ImageRgb8(RgbImage::from_pixel(300, 1200, BLUE));
    let photo = prepare(&encode(&tall, ImageFormat::WebP), &config).unwrap();
    assert_eq!((photo.width, photo.height), (25, 100));
    // Orientation first, then the bound: a sideways 400×200 becomes 50×100.
    let big = RgbImage::from_fn(400, 200, |x, y| if x < 200 && y < 100 { RED } else { BLUE });
    let photo = prepare(&jpeg_with_orientation(&big, 6), &config).unwrap();
    assert_eq!((photo.width, photo.height), (50, 100));
    assert_eq!(red_quarter(&decoded(&photo)), (true, false));
}

#[test]
fn small_photos_are_never_upscaled() {
    let small = DynamicImage::ImageRgb8(RgbImage::from_pixel(30, 20, RED));
    let photo = prepare(&encode(&small, ImageFormat::Png), &IngestConfig::default()).unwrap();
    assert_eq!((photo.width, photo.height), (30, 20));
}

#[test]
fn the_output_is_jpeg_and_the_hash_is_of_its_bytes() {
    let png = encode(&DynamicImage::ImageRgb8(marked_image()), ImageFormat::Png);
    let photo = prepare(&png, &IngestConfig::default()).unwrap();
    assert_eq!(&photo.jpeg[..3], &[0xFF, 0xD8, 0xFF]);
    assert_eq!(image::guess_format(&photo.jpeg).unwrap(), ImageFormat::Jpeg);
    assert_eq!(photo.sha256, PhotoHash::of(&photo.jpeg));
    // Preparing is deterministic: the same source gives the same bytes and hash.
    assert_eq!(prepare(&png, &IngestConfig::default()).unwrap(), photo);
}

#[test]
fn transparency_is_laid_on_white() {
    let clear = DynamicImage::ImageRgba8(RgbaImage::from_pixel(16, 16, Rgba([0, 0, 0, 0])));
    let photo = prepare(&encode(&clear, ImageFormat::Png), &IngestConfig::default()).unwrap();
    let p = *decoded(&photo).get_pixel(8, 8);
    assert!(p.0.iter().all(|c| *c > 240), "{p:?}");
}

#[test]
fn bad_inputs_are_typed_errors() {
    let config = IngestConfig::default();
    assert_eq!(prepare(b"", &config), Err(IngestError::NotAnImage));
    assert_eq!(
        prepare(b"%PDF-1.7 not a photo", &config),
        Err(IngestError::NotAnImage)
    );
    // A GIF is an image, but not one we take.
    assert!(matches!(
        prepare(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", &config),
        Err(IngestError::UnsupportedFormat(_))
    ));
    let jpeg = jpeg_with_orientation(&marked_image(), 1);
    assert!(matches!(
        prepare(&jpeg[..jpeg.len() / 2], &config),
        Err(IngestError::Corrupt(_))
    ));
    let png = encode(&DynamicImage::ImageRgb8(marked_image()), ImageFormat::Png);
    assert!(matches!(
        prepare(&png[..png.len() - 20], &config),
        Err(IngestError::Corrupt(_))
    ));
    let tiny_cap = IngestConfig {
        max_input_bytes: 100,
        ..config
    };
    assert!(matches!(
        prepare(&png, &tiny_cap),
        Err(IngestError::TooLarge(_))
    ));
    let bad = IngestConfig {
        jpeg_quality: 0,
        ..config
    };
    assert!(matches!(prepare(&png, &bad), Err(IngestError::Config(_))));
}

/// A PNG whose header claims 60000×60000 pixels (10.8 GB decoded) in a few dozen bytes.
fn png_bomb_header() -> Vec<u8> {
    let png = encode(
        &DynamicImage::ImageRgb8(RgbImage::from_pixel(1, 1, RED)),
        ImageFormat::Png,
    );
    let mut bomb = png.clone();
    // IHDR data starts at 16: width, height (big endian), then its CRC at 29.
    bomb[16..20].copy_from_slice(&60_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&60_000u32.to_be_bytes());
    let crc = crc32(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    bomb
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn decompression_bombs_are_refused_from_their_header() {
    let bomb = png_bomb_header();
    assert!(matches!(
        prepare(&bomb, &IngestConfig::default()),
        Err(IngestError::TooLarge(_))
    ));
    // Within the edge limit but over the pixel budget.
    let config = IngestConfig {
        max_source_edge: 100_000,
        ..IngestConfig::default()
    };
    assert!(matches!(
        prepare(&bomb, &config),
        Err(IngestError::TooLarge(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = prepare(&bytes, &IngestConfig::default());
    }

    #[test]
    fn damaged_photos_never_panic(
        cut in 0usize..4096,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        format in 0usize..3,
    ) {
        let image = DynamicImage::ImageRgb8(marked_image());
        let mut bytes = match format {
            0 => jpeg_with_orientation(&marked_image(), 6),
            1 => encode(&image, ImageFormat::Png),
            _ => encode(&image, ImageFormat::WebP),
        };
        let len = bytes.len();
        for (at, value) in flips {
            bytes[at % len] ^= value;
        }
        bytes.truncate(cut.min(len));
        let _ = prepare(&bytes, &IngestConfig::default());
    }
}

// ------------------------------------------------------------------ naming

fn hash() -> PhotoHash {
    PhotoHash::of(b"a photo")
}

#[test]
fn keys_are_deterministic_and_valid_object_paths() {
    let a = PhotoObject::new("cf-evidence", "S114677", "4900", &hash()).unwrap();
    let b = PhotoObject::new("cf-evidence", "S114677", "4900", &hash()).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.key, format!("jobs/S114677/4900/{}.jpg", hash()));
    assert_eq!(a.object_path(), format!("s3://cf-evidence/{}", a.key));
    assert!(crate::protocol::is_s3_object_path(&a.object_path()));
    let file = a.file_reference();
    assert_eq!(file.mime_type, "image/jpeg");
    assert_eq!(file.name, format!("{}.jpg", hash()));
    assert_eq!(file.object_path, a.object_path());
    // Serialised as the contract expects, and read back by the strict reader.
    let json = serde_json::to_value(&file).unwrap();
    assert_eq!(json["type"], "image/jpeg");
    let back: crate::protocol::FileReference = serde_json::from_value(json).unwrap();
    assert_eq!(back, file);
}

#[test]
fn key_segments_are_escaped_reversibly_and_safely() {
    let o = PhotoObject::new("bucket", "S1", "../a b/ü.", &hash()).unwrap();
    assert_eq!(
        o.key,
        format!("jobs/S1/%2E%2E%2Fa%20b%2F%C3%BC%2E/{}.jpg", hash())
    );
    assert_eq!(o.key.matches('/').count(), 3);
    // Different codes never share a key.
    let x = PhotoObject::new("bucket", "S1", "a.b", &hash()).unwrap();
    let y = PhotoObject::new("bucket", "S1", "a%2Eb", &hash()).unwrap();
    assert_ne!(x.key, y.key);
}

#[test]
fn unnameable_photos_are_refused() {
    assert!(matches!(
        PhotoObject::new("bucket", "", "4900", &hash()),
        Err(NamingError::Empty { .. })
    ));
    assert!(matches!(
        PhotoObject::new("bucket", "S1", "", &hash()),
        Err(NamingError::Empty { .. })
    ));
    assert!(matches!(
        PhotoObject::new("bucket", "S1", &"x".repeat(129), &hash()),
        Err(NamingError::TooLong { .. })
    ));
    assert!(matches!(
        PhotoObject::new("bad_bucket", "S1", "4900", &hash()),
        Err(NamingError::Bucket(_))
    ));
}

// ------------------------------------------------------------------ storage

fn prepared(seed: u8) -> PreparedPhoto {
    let image = DynamicImage::ImageRgb8(RgbImage::from_pixel(
        8,
        8,
        Rgb([seed.wrapping_mul(50), 0, 0]),
    ));
    prepare(&encode(&image, ImageFormat::Png), &IngestConfig::default()).unwrap()
}

#[test]
fn photos_are_stored_by_hash_and_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let store = PhotoStore::open(dir.path().join("photos")).unwrap();
    let photo = prepared(1);
    let path = store.put(&photo).unwrap();
    assert_eq!(path, store.path_of(&photo.sha256));
    assert_eq!(std::fs::read(&path).unwrap(), photo.jpeg);
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    assert_eq!(store.put(&photo).unwrap(), path);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        modified,
        "the second put writes nothing"
    );
    assert_eq!(store.read_verified(&photo.sha256).unwrap(), photo.jpeg);
    // Nothing but the photo is left in the directory.
    assert_eq!(std::fs::read_dir(store.dir()).unwrap().count(), 1);
}

#[test]
fn a_damaged_copy_is_reported_and_replaced_by_the_next_put() {
    let dir = tempfile::tempdir().unwrap();
    let store = PhotoStore::open(dir.path()).unwrap();
    let photo = prepared(2);
    let path = store.put(&photo).unwrap();
    std::fs::write(&path, b"half a photo").unwrap();
    assert!(matches!(
        store.read_verified(&photo.sha256),
        Err(StorageError::Corrupt { .. })
    ));
    store.put(&photo).unwrap();
    assert_eq!(store.read_verified(&photo.sha256).unwrap(), photo.jpeg);
    let other = prepared(3);
    assert!(matches!(
        store.read_verified(&other.sha256),
        Err(StorageError::Missing { .. })
    ));
    // A prepared photo whose hash does not match its bytes is never stored.
    let liar = PreparedPhoto {
        sha256: other.sha256.clone(),
        ..photo
    };
    assert!(matches!(
        store.put(&liar),
        Err(StorageError::HashMismatch(_))
    ));
}

#[test]
fn leftovers_of_a_crash_are_cleaned_and_unreferenced_photos_removed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("engineer.sqlite");
    let store = PhotoStore::beside_database(&db).unwrap();
    assert_eq!(store.dir(), dir.path().join("engineer.sqlite.photos"));
    let (kept, dropped) = (prepared(4), prepared(5));
    store.put(&kept).unwrap();
    store.put(&dropped).unwrap();
    // A crash between create and rename leaves a temporary file, never a final name.
    std::fs::write(store.dir().join(".incoming-abc-123"), b"partial").unwrap();
    let store = PhotoStore::beside_database(&db).unwrap();
    assert_eq!(store.list().unwrap().len(), 2);
    assert!(!store.dir().join(".incoming-abc-123").exists());
    let keep: HashSet<_> = [kept.sha256.clone()].into();
    assert_eq!(store.remove_unreferenced(&keep).unwrap(), 1);
    assert_eq!(store.list().unwrap(), vec![kept.sha256.clone()]);
    assert!(!store.contains(&dropped.sha256));
}

#[test]
fn attaching_twice_gives_one_photo_and_its_upload_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let store = PhotoStore::open(dir.path()).unwrap();
    let source = jpeg_with_orientation(&marked_image(), 6);
    let config = IngestConfig::default();
    let a = attach(&store, &config, "cf-evidence", "S1", "4900", &source).unwrap();
    let b = attach(&store, &config, "cf-evidence", "S1", "4900", &source).unwrap();
    assert_eq!(a, b);
    assert_eq!((a.width, a.height), (40, 80));
    assert_eq!(store.list().unwrap().len(), 1);
    let descriptor = a.upload_descriptor();
    assert_eq!(descriptor.key, a.object.key);
    assert_eq!(
        descriptor.size,
        std::fs::metadata(&a.local_path).unwrap().len()
    );
    let json = descriptor.to_json();
    assert_eq!(UploadDescriptor::from_json(&json).unwrap(), descriptor);
    assert!(UploadDescriptor::from_json(b"{}").is_err());
    let mut value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    value["sha256"] = "../../etc/passwd".into();
    assert!(UploadDescriptor::from_json(value.to_string().as_bytes()).is_err());
    assert!(matches!(
        attach(&store, &config, "cf-evidence", "S1", "4900", b"nope"),
        Err(PhotoError::Ingest(IngestError::NotAnImage))
    ));
}

#[test]
fn with_a_key_photos_are_sealed_at_rest_and_a_wrong_key_is_a_typed_error() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("photos");
    let key = PhotoKey::new(&[7u8; 32]).unwrap();
    assert!(PhotoKey::new(&[7u8; 16]).is_err(), "32 bytes only");
    let plain_store = PhotoStore::open(&dir).unwrap();
    let store = PhotoStore::open(&dir).unwrap().with_key(key);

    // A photo kept before the key was given stays readable, and is sealed when stored again.
    let old = prepared(6);
    plain_store.put(&old).unwrap();
    assert_eq!(store.read_verified(&old.sha256).unwrap(), old.jpeg);
    store.put(&old).unwrap();

    let photo = prepared(7);
    let path = store.put(&photo).unwrap();
    for (sha, jpeg) in [(&photo.sha256, &photo.jpeg), (&old.sha256, &old.jpeg)] {
        let on_disk = std::fs::read(store.path_of(sha)).unwrap();
        assert!(on_disk.starts_with(b"JPKENC1\0"));
        assert!(
            !on_disk
                .windows(64)
                .any(|w| jpeg.windows(64).next() == Some(w)),
            "no plaintext on disk"
        );
        assert_eq!(&store.read_verified(sha).unwrap(), jpeg);
    }
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let dir_mode = std::fs::metadata(&dir).unwrap().permissions().mode();
    assert_eq!(dir_mode & 0o077, 0, "nobody else lists the folder");

    // No key, or another key: typed, and the file is left as it was.
    let before = std::fs::read(&path).unwrap();
    let other = PhotoStore::open(&dir)
        .unwrap()
        .with_key(PhotoKey::new(&[8u8; 32]).unwrap());
    for reader in [&plain_store, &other] {
        assert!(matches!(
            reader.read_verified(&photo.sha256),
            Err(StorageError::WrongKey { .. })
        ));
        assert!(matches!(
            reader.put(&photo),
            Err(StorageError::WrongKey { .. })
        ));
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
}
