//! The board's own reads. Every SQL statement the board adds to `HubStore` is here and
//! nowhere else, written against the storage seam (`crate::sql::Tx`) in the subset SQLite and
//! PostgreSQL both speak, so the board reads either backend. (The job list itself is
//! `HubStore::board`, `cityfibre.rs`; parked items are the outbox list.)

use jobpack_core::protocol::Timestamp;

use crate::HubError;
use crate::sql::Tx;

/// A device certificate as the board lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRow {
    pub device_id: String,
    /// `None` for a back-office certificate.
    pub engineer_id: Option<String>,
    /// `device` or `office`.
    pub role: String,
    pub issued_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// An engineer the hub can assign jobs to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineerRow {
    pub engineer_id: String,
    pub name: String,
}

fn millis(value: i64) -> Result<Timestamp, HubError> {
    Timestamp::from_unix_millis(value).ok_or_else(|| HubError::Invalid {
        field: "timestamp",
        reason: format!("{value} ms is out of range"),
    })
}

/// Every device, issue order (revoked ones included, marked).
pub fn devices(tx: &dyn Tx) -> Result<Vec<DeviceRow>, HubError> {
    let rows = tx.query(
        "SELECT device_id, engineer_id, role, issued_at, revoked_at FROM devices
         ORDER BY issued_at, device_id",
        &[],
    )?;
    rows.iter()
        .map(|r| {
            Ok(DeviceRow {
                device_id: r.get(0)?,
                engineer_id: r.get(1)?,
                role: r.get(2)?,
                issued_at: millis(r.get(3)?)?,
                revoked_at: r.get::<Option<i64>>(4)?.map(millis).transpose()?,
            })
        })
        .collect()
}

/// Every engineer, by id.
pub fn engineers(tx: &dyn Tx) -> Result<Vec<EngineerRow>, HubError> {
    let rows = tx.query(
        "SELECT engineer_id, name FROM engineers ORDER BY engineer_id",
        &[],
    )?;
    rows.iter()
        .map(|r| {
            Ok(EngineerRow {
                engineer_id: r.get(0)?,
                name: r.get(1)?,
            })
        })
        .collect()
}
