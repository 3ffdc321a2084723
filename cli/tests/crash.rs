//! Killing the process at any instant loses nothing the UI was told is saved.
//!
//! A child `jobpack engineer ... soak` works jobs against the simulator and prints an `ack`
//! line after each committed action (what the UI would show as saved). The test kills it
//! with SIGKILL at random moments — during actions and during sync — at least 100 times,
//! restarting it each time on the same SQLite file, while new jobs keep arriving and the
//! simulator injects faults. Finally a child runs to completion, and every acknowledged
//! action must have reached the simulator exactly once in effect and in creation order.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jobpack_sim::{FaultConfig, ProvisioningScript, SimConfig, sample_job_pack};

mod common;

const KILLS: usize = 100;

/// Questions at the visit and at every closure, without photos: this test is about the
/// outbox under SIGKILL, and photo uploads need an S3 server (they have their own crash
/// test in tests/tests/closure.rs).
const MATRIX: &str = r#"{
  "name": "crash test", "version": "1", "isDefault": false,
  "questions": [
    {"code": "C1", "text": "Did Sponge Pass?", "answer": {"type": "yesNo"}},
    {"code": "C2", "text": "Time of first call", "answer": {"type": "time"}}
  ],
  "flows": [
    {"id": "visit", "journey": "visit", "steps": [{"question": "C1"}]},
    {"id": "close", "journey": "closure", "steps": [{"question": "C2"}]}
  ]
}"#;

struct Ack {
    job: String,
    key: String,
}

fn spawn(db: &std::path::Path, url: &str, certs: &std::path::Path, seed: u64) -> Child {
    let matrix = db.with_extension("matrix.json");
    std::fs::write(&matrix, MATRIX).expect("matrix file");
    Command::new(env!("CARGO_BIN_EXE_jobpack"))
        .args(["engineer", "--db"])
        .arg(db)
        .arg("--matrix")
        .arg(&matrix)
        .args(["--upstream", url, "--certs"])
        .arg(certs)
        .args([
            "--engineer",
            common::ENGINEER,
            "--timeout",
            "1",
            "soak",
            "--limit",
            "60",
            "--seed",
        ])
        .arg(seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("jobpack starts")
}

/// Collects the child's ack lines until its stdout closes.
fn collect(child: &mut Child, acks: Arc<Mutex<Vec<Ack>>>) -> std::thread::JoinHandle<bool> {
    let stdout = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        let mut finished = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // A line cut by the kill is not an acknowledgement the UI could have shown.
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if let (Some(key), Some(job)) = (value["ack"].as_str(), value["job"].as_str()) {
                acks.lock().unwrap().push(Ack {
                    job: job.to_owned(),
                    key: key.to_owned(),
                });
            }
            if value["done"] == true {
                finished = true;
            }
        }
        finished
    })
}

#[test]
fn sigkill_at_random_moments_loses_nothing_acknowledged() {
    let runtime = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let (sim, certs) = common::simulator(
        &runtime,
        dir.path(),
        SimConfig {
            faults: FaultConfig {
                rate: 0.1,
                seed: 11,
                delay: Duration::from_millis(1500),
                retry_after_secs: 1,
                ..FaultConfig::default()
            },
            provisioning: ProvisioningScript {
                seed: 3,
                ..ProvisioningScript::default()
            },
            retry_delay: Duration::from_millis(100),
            clock_skew_ms: 0,
            ..SimConfig::default()
        },
    );
    let url = sim.urls()[0].clone();
    let db = dir.path().join("engineer.sqlite");
    let acks = Arc::new(Mutex::new(Vec::new()));
    let mut rng = fastrand::Rng::with_seed(2026);
    let mut next_job = 0;
    let mut add_jobs = |n: usize| {
        for _ in 0..n {
            next_job += 1;
            let job_ref = format!("K{next_job:04}");
            sim.create_job(
                common::ENGINEER,
                &job_ref,
                sample_job_pack(&job_ref).unwrap(),
            )
            .unwrap();
        }
    };
    add_jobs(4);
    for round in 0..KILLS {
        if round % 4 == 0 {
            add_jobs(2);
        }
        let mut child = spawn(&db, &url, &certs, round as u64);
        let reader = collect(&mut child, acks.clone());
        std::thread::sleep(Duration::from_millis(rng.u64(20..400)));
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        reader.join().unwrap();
    }
    // The last run finishes the work and syncs until idle.
    let mut child = spawn(&db, &url, &certs, 999);
    let reader = collect(&mut child, acks.clone());
    let status = child.wait().unwrap();
    assert!(reader.join().unwrap(), "the final run finished its work");
    assert!(status.success());

    let acks = acks.lock().unwrap();
    assert!(
        acks.len() > KILLS / 2,
        "enough work was acknowledged: {}",
        acks.len()
    );
    let stats = sim.stats();
    assert!(
        stats.order_violations.is_empty(),
        "{:?}",
        stats.order_violations
    );
    let mut delivered: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut seen = HashSet::new();
    for (job, messages) in &stats.jobs {
        for m in messages {
            let key = m
                .idempotency_key
                .as_deref()
                .expect("every message has a key");
            assert!(seen.insert(key), "{key} recorded twice upstream");
            delivered.entry(job.as_str()).or_default().push(key);
        }
    }
    let mut acked_per_job: HashMap<&str, Vec<&str>> = HashMap::new();
    for ack in acks.iter() {
        assert!(
            seen.contains(ack.key.as_str()),
            "acknowledged {} of {} never arrived",
            ack.key,
            ack.job
        );
        acked_per_job.entry(&ack.job).or_default().push(&ack.key);
    }
    for (job, acked) in acked_per_job {
        let arrived: Vec<&str> = delivered[job]
            .iter()
            .copied()
            .filter(|k| acked.contains(k))
            .collect();
        assert_eq!(arrived, acked, "{job}: arrival order is creation order");
    }
    eprintln!(
        "{KILLS} kills, {} acknowledged actions, {} messages delivered, {} duplicates absorbed, {} jobs",
        acks.len(),
        seen.len(),
        stats.duplicates,
        stats.jobs.len()
    );
    runtime.block_on(sim.shutdown());
}
