//! Camera frames and image files as the decoder sees them.
//!
//! Platforms hand over pixels in different shapes: Android's YUV_420_888 and iOS's
//! biplanar buffers expose an 8-bit luma plane whose rows are padded (`stride > width`),
//! desktop cameras and screenshots give RGBA or BGRA, and the sensor is usually mounted
//! rotated. [`Frame`] is a borrowed, validated view over any of these: constructing one
//! checks the geometry once, so the decoder can index without bounds surprises and the
//! shells never have to copy or convert before calling us. The decoder copies the
//! frame into its own reusable luma buffer (upright, tightly packed), which is the only
//! per-frame copy.
//!
//! Image files go through the `image` crate and end up as an owned [`LumaImage`].

use std::path::Path;

/// Clockwise rotation that brings the sensor image upright.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rotation {
    #[default]
    R0,
    R90,
    R180,
    R270,
}

impl Rotation {
    /// From degrees as the platforms report them (0, 90, 180, 270).
    pub fn from_degrees(deg: u32) -> Result<Rotation, FrameError> {
        match deg % 360 {
            0 => Ok(Rotation::R0),
            90 => Ok(Rotation::R90),
            180 => Ok(Rotation::R180),
            270 => Ok(Rotation::R270),
            other => Err(FrameError::Rotation(other)),
        }
    }
}

/// How the pixels of a [`Frame`] are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// One byte per pixel, luminance (a Y plane).
    Luma8,
    /// Four bytes per pixel, R G B A.
    Rgba8,
    /// Four bytes per pixel, B G R A.
    Bgra8,
}

impl PixelFormat {
    fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Luma8 => 1,
            PixelFormat::Rgba8 | PixelFormat::Bgra8 => 4,
        }
    }
}

/// Why a frame or image cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame has zero width or height ({width}x{height})")]
    Empty { width: usize, height: usize },
    #[error("frame of {width}x{height} is too large to scan")]
    TooLarge { width: usize, height: usize },
    #[error("row stride {stride} is smaller than a row of {row_bytes} bytes")]
    Stride { stride: usize, row_bytes: usize },
    #[error("frame buffer holds {got} bytes, {needed} needed for the given geometry")]
    BufferTooSmall { got: usize, needed: usize },
    #[error("rotation must be 0, 90, 180 or 270 degrees, got {0}")]
    Rotation(u32),
    #[error("cannot read image file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot decode image: {0}")]
    Image(#[from] image::ImageError),
    #[error("image file {path} is larger than {max} bytes")]
    FileTooLarge { path: String, max: u64 },
}

/// Largest accepted side; a 64-megapixel still fits, anything larger is not a camera frame.
const MAX_SIDE: usize = 16_384;
/// Largest accepted image in pixels: a 48-megapixel phone still fits. Checked from the
/// frame's geometry and, for files, from the image header before anything is decoded, so
/// a small file declaring 20000x20000 costs nothing.
pub const MAX_PIXELS: usize = 50_000_000;
/// Largest image file read at all.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A borrowed camera frame with validated geometry.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
    stride: usize,
    format: PixelFormat,
    rotation: Rotation,
}

impl<'a> Frame<'a> {
    /// An 8-bit luma plane (Android Y plane, iOS biplanar plane 0), rows `stride` bytes apart.
    pub fn luma(
        data: &'a [u8],
        width: usize,
        height: usize,
        stride: usize,
        rotation: Rotation,
    ) -> Result<Self, FrameError> {
        Self::new(data, width, height, stride, PixelFormat::Luma8, rotation)
    }

    /// An RGBA buffer, rows `stride` bytes apart.
    pub fn rgba(
        data: &'a [u8],
        width: usize,
        height: usize,
        stride: usize,
        rotation: Rotation,
    ) -> Result<Self, FrameError> {
        Self::new(data, width, height, stride, PixelFormat::Rgba8, rotation)
    }

    /// A BGRA buffer (iOS `kCVPixelFormatType_32BGRA`), rows `stride` bytes apart.
    pub fn bgra(
        data: &'a [u8],
        width: usize,
        height: usize,
        stride: usize,
        rotation: Rotation,
    ) -> Result<Self, FrameError> {
        Self::new(data, width, height, stride, PixelFormat::Bgra8, rotation)
    }

