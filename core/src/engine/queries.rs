//! Reading: the jobs, their legal next actions and closure choices, the outbox and its counts,
//! the quarantine, the sync status and the event stream. Nothing here writes; every read is
//! answered from the database (or the live sync status), so a screen shows what is committed.

use tokio::sync::broadcast;

use super::{Engine, Error, Event, JobView, QuarantinedMessage, scan, view};
use crate::codes::Catalogue;
use crate::lifecycle::{ClosureChoice, NextAction};
use crate::outbox::{self, OutboxCounts, OutboxError, OutboxItem};
use crate::store::{self, StoredJob};
use crate::sync::SyncStatus;

impl Engine {
    pub fn catalogue(&self) -> &Catalogue {
        &self.shared.catalogue
    }

    pub fn jobs(&self) -> Result<Vec<JobView>, Error> {
        let jobs = self.shared.with_store(|s| store::list_jobs(s.conn()))?;
        Ok(jobs
            .into_iter()
            .map(|j| JobView::new(j, &self.shared.catalogue))
            .collect())
    }

    pub fn job(&self, job_ref: &str) -> Result<JobView, Error> {
        let job = self
            .shared
            .with_store(|s| store::load_job(s.conn(), job_ref))?
            .ok_or_else(|| Error::UnknownJob {
                job_ref: job_ref.to_owned(),
            })?;
        Ok(JobView::new(job, &self.shared.catalogue))
    }

    /// The engineer's legal next actions on a job, for the shell's buttons.
    pub fn next_actions(&self, job_ref: &str) -> Result<Vec<NextAction>, Error> {
        Ok(self
            .stored_job(job_ref)?
            .job
            .next_actions(&self.shared.catalogue))
    }

    /// The closure codes usable on a job now, with their secondary codes, for the pickers.
    pub fn closure_choices(&self, job_ref: &str) -> Result<Vec<ClosureChoice>, Error> {
        Ok(self
            .stored_job(job_ref)?
            .job
            .closure_choices(&self.shared.catalogue))
    }

    /// The outbox's open items counted now, from the database. The sync status counts them
    /// only when the sync loop runs (not after each offline action), so a screen that shows
    /// how much waits reads this instead.
    pub fn outbox_counts(&self) -> Result<OutboxCounts, Error> {
        Ok(self.shared.with_store(|s| outbox::open_counts(s.conn()))?)
    }

    fn stored_job(&self, job_ref: &str) -> Result<StoredJob, Error> {
        self.shared
            .with_store(|s| store::load_job(s.conn(), job_ref))?
            .ok_or_else(|| Error::UnknownJob {
                job_ref: job_ref.to_owned(),
            })
    }

    /// Another live (not cancelled) job on this device that already has this ONT, if any: a
    /// scan or manual entry checks it before the FSAN is sent, since CityFibre would refuse the
    /// device as a duplicate (status 7).
    pub fn job_holding_ont(
        &self,
        fsan: &str,
        except_job_ref: &str,
    ) -> Result<Option<String>, Error> {
        Ok(scan::holder_of_ont(&self.shared, fsan, except_job_ref)?)
    }

    /// The outbox, or one job's part of it, in creation order.
    pub fn outbox(&self, job_ref: Option<&str>) -> Result<Vec<OutboxItem>, Error> {
        let items = self
            .shared
            .with_store(|s| outbox::list(s.conn(), job_ref))?;
        Ok(self.shared.with_live_states(items))
    }

    /// The exact bytes an outbox item sends.
    pub fn outbox_body(&self, seq: i64) -> Result<Vec<u8>, Error> {
        self.shared
            .with_store(|s| outbox::body(s.conn(), seq))?
            .ok_or(Error::Outbox(OutboxError::UnknownItem { seq }))
    }

    /// Inbox messages that could not be read, with their reasons.
    pub fn quarantine(&self) -> Result<Vec<QuarantinedMessage>, Error> {
        Ok(self.shared.with_store(|s| view::quarantine(s.conn()))?)
    }

    pub fn status(&self) -> SyncStatus {
        self.shared.status.borrow().clone()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.shared.subscribe()
    }
}
