//! The offline-first guarantees, proven against the simulator over real mutual TLS:
//! offline → online drains in order, every fault kind is survived with exactly-once effect,
//! gateways fail over, TLS refusals keep the queue, the retry timer drains by itself, and
//! permanent refusals park with the server's reason until the engineer fixes them.

use std::time::Duration;

use jobpack_core::engine::{Engine, Error};
use jobpack_core::lifecycle::JobState;
use jobpack_core::outbox::ItemState;
use jobpack_core::protocol::Location;
use jobpack_core::transport::TlsMaterial;
use jobpack_e2e::jobpack_sim::{FaultConfig, FaultKind, Pki};
use jobpack_e2e::{World, eventually};

const IDLE: Duration = Duration::from_secs(20);

fn here() -> Location {
    Location::new(53.8, -1.55, 5.0).unwrap()
}

async fn pull_jobs(engine: &Engine, expected: usize) {
    engine.sync_until_idle(IDLE).await.expect("pull");
    assert_eq!(engine.jobs().unwrap().len(), expected);
}

/// Accepts, travels and arrives for each job; returns the keys in creation order per job.
fn work(engine: &Engine, jobs: &[String]) -> Vec<(String, Vec<String>)> {
    jobs.iter()
        .map(|job| {
            let keys = [
                engine.accept(job).unwrap(),
                engine.start_travel(job, here(), None).unwrap(),
                engine.arrive(job, here(), None).unwrap(),
            ]
            .into_iter()
            .map(|r| r.idempotency_key.unwrap())
            .collect();
            (job.clone(), keys)
        })
        .collect()
}