    /// Any supported layout.
    pub fn new(
        data: &'a [u8],
        width: usize,
        height: usize,
        stride: usize,
        format: PixelFormat,
        rotation: Rotation,
    ) -> Result<Self, FrameError> {
        if width == 0 || height == 0 {
            return Err(FrameError::Empty { width, height });
        }
        if width > MAX_SIDE || height > MAX_SIDE || width.saturating_mul(height) > MAX_PIXELS {
            return Err(FrameError::TooLarge { width, height });
        }
        let row_bytes = width * format.bytes_per_pixel();
        if stride < row_bytes {
            return Err(FrameError::Stride { stride, row_bytes });
        }
        // The last row need not be padded out to the full stride (Android omits it).
        let needed = stride * (height - 1) + row_bytes;
        if data.len() < needed {
            return Err(FrameError::BufferTooSmall {
                got: data.len(),
                needed,
            });
        }
        Ok(Frame {
            data,
            width,
            height,
            stride,
            format,
            rotation,
        })
    }

    /// Width after rotation.
    pub fn upright_width(&self) -> usize {
        match self.rotation {
            Rotation::R0 | Rotation::R180 => self.width,
            Rotation::R90 | Rotation::R270 => self.height,
        }
    }

    /// Height after rotation.
    pub fn upright_height(&self) -> usize {
        match self.rotation {
            Rotation::R0 | Rotation::R180 => self.height,
            Rotation::R90 | Rotation::R270 => self.width,
        }
    }

    pub fn format(&self) -> PixelFormat {
        self.format
    }

    pub fn rotation(&self) -> Rotation {
        self.rotation
    }

    #[inline]
    fn luma_at(&self, x: usize, y: usize) -> u8 {
        match self.format {
            PixelFormat::Luma8 => self.data[y * self.stride + x],
            PixelFormat::Rgba8 | PixelFormat::Bgra8 => {
                let i = y * self.stride + x * 4;
                let (r, g, b) = if self.format == PixelFormat::Rgba8 {
                    (self.data[i], self.data[i + 1], self.data[i + 2])
                } else {
                    (self.data[i + 2], self.data[i + 1], self.data[i])
                };
                // BT.601 weights in fixed point.
                ((r as u32 * 77 + g as u32 * 150 + b as u32 * 29) >> 8) as u8
            }
        }
    }

    /// Like [`Self::copy_luma_into`], but keeps one pixel in `d` each way (the centre of
    /// each `d` x `d` cell): the upright image is `upright_width() / d` by
    /// `upright_height() / d`. Only the kept rows are read, so a 48 MP frame costs a
    /// fraction of a full copy; see [`super::decode`] for when it is used.
    pub fn copy_luma_decimated_into(&self, d: usize, out: &mut Vec<u8>) {
        let d = d.max(1);
        let (uw, uh) = (self.upright_width() / d, self.upright_height() / d);
        out.clear();
        out.resize(uw * uh, 0);
        let c = d / 2;
        for uy in 0..uh {
            for ux in 0..uw {
                // The upright pixel's source coordinates (inverse of copy_luma_into's map).
                let (px, py) = (ux * d + c, uy * d + c);
                let (x, y) = match self.rotation {
                    Rotation::R0 => (px, py),
                    Rotation::R90 => (py, self.height - 1 - px),
                    Rotation::R180 => (self.width - 1 - px, self.height - 1 - py),
                    Rotation::R270 => (self.width - 1 - py, px),
                };
                out[uy * uw + ux] = self.luma_at(x, y);
            }
        }
    }

    /// Writes the upright, tightly packed luma image into `out`, reusing its allocation.
    pub fn copy_luma_into(&self, out: &mut Vec<u8>) {
        let (uw, uh) = (self.upright_width(), self.upright_height());
        out.clear();
        out.resize(uw * uh, 0);
        if self.format == PixelFormat::Luma8 && self.rotation == Rotation::R0 {
            for y in 0..self.height {
                let src = &self.data[y * self.stride..y * self.stride + self.width];
                out[y * uw..(y + 1) * uw].copy_from_slice(src);
            }
            return;
        }
        for y in 0..self.height {
            for x in 0..self.width {
                // Upright coordinates of source pixel (x, y) after a clockwise rotation.
                let (ux, uy) = match self.rotation {
                    Rotation::R0 => (x, y),
                    Rotation::R90 => (self.height - 1 - y, x),
                    Rotation::R180 => (self.width - 1 - x, self.height - 1 - y),
                    Rotation::R270 => (y, self.width - 1 - x),
                };
                out[uy * uw + ux] = self.luma_at(x, y);
            }
        }
    }
}

