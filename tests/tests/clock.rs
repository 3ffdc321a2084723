//! Trusted action times end to end: the core learns the offset between the phone's clock and
//! CityFibre's from the `Date` of every response (the simulator skews its clock to make the
//! phone's look wrong), stamps each action with the device time and the corrected time,
//! keeps the correction across a restart offline, marks unchecked times, and never lets a
//! clock set back reorder a job's messages.

use std::time::Duration;

use jobpack_core::closure::Journey;
use jobpack_core::engine::Engine;
use jobpack_core::lifecycle::Warning;
use jobpack_core::outbox::{ItemKind, OutboxItem};
use jobpack_core::protocol::{Location, Timestamp};
use jobpack_e2e::World;

const IDLE: Duration = Duration::from_secs(30);
const HOUR: i64 = 3_600_000;
/// The `Date` header has whole seconds and requests take time.
const SLACK_MS: i64 = 5_000;

fn here() -> Location {
    Location::new(53.8, -1.55, 5.0).unwrap()
}

fn messages(engine: &Engine, job: &str) -> Vec<OutboxItem> {
    engine
        .outbox(Some(job))
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == ItemKind::Rpc)
        .collect()
}

fn body(engine: &Engine, seq: i64) -> String {
    String::from_utf8(engine.outbox_body(seq).unwrap()).unwrap()
}

