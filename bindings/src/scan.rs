//! ONT label scanning: camera frames in, progress out, and manual entry for damaged labels.
//!
//! A [`ScanSession`] belongs to one job: the shell feeds it every analysed camera frame
//! (Android's Y plane, iOS's luma plane or BGRA buffer, as they come, with their row stride and
//! rotation) and shows the progress it returns; the core decides when a reading is confirmed
//! (several agreeing frames) and whether the ONT already sits on another job here. Feeding is
//! synchronous: the camera analyser already runs off the UI thread, and a frame is decoded
//! before the next one is taken. The engine's session ([`JobScan`]) makes every decision and
//! publishes each result to subscribers as `Event::ScanProgress`; this module converts.
//!
//! A confirmed identity is not sent by the session: the engineer sees it, then the shell calls
//! `Jobpack::confirm_ont`, exactly as after a manual entry.

use std::sync::Arc;

use jobpack_core::engine::JobScan;
use jobpack_core::qr::{
    self, Frame, OntIdentity as CoreIdentity, Rotation, ScanProgress as CoreProgress,
};

use crate::Jobpack;
use crate::errors::Result;
pub use jobpack_core::qr::PixelFormat;

/// How the frame's pixels are laid out.
#[uniffi::remote(Enum)]
pub enum PixelFormat {
    /// One byte per pixel: the Y plane of YUV_420_888 / a biplanar buffer.
    Luma8,
    Rgba8,
    /// iOS `kCVPixelFormatType_32BGRA`.
    Bgra8,
}

/// One camera frame, as the platform hands it over.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CameraFrame {
    pub data: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// Bytes from one row to the next (at least `width` × bytes per pixel).
    pub row_stride: u32,
    pub format: PixelFormat,
    /// Clockwise rotation that brings the image upright: 0, 90, 180 or 270.
    #[uniffi(default = 0)]
    pub rotation_degrees: u32,
}

/// An ONT as read from its label.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OntIdentity {
    /// Canonical 12-character form (`ALCLB443689D`).
    pub fsan: String,
    pub serial_number: Option<String>,
    /// `AA:BB:CC:DD:EE:FF`.
    pub mac: Option<String>,
    /// Display name (`Nokia`, `Calix`, or the vendor code).
    pub vendor: String,
    /// Whether the vendor is one CityFibre deploys.
    pub known_vendor: bool,
    /// Things to show that do not stop the scan (an unknown vendor, two MACs...).
    pub warnings: Vec<String>,
    /// When the label holds several values that could be the manufacturer's serial and does
    /// not say which: `serial_number` is null and the engineer picks one of these
    /// (`ScanSession::choose_serial`). Empty otherwise.
    pub serial_candidates: Vec<String>,
}

impl From<CoreIdentity> for OntIdentity {
    fn from(i: CoreIdentity) -> Self {
        OntIdentity {
            fsan: i.fsan.to_string(),
            serial_number: i.serial,
            mac: i.mac,
            vendor: i.vendor.name().to_owned(),
            known_vendor: i.vendor.is_known(),
            warnings: i.warnings.iter().map(ToString::to_string).collect(),
            serial_candidates: i.serial_candidates,
        }
    }
}

/// What one frame contributed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ScanProgress {
    /// No readable QR code in this frame.
    Nothing,
    /// A QR code that is not a usable ONT label.
    NotOntLabel { raw: String, reason: String },
    /// A valid reading seen in `count` frames; hold steady.
    SeenOnce { identity: OntIdentity, count: u32 },
    /// Enough agreeing frames: show it and let the engineer confirm.
    Confirmed { identity: OntIdentity },
    /// Confirmed, but already on another job on this device: do not send it.
    Duplicate {
        identity: OntIdentity,
        other_job: String,
    },
    /// Enough agreeing frames, but the label does not say which of `candidates` is the
    /// manufacturer's serial: ask the engineer, then call `ScanSession::choose_serial`.
    ChooseSerial {
        identity: OntIdentity,
        candidates: Vec<String>,
    },
}

impl From<CoreProgress> for ScanProgress {
    fn from(p: CoreProgress) -> Self {
        match p {
            CoreProgress::Nothing => Self::Nothing,
            CoreProgress::NotOntLabel { raw, error } => Self::NotOntLabel {
                raw,
                reason: error.to_string(),
            },
            CoreProgress::SeenOnce { identity, count } => Self::SeenOnce {
                identity: identity.into(),
                count,
            },
            CoreProgress::Confirmed(identity) => Self::Confirmed {
                identity: identity.into(),
            },
            CoreProgress::Duplicate {
                identity,
                other_job,
            } => Self::Duplicate {
                identity: identity.into(),
                other_job,
            },
            CoreProgress::ChooseSerial(identity) => Self::ChooseSerial {
                candidates: identity.serial_candidates.clone(),
                identity: identity.into(),
            },
        }
    }
}

/// A scanning session for one job's ONT label: the engine's [`JobScan`], which decides
/// confirmation and duplicates and publishes every result as `Event::ScanProgress`.
#[derive(uniffi::Object)]
pub struct ScanSession {
    scan: JobScan,
}

#[uniffi::export]
impl ScanSession {
    /// Decodes one frame. Fails only for a frame whose geometry does not match its buffer
    /// (a shell bug); an unreadable frame is `Nothing`.
    pub fn feed(&self, frame: CameraFrame) -> Result<ScanProgress> {
        let rotation = Rotation::from_degrees(frame.rotation_degrees)?;
        let format = frame.format;
        let view = Frame::new(
            &frame.data,
            frame.width as usize,
            frame.height as usize,
            frame.row_stride as usize,
            format,
            rotation,
        )?;
        Ok(self.scan.feed(&view).into())
    }

    /// The engineer's pick after `ChooseSerial`: one of its candidates. Returns `Confirmed`
    /// (or `Duplicate`) with that serial; anything else is `InvalidInput` and the session
    /// keeps waiting for a pick.
    pub fn choose_serial(&self, serial: String) -> Result<ScanProgress> {
        Ok(self.scan.choose_serial(&serial)?.into())
    }

    /// Starts over (after the engineer dismissed a duplicate, or to scan another label).
    pub fn reset(&self) {
        self.scan.reset();
    }
}

#[uniffi::export]
impl Jobpack {
    /// A scanning session for `job_ref`'s ONT.
    pub fn scan_session(&self, job_ref: String) -> Arc<ScanSession> {
        Arc::new(ScanSession {
            scan: self.engine.scan_session(&job_ref),
        })
    }

    /// Checks one typed value at once, so the field can be flagged while typing.
    pub fn check_ont_entry(&self, value: String) -> Result<OntIdentity> {
        Ok(qr::parse_ont_payload(&value)?.into())
    }

    /// Manual entry for a damaged label: the value typed twice must parse, agree, and not be
    /// on another job here.
    pub fn enter_ont_manually(
        &self,
        job_ref: String,
        first: String,
        second: String,
    ) -> Result<OntIdentity> {
        Ok(self
            .engine
            .manual_ont_entry(&job_ref)
            .confirm(&first, &second)?
            .into())
    }
}
