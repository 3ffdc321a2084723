//! Hostile frames and files (issue #12 item 4): every scan returns within its budget plus
//! a bounded amount of work, and oversized images are refused from their header before
//! anything is decoded. Work is bounded by counting ([`ScanWork`]), never by the clock:
//! `scripts/bench-qr.sh` reports the times.

use std::time::Duration;

use jobpack_core::qr::{
    Frame, FrameError, LumaImage, QrError, Rotation, ScanWork, Scanner, ScannerConfig,
};

fn scan(w: usize, h: usize, pixels: &[u8]) -> (Result<Vec<String>, QrError>, ScanWork) {
    // A budget no unoptimised test run reaches, so every strategy runs and its gating is
    // what is tested (the benchmark times the phone's 60 ms budget).
    let mut scanner = Scanner::new(ScannerConfig {
        budget: Duration::from_secs(30),
    });
    let frame = Frame::luma(pixels, w, h, w, Rotation::R0).unwrap();
    let r = scanner.scan(&frame);
    (r, scanner.last_work())
}

/// A frame tiled with finder-pattern squares (7 modules, 1 module apart): every square is
/// a perfect finder, and any three make a plausible symbol.
fn finder_grid(w: usize, h: usize, module: usize) -> Vec<u8> {
    let period = 8 * module;
    let mut img = vec![255u8; w * h];
    for y in 0..h {
        for x in 0..w {
            let (u, v) = ((x % period) / module, (y % period) / module);
            if u >= 7 || v >= 7 {
                continue;
            }
            let ring = u.min(v).min(6 - u).min(6 - v);
            if ring != 1 {
                img[y * w + x] = 0;
            }
        }
    }
    img
}

/// Deterministic salt-and-pepper noise.
fn noise(w: usize, h: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..w * h)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 56) as u8
        })
        .collect()
}

fn assert_bounded(work: &ScanWork, what: &str) {
    // Every strategy is tried at most once (5 binarisations x 3 scales).
    assert!(work.steps <= 15, "{what}: {work:?}");
    // The locator keeps the best 12 candidates and plans from the best 4 triples: at most
    // 12 plans of 3 guesses, plus 3 nudged guesses per plausible plan, per step.
    assert!(
        work.guesses <= work.steps * (12 * 3 + 4 * 3),
        "{what}: {work:?}"
    );
    assert!(work.decoder_calls <= work.guesses, "{what}: {work:?}");
}

#[test]
fn finder_pattern_grids_skip_rqrrs_detector_and_stay_bounded() {
    for (w, h, m) in [(640, 480, 4), (1000, 1000, 5), (1280, 720, 3)] {
        let img = finder_grid(w, h, m);
        let (r, work) = scan(w, h, &img);
        assert!(r.is_err(), "{w}x{h}: a grid of finders is not a code");
        assert!(
            work.finder_candidates as usize > 9,
            "{w}x{h}: the grid's finders are seen: {work:?}"
        );
        // rqrr's grouping is cubic in the finders it sees and cannot be interrupted: it
        // must not run on such a frame.
        assert_eq!(work.rqrr_detector_runs, 0, "{w}x{h}: {work:?}");
        assert!(work.rqrr_detector_skipped >= 1, "{w}x{h}: {work:?}");
        assert_bounded(&work, &format!("grid {w}x{h}"));
    }
}

#[test]
fn large_finder_grid_is_scanned_downscaled() {
    let (w, h) = (3000, 3000);
    let img = finder_grid(w, h, 6);
    let (r, work) = scan(w, h, &img);
    assert!(r.is_err());
    assert_eq!(work.rqrr_detector_runs, 0, "{work:?}");
    // Each binarisation once per scale (1/3, then full size): no more than five full
    // images' worth, whatever the content.
    assert!(work.pixels_binarised <= (w * h) as u64 * 5, "{work:?}");
    assert_eq!(work.decoder_calls, 0, "{work:?}");
    assert_bounded(&work, "grid 3000x3000");
}

#[test]
fn noise_reads_nothing_and_stays_bounded() {
    for (w, h, seed) in [(640, 480, 1), (1280, 720, 2), (1920, 1080, 3)] {
        let img = noise(w, h, seed);
        let (r, work) = scan(w, h, &img);
        assert!(r.is_err(), "{w}x{h} noise");
        // At most once per scale it is allowed at (the local threshold only).
        assert!(work.rqrr_detector_runs <= 2, "{w}x{h}: {work:?}");
        assert_bounded(&work, &format!("noise {w}x{h}"));
    }
}

/// A 48 MP still is decimated while it is copied (a full copy and box downscale cost more
/// than the phone's budget before the first check); a 12 MP one is read whole.
#[test]
fn very_large_frames_are_decimated_on_the_copy() {
    let (w, h) = (8000, 6000);
    let img = vec![128u8; w * h];
    let (r, work) = scan(w, h, &img);
    assert!(matches!(r, Err(QrError::NotFound)), "{r:?}");
    assert_eq!(work.pixels_copied, 4000 * 3000, "{work:?}");
    let (w, h) = (4000, 3000);
    let (_, work) = scan(w, h, &img[..w * h]);
    assert_eq!(work.pixels_copied, (w * h) as u64, "{work:?}");
}

