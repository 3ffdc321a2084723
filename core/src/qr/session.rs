//! The scanning session: from a stream of frames to one confirmed ONT identity.
//!
//! A single frame is not trusted. Motion blur, glare and a partly covered label produce
//! occasional misreads that still pass Reed-Solomon correction, and a wrong FSAN costs a
//! failed provisioning and a second visit. So an identity is confirmed only when the same
//! reading (FSAN, serial and MAC all equal) comes from at least
//! [`SessionConfig::frames_to_confirm`] frames within [`SessionConfig::window`]. Any
//! different reading in between starts the count again from that reading.
//!
//! Confirmation also asks the caller whether this FSAN already sits on another local job
//! (CityFibre answers such a device with status 7, "duplicate device"), so the engineer
//! learns about it on the spot rather than from a rejected provisioning.
//!
//! Manual entry for damaged labels goes through the same parser and the same duplicate
//! check, and demands the value twice: typing is the most common source of a wrong FSAN.

use std::fmt;
use std::time::{Duration, Instant};

use super::decode::{QrError, Scanner, ScannerConfig};
use super::frame::Frame;
use super::identity::{Fsan, IdentityError, OntIdentity, parse_ont_payload};

/// Returns the reference of another local job already holding this FSAN, if any.
pub type DuplicateCheck = Box<dyn Fn(&Fsan) -> Option<String> + Send>;

/// Tuning for [`ScanSession`].
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Agreeing frames needed to confirm (at least 2 makes sense; 1 disables the check).
    pub frames_to_confirm: usize,
    /// Agreeing frames must all fall within this window.
    pub window: Duration,
    pub scanner: ScannerConfig,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            frames_to_confirm: 2,
            window: Duration::from_secs(2),
            scanner: ScannerConfig::default(),
        }
    }
}

/// What one frame contributed, for the UI to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanProgress {
    /// No QR code readable in this frame.
    Nothing,
    /// A QR code was read but it is not a usable ONT label (e.g. no FSAN, two FSANs).
    NotOntLabel { raw: String, error: IdentityError },
    /// A valid reading, seen in `count` frames so far (saturating); not yet trusted.
    SeenOnce { identity: OntIdentity, count: u32 },
    /// The same reading came from enough frames: the identity can be used.
    Confirmed(OntIdentity),
    /// Confirmed, but the FSAN is already on another local job; do not send it.
    Duplicate {
        identity: OntIdentity,
        other_job: String,
    },
    /// The same reading came from enough frames, but the label holds several values that
    /// could be the manufacturer's serial and does not say which: the engineer picks one
    /// of `identity.serial_candidates` ([`ScanSession::choose_serial`]).
    ChooseSerial(OntIdentity),
}

impl fmt::Display for ScanProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanProgress::Nothing => f.write_str("no label in view"),
            ScanProgress::NotOntLabel { error, .. } => write!(f, "not an ONT label: {error}"),
            ScanProgress::SeenOnce { identity, count } => {
                write!(f, "read {} ({count} frame(s)); hold steady", identity.fsan)
            }
            ScanProgress::Confirmed(id) => write!(f, "confirmed {}", id.fsan),
            ScanProgress::ChooseSerial(id) => write!(
                f,
                "read {}; which is the serial number: {}?",
                id.fsan,
                id.serial_candidates.join(", ")
            ),
            ScanProgress::Duplicate {
                identity,
                other_job,
            } => {
                write!(f, "{} is already on job {other_job}", identity.fsan)
            }
        }
    }
}

/// A camera scanning session. Feed it frames until it reports a final outcome.
pub struct ScanSession {
    config: SessionConfig,
    scanner: Scanner,
    duplicate_check: DuplicateCheck,
    candidate: Option<Candidate>,
    outcome: Option<ScanProgress>,
    last_raw: Option<String>,
}

struct Candidate {
    identity: OntIdentity,
    /// Times of the agreeing frames, oldest first.
    seen: Vec<Instant>,
}

impl ScanSession {
    pub fn new(config: SessionConfig, duplicate_check: DuplicateCheck) -> Self {
        ScanSession {
            scanner: Scanner::new(config.scanner.clone()),
            config,
            duplicate_check,
            candidate: None,
            outcome: None,
            last_raw: None,
        }
    }

    /// Decodes a frame and reports progress.
    pub fn feed(&mut self, frame: &Frame<'_>) -> ScanProgress {
        self.feed_at(frame, Instant::now())
    }

    /// [`Self::feed`] with an explicit frame time (the camera timestamp, or tests).
    pub fn feed_at(&mut self, frame: &Frame<'_>, at: Instant) -> ScanProgress {
        if let Some(done) = &self.outcome {
            return done.clone();
        }
        // A label may carry other codes (Wi-Fi credentials, a product page): the scan
        // goes on past them to the ONT's, and reports them only when it finds no other.
        let is_ont: &dyn Fn(&str) -> bool = &|text| parse_ont_payload(text).is_ok();
        match self.scanner.scan_where(frame, is_ont) {
            Ok(found) => match found.into_iter().next() {
                Some(d) => self.feed_payload_at(&d.text, at),
                None => ScanProgress::Nothing,
            },
            // Frame errors, unreadable codes and contained decoder panics are all "no
            // reading from this frame"; the next frame is another chance.
            Err(QrError::NotFound | QrError::Unreadable(_) | QrError::DecoderPanic(_)) => {
                ScanProgress::Nothing
            }
            Err(QrError::Frame(_)) => ScanProgress::Nothing,
        }
    }

