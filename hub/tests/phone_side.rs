//! The phones' side: device certificates from the hub CA (unknown and revoked refused), a
//! device only for its engineer's jobs, pushes deduplicated by Idempotency-Key, dispatch by an
//! office certificate only.

mod common;

use common::{World, en_route, post, raw_pull};
use jobpack_hub::Role;
use jobpack_sim::{Pki, sample_job_pack};
use serde_json::json;

async fn two_jobs(world: &World) {
    for job in ["S1", "S2"] {
        world
            .cityfibre
            .create_job(job, sample_job_pack(job).expect("pack"))
            .await
            .expect("create");
    }
    world.hub.assign("S1", "E001").expect("assign S1");
    world.hub.assign("S2", "E002").expect("assign S2");
}

on_both! {
async fn a_device_sees_and_pushes_only_its_engineers_jobs(kind) {
    let world = World::start(kind, 1).await;
    two_jobs(&world).await;
    let phone = world.device("phone-1", "E001");
    let page = raw_pull(&world, &phone, None).await;
    let spec = jobpack_spec::Spec::load().expect("contract");
    assert!(
        spec.is_valid("PullResponse", &page).expect("schema"),
        "{page}"
    );
    let messages = page["result"]["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["ref"], "S1");
    assert_eq!(messages[0]["response"]["providerJobId"], "JP-000001");
    jobpack_core::protocol::parse_inbound_value(messages[0].clone()).expect("a contract envelope");
    let cursor = page["result"]["nextCursor"].as_str().expect("cursor");
    let empty = raw_pull(&world, &phone, Some(cursor)).await;
    assert!(
        empty["result"]["messages"]
            .as_array()
            .expect("messages")
            .is_empty()
    );

    let (status, body) = post(
        &world,
        &phone,
        "/notifyJob",
        Some("key-other-1"),
        en_route("S2", "JP-000002", 3),
    )
    .await
    .expect("answer");
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (403, Some(-32003))
    );

    // Pushed twice with one key: one outbox item, the same answer.
    let body = en_route("S1", "JP-000001", 4);
    let first = post(
        &world,
        &phone,
        "/notifyJob",
        Some("key-mine-0001"),
        body.clone(),
    )
    .await
    .expect("push");
    let second = post(
        &world,
        &phone,
        "/notifyJob",
        Some("key-mine-0001"),
        body.clone(),
    )
    .await
    .expect("again");
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(first, second);
    let items = world.hub.store().outbox(Some("S1")).expect("outbox");
    let pushed: Vec<_> = items
        .iter()
        .filter(|i| i.idempotency_key == "key-mine-0001")
        .collect();
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].rpc_id, 4, "the phone's id goes on to CityFibre");

    let (status, body) = post(&world, &phone, "/notifyJob", None, body)
        .await
        .expect("answer");
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(-32600))
    );
    let (status, body) = post(
        &world,
        &phone,
        "/closeJob",
        Some("key-mine-0002"),
        b"{\"id\":1}".to_vec(),
    )
    .await
    .expect("answer");
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(-32602))
    );
}
}

on_both! {
async fn unknown_and_revoked_devices_are_refused(kind) {
    let world = World::start(kind, 1).await;
    two_jobs(&world).await;
    let phone = world.device("phone-1", "E001");
    raw_pull(&world, &phone, None).await;

    // Signed by the hub CA but never recorded as a device.
    let ghost = world.hub.store().pki.issue_client("ghost").expect("cert");
    let (status, body) = post(&world, &world.tls(ghost), "/pull", None, b"{}".to_vec())
        .await
        .expect("answer");
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (403, Some(-32003))
    );

    // Another CA: the handshake fails, nothing reaches HTTP.
    let foreign = Pki::foreign_client("E001").expect("foreign");
    let stranger = world.tls(jobpack_hub::Identity {
        cert_pem: foreign.cert_pem,
        key_pem: foreign.key_pem,
    });
    assert!(
        post(&world, &stranger, "/pull", None, b"{}".to_vec())
            .await
            .is_err()
    );

    world.hub.store().revoke_device("phone-1").expect("revoke");
    let pull = json!({"jsonrpc": "2.0", "id": 1, "method": "pull", "params": {}});
    let (status, body) = post(&world, &phone, "/pull", None, pull.to_string().into_bytes())
        .await
        .expect("answer");
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (403, Some(-32003))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("revoked")
    );
    assert!(world.hub.store().revoke_device("nobody").is_err());
}
}

