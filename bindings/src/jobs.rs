//! Jobs and the engineer's actions on them.
//!
//! Records mirror the core's views field for field (`JobView`, `ActionReceipt`), flattened
//! where the core's serde shapes would leak (`extra` maps of unknown fields stay in Rust).
//! Each action is one durable commit in the core and returns its receipt: the job's new
//! state, the warnings to show now, and the outbox item it queued. None waits for the
//! network; delivery follows in the background.
//!
//! Answers, photos and closing are the question-based closure's, in `closure.rs`: a closeJob is
//! only ever assembled by the core from what the engineer recorded.

use std::time::SystemTime;

use jobpack_core::codes::{Attendance as CoreAttendance, ClosureRule};
use jobpack_core::engine::{ActionReceipt as CoreReceipt, JobView as CoreJobView};
use jobpack_core::protocol::{self, Location as CoreLocation, OntDevice};

use crate::Jobpack;
use crate::errors::{JobpackError, Result};
use crate::time::{action_time, instant};
pub use jobpack_core::codes::Attendance;
pub use jobpack_core::lifecycle::JobState;
pub use jobpack_core::lifecycle::Warning;

/// Where a job is in its visit.
#[uniffi::remote(Enum)]
pub enum JobState {
    /// CityFibre's job pack is here; nobody has accepted it.
    Received,
    Assigned,
    EnRoute,
    OnSite,
    /// The ONT was sent; waiting for CityFibre's provisioning result.
    OntScanned,
    Provisioned {
        status: u8,
    },
    /// Status 4: CityFibre retries in 5 minutes.
    ProvisioningRetrying {
        status: u8,
    },
    /// Status 3, 5, 6 or 7: a rescan (5, 6, 7) or the order desk (3).
    ProvisioningFailed {
        status: u8,
    },
    Closed,
    Cancelled,
}

/// Something the engineer must see now (property flags at the moment they matter).
#[uniffi::remote(Enum)]
pub enum Warning {
    PropertyFlag {
        code: String,
        description: String,
    },
    UnknownPropertyFlag {
        code: String,
    },
    /// The phone's clock was set back: the action kept the job's previous time.
    ClockSetBack {
        set_back_ms: i64,
    },
}

/// The ONT sent for a job.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Ont {
    pub fsan: String,
    pub serial_number: String,
}

#[uniffi::remote(Enum)]
pub enum Attendance {
    Attended,
    NoAccess,
    NotAttended,
}

/// How a job was closed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Closure {
    pub code: String,
    pub secondary_code: Option<String>,
    pub description: String,
    pub attendance: Attendance,
    pub requires_provisioned_ont: bool,
    /// The code is outside the tables and went as CityFibre's "Other reason".
    pub other_reason: bool,
}

