//! Scanning a job's ONT label through the engine: sessions whose duplicate check is the
//! engine's own and whose every result is an [`Event::ScanProgress`] for subscribers.
//!
//! The decisions (when a reading is confirmed, whether the ONT already sits on another job
//! here) are made here and in `qr`; the bindings only convert frames and results.

use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::lifecycle::JobState;
use crate::qr::{
    self, ChooseSerialError, DuplicateCheck, Frame, ManualEntry, ScanProgress, SessionConfig,
};
use crate::store;

use crate::state::{Event, Shared};

use super::Engine;

/// A scan session for one job's ONT label.
pub struct JobScan {
    job_ref: String,
    session: Mutex<qr::ScanSession>,
    shared: Weak<Shared>,
}

impl std::fmt::Debug for JobScan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobScan")
            .field("job_ref", &self.job_ref)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// A scanning session for `job_ref`'s ONT.
    pub fn scan_session(&self, job_ref: &str) -> JobScan {
        JobScan {
            job_ref: job_ref.to_owned(),
            session: Mutex::new(qr::ScanSession::new(
                SessionConfig::default(),
                duplicate_check(&self.shared, job_ref),
            )),
            shared: Arc::downgrade(&self.shared),
        }
    }

    /// Manual entry of `job_ref`'s ONT (a damaged label), with the same duplicate check.
    pub fn manual_ont_entry(&self, job_ref: &str) -> ManualEntry {
        ManualEntry::new(duplicate_check(&self.shared, job_ref))
    }
}

impl JobScan {
    pub fn job_ref(&self) -> &str {
        &self.job_ref
    }

    /// Decodes one frame and publishes the result.
    pub fn feed(&self, frame: &Frame<'_>) -> ScanProgress {
        let progress = self.lock().feed(frame);
        self.publish(&progress);
        progress
    }

    /// The engineer's pick after `ChooseSerial`; the result is published too.
    pub fn choose_serial(&self, serial: &str) -> Result<ScanProgress, ChooseSerialError> {
        let progress = self.lock().choose_serial(serial)?;
        self.publish(&progress);
        Ok(progress)
    }

    /// Starts over (after a dismissed duplicate, or for another label).
    pub fn reset(&self) {
        self.lock().reset();
    }

    fn lock(&self) -> MutexGuard<'_, qr::ScanSession> {
        // A panic inside the decoder is contained by the scanner; a poisoned lock only means a
        // frame was lost, and the session's state is still a valid one.
        self.session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn publish(&self, progress: &ScanProgress) {
        if let Some(shared) = self.shared.upgrade() {
            shared.emit(Event::ScanProgress {
                job_ref: self.job_ref.clone(),
                progress: progress.clone(),
            });
        }
    }
}

/// The duplicate rule: another job on this device (not cancelled) already holds the FSAN. A
/// storage failure counts as "no duplicate": CityFibre's duplicate-device status is the backstop.
fn duplicate_check(shared: &Arc<Shared>, job_ref: &str) -> DuplicateCheck {
    let shared = Arc::downgrade(shared);
    let job_ref = job_ref.to_owned();
    Box::new(move |fsan| {
        let shared = shared.upgrade()?;
        holder_of_ont(&shared, fsan.as_str(), &job_ref)
            .ok()
            .flatten()
    })
}

/// The job other than `except_job_ref` (and not cancelled) whose ONT is `fsan`.
pub(super) fn holder_of_ont(
    shared: &Shared,
    fsan: &str,
    except_job_ref: &str,
) -> Result<Option<String>, store::StoreError> {
    let jobs = shared.with_store(|s| store::list_jobs(s.conn()))?;
    Ok(jobs.into_iter().find_map(|stored| {
        let job = stored.job;
        let holds = job
            .ont
            .as_ref()
            .is_some_and(|ont| ont.fsan.as_str() == fsan);
        let job_ref = job.header.job_ref.as_str();
        (holds && job_ref != except_job_ref && job.state != JobState::Cancelled)
            .then(|| job_ref.to_owned())
    }))
}
