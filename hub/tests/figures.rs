//! Figures, printed and not asserted (issue #15, item 8, in part):
//! `cargo test -p jobpack-hub --test figures -- --ignored --nocapture`
//! (add `--release` for production-like numbers). Loopback only.
//! `HUB_FIGURES_BACKEND=postgres` runs the same on a PostgreSQL server the test starts
//! (`sqlite`, the default, on `hub.sqlite`).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Kind, World, post};
use jobpack_core::protocol::{
    JobEvent, JobHeader, JobRef, Location, NotifyJob, OutboundCall, OutboundRequest, ProviderJobId,
    RpcId, Timestamp,
};
use jobpack_hub::{Hub, Role};
use jobpack_sim::sample_job_pack;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints figures; run by hand"]
async fn figures() {
    let jobs = env_usize("HUB_FIGURES_JOBS", 10_000);
    let engineers = env_usize("HUB_FIGURES_ENGINEERS", 200);
    let (kind, name) = match std::env::var("HUB_FIGURES_BACKEND").as_deref() {
        Ok("postgres") => (Kind::Postgres, "PostgreSQL, fsync on"),
        _ => (Kind::Sqlite, "SQLite, synchronous=FULL"),
    };
    println!("backend: {name}");
    let world = World::start(kind, 1).await;

    // createJob ingest: 8 CityFibre callers at once, each call committed before its answer.
    let caller = Arc::new(common::caller(&world.hub, world.sim.pki()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for lane in 0..8 {
        let caller = Arc::clone(&caller);
        tasks.push(tokio::spawn(async move {
            for n in (lane..jobs).step_by(8) {
                let job = format!("S{:07}", n + 1);
                caller
                    .create_job(&job, sample_job_pack(&job).expect("pack"))
                    .await
                    .expect("createJob");
            }
        }));
    }
    for task in tasks {
        task.await.expect("caller");
    }
    let ingest = started.elapsed();
    println!(
        "createJob ingest: {jobs} jobs in {:.2} s = {:.0} calls/s (8 callers, mutual TLS, {name})",
        ingest.as_secs_f64(),
        jobs as f64 / ingest.as_secs_f64()
    );

    // Phone pushes: one per engineer, all at once.
    let store = world.hub.store();
    let mut devices = Vec::new();
    for n in 0..engineers.min(jobs) {
        let engineer = format!("F{n:04}");
        store
            .add_engineer(&common::engineer(&engineer))
            .expect("engineer");
        let job = format!("S{:07}", n + 1);
        let assignment = world.hub.assign(&job, &engineer).expect("assign");
        assert!(assignment.changed);
        let identity = store
            .issue_device(&format!("d-{engineer}"), Some(&engineer), Role::Device)
            .expect("device");
        let provider = store
            .job(&job)
            .expect("job")
            .expect("known")
            .provider_job_id;
        devices.push((world.tls(identity), job, provider));
    }
    let world = Arc::new(world);
    let mut tasks = Vec::new();
    for (n, (tls, job, provider)) in devices.into_iter().enumerate() {
        let world = Arc::clone(&world);
        tasks.push(tokio::spawn(async move {
            let request = OutboundRequest {
                id: RpcId::new(n as u64 + 1).expect("id"),
                call: OutboundCall::NotifyJob(NotifyJob {
                    job_header: JobHeader {
                        job_ref: JobRef::new(job).expect("ref"),
                        provider_job_id: ProviderJobId::new(provider).expect("id"),
                    },
                    event_time: Timestamp::now(),
                    event: JobEvent::EnRoute(Location::new(53.8, -1.55, 5.0).expect("loc")),
                }),
            };
            let body = serde_json::to_vec(&request).expect("json");
            let started = Instant::now();
            let (status, _) = post(
                &world,
                &tls,
                "/notifyJob",
                Some(&format!("fig-key-{n:06}")),
                body,
            )
            .await
            .expect("push");
            assert_eq!(status, 200);
            started.elapsed()
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.push(task.await.expect("push"));
    }
    latencies.sort();
    println!(
        "phone push, {} engineers at once (each a new TLS connection): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );

    // Restart to serving, with the jobs above in the database.
    let world = Arc::into_inner(world).expect("one owner");
    let mut config = common::hub_config(world.dir.path(), world.sim.pki(), world.sim.urls());
    config.backend = world.backend.clone();
    world.hub.shutdown().await;
    let started = Instant::now();
    let hub = Hub::start(config).await.expect("restart");
    let tls = {
        let identity = hub
            .store()
            .issue_device("d-restart", Some("F0000"), Role::Device)
            .expect("device");
        jobpack_core::transport::TlsMaterial {
            client_cert_pem: Some(identity.cert_pem),
            client_key_pem: Some(identity.key_pem),
            trust_anchors_pem: hub.store().pki.ca_cert_pem.clone(),
            allow_plain_http_loopback: false,
        }
    };
    let pull = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "pull", "params": {}});
    let response = common::client(&tls)
        .post(format!("{}/pull", hub.device_url()))
        .body(pull.to_string())
        .send()
        .await
        .expect("pull after restart");
    assert_eq!(response.status().as_u16(), 200);
    println!(
        "restart to the first answered pull with {} jobs: {:.0} ms",
        hub.store().inbound_count().expect("count"),
        started.elapsed().as_secs_f64() * 1e3
    );
    hub.shutdown().await;
}
