//! Dispatch: the back office gives a job to an engineer (or to another one).
//!
//! One transaction does everything an assignment means, so it is all or nothing:
//! * the job's engineer and state change;
//! * the engineer's inbox gets the createJob envelope (with our `providerJobId` in its
//!   `response` block, where the core reads it) and every provisioning notice already
//!   received for the job, in order;
//! * on a reassignment, the previous engineer's inbox gets a cancelJob ("reassigned"), so
//!   the job leaves that phone through the same door as CityFibre's cancels;
//! * the hub's outbox gets the seed's "notifyJob with Engineer Details" for CityFibre, which
//!   the forwarder delivers with the core's rules (`forward.rs`).

use crate::sql::{Tx, args, first, lock_job};
use jobpack_core::outbox::{ItemKind, NewItem};
use jobpack_core::protocol::{
    EngineerDetails, JobEvent, JobHeader, JobRef, NotifyJob, OutboundCall, OutboundRequest,
    ProviderJobId, RpcId, Timestamp,
};
use serde_json::{Value, json};

use crate::HubError;
use crate::cityfibre::relay;

/// Adds an engineer, or updates their details.
pub fn add_engineer(conn: &dyn Tx, details: &EngineerDetails) -> Result<(), HubError> {
    details.validate().map_err(|e| HubError::Invalid {
        field: "engineer",
        reason: e.to_string(),
    })?;
    if !(1..=64).contains(&details.engineer_id.len()) {
        return Err(HubError::Invalid {
            field: "engineerId",
            reason: "must be 1-64 characters".into(),
        });
    }
    conn.execute(
        "INSERT INTO engineers (engineer_id, name, phone, company) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (engineer_id) DO UPDATE
         SET name = excluded.name, phone = excluded.phone, company = excluded.company",
        args![
            &details.engineer_id,
            &details.name,
            &details.phone,
            details.company.as_deref()
        ],
    )?;
    Ok(())
}

fn engineer(conn: &dyn Tx, engineer_id: &str) -> Result<EngineerDetails, HubError> {
    let row = conn
        .query_opt(
            "SELECT engineer_id, name, phone, company FROM engineers WHERE engineer_id = ?1",
            args![engineer_id],
        )?
        .ok_or_else(|| HubError::UnknownEngineer(engineer_id.to_owned()))?;
    Ok(EngineerDetails {
        engineer_id: row.get(0)?,
        name: row.get(1)?,
        phone: row.get(2)?,
        company: row.get(3)?,
    })
}

/// What an assignment did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    pub job_ref: String,
    pub engineer_id: String,
    /// The engineer who had it before, on a reassignment.
    pub previous: Option<String>,
    /// False when the job already was this engineer's (nothing was done).
    pub changed: bool,
    /// The hub outbox item carrying the engineer details to CityFibre.
    pub outbox_seq: Option<i64>,
}

/// Assigns `job_ref` to `engineer_id`, in the caller's transaction.
pub fn assign(conn: &dyn Tx, job_ref: &str, engineer_id: &str) -> Result<Assignment, HubError> {
    lock_job(conn, job_ref)?;
    let details = engineer(conn, engineer_id)?;
    let row: Option<(String, String, Option<String>, Option<String>)> = conn
        .query_opt(
            "SELECT provider_job_id, state, engineer_id, pack FROM jobs WHERE job_ref = ?1",
            args![job_ref],
        )?
        .map(|r| Ok::<_, HubError>((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .transpose()?;
    let Some((provider_job_id, state, previous, pack)) = row else {
        return Err(HubError::UnknownJob(job_ref.to_owned()));
    };
    if state == "cancelled" {
        return Err(HubError::NotAssignable {
            job_ref: job_ref.to_owned(),
            state,
        });
    }
    if previous.as_deref() == Some(engineer_id) {
        return Ok(Assignment {
            job_ref: job_ref.to_owned(),
            engineer_id: engineer_id.to_owned(),
            previous,
            changed: false,
            outbox_seq: None,
        });
    }
    let now = Timestamp::now();
    if let Some(previous) = &previous {
        let content =
            json!({"reason": "reassigned to another engineer", "cancelledAt": now.to_rfc3339()});
        relay(
            conn,
            previous,
            job_ref,
            "cancelJob",
            &content,
            now,
            &json!({}),
        )?;
    }
    let pack: Value = pack
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| HubError::Invalid {
            field: "pack",
            reason: e.to_string(),
        })?
        .unwrap_or(Value::Null);
    let sent: i64 = first(
        conn,
        "SELECT sent_at FROM inbound WHERE job_ref = ?1 AND method = 'createJob' ORDER BY seq LIMIT 1",
        args![job_ref],
    )?
    .ok_or_else(|| HubError::Corrupt(format!("job {job_ref} has no createJob")))?;
    relay(
        conn,
        engineer_id,
        job_ref,
        "createJob",
        &pack,
        Timestamp::from_unix_millis(sent).unwrap_or(now),
        &json!({"providerJobId": provider_job_id}),
    )?;
    // Provisioning notices that arrived before this assignment, in the order received.
    let notices: Vec<(String, i64)> = conn
        .query(
            "SELECT body, sent_at FROM inbound
             WHERE job_ref = ?1 AND method = 'notifyJob' AND note IS NULL ORDER BY seq",
            args![job_ref],
        )?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect::<Result<_, HubError>>()?;
    for (body, sent) in notices {
        let content = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("content").cloned())
            .unwrap_or(Value::Null);
        relay(
            conn,
            engineer_id,
            job_ref,
            "notifyJob",
            &content,
            Timestamp::from_unix_millis(sent).unwrap_or(now),
            &json!({}),
        )?;
    }
    conn.execute(
        "UPDATE jobs SET engineer_id = ?2, state = 'assigned', updated_at = ?3 WHERE job_ref = ?1",
        args![job_ref, engineer_id, now.unix_millis()],
    )?;
    let invalid = |e: jobpack_core::protocol::ProtocolError| HubError::Invalid {
        field: "job",
        reason: e.to_string(),
    };
    let request = OutboundRequest {
        id: RpcId::new(fastrand::u64(1..=RpcId::MAX)).map_err(invalid)?,
        call: OutboundCall::NotifyJob(NotifyJob {
            job_header: JobHeader {
                job_ref: JobRef::new(job_ref).map_err(invalid)?,
                provider_job_id: ProviderJobId::new(provider_job_id).map_err(invalid)?,
            },
            event_time: now,
            event: JobEvent::EngineerAssigned(details),
        }),
    };
    let body = serde_json::to_vec(&request).map_err(|e| HubError::Invalid {
        field: "notifyJob",
        reason: e.to_string(),
    })?;
    let key = uuid::Uuid::new_v4().to_string();
    let seq = conn.enqueue(
        &NewItem {
            job_ref,
            kind: ItemKind::Rpc,
            method: "notifyJob",
            label: &format!("engineer assigned: {engineer_id}"),
            rpc_id: request.id.get(),
            idempotency_key: &key,
            body: &body,
            acted_at: now,
            depends_on: &[],
            time: None,
        },
        now,
    )?;
    Ok(Assignment {
        job_ref: job_ref.to_owned(),
        engineer_id: engineer_id.to_owned(),
        previous,
        changed: true,
        outbox_seq: Some(seq),
    })
}
