//! ONT label scanning: camera frames in, a confirmed ONT identity out.
//!
//! The pipeline is split by concern so each part can be tested on its own:
//! [`frame`] normalises whatever the platform hands us into a luma view,
//! [`decode`] finds and reads QR codes in it (rqrr as the decoder of record, with panics
//! contained), [`identity`] turns a payload into an FSAN/serial/MAC, and [`session`]
//! demands agreement across frames before anything is confirmed.

pub mod identity;

pub use identity::{
    Fsan, FsanError, IdentityError, IdentityWarning, OntIdentity, Vendor, normalise_mac,
    parse_ont_payload,
};
// Internal stages: not public API (the scanner and its types are re-exported below).
mod binarize;
mod decode;
mod finder;
pub mod frame;
mod payload;

pub use decode::{Decoded, QrError, ScanWork, Scanner, ScannerConfig};
pub use frame::{Frame, FrameError, LumaImage, PixelFormat, Rotation};
pub mod camera;
pub mod session;

pub use session::{
    ChooseSerialError, DuplicateCheck, ManualEntry, ManualEntryError, ScanProgress, ScanSession,
    SessionConfig,
};