    /// Feeds an already decoded payload (from a platform decoder, or tests).
    pub fn feed_payload_at(&mut self, raw: &str, at: Instant) -> ScanProgress {
        if let Some(done) = &self.outcome {
            return done.clone();
        }
        self.last_raw = Some(raw.to_owned());
        let identity = match parse_ont_payload(raw) {
            Ok(id) => id,
            Err(error) => {
                return ScanProgress::NotOntLabel {
                    raw: raw.to_owned(),
                    error,
                };
            }
        };
        let window = self.config.window;
        let candidate = match &mut self.candidate {
            Some(c) if same_reading(&c.identity, &identity) => {
                c.seen
                    .retain(|&t| at.saturating_duration_since(t) <= window);
                c.seen.push(at);
                c
            }
            slot => slot.insert(Candidate {
                identity,
                seen: vec![at],
            }),
        };
        let count = candidate.seen.len();
        if count < self.config.frames_to_confirm.max(1) {
            return ScanProgress::SeenOnce {
                identity: candidate.identity.clone(),
                count: u32::try_from(count).unwrap_or(u32::MAX),
            };
        }
        let identity = candidate.identity.clone();
        // A duplicate FSAN is final whatever the serial: no point asking for a pick.
        let outcome = match (self.duplicate_check)(&identity.fsan) {
            Some(other_job) => ScanProgress::Duplicate {
                identity,
                other_job,
            },
            None if identity.needs_serial_choice() => ScanProgress::ChooseSerial(identity),
            None => ScanProgress::Confirmed(identity),
        };
        self.outcome = Some(outcome.clone());
        outcome
    }

    /// The engineer's pick after [`ScanProgress::ChooseSerial`]: `chosen` must be one of
    /// the label's candidates. The session is then confirmed with that serial.
    pub fn choose_serial(&mut self, chosen: &str) -> Result<ScanProgress, ChooseSerialError> {
        let Some(ScanProgress::ChooseSerial(identity)) = &self.outcome else {
            return Err(ChooseSerialError::NothingToChoose);
        };
        let identity = identity
            .clone()
            .with_serial(chosen)
            .map_err(ChooseSerialError::Refused)?;
        let outcome = match (self.duplicate_check)(&identity.fsan) {
            Some(other_job) => ScanProgress::Duplicate {
                identity,
                other_job,
            },
            None => ScanProgress::Confirmed(identity),
        };
        self.outcome = Some(outcome.clone());
        Ok(outcome)
    }

    /// The last decoded payload, exactly as read.
    pub fn last_raw(&self) -> Option<&str> {
        self.last_raw.as_deref()
    }

    /// Starts over (e.g. after the engineer dismissed a duplicate warning).
    pub fn reset(&mut self) {
        self.scanner.forget();
        self.candidate = None;
        self.outcome = None;
        self.last_raw = None;
    }
}

fn same_reading(a: &OntIdentity, b: &OntIdentity) -> bool {
    a.fsan == b.fsan
        && a.serial == b.serial
        && a.mac == b.mac
        && a.serial_candidates == b.serial_candidates
}

/// Why [`ScanSession::choose_serial`] refused a pick.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChooseSerialError {
    #[error("the session is not waiting for a serial number to be picked")]
    NothingToChoose,
    #[error(transparent)]
    Refused(IdentityError),
}

/// Why a manual entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManualEntryError {
    #[error("first entry: {0}")]
    First(IdentityError),
    #[error("second entry: {0}")]
    Second(IdentityError),
    #[error("the two entries differ ({first} vs {second}); type the value again")]
    Mismatch { first: String, second: String },
    #[error("the second entry was given before the first")]
    OutOfOrder,
    #[error("FSAN {fsan} is already on job {other_job}")]
    Duplicate { fsan: String, other_job: String },
}

/// Manual entry of an ONT identity for a damaged label: the value is typed twice, both
/// entries must parse and agree.
pub struct ManualEntry {
    duplicate_check: DuplicateCheck,
    first: Option<OntIdentity>,
}

impl ManualEntry {
    pub fn new(duplicate_check: DuplicateCheck) -> Self {
        ManualEntry {
            duplicate_check,
            first: None,
        }
    }

    /// Validates the first entry (so the UI can flag a malformed FSAN at once).
    pub fn enter_first(&mut self, value: &str) -> Result<&OntIdentity, ManualEntryError> {
        let id = parse_ont_payload(value).map_err(ManualEntryError::First)?;
        Ok(self.first.insert(id))
    }

    /// Validates the second entry against the first; on success the identity is confirmed.
    pub fn enter_second(&mut self, value: &str) -> Result<OntIdentity, ManualEntryError> {
        let first = self.first.take().ok_or(ManualEntryError::OutOfOrder)?;
        let second = parse_ont_payload(value).map_err(ManualEntryError::Second)?;
        if !same_reading(&first, &second) {
            return Err(ManualEntryError::Mismatch {
                first: first.fsan.to_string(),
                second: second.fsan.to_string(),
            });
        }
        if let Some(other_job) = (self.duplicate_check)(&second.fsan) {
            return Err(ManualEntryError::Duplicate {
                fsan: second.fsan.to_string(),
                other_job,
            });
        }
        Ok(second)
    }

    /// Both entries at once.
    pub fn confirm(&mut self, first: &str, second: &str) -> Result<OntIdentity, ManualEntryError> {
        self.enter_first(first)?;
        self.enter_second(second)
    }
}
