//! What the simulator sends back satisfies the OpenAPI contract, judged by the same JSON
//! Schema validator as the core's own payloads: a client written against the contract can
//! rely on the simulator's answers.

use jobpack_core::protocol::MessageKind;
use jobpack_sim::{Pki, ProvisioningScript, SimConfig, Simulator, sample_job_pack};
use jobpack_spec::Spec;
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn post(
    client: &reqwest::Client,
    url: &str,
    body: Value,
) -> Result<(u16, Value), Box<dyn std::error::Error>> {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("Idempotency-Key", format!("contract-{}", body["id"]))
        .body(body.to_string())
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, serde_json::from_slice(&response.bytes().await?)?))
}

fn assert_valid(spec: &Spec, schema: &str, value: &Value) -> TestResult {
    let violations = spec.validate(schema, value)?;
    assert!(violations.is_empty(), "{schema}: {violations:?}\n{value:#}");
    Ok(())
}

#[tokio::test]
async fn answers_and_envelopes_follow_the_contract() -> TestResult {
    let spec = Spec::load()?;
    let config = SimConfig {
        provisioning: ProvisioningScript::always(4),
        ..SimConfig::default()
    };
    let sim = Simulator::start(config.clone(), Pki::generate(&config.engineers)?).await?;
    let url = sim.urls()[0].clone();
    let identity = &sim.pki().clients["E001"];
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(
            sim.pki().ca_cert_pem.as_bytes(),
        )?)
        .identity(reqwest::Identity::from_pem(
            identity.identity_pem().as_bytes(),
        )?)
        .build()?;

    sim.create_job("E001", "S114677", sample_job_pack("S114677")?)?;
    let scanned = json!({"id": 1, "jsonrpc": "2.0", "method": "notifyJob", "params": {
        "jobHeader": {"ref": "S114677", "providerJobId": "P-1"},
        "notificationType": "ontScanned",
        "eventTime": "2026-12-01T09:00:00+00:00",
        "ont": {"fsan": "ALCLB443689D", "serialNumber": "YP2244017834"}
    }});
    assert_valid(&spec, "NotifyOntScannedRequest", &scanned)?;
    let (status, ack) = post(&client, &format!("{url}/notifyJob"), scanned).await?;
    assert_eq!(status, 200);
    assert_valid(&spec, "Acknowledgement", &ack)?;

    let refused = json!({"id": 2, "jsonrpc": "2.0", "method": "closeJob", "params": {}});
    let (status, error) = post(&client, &format!("{url}/closeJob"), refused).await?;
    assert_eq!(status, 400);
    assert_valid(&spec, "JsonRpcErrorResponse", &error)?;

    sim.cancel_job("S114677", "Customer cancelled order")?;
    let pull = json!({"id": 3, "jsonrpc": "2.0", "method": "pull", "params": {"cursor": null}});
    assert_valid(&spec, "PullRequest", &pull)?;
    let (status, page) = post(&client, &format!("{url}/pull"), pull).await?;
    assert_eq!(status, 200);
    assert_valid(&spec, "PullResponse", &page)?;
    let messages = page["result"]["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(messages.len() >= 3, "{messages:?}");
    for envelope in &messages {
        let kind = MessageKind::classify(envelope).ok_or("unrecognised envelope")?;
        assert_valid(&spec, kind.schema_name(), envelope)?;
    }
    sim.shutdown().await;
    Ok(())
}