/// An owned, tightly packed luma image (from a file, or built by tests and benches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LumaImage {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

impl LumaImage {
    /// Decodes PNG, JPEG or WebP bytes. The dimensions are read from the header first:
    /// an image larger than [`MAX_SIDE`] a side or [`MAX_PIXELS`] in all is refused with
    /// [`FrameError::TooLarge`] before any pixel buffer is allocated, and the decoder
    /// runs under matching allocation limits.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FrameError> {
        let (width, height) = Self::dimensions(bytes)?;
        let mut reader = Self::reader(bytes)?;
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(width);
        limits.max_image_height = Some(height);
        // The decoded pixels (at most 4 bytes each, 8 for 16-bit PNGs) and the decoder's
        // own buffers.
        limits.max_alloc = Some(width as u64 * height as u64 * 8 + (16 << 20));
        reader.limits(limits);
        let img = reader.decode()?;
        Ok(Self::from_dynamic(img))
    }

    /// The image's width and height as its header declares them, checked against the
    /// limits; nothing beyond the header is decoded.
    pub fn dimensions(bytes: &[u8]) -> Result<(u32, u32), FrameError> {
        let (width, height) = Self::reader(bytes)?.into_dimensions()?;
        let (w, h) = (width as usize, height as usize);
        if w == 0 || h == 0 {
            return Err(FrameError::Empty {
                width: w,
                height: h,
            });
        }
        if w > MAX_SIDE || h > MAX_SIDE || w.saturating_mul(h) > MAX_PIXELS {
            return Err(FrameError::TooLarge {
                width: w,
                height: h,
            });
        }
        Ok((width, height))
    }

    fn reader(bytes: &[u8]) -> Result<image::ImageReader<std::io::Cursor<&[u8]>>, FrameError> {
        let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| FrameError::Image(image::ImageError::IoError(e)))?;
        match reader.format() {
            Some(image::ImageFormat::Png | image::ImageFormat::Jpeg | image::ImageFormat::WebP) => {
                Ok(reader)
            }
            // Not PNG, JPEG or WebP (or not an image at all): the same error the image
            // crate gives for a format it does not know.
            other => {
                let hint = other.map_or(image::error::ImageFormatHint::Unknown, Into::into);
                Err(FrameError::Image(image::ImageError::Unsupported(
                    image::error::UnsupportedError::from_format_and_kind(
                        hint.clone(),
                        image::error::UnsupportedErrorKind::Format(hint),
                    ),
                )))
            }
        }
    }

    /// Reads and decodes an image file of at most [`MAX_FILE_BYTES`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, FrameError> {
        use std::io::Read;
        let path = path.as_ref();
        let io = |source| FrameError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(FrameError::FileTooLarge {
                path: path.display().to_string(),
                max: MAX_FILE_BYTES,
            });
        }
        Self::from_bytes(&bytes)
    }

    fn from_dynamic(img: image::DynamicImage) -> Self {
        // Transparent pixels (common in generated PNGs) are composed over white, as a
        // printed label would be; a plain luma conversion would turn them black.
        let rgba = img.to_rgba8();
        let (w, h) = (rgba.width() as usize, rgba.height() as usize);
        let mut data = Vec::with_capacity(w * h);
        for p in rgba.pixels() {
            let [r, g, b, a] = p.0;
            let l = (r as u32 * 77 + g as u32 * 150 + b as u32 * 29) >> 8;
            let a = a as u32;
            data.push(((l * a + 255 * (255 - a)) / 255) as u8);
        }
        LumaImage {
            width: w,
            height: h,
            data,
        }
    }

    /// A frame view over this image.
    pub fn frame(&self) -> Result<Frame<'_>, FrameError> {
        Frame::luma(
            &self.data,
            self.width,
            self.height,
            self.width,
            Rotation::R0,
        )
    }
}
