//! `notifyJob` and `closeJob`: one fault drawn per request before anything else, then the
//! message judged, deduplicated and recorded under the state's lock, and the answer spoiled
//! afterwards when the fault says so. ONT scans get their provisioning answer here (queued for
//! the engineer's `pull`, or sent to the partner hub when the simulator calls the partner).

use std::sync::{Arc, PoisonError};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Response, StatusCode};
use jobpack_core::protocol::{JobEvent, OutboundCall, parse_outbound};
use serde_json::json;

use super::responses::{
    Answer, ConnectionDropped, json_response, request_id, rpc_error_body, text_response,
};
use super::{INVALID_PARAMS, REJECTED, Shared, State};
use crate::PartnerCaller;
use crate::faults::{FaultKind, PERMANENT_REJECTION};
use crate::inbox::Ont;
use crate::ledger::RememberedAnswer;

pub(super) async fn handle_message(
    shared: &Arc<Shared>,
    engineer: Option<&str>,
    method: &'static str,
    key: Option<Result<String, String>>,
    body: &[u8],
) -> Answer {
    let (fault, delay, retry_after) = {
        let mut state = shared.lock();
        state.ledger.count_request();
        let fault = state.faults.draw();
        if let Some(kind) = fault {
            state.ledger.count_fault(kind.name());
        }
        let config = state.faults.config();
        (fault, config.delay, config.retry_after_secs)
    };
    match fault {
        Some(FaultKind::DropBeforeProcessing) => return Err(ConnectionDropped),
        Some(FaultKind::ServerError) => {
            return Ok(text_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal server error (injected by the simulator)".into(),
            ));
        }
        Some(FaultKind::TooManyRequests) => {
            let mut response = text_response(
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests (injected by the simulator)".into(),
            );
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after));
            return Ok(response);
        }
        _ => {}
    }
    let answer = process_message(shared, engineer, method, key, body);
    match fault {
        Some(FaultKind::DropAfterProcessing) => Err(ConnectionDropped),
        Some(FaultKind::DelayPastTimeout) => {
            tokio::time::sleep(delay).await;
            Ok(json_response(answer.status, answer.body))
        }
        Some(FaultKind::Garbage) => {
            let mut response = Response::new(Full::new(Bytes::from_static(GARBAGE)));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
            Ok(response)
        }
        _ => Ok(json_response(answer.status, answer.body)),
    }
}

/// What a misconfigured proxy in front of CityFibre answers with.
pub(super) const GARBAGE: &[u8] = b"<html><head><title>Gateway</title></head><body><h1>Request received</h1><p>The upstream answer could not be shown.</p></body></html>";

/// Judges, deduplicates and records one message; the whole step happens under the lock.
pub(super) fn process_message(
    shared: &Arc<Shared>,
    engineer: Option<&str>,
    method: &'static str,
    key: Option<Result<String, String>>,
    body: &[u8],
) -> RememberedAnswer {
    let mut state = shared.lock();
    let key = match key {
        Some(Ok(key)) => Some(key),
        Some(Err(reason)) => return refuse(&mut state, body, reason),
        None => None,
    };
    if let Some(first) = state.ledger.duplicate_of(key.as_deref()) {
        return first;
    }
    let request = match parse_outbound(body) {
        Ok(request) => request,
        Err(e) => return refuse(&mut state, body, e.to_string()),
    };
    if request.call.method() != method {
        let reason = format!("{} posted to /{method}", request.call.method());
        return refuse(&mut state, body, reason);
    }
    if let Err(e) = shared.catalogue.check_request(&request) {
        return refuse(&mut state, body, e.to_string());
    }
    let job_ref = request.call.job_header().job_ref.as_str().to_owned();
    let closure_code = match &request.call {
        OutboundCall::CloseJob(close) => Some(close.closure_code.as_str()),
        OutboundCall::NotifyJob(_) => None,
    };
    if let Some(rule) = state.faults.config().rejection(&job_ref, closure_code) {
        state.ledger.count_fault(PERMANENT_REJECTION);
        state.ledger.quarantine(rule.clone(), body);
        return RememberedAnswer {
            status: StatusCode::UNPROCESSABLE_ENTITY.as_u16(),
            body: rpc_error_body(json!(request.id.get()), REJECTED, rule),
        };
    }

    let answer = RememberedAnswer {
        status: StatusCode::OK.as_u16(),
        body: json!({"jsonrpc": "2.0", "id": request.id.get(), "result": {"accepted": true}})
            .to_string(),
    };
    if let Some(engineer) = engineer {
        state.inbox.adopt(&job_ref, engineer);
    }
    state
        .ledger
        .record(&request, key.as_deref(), answer.clone());

    if let OutboundCall::NotifyJob(notify) = &request.call
        && let JobEvent::OntScanned(ont) = &notify.event
    {
        state.inbox.remember_ont(
            &job_ref,
            Ont {
                fsan: ont.fsan.clone(),
                serial_number: ont.serial_number.clone(),
            },
        );
        let status = state.provisioning.draw();
        let partner = shared
            .partner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .filter(|_| engineer.is_none());
        if let Some(caller) = partner {
            state.ledger.count_provisioning(status);
            if status == 4 {
                state.ledger.count_provisioning(1);
            }
            let ont = (ont.fsan.clone(), ont.serial_number.clone());
            provision_partner(shared, caller, job_ref, status, ont);
        } else if state.inbox.provisioning(&job_ref, status).is_ok() {
            state.ledger.count_provisioning(status);
            if status == 4 {
                follow_up_with_success(shared, job_ref);
            }
        }
    }
    answer
}

/// Sends a provisioning result to the partner, as CityFibre does; after a status 4 the
/// follow-up status 1 comes `retry_delay` later, in the same task so they stay in order. A
/// call the partner never answers is given up after the caller's retries (CityFibre's side
/// of that is its own order desk).
pub(super) fn provision_partner(
    shared: &Arc<Shared>,
    caller: Arc<PartnerCaller>,
    job_ref: String,
    status: u8,
    ont: (String, String),
) {
    let retry_delay = shared.retry_delay;
    let mut shutdown = shared.shutdown.clone();
    tokio::spawn(async move {
        let calls = async {
            let _ = caller
                .provision_ont(&job_ref, status, Some(ont.clone()))
                .await;
            if status == 4 {
                tokio::time::sleep(retry_delay).await;
                let _ = caller.provision_ont(&job_ref, 1, Some(ont)).await;
            }
        };
        tokio::select! {
            _ = calls => {}
            _ = shutdown.changed() => {}
        }
    });
}

/// Status 4 says "retrying in 5 minutes"; the simulator retries after `retry_delay` and succeeds.
pub(super) fn follow_up_with_success(shared: &Arc<Shared>, job_ref: String) {
    let shared = Arc::clone(shared);
    let mut shutdown = shared.shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(shared.retry_delay) => {
                let mut state = shared.lock();
                if state.inbox.provisioning(&job_ref, 1).is_ok() {
                    state.ledger.count_provisioning(1);
                }
            }
            _ = shutdown.changed() => {}
        }
    });
}

pub(super) fn refuse(state: &mut State, body: &[u8], reason: String) -> RememberedAnswer {
    state.ledger.quarantine(reason.clone(), body);
    RememberedAnswer {
        status: StatusCode::BAD_REQUEST.as_u16(),
        body: rpc_error_body(request_id(body), INVALID_PARAMS, reason),
    }
}
