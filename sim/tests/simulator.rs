//! The simulator seen from a client: real TLS connections with reqwest, as the core's
//! transport will make them.

use std::time::Duration;

use jobpack_core::protocol::{
    Acknowledgement, InboundMessage, parse_acknowledgement, parse_inbound_value,
};
use jobpack_sim::{
    ClientIdentity, FaultConfig, FaultKind, Pki, ProvisioningScript, SimConfig, Simulator, Stats,
    sample_job_pack,
};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn start(config: SimConfig) -> Result<Simulator, Box<dyn std::error::Error>> {
    let pki = Pki::generate(&config.engineers)?;
    Ok(Simulator::start(config, pki).await?)
}

fn two_engineers() -> SimConfig {
    SimConfig {
        engineers: vec!["E001".into(), "E002".into()],
        ..SimConfig::default()
    }
}

fn client_with(
    sim: &Simulator,
    identity: Option<&ClientIdentity>,
    timeout: Duration,
) -> reqwest::Result<reqwest::Client> {
    let ca = reqwest::Certificate::from_pem(sim.pki().ca_cert_pem.as_bytes())?;
    let mut builder = reqwest::Client::builder()
        .add_root_certificate(ca)
        .timeout(timeout);
    if let Some(identity) = identity {
        builder = builder.identity(reqwest::Identity::from_pem(
            identity.identity_pem().as_bytes(),
        )?);
    }
    builder.build()
}

