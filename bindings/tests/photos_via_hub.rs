//! Photos through the FFI with no S3 key on the phone: a `Config` whose `PhotoStorage` has no
//! `direct_s3` uploads each photo to a URL the real hub presigns for the device's own client
//! certificate (the same TLS material as its upstream), into the real S3 stand-in (moto
//! behind SigV4 checks). And the configuration rules the core owns refuse what cannot work.

use std::sync::Arc;
use std::time::Duration;

use jobpack_core::photos::PhotoHash;
use jobpack_ffi::closure::Journey;
use jobpack_ffi::config::{Config, Engineer, PhotoStorage};
use jobpack_ffi::{Jobpack, JobpackError};
use jobpack_hub::{Hub, HubConfig, PhotoBucket, Role};
use jobpack_sim::s3::{self, S3StandIn};
use jobpack_sim::{CallerConfig, PartnerCaller, Pki, sample_job_pack};

const BUCKET: &str = "cityfibre-evidence";
const LABEL_PNG: &[u8] = include_bytes!("fixtures/ont-label.png");

fn engineer() -> Engineer {
    Engineer {
        id: "E001".into(),
        name: "Engineer E001".into(),
        phone: "+44 7700 900123".into(),
        company: None,
    }
}

fn config(database: &std::path::Path, endpoints: Vec<String>) -> Config {
    Config {
        database_path: database.display().to_string(),
        endpoints,
        client_certificate_pem: None,
        client_key_pem: None,
        trust_anchors_pem: String::new(),
        engineer: engineer(),
        partner_catalogue_json: None,
        start_online: true,
        request_timeout_secs: 10,
        closure_matrix_json: None,
        // The recommended mode: no `direct_s3`, so no S3 key on the phone.
        photo_storage: Some(PhotoStorage {
            bucket: BUCKET.into(),
            trust_anchors_pem: None,
            max_edge: 1024,
            direct_s3: None,
        }),
        allow_plain_http_loopback: false,
        retention: None,
        storage_key: Some(vec![7; 32]),
    }
}

#[test]
fn a_phone_with_no_s3_key_uploads_its_photo_through_the_hub() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let (stand_in, hub, cityfibre) = rt.block_on(async {
        let stand_in = S3StandIn::start(&[BUCKET]).await.expect("S3 stand-in");
        // CityFibre's certificate authority (the simulator's PKI); no upstream: the hub
        // keeps what it would forward, which this test does not need.
        let pki = Pki::generate(&["E001".to_owned()]).expect("pki");
        let mut hub_config = HubConfig::local(dir.path().join("hub"), pki.ca_cert_pem.clone());
        hub_config.photos = Some(PhotoBucket {
            endpoint: stand_in.endpoint(),
            region: s3::REGION.into(),
            bucket: BUCKET.into(),
            access_key_id: s3::ACCESS_KEY_ID.into(),
            secret_access_key: s3::SECRET_ACCESS_KEY.into(),
            path_style: true,
            validity: Duration::from_secs(120),
        });
        let hub = Hub::start(hub_config).await.expect("hub");
        hub.store()
            .add_engineer(&engineer().into())
            .expect("engineer");
        let cityfibre = PartnerCaller::new(CallerConfig {
            urls: vec![hub.cityfibre_url().to_owned()],
            hub_anchors_pem: hub.store().pki.ca_cert_pem.clone(),
            identity: pki.cityfibre.clone(),
            attempts: 5,
            backoff: Duration::from_millis(50),
            timeout: Duration::from_secs(5),
        })
        .expect("caller");
        cityfibre
            .create_job("S1", sample_job_pack("S1").expect("pack"))
            .await
            .expect("createJob");
        hub.assign("S1", "E001").expect("assign");
        (stand_in, hub, cityfibre)
    });
    let device = hub
        .store()
        .issue_device("phone-1", Some("E001"), Role::Device)
        .expect("device certificate");

    let mut config = config(
        &dir.path().join("E001.sqlite"),
        vec![hub.device_url().to_owned()],
    );
    config.client_certificate_pem = Some(device.cert_pem);
    config.client_key_pem = Some(device.key_pem);
    config.trust_anchors_pem = hub.store().pki.ca_cert_pem.clone();
    // The S3 stand-in is plain http on loopback (QA); the hub itself is https.
    config.allow_plain_http_loopback = true;
    let core: Arc<Jobpack> = Jobpack::open(config).expect("the core opens");

    rt.block_on(core.sync_until_idle(20_000)).expect("pull");
    rt.block_on(core.accept("S1".into())).expect("accept");
    let photo = rt
        .block_on(core.attach_photo(
            "S1".into(),
            Journey::Closure,
            "4900".into(),
            LABEL_PNG.to_vec(),
        ))
        .expect("photo");
    rt.block_on(core.sync_until_idle(20_000))
        .expect("the upload is delivered");

    let key = photo
        .object_path
        .strip_prefix(&format!("s3://{BUCKET}/"))
        .expect("named in the bucket")
        .to_owned();
    let stored = rt
        .block_on(stand_in.get_object(BUCKET, &key))
        .expect("read back")
        .expect("the photo is in the bucket");
    assert_eq!(PhotoHash::of(&stored.bytes).as_str(), photo.sha256);
    drop(core);
    rt.block_on(async {
        drop(cityfibre);
        hub.shutdown().await;
        drop(stand_in);
    });
}

fn refused(config: Config) -> String {
    match Jobpack::open(config) {
        Err(JobpackError::Config { reason }) => reason,
        Err(other) => panic!("expected a configuration error, got {other:?}"),
        Ok(_) => panic!("expected a configuration error, the core opened"),
    }
}

#[test]
fn the_core_refuses_configurations_that_cannot_work() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = dir.path().join("core.sqlite");

    // Hub uploads with no hub to ask.
    let reason = refused(config(&database, vec![]));
    assert!(reason.contains("need an endpoint"), "{reason}");

    // A zero timeout would fail every call at once.
    let mut zero_timeout = config(&database, vec!["https://127.0.0.1:9".into()]);
    zero_timeout.request_timeout_secs = 0;
    let reason = refused(zero_timeout);
    assert!(reason.contains("timeouts.request"), "{reason}");

    // A zero longest edge would fail every photo.
    let mut zero_edge = config(&database, vec!["https://127.0.0.1:9".into()]);
    if let Some(photos) = zero_edge.photo_storage.as_mut() {
        photos.max_edge = 0;
    }
    let reason = refused(zero_edge);
    assert!(reason.contains("max_edge"), "{reason}");

    // Refused before anything was written beside the database.
    assert!(
        !database.exists(),
        "a refused configuration created the database"
    );
}
