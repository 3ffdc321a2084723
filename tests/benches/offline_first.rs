//! Offline-first benchmarks: figures printed, nothing asserted.
//!
//! * action commit latency against a bare SQLite insert with the same durability settings;
//! * drain throughput against the local simulator, against a bare reqwest loop posting the
//!   same payloads (one at a time, and with the engine's concurrency);
//! * time to drain a 10,000-message backlog;
//! * time to open a database holding 1,000 jobs.
//!
//! Run with `cargo bench -p jobpack-e2e --bench offline_first`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jobpack_core::closure::Journey;
use jobpack_core::engine::Engine;
use jobpack_core::protocol::Location;
use jobpack_core::store::{DatabaseKey, Store, StoreOptions};
use jobpack_core::transport::client_config;
use jobpack_e2e::World;
use serde_json::{Value, json};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn p90(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() * 9 / 10]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn create_job(id: usize) -> Value {
    json!({
        "id": id + 1, "sent": "2026-11-30T07:00:00Z", "method": "createJob", "ref": format!("B{id:05}"),
        "content": {
            "serviceOrder": {"serviceOrderId": format!("SO-{id}"), "product": "FTTP 900/900"},
            "appointment": {"date": "2026-12-01", "slot": "AM"},
            "customer": {"name": "Alex Example", "phone": "07700 900456"},
            "address": {"line1": format!("{id} Canal Wharf"), "town": "Leeds", "postcode": "LS11 5PS"},
            "propertyFlags": ["MDU"],
            "notes": "Ring flat buzzer; dog on premises."
        },
        "response": {}
    })
}

fn here() -> Location {
    Location::new(53.79, -1.54, 5.0).unwrap()
}

/// A matrix with one free-text visit question, so every answer sent is one notifyJob.
const BENCH_MATRIX: &str = r#"{
  "name": "bench", "version": "1", "isDefault": false,
  "questions": [{"code": "B1", "text": "Light level at the ONT (dBm)",
                 "answer": {"type": "text", "maxLength": 40}}],
  "flows": [{"id": "visit", "journey": "visit", "steps": [{"question": "B1"}]}]
}"#;

/// Commit latency of `accept` against one INSERT per transaction with the same pragmas,
/// interleaved so both see the same disk (fsync here varies from run to run).
fn commit_latency(world: &World) {
    const N: usize = 400;
    let engine = World::open(
        world.config("E001", "commit.sqlite", vec![], Default::default()),
        None,
    );
    let jobs: Vec<Value> = (0..N).map(create_job).collect();
    engine.apply_inbound(&jobs).unwrap();
    engine.accept("B00000").unwrap();
    let body = engine.outbox_body(1).unwrap();

    let path = world.dir.path().join("bare.sqlite");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let _: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
         CREATE TABLE t (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, body BLOB NOT NULL)",
    )
    .unwrap();
    let mut action = Vec::with_capacity(N);
    let mut bare = Vec::with_capacity(N);
    for i in 1..N {
        let t = Instant::now();
        engine.accept(&format!("B{i:05}")).unwrap();
        action.push(t.elapsed());
        let t = Instant::now();
        conn.execute(
            "INSERT INTO t (key, body) VALUES (?1, ?2)",
            rusqlite::params![uuid::Uuid::new_v4().to_string(), body],
        )
        .unwrap();
        bare.push(t.elapsed());
    }
    let (a, b) = (median(action.clone()), median(bare.clone()));
    println!("action commit (accept: job + history + outbox, one transaction, synchronous=FULL)");
    println!(
        "  engine   median {:.3} ms  p90 {:.3} ms\n  bare     median {:.3} ms  p90 {:.3} ms\n  ratio    {:.2}x (target <= 1.3x)",
        ms(a),
        ms(p90(action)),
        ms(b),
        ms(p90(bare)),
        a.as_secs_f64() / b.as_secs_f64()
    );
}