on_both! {
async fn only_an_office_certificate_dispatches_and_a_reassignment_moves_the_job(kind) {
    let world = World::start(kind, 1).await;
    two_jobs(&world).await;
    let office = world
        .hub
        .store()
        .issue_device("desk-1", None, Role::Office)
        .expect("office cert");
    let office = world.tls(office);
    let phone_1 = world.device("phone-1", "E001");
    let phone_2 = world.device("phone-2", "E002");
    let assign = json!({"jsonrpc": "2.0", "id": 9, "method": "assign",
                        "params": {"jobRef": "S1", "engineerId": "E002"}})
    .to_string()
    .into_bytes();
    let (status, _) = post(&world, &phone_1, "/admin/assign", None, assign.clone())
        .await
        .expect("answer");
    assert_eq!(status, 403);
    let (status, body) = post(&world, &office, "/admin/assign", None, assign)
        .await
        .expect("answer");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["previous"], "E001");

    let old = raw_pull(&world, &phone_1, None).await;
    let methods: Vec<&str> = old["result"]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["method"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        methods,
        ["createJob", "cancelJob"],
        "the job leaves the first phone"
    );
    let new = raw_pull(&world, &phone_2, None).await;
    let refs: Vec<&str> = new["result"]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["ref"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(refs, ["S2", "S1"]);
    // Each assignment queued the engineer details for CityFibre.
    let details: Vec<String> = world
        .hub
        .store()
        .outbox(Some("S1"))
        .expect("outbox")
        .into_iter()
        .map(|i| i.label)
        .collect();
    assert_eq!(
        details,
        ["engineer assigned: E001", "engineer assigned: E002"]
    );

    let jobs = json!({"jsonrpc": "2.0", "id": 11, "method": "jobs"})
        .to_string()
        .into_bytes();
    let (status, _) = post(&world, &phone_2, "/admin/jobs", None, jobs.clone())
        .await
        .expect("answer");
    assert_eq!(status, 403, "a phone does not see the board");
    let (status, board) = post(&world, &office, "/admin/jobs", None, jobs)
        .await
        .expect("answer");
    assert_eq!(status, 200, "{board}");
    let rows = board["result"]["jobs"].as_array().expect("jobs");
    let s1 = rows
        .iter()
        .find(|r| r["jobRef"] == "S1")
        .expect("S1 on the board");
    assert_eq!(s1["engineerId"], "E002");
    assert_eq!(s1["state"], "assigned");
    assert_eq!(s1["lastMessage"], "engineer assigned: E002");
    assert!(s1["lastMessageState"].is_string());

    let bad =
        json!({"jsonrpc": "2.0", "id": 10, "params": {"jobRef": "S404", "engineerId": "E002"}});
    let (status, body) = post(
        &world,
        &office,
        "/admin/assign",
        None,
        bad.to_string().into_bytes(),
    )
    .await
    .expect("answer");
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(-32602))
    );
}
}

on_both! {
async fn a_get_is_refused_typed_and_kept(kind) {
    let world = World::start(kind, 1).await;
    let phone = world.device("phone-1", "E001");
    let response = common::client(&phone)
        .get(format!("{}/pull", world.hub.device_url()))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 404);
    let body: serde_json::Value =
        serde_json::from_str(&response.text().await.expect("body")).expect("JSON");
    assert_eq!(body["error"]["code"], -32601);
    let kept = world.hub.store().rejected().expect("rejected");
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].side.as_str(), kept[0].path.as_str()),
        ("device", "/pull")
    );
}
}
