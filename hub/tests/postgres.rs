//! PostgreSQL only: the schema after the numbered migrations is the one the code expects, and
//! two hub processes (two `Hub`s) on one database behave as one hub — every phone message
//! reaches CityFibre exactly once and in per-job order, whichever hub took it, with CityFibre's
//! redeliveries and the phones' retries spread over both. The server is a real PostgreSQL
//! started by the test (`common::postgres`).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::postgres::PgServer;
use common::{caller, en_route, eventually, hub_config};
use jobpack_core::outbox::ItemState;
use jobpack_core::protocol::Timestamp;
use jobpack_core::transport::TlsMaterial;
use jobpack_hub::{
    Backend, Db, Hub, HubError, LATEST_VERSION, PG_LATEST_VERSION, PgDb, Role, Storage,
};
use jobpack_sim::{FaultConfig, Pki, ProvisioningScript, SimConfig, Simulator, sample_job_pack};

fn columns(storage: &Storage, sql: &str) -> BTreeSet<(String, String, bool)> {
    storage
        .read(|tx| tx.query(sql, &[]))
        .expect("schema query")
        .iter()
        .map(|r| {
            (
                r.get::<String>(0).expect("table"),
                r.get::<String>(1).expect("column"),
                r.get::<i64>(2).expect("not null") != 0,
            )
        })
        .collect()
}

#[test]
fn the_postgres_schema_after_its_migrations_has_every_sqlite_column() {
    let server = PgServer::start();
    let pg = Storage::Postgres(Box::new(PgDb::open(&server.url()).expect("migrate")));
    let sqlite = Storage::Sqlite(Db::open_in_memory().expect("sqlite"));
    let on_sqlite = columns(
        &sqlite,
        "SELECT m.name, p.name, p.\"notnull\" OR p.pk FROM sqlite_master m
         JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
    );
    let on_pg = columns(
        &pg,
        "SELECT table_name::text, column_name::text,
                CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END::bigint
         FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> 'hub_schema'",
    );
    // The claim is PostgreSQL's own: several processes share its outbox.
    let claim: BTreeSet<_> = [
        ("outbox".to_owned(), "claimed_by".to_owned(), false),
        ("outbox".to_owned(), "claimed_until".to_owned(), false),
    ]
    .into();
    let expected: BTreeSet<_> = on_sqlite.union(&claim).cloned().collect();
    assert_eq!(on_pg, expected);
    assert_eq!(
        LATEST_VERSION, 3,
        "a new SQLite migration needs its PostgreSQL twin"
    );

    let version = |storage: &Storage| {
        storage
            .read(|tx| {
                tx.query_one("SELECT MAX(version) FROM hub_schema", &[])?
                    .get::<i64>(0)
            })
            .expect("version")
    };
    assert_eq!(version(&pg), PG_LATEST_VERSION);
    drop(pg);
    // Opening again (a second hub process) migrates nothing and keeps the data.
    let again = Storage::Postgres(Box::new(PgDb::open(&server.url()).expect("reopen")));
    assert_eq!(version(&again), PG_LATEST_VERSION);
    again
        .write(|tx| tx.execute("INSERT INTO hub_schema (version) VALUES (99)", &[]))
        .expect("a newer hub was here");
    drop(again);
    assert!(matches!(
        PgDb::open(&server.url()),
        Err(HubError::NewerSchema { found: 99, .. })
    ));
}

