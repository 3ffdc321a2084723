//! Desktop camera input (QA and developers; phones feed frames from their own shells).
//!
//! nokhwa pulls in platform capture stacks (and libclang at build time for the V4L
//! bindings), so it sits behind the `camera` cargo feature. The type exists in every
//! build: without the feature, or without a camera, [`DesktopCamera::open`] returns a
//! typed [`CameraError`] instead of failing to link or panicking, so callers need no
//! `cfg` of their own. Frames are converted to luma into one reused buffer.

use super::frame::{Frame, FrameError, Rotation};

/// Why the desktop camera cannot deliver frames.
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    #[error("this build has no camera support (rebuild with the `camera` feature)")]
    NotBuilt,
    #[error("cannot open camera {index}: {reason}")]
    Open { index: u32, reason: String },
    #[error("cannot read a frame from the camera: {0}")]
    Capture(String),
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// An open desktop camera stream.
pub struct DesktopCamera {
    #[cfg(feature = "camera")]
    camera: nokhwa::Camera,
    luma: Vec<u8>,
}

impl DesktopCamera {
    /// Opens camera `index` at its highest frame rate and starts streaming.
    #[cfg(feature = "camera")]
    pub fn open(index: u32) -> Result<Self, CameraError> {
        use nokhwa::pixel_format::LumaFormat;
        use nokhwa::utils::{CameraIndex, RequestedFormat, RequestedFormatType};
        let open = || -> Result<nokhwa::Camera, String> {
            let requested =
                RequestedFormat::new::<LumaFormat>(RequestedFormatType::AbsoluteHighestFrameRate);
            let mut camera = nokhwa::Camera::new(CameraIndex::Index(index), requested)
                .map_err(|e| e.to_string())?;
            camera.open_stream().map_err(|e| e.to_string())?;
            Ok(camera)
        };
        // Capture backends are C code behind bindings; contain anything unexpected.
        match std::panic::catch_unwind(open) {
            Ok(Ok(camera)) => Ok(DesktopCamera {
                camera,
                luma: Vec::new(),
            }),
            Ok(Err(reason)) => Err(CameraError::Open { index, reason }),
            Err(_) => Err(CameraError::Open {
                index,
                reason: "the capture backend crashed".to_owned(),
            }),
        }
    }

    /// Without the `camera` feature there is no camera.
    #[cfg(not(feature = "camera"))]
    pub fn open(_index: u32) -> Result<Self, CameraError> {
        Err(CameraError::NotBuilt)
    }

    /// Captures one frame and lends it to `f` as a luma [`Frame`].
    pub fn with_frame<T>(&mut self, f: impl FnOnce(&Frame<'_>) -> T) -> Result<T, CameraError> {
        let (w, h) = self.capture()?;
        let frame = Frame::luma(&self.luma, w, h, w, Rotation::R0)?;
        Ok(f(&frame))
    }

    #[cfg(feature = "camera")]
    fn capture(&mut self) -> Result<(usize, usize), CameraError> {
        use nokhwa::pixel_format::LumaFormat;
        let buffer = self
            .camera
            .frame()
            .map_err(|e| CameraError::Capture(e.to_string()))?;
        let res = buffer.resolution();
        let (w, h) = (res.width() as usize, res.height() as usize);
        self.luma.resize(w * h, 0);
        buffer
            .decode_image_to_buffer::<LumaFormat>(&mut self.luma)
            .map_err(|e| CameraError::Capture(e.to_string()))?;
        Ok((w, h))
    }

    #[cfg(not(feature = "camera"))]
    fn capture(&mut self) -> Result<(usize, usize), CameraError> {
        self.luma.clear();
        Err(CameraError::NotBuilt)
    }
}
