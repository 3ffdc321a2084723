//! The core's log records through a whole working day, captured by a logger of the test's own:
//! a support engineer finds the sync cycles, the parking, the quarantine, the migrations and
//! the salvage there, and no record carries personal data (the customer's name, address and
//! phone, the engineer's name and phone, certificates, keys).

use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use jobpack_core::closure::Journey;
use jobpack_core::outbox::ItemState;
use jobpack_core::protocol::Location;
use jobpack_e2e::World;
use jobpack_e2e::jobpack_sim::FaultConfig;
use serde_json::json;

const IDLE: Duration = Duration::from_secs(20);

/// Every record of every level, as "LEVEL target: message".
struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        self.0.lock().unwrap().push(format!(
            "{} {}: {}",
            record.level(),
            record.target(),
            record.args()
        ));
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

fn records() -> Vec<String> {
    CAPTURE.0.lock().unwrap().clone()
}

fn here() -> Location {
    Location::new(53.8, -1.55, 5.0).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_working_day_logs_what_support_needs_and_no_personal_data() {
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    let world = World::start(1, 1).await;
    let jobs = world.create_jobs("E001", "LOG", 2);
    let config = world.config("E001", "day.sqlite", world.sim.urls(), world.tls("E001"));
    let database = config.database.clone();
    let engine = World::open(config.clone(), None);
    engine.sync_until_idle(IDLE).await.unwrap();
    assert_eq!(engine.jobs().unwrap().len(), 2);

    // An unreadable envelope full of a customer's details is quarantined.
    let quarantined = engine
        .apply_inbound(&[json!({
            "id": 77, "method": "createJob", "ref": "LOGQ",
            "content": {"customer": {"name": "Quentin Quarantine", "phone": "07700 900999"},
                        "address": {"line1": "9 Secret Lane", "postcode": "LS99 9ZZ"}}
        })])
        .unwrap();
    assert_eq!(quarantined.quarantined, 1);

    // One job goes through with an answer; the other's closeJob is refused and parked.
    world.sim.set_faults(FaultConfig {
        reject_closure_codes: vec!["RNA".into()],
        ..FaultConfig::default()
    });
    for job in &jobs {
        engine.accept(job).unwrap();
        engine.start_travel(job, here(), None).unwrap();
        engine.arrive(job, here(), None).unwrap();
    }
    engine
        .answer_question(&jobs[0], Journey::Visit, "T1", "-19.5 dBm at Alex's", None)
        .unwrap();
    engine.send_visit_answers(&jobs[0]).unwrap();
    engine
        .close(
            &jobs[1],
            "RNA",
            None,
            "Alex Example was not at 14 Canal Wharf",
            None,
        )
        .unwrap();
    engine.sync_until_idle(IDLE).await.unwrap();
    let parked = engine.outbox(Some(&jobs[1])).unwrap();
    assert_eq!(parked.last().unwrap().state, ItemState::Parked);
    drop(engine);

    // The file is damaged: the next start moves it aside and salvages what it can.
    let mut bytes = std::fs::read(&database).unwrap();
    bytes[..16].copy_from_slice(b"garbage garbage!");
    std::fs::write(&database, &bytes).unwrap();
    let engine = World::open(config, None);
    engine.sync_until_idle(IDLE).await.unwrap();
    drop(engine);

    let records = records();
    let all = records.join("\n");
    for needed in [
        "database migrated to schema",
        "sync cycle",
        "parked after",
        "quarantined",
        "database salvage",
        "moved aside",
    ] {
        assert!(all.contains(needed), "no record says {needed:?}:\n{all}");
    }
    let pki = world.sim.pki();
    let identity = &pki.clients["E001"];
    let personal = [
        // The customer of every job pack, the quarantined envelope's, the engineer's own.
        "Alex Example",
        "Alex's",
        "07700 900456",
        "14 Canal Wharf",
        "LS11 5PS",
        "Quentin",
        "07700 900999",
        "Secret Lane",
        "LS99 9ZZ",
        "Engineer E001",
        "+44 7700 900000",
        "7700 900000",
        // Certificates and keys, whole or in part.
        "BEGIN",
        "PRIVATE KEY",
    ];
    for text in personal {
        assert!(!all.contains(text), "a record carries {text:?}:\n{all}");
    }
    for pem in [&identity.cert_pem, &identity.key_pem, &pki.ca_cert_pem] {
        for line in pem.lines().filter(|l| l.len() > 20) {
            assert!(!all.contains(line), "a record carries PEM text:\n{all}");
        }
        // The DER bytes too, as a TLS library's debug output would print them (hex).
        let base64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(base64)
            .unwrap();
        let hex: String = der[..40].iter().map(|b| format!("{b:02x}")).collect();
        assert!(
            !all.to_lowercase().contains(&hex),
            "a record carries DER:\n{all}"
        );
    }
}
