//! The fuzz targets' bodies: one function per parser that takes outside data.
//!
//! Each function takes arbitrary bytes and must return without panicking, whatever they are;
//! where a parser accepts, the function checks a property of the result. The libFuzzer
//! binaries in `fuzz_targets/` (nightly, `cargo fuzz run NAME`) call these, and so does the
//! stable test `core/tests/fuzz_corpus.rs`, which replays every file of `fuzz/seeds/NAME/`
//! through its function on every `cargo test`: a crash found by fuzzing becomes a seed file
//! and so a test.

#![allow(dead_code)]

use jobpack_core::closure::Matrix;
use jobpack_core::codes::Catalogue;
use jobpack_core::photos::{IngestConfig, UploadDescriptor};
use jobpack_core::protocol::{
    MessageKind, PullResult, Timestamp, parse_acknowledgement, parse_inbound, parse_message,
    parse_outbound,
};
use jobpack_core::qr::{Frame, Fsan, LumaImage, PixelFormat, Rotation, Scanner, parse_ont_payload};

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target by name, as the corpus folders are named.
pub const TARGETS: &[(&str, Target)] = &[
    ("inbound", inbound),
    ("outbound", outbound),
    ("message", message),
    ("acknowledgement", acknowledgement),
    ("timestamp", timestamp),
    ("matrix", matrix),
    ("catalogue", catalogue),
    ("pull_page", pull_page),
    ("upload_descriptor", upload_descriptor),
    ("ont_payload", ont_payload),
    ("frame", frame),
    ("image_scan", image_scan),
    ("photo_ingest", photo_ingest),
];

/// An inbound envelope (createJob, cancelJob, notifyJob from CityFibre).
pub fn inbound(data: &[u8]) {
    let _ = parse_inbound(data);
}

/// An outbound JSON-RPC request; an accepted one serialises and re-parses to itself.
pub fn outbound(data: &[u8]) {
    if let Ok(request) = parse_outbound(data) {
        let bytes = serde_json::to_vec(&request).expect("an accepted request serialises");
        let again = parse_outbound(&bytes).expect("a serialised request re-parses");
        assert_eq!(again.id, request.id);
    }
}

/// Any JSON value classified and parsed as the message it looks like.
pub fn message(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Some(kind) = MessageKind::classify(&value) {
            let _ = parse_message(kind, &value);
        }
    }
}

/// A JSON-RPC acknowledgement from an endpoint.
pub fn acknowledgement(data: &[u8]) {
    let _ = parse_acknowledgement(data);
}

/// A timestamp in any of the forms CityFibre sends; an accepted one round-trips as RFC 3339.
pub fn timestamp(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(t) = Timestamp::parse_lenient(&text) {
        let again = Timestamp::parse_lenient(&t.to_string()).expect("RFC 3339 re-parses");
        assert_eq!(again, t);
    }
}

/// A closure matrix file; a refusal lists a bounded number of problems.
pub fn matrix(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Err(problems) = Matrix::from_json(&text, &Catalogue::embedded()) {
        assert!(problems.len() <= jobpack_core::closure::MAX_LISTED_PROBLEMS + 1);
    }
}

/// A partner catalogue file.
pub fn catalogue(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = Catalogue::with_partner_file(&text);
}

/// A pull page's result, each message parsed as the inbox would.
pub fn pull_page(data: &[u8]) {
    if let Ok(page) = serde_json::from_slice::<PullResult>(data) {
        for message in page.messages {
            let _ = jobpack_core::protocol::parse_inbound_value(message);
        }
    }
}

/// An upload item's body.
pub fn upload_descriptor(data: &[u8]) {
    let _ = UploadDescriptor::from_json(data);
}

/// An ONT label's QR text; an accepted identity is self-consistent.
pub fn ont_payload(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(id) = parse_ont_payload(&text) {
        // The canonical FSAN re-parses to itself, and its vendor is its prefix.
        let again = Fsan::parse(id.fsan.as_str()).expect("canonical FSAN re-parses");
        assert_eq!(again, id.fsan);
        assert_eq!(id.vendor, id.fsan.vendor());
        assert_eq!(
            Fsan::parse(&id.fsan.to_hex_form()).ok(),
            Some(id.fsan.clone())
        );
    }
}

/// A camera frame's geometry and bytes: the first 8 bytes choose width, height, stride
/// padding, format and rotation; the rest are pixels.
pub fn frame(data: &[u8]) {
    if data.len() < 8 {
        return;
    }
    let width = usize::from(u16::from_le_bytes([data[0], data[1]]));
    let height = usize::from(u16::from_le_bytes([data[2], data[3]]));
    let pad = usize::from(data[4]);
    let format = match data[5] % 3 {
        0 => PixelFormat::Luma8,
        1 => PixelFormat::Rgba8,
        _ => PixelFormat::Bgra8,
    };
    let rotation = match data[6] % 4 {
        0 => Rotation::R0,
        1 => Rotation::R90,
        2 => Rotation::R180,
        _ => Rotation::R270,
    };
    let pixels = &data[8..];
    let bpp = match format {
        PixelFormat::Luma8 => 1,
        _ => 4,
    };
    if let Ok(frame) = Frame::new(pixels, width, height, width * bpp + pad, format, rotation) {
        let mut luma = Vec::new();
        frame.copy_luma_into(&mut luma);
        assert_eq!(luma.len(), width * height);
    }
}

/// Image file bytes (PNG, JPEG, WebP) through the scanner, as `jobpack scan` reads them.
pub fn image_scan(data: &[u8]) {
    if let Ok(image) = LumaImage::from_bytes(data) {
        if let Ok(frame) = image.frame() {
            let _ = Scanner::default().scan(&frame);
        }
    }
}

/// Camera bytes through photo preparation (decode, orient, resize, JPEG).
pub fn photo_ingest(data: &[u8]) {
    let config = IngestConfig {
        max_edge: 64,
        ..IngestConfig::default()
    };
    let _ = jobpack_core::photos::prepare(data, &config);
}
