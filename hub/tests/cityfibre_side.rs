//! CityFibre's calls to the hub over mutual TLS: stored before answered, a stable
//! providerJobId, redeliveries and crossed messages, typed refusals kept for inspection.

mod common;

use std::time::Duration;

use common::World;
use jobpack_core::protocol::{
    InboundEnvelope, InboundMessage, JobRef, OntProvisioning, ProvisioningNotice, RpcId, Timestamp,
};
use jobpack_hub::HubError;
use jobpack_sim::{CallError, Pki, sample_job_pack};
use serde_json::{Map, Value, json};

fn refused(result: Result<Value, CallError>) -> (u16, Value) {
    match result {
        Err(CallError::Refused { status, body }) => (
            status,
            serde_json::from_str(&body).expect("the refusal is JSON"),
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn envelope(id: u64, job_ref: &str, sent: Timestamp, message: InboundMessage) -> InboundEnvelope {
    InboundEnvelope {
        id: RpcId::new(id).expect("id"),
        sent,
        job_ref: JobRef::new(job_ref).expect("ref"),
        message,
        response: json!({}),
        extra: Map::new(),
    }
}

on_both! {
async fn create_job_gets_a_stable_provider_job_id_and_is_never_applied_twice(kind) {
    let world = World::start(kind, 1).await;
    let spec = jobpack_spec::Spec::load().expect("contract");
    let pack = sample_job_pack("S100001").expect("pack");
    let first = world
        .cityfibre
        .create_job("S100001", pack.clone())
        .await
        .expect("createJob");
    assert_eq!(first["providerJobId"], "JP-000001");
    assert_eq!(first["ref"], "S100001");
    assert!(spec.is_valid("CreateJobAnswer", &first).expect("schema"));

    // The same envelope again (CityFibre lost our answer): the same answer, nothing new stored.
    let again = envelope(
        77,
        "S100002",
        Timestamp::now(),
        InboundMessage::CreateJob(Box::new(sample_job_pack("S100002").expect("pack"))),
    );
    let answer = world.cityfibre.send(&again).await.expect("createJob");
    let stored = world.hub.store().inbound_count().expect("count");
    assert_eq!(
        world.cityfibre.send(&again).await.expect("redelivery"),
        answer
    );
    assert_eq!(world.hub.store().inbound_count().expect("count"), stored);
    assert_eq!(answer["providerJobId"], "JP-000002");

    // A new envelope for a known job: the providerJobId given the first time.
    let other_id = world
        .cityfibre
        .create_job("S100001", pack)
        .await
        .expect("createJob");
    assert_eq!(other_id["providerJobId"], "JP-000001");
    let job = world
        .hub
        .store()
        .job("S100001")
        .expect("job")
        .expect("known");
    assert_eq!((job.state.as_str(), job.engineer_id), ("received", None));
}
}

on_both! {
async fn malformed_unknown_and_oversized_calls_get_typed_errors_and_are_kept(kind) {
    let world = World::start(kind, 1).await;
    let caller = &world.cityfibre;
    let spec = jobpack_spec::Spec::load().expect("contract");

    let (status, body) = refused(caller.send_raw("createJob", b"{not json".to_vec()).await);
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(-32700))
    );
    assert!(
        spec.is_valid("JsonRpcErrorResponse", &body)
            .expect("schema")
    );

    let (status, body) = refused(caller.send_raw("closeJob", b"{}".to_vec()).await);
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (404, Some(-32601))
    );

    let cancel = envelope(
        5,
        "S1",
        Timestamp::now(),
        InboundMessage::CancelJob(jobpack_core::protocol::CancelJob {
            reason: "x".into(),
            cancelled_at: None,
            extra: Map::new(),
        }),
    );
    let (status, body) = refused(
        caller
            .send_raw("createJob", serde_json::to_vec(&cancel).expect("json"))
            .await,
    );
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(-32602))
    );
    assert_eq!(body["id"], 5, "the refusal names the request it answers");

    let mut bad_status = serde_json::to_value(&cancel).expect("json");
    bad_status["method"] = json!("notifyJob");
    bad_status["content"] = json!({"ontProvisioning": {"statusId": 9, "success": false}});
    let (status, body) = refused(
        caller
            .send_raw("notifyJob", bad_status.to_string().into_bytes())
            .await,
    );
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(-32602))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains('9')
    );

    let huge = vec![b' '; jobpack_hub::MAX_BODY + 10];
    let (status, body) = refused(caller.send_raw("createJob", huge).await);
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (413, Some(-32600))
    );

    let (status, body) = refused(caller.provision("S404", 1).await);
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (422, Some(-32004))
    );

    let kept = world.hub.store().rejected().expect("rejected");
    let codes: Vec<i64> = kept.iter().map(|r| r.code).collect();
    assert_eq!(codes, [-32700, -32601, -32602, -32602, -32600, -32004]);
    assert_eq!(kept[0].body, b"{not json");
    assert!(kept[4].size > jobpack_hub::MAX_BODY as i64);
    assert!(kept[4].body.len() <= jobpack_hub::KEPT_BODY_LIMIT);
    assert!(
        kept.iter()
            .all(|r| r.side == "cityfibre" && !r.reason.is_empty())
    );
    assert_eq!(world.hub.store().inbound_count().expect("count"), 0);
}
}

