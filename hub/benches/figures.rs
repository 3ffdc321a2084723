//! The hub's figures (issue #15, item 8), printed, never asserted:
//!
//! ```text
//! cargo bench -p jobpack-hub --bench figures                  # release build, as deployed
//! cargo bench -p jobpack-hub --bench figures --profile dev    # quicker to build, slower to run
//! ```
//!
//! For each store backend (`HUB_FIGURES_BACKENDS`, comma-separated, default `sqlite,postgres`):
//! * **createJob ingest**: `HUB_FIGURES_JOBS` (10,000) createJob calls from 8 CityFibre callers
//!   at once, each over mutual TLS and committed before its answer;
//! * **phone push**: `HUB_FIGURES_ENGINEERS` (200) engineers, each with its own device
//!   certificate and job, push one notifyJob all at once (each a new TLS connection);
//!   p50/p99/max of the time to the hub's answer;
//! * **restart to serving**: the hub is stopped and started again on the store holding those
//!   jobs, timed to the first answered `pull`.
//!
//! The simulator plays CityFibre and the hub forwards to it, all on loopback. PostgreSQL
//! is a fresh cluster the bench starts from Debian's binaries (fsync on), as the tests do.

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Kind, World, post};
use jobpack_hub::{Hub, HubConfig, Role};
use jobpack_sim::sample_job_pack;

/// The store backend named `name` (`sqlite` or `postgres`; the PostgreSQL server is started
/// by the world, from Debian's binaries, as in the tests).
fn backend_kind(name: &str) -> Result<Kind, String> {
    match name {
        "sqlite" => Ok(Kind::Sqlite),
        "postgres" => Ok(Kind::Postgres),
        other => Err(format!(
            "unknown store backend {other:?}; this build has: sqlite, postgres"
        )),
    }
}

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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

struct Figures {
    backend: String,
    jobs: usize,
    ingest: Duration,
    pushes: Vec<Duration>,
    restart: Duration,
}

/// createJob ingest: `jobs` calls from 8 callers at once.
async fn ingest(world: &World, jobs: usize) -> Duration {
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
    started.elapsed()
}

/// One notifyJob per engineer, all at once; the sorted latencies.
async fn pushes(world: Arc<World>, engineers: usize) -> Vec<Duration> {
    let store = world.hub.store();
    let mut devices = Vec::new();
    for n in 0..engineers {
        let engineer = format!("F{n:04}");
        store
            .add_engineer(&common::engineer(&engineer))
            .expect("engineer");
        let job = format!("S{:07}", n + 1);
        world.hub.assign(&job, &engineer).expect("assign");
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
    let start = Arc::new(tokio::sync::Barrier::new(devices.len()));
    let mut tasks = Vec::new();
    for (n, (tls, job, provider)) in devices.into_iter().enumerate() {
        let world = Arc::clone(&world);
        let start = Arc::clone(&start);
        tasks.push(tokio::spawn(async move {
            let body = common::en_route(&job, &provider, n as u64 + 1);
            start.wait().await;
            let started = Instant::now();
            let (status, answer) = post(
                &world,
                &tls,
                "/notifyJob",
                Some(&format!("fig-key-{n:06}")),
                body,
            )
            .await
            .expect("push");
            assert_eq!(status, 200, "{answer}");
            started.elapsed()
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.push(task.await.expect("push"));
    }
    latencies.sort();
    latencies
}

/// Stops the hub and starts it again on the same store; the time to the first answered pull.
async fn restart(world: World, config: HubConfig) -> Duration {
    world.hub.shutdown().await;
    let started = Instant::now();
    let hub = Hub::start(config).await.expect("restart");
    let identity = hub
        .store()
        .issue_device("d-restart", Some("F0000"), Role::Device)
        .expect("device");
    let tls = jobpack_core::transport::TlsMaterial {
        client_cert_pem: Some(identity.cert_pem),
        client_key_pem: Some(identity.key_pem),
        trust_anchors_pem: hub.store().pki.ca_cert_pem.clone(),
        allow_plain_http_loopback: false,
    };
    let pull = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "pull", "params": {}});
    let response = common::client(&tls)
        .post(format!("{}/pull", hub.device_url()))
        .body(pull.to_string())
        .send()
        .await
        .expect("pull after restart");
    let elapsed = started.elapsed();
    assert_eq!(response.status().as_u16(), 200);
    hub.shutdown().await;
    elapsed
}

async fn figures(backend: &str, jobs: usize, engineers: usize) -> Result<Figures, String> {
    let world = World::start(backend_kind(backend)?, 1).await;
    let ingest = ingest(&world, jobs).await;
    let world = Arc::new(world);
    let pushes = pushes(Arc::clone(&world), engineers.min(jobs)).await;
    let world = Arc::into_inner(world).ok_or("the world is still shared")?;
    let mut config = common::hub_config(world.dir.path(), world.sim.pki(), world.sim.urls());
    config.backend = world.backend.clone();
    let restart = restart(world, config).await;
    Ok(Figures {
        backend: backend.to_owned(),
        jobs,
        ingest,
        pushes,
        restart,
    })
}

fn main() {
    let jobs = env_usize("HUB_FIGURES_JOBS", 10_000);
    let engineers = env_usize("HUB_FIGURES_ENGINEERS", 200);
    let backends =
        std::env::var("HUB_FIGURES_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let build = if cfg!(debug_assertions) {
        "debug build"
    } else {
        "release build"
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "hub figures ({build}, {} CPUs, loopback, mutual TLS, commit before answer):",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut failed = false;
    for backend in backends.split(',').map(str::trim).filter(|b| !b.is_empty()) {
        match runtime.block_on(figures(backend, jobs, engineers)) {
            Ok(f) => {
                println!(
                    "[{}] createJob ingest: {} jobs in {:.2} s = {:.0} calls/s (8 callers at once)",
                    f.backend,
                    f.jobs,
                    f.ingest.as_secs_f64(),
                    f.jobs as f64 / f.ingest.as_secs_f64()
                );
                println!(
                    "[{}] phone push, {} engineers at once (each a new TLS connection): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                    f.backend,
                    f.pushes.len(),
                    ms(percentile(&f.pushes, 0.5)),
                    ms(percentile(&f.pushes, 0.99)),
                    ms(f.pushes.last().copied().unwrap_or_default()),
                );
                println!(
                    "[{}] restart to the first answered pull with {} jobs: {:.0} ms",
                    f.backend,
                    f.jobs,
                    ms(f.restart)
                );
            }
            Err(e) => {
                eprintln!("[{backend}] {e}");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
