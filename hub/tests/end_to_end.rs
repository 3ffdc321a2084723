//! The proof that the pieces fit: CityFibre (the simulator) calls the hub, the back office
//! assigns, an unmodified core `Engine` syncs against the hub with its device certificate, and
//! the hub forwards to CityFibre over mutual TLS with the partner certificate — in order,
//! exactly once in effect, faults included.

mod common;

use std::time::Duration;

use common::{World, eventually};
use jobpack_core::lifecycle::JobState;
use jobpack_core::outbox::ItemState;
use jobpack_core::protocol::{Location, OntDevice};
use jobpack_sim::{FaultConfig, sample_job_pack};

const IDLE: Duration = Duration::from_secs(20);

fn here() -> Location {
    Location::new(53.8, -1.55, 5.0).expect("location")
}

fn delivered(world: &World, job_ref: &str) -> Vec<String> {
    world
        .sim
        .stats()
        .jobs
        .get(job_ref)
        .map(|messages| {
            messages
                .iter()
                .map(|m| {
                    m.notification_type
                        .clone()
                        .unwrap_or_else(|| m.method.clone())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn hub_outbox_sent(world: &World) -> bool {
    world
        .hub
        .store()
        .outbox(None)
        .expect("hub outbox")
        .iter()
        .all(|i| i.state == ItemState::Sent)
}

on_both! {
async fn an_engine_works_a_day_through_the_hub_and_cityfibre_gets_every_message_in_order(kind) {
    let world = World::start(kind, 1).await;
    for job in ["S1", "S2"] {
        world
            .cityfibre
            .create_job(job, sample_job_pack(job).expect("pack"))
            .await
            .expect("createJob");
        world.hub.assign(job, "E001").expect("assign");
    }
    let engine = world.engine("E001", world.device("phone-e001", "E001"));
    engine.sync_until_idle(IDLE).await.expect("first sync");
    let jobs = engine.jobs().expect("jobs");
    assert_eq!(jobs.len(), 2);
    assert_eq!(engine.job("S1").expect("S1").provider_job_id, "JP-000001");

    engine.accept("S1").expect("accept");
    engine.start_travel("S1", here(), None).expect("travel");
    engine.arrive("S1", here(), None).expect("arrive");
    let ont = OntDevice::new("ALCLB443689D", "YP2244017834").expect("ont");
    engine.confirm_ont("S1", ont, None).expect("ont");
    engine.sync_until_idle(IDLE).await.expect("push");
    assert!(
        engine
            .outbox(None)
            .expect("outbox")
            .iter()
            .all(|i| i.state == ItemState::Sent)
    );

    let expected = [
        "engineerAssigned", // the hub, at dispatch
        "engineerAssigned", // the phone, on accept
        "enRoute",
        "onSite",
        "ontScanned",
    ];
    assert!(
        eventually(IDLE, || delivered(&world, "S1") == expected).await,
        "CityFibre holds {:?}",
        delivered(&world, "S1")
    );
    assert!(eventually(IDLE, || delivered(&world, "S2") == ["engineerAssigned"]).await);
    let stats = world.sim.stats();
    assert!(
        stats.order_violations.is_empty(),
        "{:?}",
        stats.order_violations
    );
    assert!(stats.quarantined.is_empty(), "{:?}", stats.quarantined);
    // CityFibre may hold a message whose answer the hub has yet to record (a dropped answer
    // is retried and absorbed): wait for the hub's own word.
    assert!(eventually(IDLE, || hub_outbox_sent(&world)).await);

    // CityFibre provisions S1 and cancels S2; both reach the phone through the inbox.
    world.cityfibre.provision("S1", 1).await.expect("provision");
    world
        .cityfibre
        .cancel_job("S2", "customer cancelled")
        .await
        .expect("cancel");
    engine.sync_until_idle(IDLE).await.expect("pull");
    assert_eq!(
        engine.job("S1").expect("S1").state,
        JobState::Provisioned { status: 1 }
    );
    assert_eq!(engine.job("S2").expect("S2").state, JobState::Cancelled);
    engine.shutdown();
}
}

on_both! {
async fn faults_between_hub_and_cityfibre_are_retried_with_exactly_once_effect(kind) {
    let world = World::start(kind, 1).await;
    let jobs: Vec<String> = (1..=6).map(|n| format!("S{n}")).collect();
    for job in &jobs {
        world
            .cityfibre
            .create_job(job, sample_job_pack(job).expect("pack"))
            .await
            .expect("createJob");
        world.hub.assign(job, "E001").expect("assign");
    }
    world.sim.set_faults(FaultConfig {
        rate: 0.4,
        seed: 11,
        delay: Duration::from_millis(900),
        ..FaultConfig::default()
    });
    let engine = world.engine("E001", world.device("phone-e001", "E001"));
    engine.sync_until_idle(IDLE).await.expect("pull");
    for job in &jobs {
        engine.accept(job).expect("accept");
        engine.start_travel(job, here(), None).expect("travel");
        engine.arrive(job, here(), None).expect("arrive");
    }
    engine.sync_until_idle(IDLE).await.expect("push to the hub");
    let all_there = || {
        jobs.iter().all(|job| {
            delivered(&world, job) == ["engineerAssigned", "engineerAssigned", "enRoute", "onSite"]
        })
    };
    assert!(
        eventually(Duration::from_secs(60), all_there).await,
        "{:?}",
        world.sim.stats().jobs
    );
    let stats = world.sim.stats();
    assert!(
        stats.order_violations.is_empty(),
        "{:?}",
        stats.order_violations
    );
    assert!(
        stats.faults_injected.values().sum::<u64>() > 0,
        "faults were injected"
    );
    assert!(eventually(IDLE, || hub_outbox_sent(&world)).await);
    let items = world.hub.store().outbox(None).expect("hub outbox");
    assert!(items.iter().any(|i| i.attempts > 1), "the hub retried");
    engine.shutdown();
}
}

on_both! {
async fn a_refusal_from_cityfibre_comes_back_to_the_phone_as_a_parked_item(kind) {
    let world = World::start(kind, 1).await;
    world
        .cityfibre
        .create_job("S9", sample_job_pack("S9").expect("pack"))
        .await
        .expect("createJob");
    world.hub.assign("S9", "E001").expect("assign");
    let engine = world.engine("E001", world.device("phone-e001", "E001"));
    engine.sync_until_idle(IDLE).await.expect("pull");
    // The engineer details reach CityFibre before it starts refusing this job.
    assert!(eventually(IDLE, || delivered(&world, "S9") == ["engineerAssigned"]).await);
    world.sim.set_faults(FaultConfig {
        reject_job_refs: vec!["S9".into()],
        ..FaultConfig::default()
    });
    let receipt = engine.accept("S9").expect("accept");
    let seq = receipt.outbox_seq.expect("queued");
    engine.sync_until_idle(IDLE).await.expect("push");
    // The hub accepted it (sent, from the phone's side) and CityFibre then refused it.
    let parked = eventually(IDLE, || {
        engine.sync_now();
        engine
            .outbox(Some("S9"))
            .expect("outbox")
            .iter()
            .any(|i| i.seq == seq && i.state == ItemState::Parked)
    })
    .await;
    assert!(parked, "{:?}", engine.outbox(Some("S9")));
    let item = engine
        .outbox(Some("S9"))
        .expect("outbox")
        .into_iter()
        .find(|i| i.seq == seq)
        .expect("item");
    assert!(
        item.parked_reason
            .as_deref()
            .is_some_and(|r| r.contains("HTTP 422")),
        "{item:?}"
    );
    let hub_items = world.hub.store().outbox(Some("S9")).expect("hub outbox");
    assert_eq!(
        hub_items.iter().map(|i| i.state).collect::<Vec<_>>(),
        [ItemState::Sent, ItemState::Discarded],
        "the hub let its copy go"
    );

    // CityFibre fixes its side; the engineer resends from the outbox screen.
    world.sim.set_faults(FaultConfig::default());
    engine.resend(seq).expect("resend");
    engine
        .sync_until_idle(IDLE)
        .await
        .expect("resend reaches the hub");
    assert!(
        eventually(IDLE, || delivered(&world, "S9")
            == ["engineerAssigned", "engineerAssigned"])
        .await,
        "{:?}",
        delivered(&world, "S9")
    );
    assert!(eventually(IDLE, || hub_outbox_sent_or_gone(&world)).await);
    engine.shutdown();
}
}

fn hub_outbox_sent_or_gone(world: &World) -> bool {
    world
        .hub
        .store()
        .outbox(None)
        .expect("hub outbox")
        .iter()
        .all(|i| i.state == ItemState::Sent)
}

on_both! {
async fn what_the_hub_accepted_while_cityfibre_was_down_is_delivered_after_a_hub_restart(kind) {
    let world = World::start(kind, 1).await;
    world.sim.set_gateway_down(0, true);
    world.sim.set_gateway_down(1, true);
    world
        .cityfibre
        .create_job("S7", sample_job_pack("S7").expect("pack"))
        .await
        .expect("createJob");
    world.hub.assign("S7", "E001").expect("assign");
    let engine = world.engine("E001", world.device("phone-e001", "E001"));
    engine.sync_until_idle(IDLE).await.expect("pull");
    engine.accept("S7").expect("accept");
    engine.start_travel("S7", here(), None).expect("travel");
    engine.sync_until_idle(IDLE).await.expect("the hub accepts");
    assert!(
        eventually(IDLE, || world
            .hub
            .store()
            .outbox(Some("S7"))
            .expect("outbox")
            .iter()
            .any(|i| i.attempts > 0))
        .await,
        "the hub tried CityFibre"
    );
    assert!(delivered(&world, "S7").is_empty());
    engine.shutdown();

    // The hub goes away with three messages in its outbox and comes back on the same files.
    let pki = world.sim.pki().clone();
    let mut config = common::hub_config(world.dir.path(), &pki, world.sim.urls());
    config.backend = world.backend.clone();
    // The PostgreSQL server (if any) outlives the hub's restart.
    let World {
        sim,
        hub,
        dir,
        pg: _pg,
        ..
    } = world;
    hub.shutdown().await;
    sim.set_gateway_down(0, false);
    sim.set_gateway_down(1, false);
    let hub = jobpack_hub::Hub::start(config).await.expect("restart");
    let expected = ["engineerAssigned", "engineerAssigned", "enRoute"];
    let arrived = eventually(IDLE, || {
        sim.stats()
            .jobs
            .get("S7")
            .map(|m| {
                m.iter()
                    .map(|m| m.notification_type.clone().unwrap_or_default())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            == expected
    })
    .await;
    assert!(arrived, "{:?}", sim.stats().jobs.get("S7"));
    assert!(sim.stats().order_violations.is_empty());
    hub.shutdown().await;
    drop(dir);
}
}

on_both! {
async fn cityfibre_answers_an_ont_scan_by_calling_the_hub_and_the_phone_sees_it(kind) {
    // Every scan is answered "retrying in 5 minutes" (4), then "provisioned" (1).
    let world = World::start(kind, 4).await;
    let pki = world.sim.pki().clone();
    world.sim.call_partner(common::caller(&world.hub, &pki));
    world
        .cityfibre
        .create_job("S5", sample_job_pack("S5").expect("pack"))
        .await
        .expect("createJob");
    world.hub.assign("S5", "E001").expect("assign");
    let engine = world.engine("E001", world.device("phone-e001", "E001"));
    engine.sync_until_idle(IDLE).await.expect("pull");
    engine.accept("S5").expect("accept");
    engine.start_travel("S5", here(), None).expect("travel");
    engine.arrive("S5", here(), None).expect("arrive");
    let ont = OntDevice::new("ALCLB443689D", "YP2244017834").expect("ont");
    engine.confirm_ont("S5", ont, None).expect("scan");
    let provisioned = eventually(IDLE, || {
        engine.sync_now();
        engine.job("S5").map(|j| j.state).ok() == Some(JobState::Provisioned { status: 1 })
    })
    .await;
    assert!(provisioned, "{:?}", engine.job("S5").map(|j| j.state));
    let stats = world.sim.stats();
    assert_eq!(stats.provisioning_sent.get(&4), Some(&1));
    assert_eq!(stats.provisioning_sent.get(&1), Some(&1));
    // Both notices went through the hub: stored as CityFibre's calls, relayed to the phone.
    assert_eq!(world.hub.store().inbound_count().expect("count"), 3);
    engine.shutdown();
}
}

on_both! {
async fn the_hubs_own_refused_message_stays_parked_for_the_back_office_and_holds_its_job(kind) {
    let world = World::start(kind, 1).await;
    world.sim.set_faults(FaultConfig {
        reject_job_refs: vec!["S8".into()],
        ..FaultConfig::default()
    });
    world
        .cityfibre
        .create_job("S8", sample_job_pack("S8").expect("pack"))
        .await
        .expect("createJob");
    world.hub.assign("S8", "E001").expect("assign");
    let parked = || {
        world
            .hub
            .store()
            .outbox(Some("S8"))
            .expect("outbox")
            .into_iter()
            .find(|i| i.state == ItemState::Parked)
    };
    assert!(eventually(IDLE, || parked().is_some()).await);
    let item = parked().expect("parked");
    assert!(
        item.parked_reason
            .as_deref()
            .is_some_and(|r| r.contains("HTTP 422"))
    );
    // The phone's message for the same job waits behind it at the hub.
    let engine = world.engine("E001", world.device("phone-e001", "E001"));
    engine.sync_until_idle(IDLE).await.expect("pull");
    engine.accept("S8").expect("accept");
    engine.sync_until_idle(IDLE).await.expect("push");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(delivered(&world, "S8").is_empty());
    assert!(world.hub.store().discard(item.seq, "not-its-key").is_err());

    world.sim.set_faults(FaultConfig::default());
    world.hub.store().resend(item.seq).expect("resend");
    assert!(
        eventually(IDLE, || delivered(&world, "S8")
            == ["engineerAssigned", "engineerAssigned"])
        .await,
        "{:?}",
        delivered(&world, "S8")
    );
    engine.shutdown();
}
}
