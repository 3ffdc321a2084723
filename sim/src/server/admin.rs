//! QA's methods: `stats` (what the ledger holds) and `admin` (faults, gateways down, clock
//! skew, jobs and provisioning queued by hand), documented in `docs/SIMULATOR.md`.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use serde_json::{Value, json};

use super::responses::{json_response, rpc_error};
use super::{INVALID_PARAMS, METHOD_NOT_FOUND, Shared};
use crate::FaultConfig;
use crate::faults::{FaultKind, FaultPlan};
use crate::inbox::sample_job_pack;

pub(super) fn handle_stats(shared: &Shared, body: &[u8]) -> Response<Full<Bytes>> {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    if request.get("method").and_then(Value::as_str) != Some("stats") {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            id,
            METHOD_NOT_FOUND,
            r#"POST {"jsonrpc":"2.0","id":1,"method":"stats"} to /stats"#.into(),
        );
    }
    let stats = shared.lock().ledger.stats();
    json_response(
        200,
        json!({"jsonrpc": "2.0", "id": id, "result": stats}).to_string(),
    )
}

pub(super) fn handle_admin(shared: &Arc<Shared>, body: &[u8]) -> Response<Full<Bytes>> {
    let request: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                INVALID_PARAMS,
                format!("not JSON: {e}"),
            );
        }
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let params = request.get("params").cloned().unwrap_or(Value::Null);
    let text = |name: &str| params.get(name).and_then(Value::as_str);
    let missing = |name: &str| format!("params.{name} is required");
    let outcome: Result<(), String> = match request.get("method").and_then(Value::as_str) {
        Some("createJob") => (|| {
            let engineer = text("engineer").ok_or_else(|| missing("engineer"))?;
            let job_ref = text("ref").ok_or_else(|| missing("ref"))?;
            let pack = match params.get("pack") {
                Some(pack) => serde_json::from_value(pack.clone())
                    .map_err(|e| format!("params.pack is not a job pack: {e}"))?,
                None => sample_job_pack(job_ref).map_err(|e| e.to_string())?,
            };
            let mut state = shared.lock();
            state
                .inbox
                .create_job(engineer, job_ref, pack)
                .map_err(|e| e.to_string())
        })(),
        Some("cancelJob") => (|| {
            let job_ref = text("ref").ok_or_else(|| missing("ref"))?;
            let reason = text("reason").ok_or_else(|| missing("reason"))?;
            let mut state = shared.lock();
            state
                .inbox
                .cancel_job(job_ref, reason)
                .map_err(|e| e.to_string())
        })(),
        Some("provision") => (|| {
            let job_ref = text("ref").ok_or_else(|| missing("ref"))?;
            let status = params
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u8::try_from(s).ok())
                .ok_or_else(|| "params.status must be 1-7".to_owned())?;
            let mut state = shared.lock();
            state
                .inbox
                .provisioning(job_ref, status)
                .map_err(|e| e.to_string())?;
            state.ledger.count_provisioning(status);
            Ok(())
        })(),
        Some("setFaults") => faults_from_params(&params).map(|faults| {
            shared.lock().faults = FaultPlan::new(faults);
        }),
        Some("gatewayDown") => (|| {
            let index = params
                .get("index")
                .and_then(Value::as_u64)
                .and_then(|i| usize::try_from(i).ok())
                .filter(|i| *i < shared.gateways_down.len())
                .ok_or_else(|| {
                    format!(
                        "params.index must be a gateway index below {}",
                        shared.gateways_down.len()
                    )
                })?;
            let down = params
                .get("down")
                .and_then(Value::as_bool)
                .ok_or_else(|| "params.down must be true or false".to_owned())?;
            set_gateway_after_answer(shared, index, down);
            Ok(())
        })(),
        other => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                id,
                METHOD_NOT_FOUND,
                format!(
                    "unknown admin method {other:?} (createJob, cancelJob, provision, setFaults, gatewayDown)"
                ),
            );
        }
    };
    match outcome {
        Ok(()) => json_response(
            200,
            json!({"jsonrpc": "2.0", "id": id, "result": {"queued": true}}).to_string(),
        ),
        Err(reason) => rpc_error(StatusCode::BAD_REQUEST, id, INVALID_PARAMS, reason),
    }
}

/// A fault configuration from admin params; every field is optional and defaults as in
/// [`FaultConfig::default`].
pub(super) fn faults_from_params(params: &Value) -> Result<FaultConfig, String> {
    let mut faults = FaultConfig::default();
    if let Some(rate) = params.get("rate") {
        faults.rate = rate
            .as_f64()
            .filter(|r| (0.0..=1.0).contains(r))
            .ok_or_else(|| "params.rate must be a number between 0 and 1".to_owned())?;
    }
    if let Some(seed) = params.get("seed") {
        faults.seed = seed
            .as_u64()
            .ok_or_else(|| "params.seed must be a non-negative integer".to_owned())?;
    }
    if let Some(kinds) = params.get("kinds") {
        faults.kinds = string_list(kinds, "kinds")?
            .iter()
            .map(|name| {
                FaultKind::from_name(name).ok_or_else(|| format!("unknown fault kind {name:?}"))
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(delay) = params.get("delay_ms") {
        faults.delay = Duration::from_millis(
            delay
                .as_u64()
                .ok_or_else(|| "params.delay_ms must be milliseconds".to_owned())?,
        );
    }
    if let Some(secs) = params.get("retry_after_secs") {
        faults.retry_after_secs = secs
            .as_u64()
            .ok_or_else(|| "params.retry_after_secs must be seconds".to_owned())?;
    }
    if let Some(codes) = params.get("reject_closure_codes") {
        faults.reject_closure_codes = string_list(codes, "reject_closure_codes")?;
    }
    if let Some(refs) = params.get("reject_job_refs") {
        faults.reject_job_refs = string_list(refs, "reject_job_refs")?;
    }
    Ok(faults)
}

pub(super) fn string_list(value: &Value, name: &str) -> Result<Vec<String>, String> {
    value
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect()
        })
        .ok_or_else(|| format!("params.{name} must be a list of strings"))
}

/// Taking a gateway down cuts its open connections, which would include the one asking, so
/// the switch waits a moment for the answer to be written.
pub(super) fn set_gateway_after_answer(shared: &Arc<Shared>, index: usize, down: bool) {
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(flag) = shared.gateways_down.get(index) {
            flag.send_replace(down);
        }
    });
}