/// Encryption at rest: the same action committed to a plain and a SQLCipher database,
/// interleaved so both see the same disk; then open time of each, and the one-off migration
/// of a plain database to an encrypted one.
fn encryption_cost(world: &World) {
    const N: usize = 400;
    let key = DatabaseKey::new(&[7; 32]).unwrap();
    let dir = world.dir.path();
    {
        let plain = World::open(
            world.config("E001", "plain.sqlite", vec![], Default::default()),
            None,
        );
        let mut config = world.config("E001", "sealed.sqlite", vec![], Default::default());
        config.database_key = Some(key.clone());
        let sealed = World::open(config, None);
        let jobs: Vec<Value> = (0..N).map(create_job).collect();
        plain.apply_inbound(&jobs).unwrap();
        sealed.apply_inbound(&jobs).unwrap();
        let (mut plain_times, mut sealed_times) = (Vec::new(), Vec::new());
        for i in 0..N {
            let job = format!("B{i:05}");
            let t = Instant::now();
            plain.accept(&job).unwrap();
            plain_times.push(t.elapsed());
            let t = Instant::now();
            sealed.accept(&job).unwrap();
            sealed_times.push(t.elapsed());
        }
        let (p, s) = (median(plain_times.clone()), median(sealed_times.clone()));
        println!("encryption at rest (SQLCipher, raw 256-bit key) vs plain, {N} accepts each");
        println!(
            "  commit plain      median {:.3} ms  p90 {:.3} ms\n  commit encrypted  median {:.3} ms  p90 {:.3} ms\n  ratio             {:.2}x (target <= 1.2x)",
            ms(p),
            ms(p90(plain_times)),
            ms(s),
            ms(p90(sealed_times)),
            s.as_secs_f64() / p.as_secs_f64()
        );
    }
    let with_key = StoreOptions {
        key: Some(key),
        ..StoreOptions::default()
    };
    let (mut plain_opens, mut sealed_opens) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        let t = Instant::now();
        drop(Store::open(&dir.join("plain.sqlite")).unwrap());
        plain_opens.push(t.elapsed());
        let t = Instant::now();
        drop(Store::open_with(&dir.join("sealed.sqlite"), &with_key).unwrap());
        sealed_opens.push(t.elapsed());
    }
    let (p, s) = (median(plain_opens), median(sealed_opens));
    println!(
        "  open plain        median {:.2} ms\n  open encrypted    median {:.2} ms ({:.2}x)",
        ms(p),
        ms(s),
        s.as_secs_f64() / p.as_secs_f64()
    );
    let migrating = dir.join("migrating.sqlite");
    std::fs::copy(dir.join("plain.sqlite"), &migrating).unwrap();
    let size = std::fs::metadata(&migrating).map(|m| m.len()).unwrap_or(0);
    let t = Instant::now();
    drop(Store::open_with(&migrating, &with_key).unwrap());
    println!(
        "  first open with a key encrypts a plain {:.1} MB database in place: {:.1} ms",
        size as f64 / 1e6,
        ms(t.elapsed())
    );
}

/// Queues `messages` messages offline over `jobs` jobs, returns the engine.
fn backlog(world: &World, db: &str, jobs: usize, messages: usize, in_flight: usize) -> Engine {
    let mut config = world.config("E001", db, world.sim.urls(), world.tls("E001"));
    config.sync.max_in_flight = in_flight;
    config.start_online = false;
    config.timeouts.request = Duration::from_secs(10);
    config.sync.pull_interval = Duration::from_secs(3600);
    config.closure_matrix = Some(BENCH_MATRIX.into());
    let engine = World::open(config, None);
    let offset = db.len() * 100_000;
    let packs: Vec<Value> = (0..jobs).map(|i| create_job(offset + i)).collect();
    engine.apply_inbound(&packs).unwrap();
    let per_job = messages / jobs;
    for i in 0..jobs {
        let job = format!("B{:05}", offset + i);
        engine.accept(&job).unwrap();
        engine.start_travel(&job, here(), None).unwrap();
        engine.arrive(&job, here(), None).unwrap();
        for q in 3..per_job {
            engine
                .answer_question(&job, Journey::Visit, "B1", &format!("-18.{q}"), None)
                .unwrap();
            engine.send_visit_answers(&job).unwrap();
        }
    }
    engine
}

async fn drain(engine: &Engine) -> Duration {
    let t = Instant::now();
    engine.set_online(true);
    engine
        .sync_until_idle(Duration::from_secs(600))
        .await
        .unwrap();
    t.elapsed()
}