fn near(actual: i64, expected: i64) -> bool {
    (actual - expected).abs() <= SLACK_MS
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_clock_hours_wrong_is_corrected_by_the_servers_date() {
    let world = World::start(1, 1).await;
    // CityFibre's clock three hours ahead: the phone's is three hours behind.
    world.sim.set_clock_skew(3 * HOUR);
    let engine = world.engine("E001", "skewed.sqlite");
    let job = world.create_jobs("E001", "CLK", 1).remove(0);
    engine.sync_until_idle(IDLE).await.unwrap();

    let device_before = Timestamp::now().unix_millis();
    engine.accept(&job).unwrap();
    engine.start_travel(&job, here(), None).unwrap();
    engine.arrive(&job, here(), None).unwrap();
    // An answer's `response_received` is corrected like any action's time.
    engine
        .answer_question(&job, Journey::Visit, "T1", "-19 dBm", None)
        .unwrap();
    let view = engine.flow(&job, Journey::Visit, None, None).unwrap();
    let answered = view.answered[0]
        .answered_at
        .expect("answered")
        .unix_millis();
    assert!(near(answered, device_before + 3 * HOUR), "{answered}");
    for item in messages(&engine, &job) {
        assert_eq!(item.time_source.as_deref(), Some("corrected"), "{item:?}");
        assert!(near(item.time_correction_ms, 3 * HOUR), "{item:?}");
        let device = item
            .device_acted_at
            .expect("device time kept")
            .unix_millis();
        assert!(
            near(device, device_before),
            "the device's own time is kept: {item:?}"
        );
        assert!(
            body(&engine, item.seq).contains(&item.acted_at.to_string()),
            "the message carries the corrected time"
        );
    }
    engine.sync_until_idle(IDLE).await.unwrap();
    assert_eq!(world.sim.stats().jobs[&job].len(), 3, "all delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_clock_is_checked_and_not_moved() {
    let world = World::start(1, 1).await;
    let engine = world.engine("E001", "right.sqlite");
    let job = world.create_jobs("E001", "OK", 1).remove(0);
    engine.sync_until_idle(IDLE).await.unwrap();
    engine.accept(&job).unwrap();
    let item = messages(&engine, &job).remove(0);
    assert_eq!(item.time_source.as_deref(), Some("checked"));
    assert_eq!(item.time_correction_ms, 0);
    assert_eq!(item.device_acted_at, Some(item.acted_at));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_set_back_mid_job_cannot_put_an_action_before_the_previous_one() {
    let world = World::start(1, 1).await;
    let engine = world.engine("E001", "setback.sqlite");
    let job = world.create_jobs("E001", "BACK", 1).remove(0);
    engine.sync_until_idle(IDLE).await.unwrap();
    engine.accept(&job).unwrap();
    engine.start_travel(&job, here(), None).unwrap();
    let travelled = messages(&engine, &job).pop().unwrap();

    // The engineer sets the phone's clock back an hour while offline, then arrives.
    engine.set_online(false);
    let an_hour_ago = Timestamp::from_unix_millis(Timestamp::now().unix_millis() - HOUR).unwrap();
    let receipt = engine.arrive(&job, here(), Some(an_hour_ago)).unwrap();
    let set_back = receipt.warnings.iter().find_map(|w| match w {
        Warning::ClockSetBack { set_back_ms } => Some(*set_back_ms),
        _ => None,
    });
    assert!(
        set_back.is_some_and(|ms| near(ms, HOUR)),
        "a typed warning: {:?}",
        receipt.warnings
    );
    let arrived = messages(&engine, &job).pop().unwrap();
    assert_eq!(arrived.time_source.as_deref(), Some("clamped"));
    assert_eq!(arrived.acted_at, travelled.acted_at, "not before en route");
    assert_eq!(
        arrived.device_acted_at,
        Some(an_hour_ago),
        "the device's word is kept"
    );
    assert!(arrived.seq > travelled.seq);

    engine.set_online(true);
    engine.sync_until_idle(IDLE).await.unwrap();
    let seen = &world.sim.stats().jobs[&job];
    assert_eq!(seen.len(), 3, "accept, en route, on site, in that order");
    let violations = world.sim.stats().order_violations;
    assert!(violations.is_empty(), "{violations:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_done_offline_after_a_restart_keeps_the_learned_correction() {
    let world = World::start(1, 1).await;
    world.sim.set_clock_skew(-2 * HOUR);
    let config = world.config(
        "E001",
        "restart.sqlite",
        world.sim.urls(),
        world.tls("E001"),
    );
    let engine = World::open(config.clone(), None);
    let job = world.create_jobs("E001", "RST", 1).remove(0);
    engine.sync_until_idle(IDLE).await.unwrap();
    engine.accept(&job).unwrap();
    engine.sync_until_idle(IDLE).await.unwrap();
    drop(engine);

    // The phone restarts in a basement: no network at all, the same wrong clock.
    let mut offline = config;
    offline.start_online = false;
    let engine = World::open(offline, None);
    engine.start_travel(&job, here(), None).unwrap();
    engine.arrive(&job, here(), None).unwrap();
    let items = messages(&engine, &job);
    assert_eq!(items.len(), 3);
    for item in &items[1..] {
        assert_eq!(item.time_source.as_deref(), Some("corrected"), "{item:?}");
        assert!(near(item.time_correction_ms, -2 * HOUR), "{item:?}");
        assert!(
            item.clock_check_age_ms.is_some_and(|age| age >= 0),
            "{item:?}"
        );
    }
    assert!(items[1].acted_at <= items[2].acted_at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_on_a_clock_never_checked_is_marked_unchecked() {
    let world = World::start(1, 1).await;
    let config = world.config(
        "E001",
        "unchecked.sqlite",
        world.sim.urls(),
        world.tls("E001"),
    );
    let engine = World::open(config.clone(), None);
    let job = world.create_jobs("E001", "UNC", 1).remove(0);
    engine.sync_until_idle(IDLE).await.unwrap();
    drop(engine);
    // As a database from before clock checks were kept: no check on record.
    let conn = rusqlite::Connection::open(&config.database).unwrap();
    conn.execute("DELETE FROM sync_state WHERE key = 'clock_check'", [])
        .unwrap();
    drop(conn);

    let mut offline = config;
    offline.start_online = false;
    let engine = World::open(offline, None);
    engine.accept(&job).unwrap();
    let item = messages(&engine, &job).remove(0);
    assert_eq!(item.time_source.as_deref(), Some("unchecked"));
    assert_eq!(item.time_correction_ms, 0);
    assert!(item.clock_check_age_ms.is_none());
}