impl From<ClosureRule> for Closure {
    fn from(r: ClosureRule) -> Self {
        Closure {
            code: r.code,
            secondary_code: r.secondary,
            description: r.description,
            attendance: match r.attendance {
                CoreAttendance::Attended => Attendance::Attended,
                CoreAttendance::NoAccess => Attendance::NoAccess,
                CoreAttendance::NotAttended => Attendance::NotAttended,
            },
            requires_provisioned_ont: r.requires_provisioned_ont,
            other_reason: r.other_reason,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Appointment {
    /// `YYYY-MM-DD`, the local day of the visit.
    pub date: String,
    pub slot: Option<String>,
    pub window_start: Option<SystemTime>,
    pub window_end: Option<SystemTime>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Customer {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Address {
    pub uprn: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub town: String,
    pub postcode: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// CityFibre's job pack, as the job screen shows it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct JobPack {
    pub service_order_id: String,
    pub product: Option<String>,
    pub order_type: Option<String>,
    pub isp_name: Option<String>,
    pub appointment: Appointment,
    pub customer: Customer,
    pub address: Address,
    pub property_flags: Vec<String>,
    pub notes: Option<String>,
}

impl From<protocol::JobPack> for JobPack {
    fn from(p: protocol::JobPack) -> Self {
        JobPack {
            service_order_id: p.service_order.service_order_id,
            product: p.service_order.product,
            order_type: p.service_order.order_type,
            isp_name: p.service_order.isp_name,
            appointment: Appointment {
                date: p.appointment.date.to_string(),
                slot: p.appointment.slot,
                window_start: p.appointment.window_start.map(instant),
                window_end: p.appointment.window_end.map(instant),
            },
            customer: Customer {
                name: p.customer.name,
                phone: p.customer.phone,
                email: p.customer.email,
            },
            address: Address {
                uprn: p.address.uprn,
                line1: p.address.line1,
                line2: p.address.line2,
                town: p.address.town,
                postcode: p.address.postcode,
                latitude: p.address.latitude,
                longitude: p.address.longitude,
            },
            property_flags: p.property_flags,
            notes: p.notes,
        }
    }
}

/// A job with what the engineer must know about it now. (`JobView`, as in the core, and not
/// `Job`: generated Kotlin imports `kotlinx.coroutines.Job`.)
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct JobView {
    pub job_ref: String,
    pub provider_job_id: String,
    pub state: JobState,
    pub warnings: Vec<Warning>,
    pub ont: Option<Ont>,
    pub closure: Option<Closure>,
    pub cancel_reason: Option<String>,
    pub received_at: SystemTime,
    pub updated_at: SystemTime,
    pub pack: JobPack,
}

impl From<CoreJobView> for JobView {
    fn from(v: CoreJobView) -> Self {
        JobView {
            job_ref: v.job_ref,
            provider_job_id: v.provider_job_id,
            state: v.state,
            warnings: v.warnings,
            ont: v.ont.map(|o| Ont {
                fsan: o.fsan,
                serial_number: o.serial_number,
            }),
            closure: v.closure.map(Closure::from),
            cancel_reason: v.cancel_reason,
            received_at: instant(v.received_at),
            updated_at: instant(v.updated_at),
            pack: v.pack.into(),
        }
    }
}

/// What an action did: committed locally, and queued for delivery if it made a message.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ActionReceipt {
    pub job_ref: String,
    pub state: JobState,
    /// Shown to the engineer now (DAN before travelling, CHP/SUR/... on arrival).
    pub warnings: Vec<Warning>,
    pub outbox_seq: Option<i64>,
    pub idempotency_key: Option<String>,
    pub rpc_id: Option<u64>,
}

impl From<CoreReceipt> for ActionReceipt {
    fn from(r: CoreReceipt) -> Self {
        ActionReceipt {
            job_ref: r.job_ref,
            state: r.state,
            warnings: r.warnings,
            outbox_seq: r.outbox_seq,
            idempotency_key: r.idempotency_key,
            rpc_id: r.rpc_id,
        }
    }
}

/// A position from the phone's location services.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    /// Horizontal accuracy in metres.
    pub accuracy: f64,
}

impl TryFrom<Location> for CoreLocation {
    type Error = JobpackError;
    fn try_from(l: Location) -> Result<Self> {
        Ok(CoreLocation::new(l.latitude, l.longitude, l.accuracy)?)
    }
}

#[uniffi::export]
impl Jobpack {
    /// Every job on the device.
    pub async fn jobs(&self) -> Result<Vec<JobView>> {
        let jobs = self.blocking(|e| e.jobs()).await?;
        Ok(jobs.into_iter().map(JobView::from).collect())
    }

    /// One job with its current warnings.
    pub async fn job(&self, job_ref: String) -> Result<JobView> {
        Ok(self
            .blocking_for(job_ref, |e, job| e.job(job))
            .await?
            .into())
    }

    /// The engineer accepts the job; CityFibre is told who is coming.
    pub async fn accept(&self, job_ref: String) -> Result<ActionReceipt> {
        self.act(job_ref, |e, job| e.accept(job)).await
    }

    /// En route, with where the engineer set off from. `at`: RFC 3339, `None` = now.
    pub async fn start_travel(
        &self,
        job_ref: String,
        location: Location,
        at: Option<String>,
    ) -> Result<ActionReceipt> {
        let (location, at) = (location.try_into()?, action_time(at)?);
        self.act(job_ref, move |e, job| e.start_travel(job, location, at))
            .await
    }

    /// On site, with where the engineer is.
    pub async fn arrive(
        &self,
        job_ref: String,
        location: Location,
        at: Option<String>,
    ) -> Result<ActionReceipt> {
        let (location, at) = (location.try_into()?, action_time(at)?);
        self.act(job_ref, move |e, job| e.arrive(job, location, at))
            .await
    }

    /// Sends the ONT confirmed by a scan session or manual entry.
    pub async fn confirm_ont(
        &self,
        job_ref: String,
        fsan: String,
        serial_number: String,
        at: Option<String>,
    ) -> Result<ActionReceipt> {
        let ont = OntDevice::new(fsan, serial_number)?;
        let at = action_time(at)?;
        self.act(job_ref, move |e, job| e.confirm_ont(job, ont, at))
            .await
    }
}

impl Jobpack {
    pub(crate) async fn act<F>(&self, job_ref: String, action: F) -> Result<ActionReceipt>
    where
        F: FnOnce(
                &jobpack_core::engine::Engine,
                &str,
            ) -> Result<CoreReceipt, jobpack_core::engine::Error>
            + Send
            + 'static,
    {
        self.blocking_for(job_ref, action)
            .await
            .map(ActionReceipt::from)
    }
}