fn delivered_keys(world: &World, job: &str) -> Vec<String> {
    world
        .sim
        .stats()
        .jobs
        .get(job)
        .map(|messages| {
            messages
                .iter()
                .filter_map(|m| m.idempotency_key.clone())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_work_drains_in_order_when_the_device_comes_online() {
    let world = World::start(1, 1).await;
    let jobs = world.create_jobs("E001", "OFF", 3);
    let engine = world.engine("E001", "e1.sqlite");
    pull_jobs(&engine, 3).await;

    engine.set_online(false);
    let expected = work(&engine, &jobs);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        world.sim.stats().jobs.is_empty(),
        "nothing leaves while offline"
    );
    assert!(!engine.status().online);
    assert!(matches!(
        engine.sync_until_idle(IDLE).await,
        Err(Error::Offline)
    ));

    engine.set_online(true);
    assert!(
        eventually(IDLE, || expected
            .iter()
            .all(|(job, keys)| delivered_keys(&world, job) == *keys))
        .await,
        "coming online drains at once, each job in creation order"
    );
    let stats = world.sim.stats();
    assert!(
        stats.order_violations.is_empty(),
        "{:?}",
        stats.order_violations
    );
    assert_eq!(stats.duplicates, 0);
    let status = engine.sync_until_idle(IDLE).await.unwrap();
    assert_eq!(status.pending, 0);
    assert!(
        engine
            .outbox(None)
            .unwrap()
            .iter()
            .all(|i| i.state == ItemState::Sent)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_kind_is_survived_with_exactly_once_effect() {
    let world = World::start(1, 1).await;
    let engine = world.engine("E001", "faults.sqlite");
    let jobs = world.create_jobs("E001", "F", FaultKind::ALL.len());
    pull_jobs(&engine, jobs.len()).await;
    for (kind, job) in FaultKind::ALL.into_iter().zip(&jobs) {
        world.sim.set_faults(FaultConfig {
            delay: Duration::from_millis(800),
            retry_after_secs: 1,
            ..FaultConfig::always(kind)
        });
        let receipt = engine.accept(job).unwrap();
        let seq = receipt.outbox_seq.unwrap();
        assert!(
            eventually(IDLE, || {
                engine.outbox(Some(job)).unwrap()[0].attempts >= 1
                    && engine.outbox(Some(job)).unwrap()[0].state == ItemState::Retrying
            })
            .await,
            "{kind:?}: the failure is seen and a retry scheduled"
        );
        let item = engine.outbox(Some(job)).unwrap().remove(0);
        assert_eq!(item.seq, seq);
        assert!(item.last_error.is_some(), "{kind:?}");
        if kind == FaultKind::TooManyRequests {
            let wait = item.next_attempt_at.unwrap().unix_millis()
                - jobpack_core::protocol::Timestamp::now().unix_millis();
            assert!(wait > 500, "Retry-After is honoured: {wait} ms");
        }
        if kind.processes_message() {
            assert!(item.maybe_delivered, "{kind:?}: may have arrived");
        }
        world.sim.set_faults(FaultConfig::default());
        engine.sync_until_idle(IDLE).await.unwrap();
        assert_eq!(
            delivered_keys(&world, job),
            [receipt.idempotency_key.clone().unwrap()],
            "{kind:?}: delivered once in effect"
        );
    }
    let stats = world.sim.stats();
    for kind in FaultKind::ALL {
        assert!(
            stats.faults_injected.get(kind.name()).copied().unwrap_or(0) >= 1,
            "{kind:?}"
        );
    }
    assert!(
        stats.duplicates >= 3,
        "resends of processed messages were absorbed: {}",
        stats.duplicates
    );
    assert!(stats.order_violations.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retry_timer_drains_without_any_new_local_write() {
    let world = World::start(1, 1).await;
    let engine = world.engine("E001", "timer.sqlite");
    let jobs = world.create_jobs("E001", "T", 1);
    pull_jobs(&engine, 1).await;
    world
        .sim
        .set_faults(FaultConfig::always(FaultKind::ServerError));
    let key = engine.accept(&jobs[0]).unwrap().idempotency_key.unwrap();
    assert!(eventually(IDLE, || engine.outbox(None).unwrap()[0].attempts >= 2).await);
    world.sim.set_faults(FaultConfig::default());
    // No action, no sync_now, no online signal: only the scheduled retry.
    assert!(
        eventually(Duration::from_secs(5), || delivered_keys(&world, &jobs[0])
            == [key.clone()])
        .await,
        "the backlog does not stall until the next local write"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_does_not_hold_up_the_others() {
    let world = World::start(1, 1).await;
    let engine = world.engine("E001", "lanes.sqlite");
    let jobs = world.create_jobs("E001", "L", 2);
    pull_jobs(&engine, 2).await;
    world.sim.set_faults(FaultConfig {
        reject_job_refs: vec![jobs[0].clone()],
        ..FaultConfig::default()
    });
    engine.accept(&jobs[0]).unwrap();
    engine.start_travel(&jobs[0], here(), None).unwrap();
    let ok = work(&engine, &jobs[1..]);
    engine.sync_until_idle(IDLE).await.unwrap();
    assert_eq!(
        delivered_keys(&world, &jobs[1]),
        ok[0].1,
        "the healthy job went through"
    );
    let stuck = engine.outbox(Some(&jobs[0])).unwrap();
    assert_eq!(stuck[0].state, ItemState::Parked);
    assert!(
        stuck[0]
            .parked_reason
            .as_deref()
            .unwrap_or("")
            .contains("422"),
        "{:?}",
        stuck[0].parked_reason
    );
    assert_eq!(
        stuck[1].state,
        ItemState::Queued,
        "order kept behind the parked head"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_close_is_fixed_and_resent_by_the_engineer() {
    let world = World::start(1, 1).await;
    let engine = world.engine("E001", "park.sqlite");
    let jobs = world.create_jobs("E001", "P", 2);
    pull_jobs(&engine, 2).await;
    world.sim.set_faults(FaultConfig {
        reject_closure_codes: vec!["RNA".into()],
        ..FaultConfig::default()
    });
    for job in &jobs {
        engine.accept(job).unwrap();
        engine.start_travel(job, here(), None).unwrap();
        engine.close(job, "RNA", None, "Nobody home", None).unwrap();
    }
    engine.sync_until_idle(IDLE).await.unwrap();
    let parked: Vec<_> = engine
        .outbox(None)
        .unwrap()
        .into_iter()
        .filter(|i| i.state == ItemState::Parked)
        .collect();
    assert_eq!(parked.len(), 2);
    assert!(parked[0].parked_reason.as_deref().unwrap().contains("RNA"));
    assert_eq!(engine.status().parked, 2);

    // The engineer corrects one to NA; the other is resent after the rule is lifted.
    engine
        .correct_parked_close(parked[0].seq, "NA", None)
        .unwrap();
    assert_eq!(engine.job(&jobs[0]).unwrap().closure.unwrap().code, "NA");
    world.sim.set_faults(FaultConfig::default());
    engine.resend(parked[1].seq).unwrap();
    engine.sync_until_idle(IDLE).await.unwrap();
    for job in &jobs {
        let methods: Vec<String> = world.sim.stats().jobs[job]
            .iter()
            .map(|m| m.method.clone())
            .collect();
        assert_eq!(methods.last().map(String::as_str), Some("closeJob"));
    }
    assert!(
        engine
            .outbox(None)
            .unwrap()
            .iter()
            .all(|i| i.state == ItemState::Sent)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_gateway_fails_over_and_the_healthy_one_is_remembered() {
    let world = World::start(2, 1).await;
    let jobs = world.create_jobs("E001", "G", 2);
    world.sim.set_gateway_down(0, true);
    let config = world.config(
        "E001",
        "failover.sqlite",
        world.sim.urls(),
        world.tls("E001"),
    );
    {
        let engine = World::open(config.clone(), None);
        pull_jobs(&engine, 2).await;
        let done = work(&engine, &jobs);
        engine.sync_until_idle(IDLE).await.unwrap();
        for (job, keys) in &done {
            assert_eq!(&delivered_keys(&world, job), keys);
        }
        assert_eq!(engine.status().endpoint, 1);
    }
    // A restart starts on the gateway that worked.
    let engine = World::open(config, None);
    assert!(eventually(IDLE, || engine.status().cycles >= 1).await);
    assert_eq!(engine.status().endpoint, 1);

    // A gateway that is not listening at all fails over too.
    let dead = "https://127.0.0.1:9".to_owned();
    let config = world.config(
        "E002",
        "dead.sqlite",
        vec![dead, world.sim.urls()[1].clone()],
        world.tls("E002"),
    );
    let jobs = world.create_jobs("E002", "D", 1);
    let engine = World::open(config, None);
    pull_jobs(&engine, 1).await;
    let key = engine.accept(&jobs[0]).unwrap().idempotency_key.unwrap();
    engine.sync_until_idle(IDLE).await.unwrap();
    assert_eq!(delivered_keys(&world, &jobs[0]), [key]);
}

async fn tls_refusal_keeps_the_queue(world: &World, db: &str, tls: TlsMaterial) -> String {
    let good = world.engine("E001", db);
    pull_jobs(&good, 1).await;
    let job = good.jobs().unwrap()[0].job_ref.clone();
    good.set_online(false);
    let seq = good.accept(&job).unwrap().outbox_seq.unwrap();
    good.shutdown();
    let config = world.config("E001", db, world.sim.urls(), tls);
    let engine = World::open(config, None);
    let err = engine
        .sync_until_idle(Duration::from_millis(1500))
        .await
        .unwrap_err();
    let item = engine
        .outbox(None)
        .unwrap()
        .into_iter()
        .find(|i| i.seq == seq)
        .unwrap();
    assert_eq!(item.state, ItemState::Retrying, "the queue stays intact");
    assert!(!world.sim.stats().jobs.contains_key(&job));
    let message = item.last_error.unwrap_or_default();
    assert!(matches!(err, Error::SyncTimeout { .. }), "{err}");
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_without_a_client_certificate_fails_typed_and_keeps_the_queue() {
    let world = World::start(1, 1).await;
    world.create_jobs("E001", "N", 1);
    let mut tls = world.tls("E001");
    tls.client_cert_pem = None;
    tls.client_key_pem = None;
    let message = tls_refusal_keeps_the_queue(&world, "nocert.sqlite", tls).await;
    assert!(message.contains("TLS"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_an_unknown_ca_or_a_foreign_certificate_fails_typed() {
    let world = World::start(1, 1).await;
    world.create_jobs("E001", "U", 1);
    let other_ca = Pki::generate(&["E001".to_owned()]).unwrap().ca_cert_pem;
    let mut tls = world.tls("E001");
    tls.trust_anchors_pem = other_ca;
    let message = tls_refusal_keeps_the_queue(&world, "unknownca.sqlite", tls).await;
    assert!(message.contains("TLS"), "{message}");

    let world = World::start(1, 1).await;
    world.create_jobs("E001", "V", 1);
    let foreign = Pki::foreign_client("E001").unwrap();
    let mut tls = world.tls("E001");
    tls.client_cert_pem = Some(foreign.cert_pem);
    tls.client_key_pem = Some(foreign.key_pem);
    let message = tls_refusal_keeps_the_queue(&world, "foreign.sqlite", tls).await;
    assert!(message.contains("TLS"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_brings_jobs_cancellations_and_provisioning() {
    let world = World::start(1, 4).await;
    let jobs = world.create_jobs("E001", "I", 2);
    let engine = world.engine("E001", "inbox.sqlite");
    pull_jobs(&engine, 2).await;
    // Work the first job to the ONT; the simulator answers 4 (retrying), then 1.
    work(&engine, &jobs[..1]);
    engine
        .confirm_ont(
            &jobs[0],
            jobpack_core::protocol::OntDevice::new("ALCLB443689D", "YP1").unwrap(),
            None,
        )
        .unwrap();
    engine.sync_until_idle(IDLE).await.unwrap();
    assert!(
        eventually(IDLE, || {
            engine.sync_now();
            engine.job(&jobs[0]).unwrap().state == JobState::Provisioned { status: 1 }
        })
        .await,
        "status 4 then 1 arrive through pull: {:?}",
        engine.job(&jobs[0]).unwrap().state
    );
    // The second job is cancelled while the engineer has queued work for it offline.
    engine.set_online(false);
    engine.accept(&jobs[1]).unwrap();
    world
        .sim
        .cancel_job(&jobs[1], "Customer cancelled order")
        .unwrap();
    engine.set_online(true);
    engine.sync_until_idle(IDLE).await.unwrap();
    assert!(
        eventually(IDLE, || engine.job(&jobs[1]).unwrap().state
            == JobState::Cancelled)
        .await
    );
    assert_eq!(
        delivered_keys(&world, &jobs[1]).len(),
        1,
        "the queued accept was still delivered"
    );
    let err = engine.start_travel(&jobs[1], here(), None).unwrap_err();
    assert!(err.to_string().contains("cancelled"), "{err}");
    // Nothing was quarantined: every envelope the simulator sent was readable.
    assert!(engine.quarantine().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_endpoints_are_transient_connect_errors_that_suggest_failover() {
    use jobpack_core::transport::{FailureClass, Timeouts, Transport, TransportError};
    let world = World::start(1, 1).await;
    let transport = Transport::new(
        vec![
            "https://no-such-gateway.invalid".into(),
            "https://127.0.0.1:9".into(),
        ],
        &world.tls("E001"),
        Timeouts {
            connect: Duration::from_millis(500),
            request: Duration::from_millis(500),
        },
    )
    .unwrap();
    for endpoint in 0..2 {
        let err = transport
            .call(endpoint, "/notifyJob", b"{}".to_vec(), Some("key-123456"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                TransportError::Connect { .. }
                    | TransportError::Timeout {
                        after_sending: false,
                        ..
                    }
            ),
            "{err:?}"
        );
        assert_eq!(err.class(), FailureClass::Transient);
        assert!(err.suggests_failover());
        assert!(!err.maybe_delivered(), "nothing was sent");
    }
    assert!(
        matches!(
            Transport::new(
                vec![world.sim.urls()[0].clone()],
                &TlsMaterial::default(),
                Timeouts::default()
            ),
            Err(TransportError::Config(_))
        ),
        "no trust anchors is a configuration error"
    );
    let mut half = world.tls("E001");
    half.client_key_pem = None;
    assert!(matches!(
        Transport::new(
            vec![world.sim.urls()[0].clone()],
            &half,
            Timeouts::default()
        ),
        Err(TransportError::Config(_))
    ));
}