on_both! {
async fn only_cityfibres_certificate_opens_the_cityfibre_side(kind) {
    let world = World::start(kind, 1).await;
    let foreign = Pki::generate(&["E001".to_owned()]).expect("another CA");
    let intruder = common::caller(&world.hub, &foreign);
    let result = intruder
        .create_job("S1", sample_job_pack("S1").expect("pack"))
        .await;
    assert!(
        matches!(result, Err(CallError::GaveUp { .. })),
        "{result:?}"
    );
    assert_eq!(world.hub.store().inbound_count().expect("count"), 0);
}
}

on_both! {
async fn a_cancel_that_overtakes_its_create_leaves_the_job_cancelled(kind) {
    let world = World::start(kind, 1).await;
    world
        .cityfibre
        .cancel_job("S200", "customer cancelled")
        .await
        .expect("cancel before create is accepted");
    let answer = world
        .cityfibre
        .create_job("S200", sample_job_pack("S200").expect("pack"))
        .await
        .expect("create");
    assert_eq!(answer["providerJobId"], "JP-000001");
    let job = world.hub.store().job("S200").expect("job").expect("known");
    assert_eq!(job.state, "cancelled");
    assert!(matches!(
        world.hub.assign("S200", "E001"),
        Err(HubError::NotAssignable { .. })
    ));
    // A cancel redelivered with a new id changes nothing and is still acknowledged.
    world
        .cityfibre
        .cancel_job("S200", "customer cancelled")
        .await
        .expect("second cancel");
}
}

on_both! {
async fn an_older_provisioning_notice_arriving_late_is_kept_but_not_relayed(kind) {
    let world = World::start(kind, 1).await;
    world
        .cityfibre
        .create_job("S300", sample_job_pack("S300").expect("pack"))
        .await
        .expect("create");
    world.hub.assign("S300", "E001").expect("assign");
    let notice = |status: u8| {
        InboundMessage::Provisioning(ProvisioningNotice {
            ont_provisioning: OntProvisioning {
                status_id: status,
                success: status <= 2,
                details: None,
                fsan: None,
                serial_number: None,
                extra: Map::new(),
            },
            extra: Map::new(),
        })
    };
    let later = Timestamp::now();
    let earlier = Timestamp::from_unix_millis(later.unix_millis() - 300_000).expect("time");
    world
        .cityfibre
        .send(&envelope(900, "S300", later, notice(1)))
        .await
        .expect("status 1");
    world
        .cityfibre
        .send(&envelope(899, "S300", earlier, notice(4)))
        .await
        .expect("stale status 4 is acknowledged");
    assert_eq!(world.hub.store().inbound_count().expect("count"), 3);
    let tls = world.device("phone-1", "E001");
    let page = common::raw_pull(&world, &tls, None).await;
    let methods: Vec<(&str, Option<u64>)> = page["result"]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["method"].as_str().unwrap_or_default(),
                m["content"]["ontProvisioning"]["statusId"].as_u64(),
            )
        })
        .collect();
    assert_eq!(methods, [("createJob", None), ("notifyJob", Some(1))]);
    tokio::time::sleep(Duration::from_millis(10)).await;
}
}