/// Posts the same bodies with fresh keys with a bare reqwest client, `concurrency` at a time.
async fn raw_loop(world: &World, bodies: Vec<Vec<u8>>, concurrency: usize) -> Duration {
    let tls = client_config(&world.tls("E001")).unwrap();
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .no_proxy()
        .build()
        .unwrap();
    let url = world.sim.urls()[0].clone();
    let queue = Arc::new(std::sync::Mutex::new(bodies));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, url, queue) = (client.clone(), url.clone(), queue.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(body) = queue.lock().unwrap().pop() else {
                    break;
                };
                let method = if body.windows(10).any(|w| w == b"\"closeJob\"") {
                    "closeJob"
                } else {
                    "notifyJob"
                };
                let response = client
                    .post(format!("{url}/{method}"))
                    .header("content-type", "application/json")
                    .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_success());
                let _ = response.bytes().await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    t.elapsed()
}

async fn throughput(world: &World) {
    const JOBS: usize = 100;
    const MESSAGES: usize = 2000;
    println!(
        "drain throughput ({MESSAGES} messages over {JOBS} jobs, local simulator, mutual TLS)"
    );
    let mut bodies = Vec::new();
    let mut engine_rates = Vec::new();
    for in_flight in [1, 4, 8] {
        let engine = backlog(
            world,
            &format!("drain{in_flight}.sqlite"),
            JOBS,
            MESSAGES,
            in_flight,
        );
        let items = engine.outbox(None).unwrap();
        bodies = items
            .iter()
            .map(|i| engine.outbox_body(i.seq).unwrap())
            .collect();
        let time = drain(&engine).await;
        engine.shutdown();
        engine_rates.push((in_flight, bodies.len() as f64 / time.as_secs_f64()));
    }
    for (in_flight, engine_rate) in engine_rates {
        let raw = raw_loop(world, bodies.clone(), in_flight).await;
        let raw_rate = bodies.len() as f64 / raw.as_secs_f64();
        println!(
            "  {in_flight} in flight: engine {engine_rate:.0} msg/s, raw reqwest {raw_rate:.0} msg/s -> ratio {:.2}x",
            engine_rate / raw_rate
        );
    }
    println!("  (target: engine >= 0.8x the raw loop; the engine's default is 4 in flight)");
}

async fn big_backlog(world: &World) {
    const JOBS: usize = 500;
    const MESSAGES: usize = 10_000;
    let build = Instant::now();
    let engine = backlog(world, "backlog.sqlite", JOBS, MESSAGES, 4);
    let built = build.elapsed();
    let n = engine.outbox(None).unwrap().len();
    let time = drain(&engine).await;
    println!(
        "backlog of {n} messages over {JOBS} jobs (queued offline in {:.1} s)",
        built.as_secs_f64()
    );
    println!(
        "  drained in {:.2} s ({:.0} msg/s)",
        time.as_secs_f64(),
        n as f64 / time.as_secs_f64()
    );
    engine.shutdown();
}

fn open_time(world: &World) {
    const JOBS: usize = 1000;
    let db = world.dir.path().join("open.sqlite");
    {
        let engine = World::open(
            world.config("E001", "open.sqlite", vec![], Default::default()),
            None,
        );
        let packs: Vec<Value> = (0..JOBS).map(|i| create_job(900_000 + i)).collect();
        engine.apply_inbound(&packs).unwrap();
        for i in 0..JOBS {
            let job = format!("B{:05}", 900_000 + i);
            engine.accept(&job).unwrap();
            engine.start_travel(&job, here(), None).unwrap();
        }
    }
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    let mut store_times = Vec::new();
    let mut engine_times = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        let (store, _) = Store::open(&db).unwrap();
        store_times.push(t.elapsed());
        drop(store);
        let t = Instant::now();
        let engine = World::open(
            world.config("E001", "open.sqlite", vec![], Default::default()),
            None,
        );
        let jobs = engine.jobs().unwrap().len();
        engine_times.push(t.elapsed());
        assert_eq!(jobs, JOBS);
    }
    println!(
        "open a database with {JOBS} jobs and {} outbox items ({:.1} MB)",
        2 * JOBS,
        size as f64 / 1e6
    );
    println!(
        "  Store::open                  median {:.2} ms",
        ms(median(store_times))
    );
    println!(
        "  Engine::open + list all jobs median {:.2} ms (target <= 50 ms)",
        ms(median(engine_times))
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let world = World::start(1, 1).await;
        commit_latency(&world);
        encryption_cost(&world);
        open_time(&world);
        throughput(&world).await;
        big_backlog(&world).await;
    });
}