fn client(sim: &Simulator, engineer: &str) -> reqwest::Result<reqwest::Client> {
    client_with(
        sim,
        sim.pki().clients.get(engineer),
        Duration::from_secs(10),
    )
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    path: &str,
    body: &Value,
    key: Option<&str>,
) -> reqwest::Result<reqwest::Response> {
    let mut request = client
        .post(format!("{url}{path}"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await
}

async fn json_of(response: reqwest::Response) -> Result<Value, Box<dyn std::error::Error>> {
    Ok(serde_json::from_slice(&response.bytes().await?)?)
}

fn notify(id: u64, job: &str, kind: &str, at: &str) -> Value {
    let mut params = json!({
        "jobHeader": {"ref": job, "providerJobId": format!("P-{job}")},
        "notificationType": kind,
        "eventTime": at,
    });
    let location = json!({"latitude": 53.79, "longitude": -1.55, "accuracy": 8.0});
    let payload = match kind {
        "engineerAssigned" => (
            "engineerDetails",
            json!({"engineerId": "E001", "name": "Sam Splicer", "phone": "+44 7700 900123"}),
        ),
        "ontScanned" => (
            "ont",
            json!({"fsan": "ALCLB443689D", "serialNumber": "YP2244017834"}),
        ),
        _ => ("location", location),
    };
    params[payload.0] = payload.1;
    json!({"id": id, "jsonrpc": "2.0", "method": "notifyJob", "params": params})
}

fn close(id: u64, job: &str, code: &str, at: &str) -> Value {
    json!({"id": id, "jsonrpc": "2.0", "method": "closeJob", "params": {
        "jobHeader": {"ref": job, "providerJobId": format!("P-{job}")},
        "closureCode": code,
        "description": "Closed by the test",
        "closedAt": at,
        "questions_answers": []
    }})
}

async fn pull(
    client: &reqwest::Client,
    url: &str,
    cursor: Option<&str>,
    limit: Option<u32>,
) -> Result<Value, Box<dyn std::error::Error>> {
    let mut params = json!({"cursor": cursor});
    if let Some(limit) = limit {
        params["limit"] = json!(limit);
    }
    let body = json!({"id": 9, "jsonrpc": "2.0", "method": "pull", "params": params});
    let response = post(client, url, "/pull", &body, None).await?;
    assert_eq!(response.status(), 200);
    json_of(response).await
}

fn statuses_in(page: &Value) -> Vec<u8> {
    page["result"]["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| parse_inbound_value(m.clone()).ok())
        .filter_map(|e| match e.message {
            InboundMessage::Provisioning(p) => Some(p.ont_provisioning.status_id),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn mutual_tls_admits_our_engineers_and_refuses_the_others() -> TestResult {
    let sim = start(SimConfig::default()).await?;
    let url = &sim.urls()[0];
    let stats_request = json!({"jsonrpc": "2.0", "id": 1, "method": "stats"});

    let ours = client(&sim, "E001")?;
    let response = post(&ours, url, "/stats", &stats_request, None).await?;
    assert_eq!(response.status(), 200);
    let body: Value = json_of(response).await?;
    let stats: Stats = serde_json::from_value(body["result"].clone())?;
    assert_eq!(stats.requests, 0);

    let anonymous = client_with(&sim, None, Duration::from_secs(5))?;
    assert!(
        post(&anonymous, url, "/stats", &stats_request, None)
            .await
            .is_err()
    );

    let foreign = Pki::foreign_client("E001")?;
    let stranger = client_with(&sim, Some(&foreign), Duration::from_secs(5))?;
    assert!(
        post(&stranger, url, "/stats", &stats_request, None)
            .await
            .is_err()
    );

    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn messages_are_judged_by_the_model_and_the_catalogue() -> TestResult {
    let sim = start(SimConfig::default()).await?;
    let url = &sim.urls()[0];
    let c = client(&sim, "E001")?;

    let ok = post(
        &c,
        url,
        "/notifyJob",
        &notify(1, "S1", "enRoute", "2026-12-01T08:00:00Z"),
        Some("key-0001"),
    )
    .await?;
    assert_eq!(ok.status(), 200);
    let body: Value = json_of(ok).await?;
    assert_eq!(
        body,
        json!({"jsonrpc": "2.0", "id": 1, "result": {"accepted": true}})
    );

    let mut bad_fsan = notify(2, "S1", "ontScanned", "2026-12-01T09:00:00Z");
    bad_fsan["params"]["ont"]["fsan"] = json!("alclb443689d");
    let refused = post(&c, url, "/notifyJob", &bad_fsan, Some("key-0002")).await?;
    assert_eq!(refused.status(), 400);
    let body: Value = json_of(refused).await?;
    assert_eq!(body["id"], 2);
    assert_eq!(body["error"]["code"], -32602);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("fsan"))
    );

    let no_secondary = post(
        &c,
        url,
        "/closeJob",
        &close(3, "S1", "CON", "2026-12-01T10:00:00Z"),
        Some("key-0003"),
    )
    .await?;
    assert_eq!(no_secondary.status(), 400);
    let wrong_path = post(
        &c,
        url,
        "/notifyJob",
        &close(4, "S1", "SP", "2026-12-01T10:00:00Z"),
        Some("key-0004"),
    )
    .await?;
    assert_eq!(wrong_path.status(), 400);
    let not_json = c
        .post(format!("{url}/closeJob"))
        .body("{not json")
        .send()
        .await?;
    assert_eq!(not_json.status(), 400);
    let body: Value = json_of(not_json).await?;
    assert_eq!(body["id"], Value::Null);
    let nowhere = post(&c, url, "/deleteJob", &json!({}), None).await?;
    assert_eq!(nowhere.status(), 404);

    let closed = post(
        &c,
        url,
        "/closeJob",
        &close(5, "S1", "SP", "2026-12-01T10:00:00Z"),
        None,
    )
    .await?;
    assert_eq!(closed.status(), 200);

    let stats = sim.stats();
    assert_eq!(stats.requests, 6);
    assert_eq!(stats.quarantined.len(), 4, "{:?}", stats.quarantined);
    assert!(stats.quarantined[0].body.contains("alclb443689d"));
    assert!(stats.quarantined[1].reason.contains("CON"));
    let received = &stats.jobs["S1"];
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].notification_type.as_deref(), Some("enRoute"));
    assert_eq!(received[0].idempotency_key.as_deref(), Some("key-0001"));
    assert_eq!(received[1].method, "closeJob");
    assert_eq!(received[1].rpc_id, 5);
    assert!(stats.order_violations.is_empty());
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_resent_message_is_absorbed_and_answered_as_the_first_time() -> TestResult {
    let sim = start(SimConfig::default()).await?;
    let url = &sim.urls()[0];
    let c = client(&sim, "E001")?;
    let message = notify(7, "S2", "onSite", "2026-12-01T08:30:00+01:00");
    let first = post(&c, url, "/notifyJob", &message, Some("same-key-7"))
        .await?
        .text()
        .await?;
    let again = post(&c, url, "/notifyJob", &message, Some("same-key-7")).await?;
    assert_eq!(again.status(), 200);
    assert_eq!(again.text().await?, first);
    let stats = sim.stats();
    assert_eq!(stats.duplicates, 1);
    assert_eq!(stats.requests, 2);
    assert_eq!(stats.jobs["S2"].len(), 1);
    assert_eq!(stats.jobs["S2"][0].event_time, "2026-12-01T08:30:00+01:00");
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn messages_out_of_order_are_recorded_as_violations() -> TestResult {
    let sim = start(SimConfig::default()).await?;
    let url = &sim.urls()[0];
    let c = client(&sim, "E001")?;
    post(
        &c,
        url,
        "/notifyJob",
        &notify(1, "S3", "onSite", "2026-12-01T09:00:00Z"),
        Some("order-k-1"),
    )
    .await?;
    let late = post(
        &c,
        url,
        "/notifyJob",
        &notify(2, "S3", "enRoute", "2026-12-01T08:00:00Z"),
        Some("order-k-2"),
    )
    .await?;
    assert_eq!(late.status(), 200, "a violation is still accepted");
    post(
        &c,
        url,
        "/notifyJob",
        &notify(3, "S4", "enRoute", "2026-12-01T08:00:00Z"),
        Some("order-k-3"),
    )
    .await?;
    let stats = sim.stats();
    assert_eq!(
        stats.order_violations.len(),
        1,
        "{:?}",
        stats.order_violations
    );
    let violation = &stats.order_violations[0];
    assert_eq!(violation.job_ref, "S3");
    assert!(
        violation.detail.contains("enRoute arrived after onSite"),
        "{}",
        violation.detail
    );
    assert!(violation.detail.contains("earlier"), "{}", violation.detail);
    assert_eq!(stats.jobs["S3"].len(), 2);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn each_engineer_pulls_its_own_inbox_page_by_page() -> TestResult {
    let sim = start(two_engineers()).await?;
    let url = &sim.urls()[0];
    for job in ["S10", "S11", "S12"] {
        sim.create_job("E001", job, sample_job_pack(job)?)?;
    }
    sim.create_job("E002", "S20", sample_job_pack("S20")?)?;
    sim.cancel_job("S11", "Customer cancelled order")?;
    assert!(
        sim.create_job("E999", "S30", sample_job_pack("S30")?)
            .is_err()
    );
    assert!(sim.cancel_job("S404", "nobody").is_err());

    let first_engineer = client(&sim, "E001")?;
    let page = pull(&first_engineer, url, None, Some(3)).await?;
    let messages = page["result"]["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(messages.len(), 3);
    assert_eq!(page["result"]["more"], true);
    let cursor = page["result"]["nextCursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let rest = pull(&first_engineer, url, Some(&cursor), None).await?;
    let rest_messages = rest["result"]["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(rest_messages.len(), 1);
    assert_ne!(rest["result"]["more"], true);
    let mut ids = Vec::new();
    for envelope in messages.into_iter().chain(rest_messages) {
        let envelope = parse_inbound_value(envelope)?;
        ids.push(envelope.id.get());
        assert!(envelope.job_ref.as_str().starts_with("S1"));
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let last = rest["result"]["nextCursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let empty = pull(&first_engineer, url, Some(&last), None).await?;
    assert_eq!(empty["result"]["messages"], json!([]));

    let second_engineer = client(&sim, "E002")?;
    let theirs = pull(&second_engineer, url, None, None).await?;
    assert_eq!(
        theirs["result"]["messages"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(theirs["result"]["messages"][0]["ref"], "S20");

    let bad = json!({"id": 9, "jsonrpc": "2.0", "method": "pull", "params": {"cursor": "c-77"}});
    assert_eq!(
        post(&second_engineer, url, "/pull", &bad, None)
            .await?
            .status(),
        400
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn ont_scanned_is_answered_through_pull_and_status_4_is_followed_by_1() -> TestResult {
    let sim = start(SimConfig {
        provisioning: ProvisioningScript::always(4),
        retry_delay: Duration::from_millis(50),
        clock_skew_ms: 0,
        ..SimConfig::default()
    })
    .await?;
    let url = &sim.urls()[0];
    let c = client(&sim, "E001")?;
    let scanned = notify(1, "S5", "ontScanned", "2026-12-01T09:00:00Z");
    assert_eq!(
        post(&c, url, "/notifyJob", &scanned, Some("scan-key-1"))
            .await?
            .status(),
        200
    );
    // The resend is absorbed: no second provisioning notice.
    assert_eq!(
        post(&c, url, "/notifyJob", &scanned, Some("scan-key-1"))
            .await?
            .status(),
        200
    );

    let mut statuses = Vec::new();
    for _ in 0..200 {
        statuses = statuses_in(&pull(&c, url, None, None).await?);
        if statuses.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(statuses, vec![4, 1]);
    let page = pull(&c, url, None, None).await?;
    let notice = &page["result"]["messages"][0]["content"]["ontProvisioning"];
    assert_eq!(notice["fsan"], "ALCLB443689D");
    assert_eq!(notice["success"], false);
    assert_eq!(notice["details"], "Delay – Retrying in 5 minutes");
    let stats = sim.stats();
    assert_eq!(stats.provisioning_sent.get(&4), Some(&1));
    assert_eq!(stats.provisioning_sent.get(&1), Some(&1));
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn every_provisioning_status_can_be_sent() -> TestResult {
    let sim = start(SimConfig::default()).await?;
    let url = &sim.urls()[0];
    sim.create_job("E001", "S6", sample_job_pack("S6")?)?;
    for status in 1..=7 {
        sim.notify_provisioning("S6", status)?;
    }
    assert!(sim.notify_provisioning("S6", 0).is_err());
    let page = pull(&client(&sim, "E001")?, url, None, None).await?;
    assert_eq!(statuses_in(&page), vec![1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(sim.stats().provisioning_sent.len(), 7);
    sim.shutdown().await;
    Ok(())
}

async fn one_fault(
    kind: FaultKind,
) -> Result<(Simulator, reqwest::Client), Box<dyn std::error::Error>> {
    let sim = start(SimConfig {
        faults: FaultConfig {
            delay: Duration::from_secs(30),
            retry_after_secs: 7,
            ..FaultConfig::always(kind)
        },
        ..SimConfig::default()
    })
    .await?;
    // Short enough to give up on a late answer, long enough for a slow machine otherwise.
    let timeout = if kind == FaultKind::DelayPastTimeout {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(10)
    };
    let c = client_with(&sim, sim.pki().clients.get("E001"), timeout)?;
    Ok((sim, c))
}

fn received(sim: &Simulator, job: &str) -> usize {
    sim.stats().jobs.get(job).map_or(0, Vec::len)
}

#[tokio::test]
async fn a_connection_dropped_before_processing_loses_the_message() -> TestResult {
    let (sim, c) = one_fault(FaultKind::DropBeforeProcessing).await?;
    let url = &sim.urls()[0];
    let message = notify(1, "S7", "enRoute", "2026-12-01T08:00:00Z");
    let error = post(&c, url, "/notifyJob", &message, Some("drop-key-1"))
        .await
        .err();
    assert!(error.is_some_and(|e| !e.is_timeout() && !e.is_status()));
    assert_eq!(received(&sim, "S7"), 0);
    assert_eq!(
        sim.stats().faults_injected.get("drop_before_processing"),
        Some(&1)
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_connection_dropped_after_processing_keeps_it_and_the_resend_is_a_duplicate() -> TestResult
{
    let (sim, c) = one_fault(FaultKind::DropAfterProcessing).await?;
    let url = &sim.urls()[0];
    let message = notify(1, "S8", "enRoute", "2026-12-01T08:00:00Z");
    assert!(
        post(&c, url, "/notifyJob", &message, Some("drop-key-2"))
            .await
            .is_err()
    );
    assert_eq!(received(&sim, "S8"), 1);
    sim.set_faults(FaultConfig::default());
    let resent = post(&c, url, "/notifyJob", &message, Some("drop-key-2")).await?;
    assert_eq!(resent.status(), 200);
    let stats = sim.stats();
    assert_eq!(stats.duplicates, 1);
    assert_eq!(stats.jobs["S8"].len(), 1);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_late_answer_times_the_client_out_but_the_message_is_processed() -> TestResult {
    let (sim, c) = one_fault(FaultKind::DelayPastTimeout).await?;
    let url = &sim.urls()[0];
    let message = notify(1, "S9", "enRoute", "2026-12-01T08:00:00Z");
    let error = post(&c, url, "/notifyJob", &message, Some("late-key-1"))
        .await
        .err();
    assert!(error.is_some_and(|e| e.is_timeout()));
    // The server holds its answer, not the message: it was recorded before the wait.
    let mut recorded = received(&sim, "S9");
    for _ in 0..200 {
        if recorded > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        recorded = received(&sim, "S9");
    }
    assert_eq!(recorded, 1);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_not_processed() -> TestResult {
    let (sim, c) = one_fault(FaultKind::ServerError).await?;
    let url = &sim.urls()[0];
    let message = notify(1, "S10", "enRoute", "2026-12-01T08:00:00Z");
    let response = post(&c, url, "/notifyJob", &message, Some("five-key-1")).await?;
    assert_eq!(response.status(), 500);
    assert_eq!(received(&sim, "S10"), 0);

    sim.set_faults(FaultConfig {
        retry_after_secs: 7,
        ..FaultConfig::always(FaultKind::TooManyRequests)
    });
    let response = post(&c, url, "/notifyJob", &message, Some("five-key-1")).await?;
    assert_eq!(response.status(), 429);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("7")
    );
    assert_eq!(received(&sim, "S10"), 0);
    let stats = sim.stats();
    assert_eq!(stats.faults_injected.get("server_error"), Some(&1));
    assert_eq!(stats.faults_injected.get("too_many_requests"), Some(&1));
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_garbage_answer_is_not_json_but_the_message_is_processed() -> TestResult {
    let (sim, c) = one_fault(FaultKind::Garbage).await?;
    let url = &sim.urls()[0];
    let message = close(1, "S11", "SP", "2026-12-01T12:00:00Z");
    let response = post(&c, url, "/closeJob", &message, Some("junk-key-1")).await?;
    assert_eq!(response.status(), 200);
    let body = response.bytes().await?;
    assert!(parse_acknowledgement(&body).is_err());
    assert_eq!(received(&sim, "S11"), 1);
    sim.shutdown().await;
    Ok(())
}

/// What a client sees, reduced to a word, so two runs can be compared.
async fn outcome(c: &reqwest::Client, url: &str, n: u64) -> String {
    let message = notify(n, &format!("R{n}"), "enRoute", "2026-12-01T08:00:00Z");
    let key = format!("replay-key-{n}");
    match post(c, url, "/notifyJob", &message, Some(&key)).await {
        Err(e) if e.is_timeout() => "timeout".into(),
        Err(_) => "connection".into(),
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.bytes().await.unwrap_or_default();
            match parse_acknowledgement(&body) {
                Ok(Acknowledgement::Accepted { .. }) => format!("{status} accepted"),
                Ok(Acknowledgement::Refused { .. }) => format!("{status} refused"),
                Err(_) => format!("{status} unreadable"),
            }
        }
    }
}

#[tokio::test]
async fn the_same_seed_replays_the_same_faults() -> TestResult {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sim = start(SimConfig {
            // The late answer is left out: telling it from a slow machine needs a clock.
            faults: FaultConfig {
                rate: 0.6,
                seed: 42,
                kinds: FaultKind::ALL
                    .into_iter()
                    .filter(|k| *k != FaultKind::DelayPastTimeout)
                    .collect(),
                ..FaultConfig::default()
            },
            ..SimConfig::default()
        })
        .await?;
        let c = client_with(&sim, sim.pki().clients.get("E001"), Duration::from_secs(10))?;
        let url = sim.urls()[0].clone();
        let mut outcomes = Vec::new();
        for n in 1..=16 {
            outcomes.push(outcome(&c, &url, n).await);
        }
        let stats = sim.stats();
        runs.push((outcomes, stats.faults_injected, stats.jobs.len()));
        sim.shutdown().await;
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].1.values().sum::<u64>() > 0, "{:?}", runs[0]);
    Ok(())
}

#[tokio::test]
async fn chosen_payloads_are_rejected_for_good() -> TestResult {
    let sim = start(SimConfig {
        faults: FaultConfig {
            reject_closure_codes: vec!["HAZ".into()],
            reject_job_refs: vec!["S13".into()],
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    })
    .await?;
    let url = &sim.urls()[0];
    let c = client(&sim, "E001")?;
    let hazard = post(
        &c,
        url,
        "/closeJob",
        &close(1, "S12", "HAZ", "2026-12-01T12:00:00Z"),
        Some("haz-key-1"),
    )
    .await?;
    assert_eq!(hazard.status(), 422);
    let body = hazard.bytes().await?;
    match parse_acknowledgement(&body)? {
        Acknowledgement::Refused { id, error } => {
            assert_eq!(id, Some(1));
            assert!(
                error.message.contains("reject_closure_codes"),
                "{}",
                error.message
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let job = post(
        &c,
        url,
        "/notifyJob",
        &notify(2, "S13", "enRoute", "2026-12-01T08:00:00Z"),
        Some("job-key-2"),
    )
    .await?;
    assert_eq!(job.status(), 422);
    let fine = post(
        &c,
        url,
        "/closeJob",
        &close(3, "S12", "SP", "2026-12-01T12:00:00Z"),
        Some("sp-key-3"),
    )
    .await?;
    assert_eq!(fine.status(), 200);
    let stats = sim.stats();
    assert_eq!(stats.quarantined.len(), 2);
    assert_eq!(stats.faults_injected.get("permanent_rejection"), Some(&2));
    assert_eq!(stats.jobs.get("S12").map(Vec::len), Some(1));
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_gateway_that_is_down_cuts_connections_and_the_other_serves() -> TestResult {
    let sim = start(SimConfig {
        listen: vec!["127.0.0.1:0".parse()?, "127.0.0.1:0".parse()?],
        ..SimConfig::default()
    })
    .await?;
    let urls = sim.urls();
    assert_eq!(urls.len(), 2);
    let c = client(&sim, "E001")?;
    let message = notify(1, "S14", "enRoute", "2026-12-01T08:00:00Z");
    assert_eq!(
        post(&c, &urls[0], "/notifyJob", &message, Some("gw-key-1"))
            .await?
            .status(),
        200
    );
    sim.set_gateway_down(0, true);
    sim.set_gateway_down(9, true);
    assert!(
        post(&c, &urls[0], "/notifyJob", &message, Some("gw-key-1"))
            .await
            .is_err()
    );
    assert_eq!(
        post(&c, &urls[1], "/notifyJob", &message, Some("gw-key-1"))
            .await?
            .status(),
        200
    );
    sim.set_gateway_down(0, false);
    assert_eq!(
        post(&c, &urls[0], "/notifyJob", &message, Some("gw-key-1"))
            .await?
            .status(),
        200
    );
    assert_eq!(sim.stats().duplicates, 2);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn qa_scripts_drive_the_inbox_and_read_stats_over_http() -> TestResult {
    let sim = start(two_engineers()).await?;
    let url = &sim.urls()[0];
    let c = client(&sim, "E002")?;
    let admin = |method: &str, params: Value| json!({"jsonrpc": "2.0", "id": 5, "method": method, "params": params});
    let created = post(
        &c,
        url,
        "/admin",
        &admin("createJob", json!({"engineer": "E002", "ref": "S15"})),
        None,
    )
    .await?;
    assert_eq!(created.status(), 200);
    let provisioned = post(
        &c,
        url,
        "/admin",
        &admin("provision", json!({"ref": "S15", "status": 6})),
        None,
    )
    .await?;
    assert_eq!(provisioned.status(), 200);
    let cancelled = post(
        &c,
        url,
        "/admin",
        &admin(
            "cancelJob",
            json!({"ref": "S15", "reason": "Duplicate order"}),
        ),
        None,
    )
    .await?;
    assert_eq!(cancelled.status(), 200);
    let unknown = post(
        &c,
        url,
        "/admin",
        &admin("cancelJob", json!({"ref": "S404", "reason": "x"})),
        None,
    )
    .await?;
    assert_eq!(unknown.status(), 400);
    let nonsense = post(&c, url, "/admin", &admin("explode", json!({})), None).await?;
    assert_eq!(nonsense.status(), 400);

    let page = pull(&c, url, None, None).await?;
    let methods: Vec<_> = page["result"]["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["method"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(methods, ["createJob", "notifyJob", "cancelJob"]);

    let stats = post(
        &c,
        url,
        "/stats",
        &json!({"jsonrpc": "2.0", "id": 3, "method": "stats"}),
        None,
    )
    .await?;
    let body: Value = json_of(stats).await?;
    assert_eq!(body["id"], 3);
    let stats: Stats = serde_json::from_value(body["result"].clone())?;
    assert_eq!(stats.provisioning_sent.get(&6), Some(&1));
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn qa_scripts_switch_faults_and_gateways_over_http() -> TestResult {
    let sim = start(SimConfig {
        listen: vec!["127.0.0.1:0".parse()?, "127.0.0.1:0".parse()?],
        ..SimConfig::default()
    })
    .await?;
    let urls = sim.urls();
    let c = client(&sim, "E001")?;
    let admin = |method: &str, params: Value| json!({"jsonrpc": "2.0", "id": 8, "method": method, "params": params});
    let message = notify(1, "S16", "enRoute", "2026-12-01T08:00:00Z");

    let set = admin("setFaults", json!({"rate": 1.0, "kinds": ["server_error"]}));
    assert_eq!(
        post(&c, &urls[0], "/admin", &set, None).await?.status(),
        200
    );
    let faulted = post(&c, &urls[0], "/notifyJob", &message, Some("qa-key-16")).await?;
    assert_eq!(faulted.status(), 500);
    let unknown_kind = admin("setFaults", json!({"kinds": ["meteor_strike"]}));
    assert_eq!(
        post(&c, &urls[0], "/admin", &unknown_kind, None)
            .await?
            .status(),
        400
    );
    let clear = admin("setFaults", json!({}));
    assert_eq!(
        post(&c, &urls[0], "/admin", &clear, None).await?.status(),
        200
    );
    let accepted = post(&c, &urls[0], "/notifyJob", &message, Some("qa-key-16")).await?;
    assert_eq!(accepted.status(), 200);

    let down = admin("gatewayDown", json!({"index": 0, "down": true}));
    assert_eq!(
        post(&c, &urls[0], "/admin", &down, None).await?.status(),
        200
    );
    let mut refused = false;
    for _ in 0..100 {
        if post(&c, &urls[0], "/notifyJob", &message, Some("qa-key-16"))
            .await
            .is_err()
        {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "gateway 0 still answers");
    let up = admin("gatewayDown", json!({"index": 0, "down": false}));
    assert_eq!(post(&c, &urls[1], "/admin", &up, None).await?.status(), 200);
    let mut back = false;
    for _ in 0..100 {
        if post(&c, &urls[0], "/notifyJob", &message, Some("qa-key-16"))
            .await
            .is_ok()
        {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(back, "gateway 0 did not come back");
    let missing = admin("gatewayDown", json!({"index": 5, "down": true}));
    assert_eq!(
        post(&c, &urls[1], "/admin", &missing, None).await?.status(),
        400
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn start_refuses_what_it_cannot_serve() -> TestResult {
    let pki = Pki::generate(&["E001".to_owned()])?;
    let stranger = SimConfig {
        engineers: vec!["E001".into(), "E002".into()],
        ..SimConfig::default()
    };
    assert!(matches!(
        Simulator::start(stranger, pki.clone()).await,
        Err(jobpack_sim::SimError::UnknownEngineer(e)) if e == "E002"
    ));
    let nowhere = SimConfig {
        listen: Vec::new(),
        ..SimConfig::default()
    };
    assert!(Simulator::start(nowhere, pki.clone()).await.is_err());

    let first = Simulator::start(SimConfig::default(), pki.clone()).await?;
    let taken = first.urls()[0]
        .trim_start_matches("https://")
        .parse::<std::net::SocketAddr>()?;
    let clash = SimConfig {
        listen: vec![taken],
        ..SimConfig::default()
    };
    assert!(matches!(
        Simulator::start(clash, pki).await,
        Err(jobpack_sim::SimError::Bind { .. })
    ));
    first.shutdown().await;
    Ok(())
}