/// The decimated copy keeps the centre pixel of each cell, in the upright orientation,
/// for every rotation and pixel layout the platforms hand over.
#[test]
fn decimated_copy_matches_the_full_copy_at_cell_centres() {
    let (w, h, stride) = (10usize, 7usize, 12usize);
    let pixels: Vec<u8> = (0..stride * h).map(|i| (i * 7 % 251) as u8).collect();
    for rotation in [Rotation::R0, Rotation::R90, Rotation::R180, Rotation::R270] {
        let frame = Frame::luma(&pixels, w, h, stride, rotation).unwrap();
        let (uw, uh) = (frame.upright_width(), frame.upright_height());
        let mut full = Vec::new();
        frame.copy_luma_into(&mut full);
        for d in [2usize, 3] {
            let mut small = Vec::new();
            frame.copy_luma_decimated_into(d, &mut small);
            let (sw, sh) = (uw / d, uh / d);
            assert_eq!(small.len(), sw * sh, "{rotation:?} d={d}");
            for y in 0..sh {
                for x in 0..sw {
                    let c = d / 2;
                    assert_eq!(
                        small[y * sw + x],
                        full[(y * d + c) * uw + x * d + c],
                        "{rotation:?} d={d} ({x},{y})"
                    );
                }
            }
        }
    }
}

#[test]
fn tiny_and_flat_frames_are_nothing() {
    for (w, h) in [(1, 1), (7, 7), (20, 20), (21, 21), (1, 4000), (4000, 1)] {
        let img = vec![128u8; w * h];
        let (r, work) = scan(w, h, &img);
        assert!(
            matches!(r, Err(QrError::NotFound)),
            "{w}x{h}: {r:?} {work:?}"
        );
        assert_eq!(work.decoder_calls, 0, "{w}x{h}");
    }
}

#[test]
fn huge_frame_geometry_is_refused_without_reading_pixels() {
    // 20000x20000 over a tiny buffer: refused on its geometry, not on the buffer.
    let tiny = [0u8; 16];
    for (w, h) in [(20_000, 20_000), (16_384, 16_384), (10_000, 6_000)] {
        assert!(
            matches!(
                Frame::luma(&tiny, w, h, w, Rotation::R0),
                Err(FrameError::TooLarge { .. })
            ),
            "{w}x{h}"
        );
    }
}

/// CRC-32 (IEEE) for patching PNG chunks.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn encoded(format: image::ImageFormat) -> Vec<u8> {
    let img = image::GrayImage::from_pixel(16, 16, image::Luma([200u8]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(img)
        .to_rgba8()
        .write_to(&mut out, format)
        .or_else(|_| {
            let img = image::RgbImage::from_pixel(16, 16, image::Rgb([200, 200, 200]));
            out = std::io::Cursor::new(Vec::new());
            image::DynamicImage::ImageRgb8(img).write_to(&mut out, format)
        })
        .unwrap();
    out.into_inner()
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("marker present")
}

#[test]
fn png_declaring_20000_squared_is_refused_from_its_header() {
    let mut png = encoded(image::ImageFormat::Png);
    let ihdr = find(&png, b"IHDR");
    png[ihdr + 4..ihdr + 8].copy_from_slice(&20_000u32.to_be_bytes());
    png[ihdr + 8..ihdr + 12].copy_from_slice(&20_000u32.to_be_bytes());
    let crc = crc32(&png[ihdr..ihdr + 17]);
    png[ihdr + 17..ihdr + 21].copy_from_slice(&crc.to_be_bytes());
    assert!(matches!(
        LumaImage::dimensions(&png),
        Err(FrameError::TooLarge {
            width: 20_000,
            height: 20_000
        })
    ));
    assert!(matches!(
        LumaImage::from_bytes(&png),
        Err(FrameError::TooLarge { .. })
    ));
}

#[test]
fn jpeg_declaring_20000_squared_is_refused_from_its_header() {
    let mut jpg = encoded(image::ImageFormat::Jpeg);
    let sof = find(&jpg, &[0xFF, 0xC0]);
    // FF C0, length (2), precision (1), height (2), width (2).
    jpg[sof + 5..sof + 7].copy_from_slice(&20_000u16.to_be_bytes());
    jpg[sof + 7..sof + 9].copy_from_slice(&20_000u16.to_be_bytes());
    assert!(matches!(
        LumaImage::from_bytes(&jpg),
        Err(FrameError::TooLarge { .. })
    ));
}

#[test]
fn webp_declaring_12000_squared_is_refused_from_its_header() {
    let mut webp = encoded(image::ImageFormat::WebP);
    let vp8l = find(&webp, b"VP8L");
    // Chunk tag, size (4), signature 0x2F, then 14 bits width-1 and 14 bits height-1.
    let at = vp8l + 9;
    let mut bits = u32::from_le_bytes([webp[at], webp[at + 1], webp[at + 2], webp[at + 3]]);
    bits = (bits & !0x0FFF_FFFF) | 11_999 | (11_999 << 14);
    webp[at..at + 4].copy_from_slice(&bits.to_le_bytes());
    let r = LumaImage::from_bytes(&webp);
    assert!(matches!(r, Err(FrameError::TooLarge { .. })), "{r:?}");
}

#[test]
fn not_an_image_is_a_typed_error() {
    assert!(matches!(
        LumaImage::from_bytes(b"GPON SN: ALCLB443689D"),
        Err(FrameError::Image(_))
    ));
    assert!(LumaImage::from_bytes(&[]).is_err());
}