/// Pushes until a hub answers (a phone retries the same key); the answer's body.
async fn push(client: &reqwest::Client, url: &str, key: &str, body: &[u8]) -> serde_json::Value {
    for _ in 0..50 {
        let sent = client
            .post(format!("{url}/notifyJob"))
            .header("content-type", "application/json")
            .header("Idempotency-Key", key)
            .body(body.to_vec())
            .send()
            .await;
        if let Ok(response) = sent
            && response.status().as_u16() == 200
            && let Ok(text) = response.text().await
        {
            return serde_json::from_str(&text).expect("JSON answer");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no hub accepted {key}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hubs_on_one_database_deliver_every_message_once_and_in_order() {
    let server = PgServer::start();
    let dir = tempfile::tempdir().expect("dir");
    let pki = Pki::generate(&["E001".to_owned()]).expect("pki");
    let sim = Simulator::start(
        SimConfig {
            listen: vec![
                "127.0.0.1:0".parse().expect("addr"),
                "127.0.0.1:0".parse().expect("addr"),
            ],
            engineers: vec!["E001".to_owned()],
            faults: FaultConfig {
                rate: 0.3,
                seed: 15,
                delay: Duration::from_millis(900),
                ..FaultConfig::default()
            },
            provisioning: ProvisioningScript::always(1),
            retry_delay: Duration::from_millis(100),
            clock_skew_ms: 0,
        },
        pki.clone(),
    )
    .await
    .expect("simulator");
    // Two hub processes behind one address would share the CA files and the database.
    let start = || {
        let mut config = hub_config(dir.path(), &pki, sim.urls());
        config.backend = Backend::Postgres(server.url());
        config.max_in_flight = 4;
        Hub::start(config)
    };
    let (a, b) = (start().await.expect("hub A"), start().await.expect("hub B"));
    a.store()
        .add_engineer(&common::engineer("E001"))
        .expect("engineer");
    let hubs = [&a, &b];

    // CityFibre sends each createJob to both hubs at once (a retry that went to the other
    // address): one job, one providerJobId, whichever hub answered.
    let jobs: Vec<String> = (1..=4).map(|n| format!("S{n}")).collect();
    let callers = [caller(&a, &pki), caller(&b, &pki)];
    let mut provider_ids = BTreeSet::new();
    for job in &jobs {
        let pack = sample_job_pack(job).expect("pack");
        let (x, y) = tokio::join!(
            callers[0].create_job(job, pack.clone()),
            callers[1].create_job(job, pack)
        );
        let (x, y) = (x.expect("createJob at A"), y.expect("createJob at B"));
        assert_eq!(x["providerJobId"], y["providerJobId"], "{x} {y}");
        provider_ids.insert(x["providerJobId"].as_str().expect("id").to_owned());
    }
    assert_eq!(provider_ids.len(), jobs.len(), "{provider_ids:?}");
    for (n, job) in jobs.iter().enumerate() {
        hubs[n % 2].assign(job, "E001").expect("assign");
    }

    let identity = a
        .store()
        .issue_device("phone-e001", Some("E001"), Role::Device)
        .expect("device");
    let tls = TlsMaterial {
        client_cert_pem: Some(identity.cert_pem),
        client_key_pem: Some(identity.key_pem),
        trust_anchors_pem: a.store().pki.ca_cert_pem.clone(),
        allow_plain_http_loopback: false,
    };
    let client = common::client(&tls);
    let urls = [a.device_url().to_owned(), b.device_url().to_owned()];

    // The phone sends each job's messages one at a time, alternating hubs, and sometimes
    // retries one at the other hub (its answer was lost): all jobs at once.
    const PER_JOB: usize = 8;
    let lanes = jobs.iter().map(|job| {
        let (client, urls) = (client.clone(), urls.clone());
        let job = job.clone();
        let provider_job_id = a
            .store()
            .job(&job)
            .expect("job")
            .expect("known")
            .provider_job_id;
        async move {
            for i in 0..PER_JOB {
                let key = format!("{job}-msg-{i:02}");
                let body = en_route(&job, &provider_job_id, 1000 + i as u64);
                let first = push(&client, &urls[i % 2], &key, &body).await;
                if i % 3 == 0 {
                    let again = push(&client, &urls[(i + 1) % 2], &key, &body).await;
                    assert_eq!(
                        first, again,
                        "a retry at the other hub gets the same answer"
                    );
                }
            }
        }
    });
    futures_util::future::join_all(lanes).await;

    // The same key pushed to both hubs at the same moment: one outbox item.
    let body = en_route(
        "S1",
        &a.store()
            .job("S1")
            .expect("job")
            .expect("S1")
            .provider_job_id,
        7,
    );
    let (x, y) = tokio::join!(
        push(&client, &urls[0], "S1-msg-race", &body),
        push(&client, &urls[1], "S1-msg-race", &body)
    );
    assert_eq!(x, y);

    let arrived = |job: &str| -> Vec<String> {
        sim.stats()
            .jobs
            .get(job)
            .map(|m| {
                m.iter()
                    .filter_map(|m| m.idempotency_key.clone())
                    .filter(|k| k.starts_with(&format!("{job}-msg-")))
                    .collect()
            })
            .unwrap_or_default()
    };
    let expected = |job: &str| -> Vec<String> {
        let mut keys: Vec<String> = (0..PER_JOB).map(|i| format!("{job}-msg-{i:02}")).collect();
        if job == "S1" {
            keys.push("S1-msg-race".to_owned());
        }
        keys
    };
    let all = || jobs.iter().all(|job| arrived(job) == expected(job));
    assert!(
        eventually(Duration::from_secs(90), all).await,
        "CityFibre holds {:?}",
        jobs.iter().map(|j| arrived(j)).collect::<Vec<_>>()
    );
    let stats = sim.stats();
    assert!(
        stats.order_violations.is_empty(),
        "{:?}",
        stats.order_violations
    );
    assert!(stats.quarantined.is_empty(), "{:?}", stats.quarantined);
    for job in &jobs {
        let dispatch = stats.jobs[job.as_str()]
            .iter()
            .filter(|m| m.notification_type.as_deref() == Some("engineerAssigned"))
            .count();
        assert_eq!(dispatch, 1, "{job}: one dispatch notice");
    }
    // Both hubs see one outbox: every item sent, each key once.
    let sent = || {
        [&a, &b].iter().all(|hub| {
            hub.store()
                .outbox(None)
                .expect("outbox")
                .iter()
                .all(|i| i.state == ItemState::Sent)
        })
    };
    assert!(eventually(Duration::from_secs(30), sent).await);
    let items = b.store().outbox(None).expect("outbox");
    assert_eq!(items.len(), jobs.len() * (PER_JOB + 1) + 1);
    let keys: BTreeSet<_> = items.iter().map(|i| i.idempotency_key.clone()).collect();
    assert_eq!(keys.len(), items.len());
    // Both processes' forwarders delivered (a sent item keeps the name of its sender).
    let senders: i64 = a
        .store()
        .db
        .read(|tx| {
            tx.query_one(
                "SELECT COUNT(DISTINCT claimed_by) FROM outbox WHERE state = 'sent'",
                &[],
            )?
            .get(0)
        })
        .expect("senders");
    assert_eq!(senders, 2, "both hubs forwarded");
    assert!(
        stats.faults_injected.values().sum::<u64>() > 0,
        "faults were injected"
    );
    a.shutdown().await;
    b.shutdown().await;
}

/// A hub process that died holding an outbox lease: the others leave the item alone while the
/// lease runs, then take it over and deliver it (with its key: CityFibre absorbs a double).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_claimants_lease_expires_and_another_hub_delivers_the_item() {
    let server = PgServer::start();
    let dir = tempfile::tempdir().expect("dir");
    let pki = Pki::generate(&["E001".to_owned()]).expect("pki");
    let sim = Simulator::start(
        SimConfig {
            listen: vec!["127.0.0.1:0".parse().expect("addr")],
            engineers: vec!["E001".to_owned()],
            faults: FaultConfig::default(),
            provisioning: ProvisioningScript::always(1),
            retry_delay: Duration::from_millis(100),
            clock_skew_ms: 0,
        },
        pki.clone(),
    )
    .await
    .expect("simulator");
    // A hub with no upstream (no forwarder) takes the job and queues the dispatch notice.
    let mut config = hub_config(dir.path(), &pki, Vec::new());
    config.backend = Backend::Postgres(server.url());
    let quiet = Hub::start(config).await.expect("hub without forwarder");
    quiet
        .store()
        .add_engineer(&common::engineer("E001"))
        .expect("engineer");
    caller(&quiet, &pki)
        .create_job("S1", sample_job_pack("S1").expect("pack"))
        .await
        .expect("createJob");
    let seq = quiet
        .assign("S1", "E001")
        .expect("assign")
        .outbox_seq
        .expect("notice queued");
    // A process that has since died leased it for 10 s.
    let lease_ms = 10_000;
    quiet
        .store()
        .db
        .write(|tx| {
            tx.execute(
                "UPDATE outbox SET claimed_by = 'dead-process', claimed_until = ?1 WHERE seq = ?2",
                &[
                    jobpack_hub::sql::Arg::Int(Timestamp::now().unix_millis() + lease_ms),
                    jobpack_hub::sql::Arg::Int(seq),
                ],
            )
        })
        .expect("lease");
    quiet.shutdown().await;

    let mut config = hub_config(dir.path(), &pki, sim.urls());
    config.backend = Backend::Postgres(server.url());
    let hub = Hub::start(config).await.expect("hub");
    let arrived = || sim.stats().jobs.get("S1").map_or(0, |m| m.len());
    // Well inside the lease (a second of its ten), the item is still the dead process's.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(arrived(), 0, "sent while another process held the lease");
    let item = hub.store().outbox(Some("S1")).expect("outbox");
    assert_eq!(item[0].state, ItemState::Queued);
    assert!(
        eventually(Duration::from_secs(40), || arrived() == 1).await,
        "the item was taken over after the lease ran out"
    );
    assert!(
        eventually(Duration::from_secs(10), || hub
            .store()
            .outbox(Some("S1"))
            .expect("outbox")
            .iter()
            .all(|i| i.state == ItemState::Sent))
        .await
    );
    hub.shutdown().await;
}

/// Commit before answering, on PostgreSQL: with the database gone the hub cannot commit, so
/// CityFibre gets 503 (which it retries), never a 200 for a job the hub does not hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_database_the_hub_answers_503_never_200() {
    let server = PgServer::start();
    let dir = tempfile::tempdir().expect("dir");
    let pki = Pki::generate(&["E001".to_owned()]).expect("pki");
    let mut config = hub_config(dir.path(), &pki, Vec::new());
    config.backend = Backend::Postgres(server.url());
    let hub = Hub::start(config).await.expect("hub");
    let cityfibre = caller(&hub, &pki);
    cityfibre
        .create_job("S1", sample_job_pack("S1").expect("pack"))
        .await
        .expect("answered while the database is up");
    drop(server);
    match cityfibre
        .create_job("S2", sample_job_pack("S2").expect("pack"))
        .await
    {
        Err(jobpack_sim::CallError::GaveUp { last, .. }) => {
            assert!(last.contains("503"), "{last}");
        }
        Err(jobpack_sim::CallError::Refused { status, body }) => {
            assert_eq!(status, 503, "{body}");
        }
        other => panic!("the hub answered without its database: {other:?}"),
    }
    hub.shutdown().await;
}
