//! The board's own reads, SQLite. Every SQL statement the board adds to `HubStore` is here
//! and nowhere else, so a second store backend (PostgreSQL) gives each function below a twin
//! with the same signature and the board does not change. (The job list itself is
//! `HubStore::board`, `cityfibre.rs`; parked items are the core's outbox list.)

use jobpack_core::protocol::Timestamp;
use rusqlite::Connection;

use crate::HubError;

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
pub fn devices(conn: &Connection) -> Result<Vec<DeviceRow>, HubError> {
    let mut stmt = conn.prepare(
        "SELECT device_id, engineer_id, role, issued_at, revoked_at FROM devices
         ORDER BY issued_at, device_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<i64>>(4)?,
        ))
    })?;
    let mut devices = Vec::new();
    for row in rows {
        let (device_id, engineer_id, role, issued_at, revoked_at) = row?;
        devices.push(DeviceRow {
            device_id,
            engineer_id,
            role,
            issued_at: millis(issued_at)?,
            revoked_at: revoked_at.map(millis).transpose()?,
        });
    }
    Ok(devices)
}

/// Every engineer, by id.
pub fn engineers(conn: &Connection) -> Result<Vec<EngineerRow>, HubError> {
    let mut stmt = conn.prepare("SELECT engineer_id, name FROM engineers ORDER BY engineer_id")?;
    let rows = stmt.query_map([], |r| {
        Ok(EngineerRow {
            engineer_id: r.get(0)?,
            name: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
