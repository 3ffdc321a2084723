//! From the camera's (or the gallery's) bytes to the photo the core keeps and uploads.
//!
//! Every photo is decoded, turned upright, shrunk and re-encoded, never passed through:
//! * **EXIF orientation is applied to the pixels.** Phones store a sideways sensor image plus
//!   a tag saying how to turn it; viewers that ignore the tag (and many back-office tools do)
//!   would show the call log or the ONT on its side. After re-encoding the pixels are upright
//!   and no tag is needed.
//! * **Resized** so the longest edge is at most [`IngestConfig::max_edge`] (aspect kept, never
//!   upscaled, Lanczos3): a 12-megapixel original is several megabytes on a field connection
//!   for no gain in evidence.
//! * **Re-encoded as JPEG**, which also **strips all metadata**: EXIF (including the GPS
//!   position of the engineer's phone, the device serial and the capture software), XMP and
//!   ICC profiles are not carried over. The job's location travels in the messages where the
//!   contract asks for it, not hidden in photos in a shared bucket.
//! * **Hashed** (SHA-256 of the JPEG bytes): the hash names the local file and the S3 object.
//!
//! Untrusted input is bounded before it is decoded: a byte cap on the input, and
//! `image::Limits` (maximum width, height and allocation) so a decompression bomb — a small
//! file declaring a gigantic image — is refused from its header instead of exhausting memory.
//! Every failure is a typed [`IngestError`].

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits, RgbImage};

use super::hash::PhotoHash;

/// How photos are prepared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestConfig {
    /// Longest edge of the prepared photo, in pixels.
    pub max_edge: u32,
    /// JPEG quality, 1..=100.
    pub jpeg_quality: u8,
    /// Largest source file accepted, in bytes.
    pub max_input_bytes: usize,
    /// Largest source width or height accepted, in pixels.
    pub max_source_edge: u32,
    /// Largest source image accepted, in pixels (width × height).
    pub max_source_pixels: u64,
    /// Most memory the decoder may allocate, in bytes.
    pub max_decoder_alloc: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_edge: 2048,
            jpeg_quality: 85,
            // A 200-megapixel phone JPEG is about 30 MB; PNG screenshots are far smaller.
            max_input_bytes: 48 * 1024 * 1024,
            max_source_edge: 20_000,
            max_source_pixels: 210_000_000,
            max_decoder_alloc: 1024 * 1024 * 1024,
        }
    }
}

/// A photo ready to store and upload.
#[derive(Clone, PartialEq, Eq)]
pub struct PreparedPhoto {
    /// The JPEG file.
    pub jpeg: Vec<u8>,
    /// SHA-256 of `jpeg`.
    pub sha256: PhotoHash,
    pub width: u32,
    pub height: u32,
}

impl std::fmt::Debug for PreparedPhoto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedPhoto")
            .field("bytes", &self.jpeg.len())
            .field("sha256", &self.sha256)
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// The formats this build decodes: WebP only with the `webp` feature (not in the phone
/// library, whose photos come from the camera as JPEG).
const FORMATS: &str = if cfg!(feature = "webp") {
    "JPEG, PNG or WebP"
} else {
    "JPEG or PNG"
};

/// Why a photo could not be prepared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    #[error("this file is not an image (not {formats})", formats = FORMATS)]
    NotAnImage,
    #[error("this image format is not supported (only {formats}): {0}", formats = FORMATS)]
    UnsupportedFormat(String),
    #[error("the image is too large: {0}")]
    TooLarge(String),
    #[error("the image is damaged and cannot be read: {0}")]
    Corrupt(String),
    #[error("photo settings: {0}")]
    Config(String),
    #[error("the photo could not be re-encoded: {0}")]
    Encode(String),
}

/// Decodes `source`, applies its EXIF orientation, bounds its size, re-encodes it as JPEG
/// and hashes it.
pub fn prepare(source: &[u8], config: &IngestConfig) -> Result<PreparedPhoto, IngestError> {
    if config.max_edge == 0 || !(1..=100).contains(&config.jpeg_quality) {
        return Err(IngestError::Config(format!(
            "max_edge must be positive and jpeg_quality 1..=100 (got {} and {})",
            config.max_edge, config.jpeg_quality
        )));
    }
    if source.len() > config.max_input_bytes {
        return Err(IngestError::TooLarge(format!(
            "{} bytes, at most {} accepted",
            source.len(),
            config.max_input_bytes
        )));
    }
    let image = decode_upright(source, config)?;
    let image = shrink(image, config.max_edge);
    let (width, height) = (image.width(), image.height());
    let jpeg = encode_jpeg(image, config.jpeg_quality)?;
    let sha256 = PhotoHash::of(&jpeg);
    Ok(PreparedPhoto {
        jpeg,
        sha256,
        width,
        height,
    })
}

/// Decodes within the limits and turns the pixels as the EXIF orientation says.
fn decode_upright(source: &[u8], config: &IngestConfig) -> Result<DynamicImage, IngestError> {
    let mut reader = ImageReader::new(Cursor::new(source))
        .with_guessed_format()
        .map_err(|e| IngestError::Corrupt(e.to_string()))?;
    if reader.format().is_none() {
        return Err(IngestError::NotAnImage);
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(config.max_source_edge);
    limits.max_image_height = Some(config.max_source_edge);
    limits.max_alloc = Some(config.max_decoder_alloc);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(from_image_error)?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > config.max_source_pixels {
        return Err(IngestError::TooLarge(format!(
            "{w}×{h} pixels, at most {} accepted",
            config.max_source_pixels
        )));
    }
    if w == 0 || h == 0 {
        return Err(IngestError::Corrupt(format!("{w}×{h} pixels")));
    }
    // An unreadable EXIF block is no reason to refuse the photo: it is shown as stored.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(from_image_error)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// Fits the image within `max_edge` × `max_edge`, keeping its aspect; never enlarges.
fn shrink(image: DynamicImage, max_edge: u32) -> DynamicImage {
    if image.width().max(image.height()) <= max_edge {
        return image;
    }
    image.resize(max_edge, max_edge, FilterType::Lanczos3)
}

/// JPEG has no alpha: transparent pixels are laid on white (what a viewer shows them on),
/// grey stays grey, everything else becomes 8-bit RGB.
fn encode_jpeg(image: DynamicImage, quality: u8) -> Result<Vec<u8>, IngestError> {
    let flat = match image {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => image,
        other if other.color().has_alpha() => DynamicImage::ImageRgb8(on_white(&other)),
        DynamicImage::ImageLuma16(_) => DynamicImage::ImageLuma8(image.to_luma8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    };
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&flat)
        .map_err(|e| IngestError::Encode(e.to_string()))?;
    Ok(out)
}

fn on_white(image: &DynamicImage) -> RgbImage {
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let blend = |c: u8| -> u8 {
            let c = u32::from(c);
            let a = u32::from(a);
            ((c * a + 255 * (255 - a) + 127) / 255) as u8
        };
        image::Rgb([blend(r), blend(g), blend(b)])
    })
}

fn from_image_error(error: ImageError) -> IngestError {
    match error {
        ImageError::Unsupported(e) => IngestError::UnsupportedFormat(e.to_string()),
        ImageError::Limits(e) => IngestError::TooLarge(e.to_string()),
        ImageError::Decoding(e) => IngestError::Corrupt(e.to_string()),
        ImageError::IoError(e) => IngestError::Corrupt(e.to_string()),
        ImageError::Parameter(e) => IngestError::Corrupt(e.to_string()),
        ImageError::Encoding(e) => IngestError::Encode(e.to_string()),
    }
}
