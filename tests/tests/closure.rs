//! The question based closure end to end: a job answered on site with the default matrix,
//! photos prepared by the core and uploaded to a real S3-compatible server (moto), and the
//! closeJob delivered to the simulator over mutual TLS only after its photos are in the
//! bucket — also when S3 is down at closing time and the phone dies before it comes back.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::time::Duration;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use jobpack_core::closure::{Gap, Journey};
use jobpack_core::engine::{Config, Engine, Error, PhotoUpload};
use jobpack_core::lifecycle::JobState;
use jobpack_core::outbox::{ItemKind, ItemState};
use jobpack_core::protocol::{Location, OntDevice, OutboundCall, QuestionAnswer, Source};
use jobpack_e2e::s3::MotoServer;
use jobpack_e2e::{World, eventually};
use sha2::{Digest, Sha256};

const BUCKET: &str = "cityfibre-closure-evidence";
const IDLE: Duration = Duration::from_secs(30);

fn here() -> Location {
    Location::new(53.8, -1.55, 5.0).unwrap()
}

/// A camera-like JPEG, different for every `seed`.
fn camera_jpeg(seed: u8) -> Vec<u8> {
    let image = RgbImage::from_fn(640, 480, |x, y| {
        Rgb([
            (x as u8) ^ seed,
            (y as u8).wrapping_add(seed),
            seed.wrapping_mul(7),
        ])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image)
        .write_to(&mut out, ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

/// The default matrix (not the transport tests' one) and photos going to `moto`.
fn closure_config(world: &World, db: &str, moto: &MotoServer) -> Config {
    let mut config = world.config("E001", db, world.sim.urls(), world.tls("E001"));
    config.closure_matrix = None;
    config.photos.bucket = BUCKET.into();
    config.photos.upload = Some(PhotoUpload::DirectS3(moto.config(BUCKET)));
    config
}

/// Answers from `answers` and photographs until `journey` has no gaps; panics on a gap the
/// table cannot fill, naming it.
fn complete(
    engine: &Engine,
    job: &str,
    journey: Journey,
    closure: Option<&str>,
    answers: &BTreeMap<&str, &str>,
    seed: &mut u8,
) {
    for _ in 0..64 {
        let view = engine.flow(job, journey, closure, None).unwrap();
        let Some(gap) = view.gaps.first() else {
            return;
        };
        match gap {
            Gap::UnansweredQuestion { question_code, .. } => {
                let raw = answers
                    .get(question_code.as_str())
                    .unwrap_or_else(|| panic!("no test answer for {question_code}"));
                engine
                    .answer_question(job, journey, question_code, raw, None)
                    .unwrap();
            }
            Gap::MissingPhotos { question_code, .. } => {
                *seed = seed.wrapping_add(1);
                engine
                    .attach_photo(job, journey, question_code, &camera_jpeg(*seed))
                    .unwrap();
            }
            other => panic!("unexpected gap: {other}"),
        }
    }
    panic!("the flow did not complete");
}

fn close_call(engine: &Engine, seq: i64) -> jobpack_core::protocol::CloseJob {
    let body = engine.outbox_body(seq).unwrap();
    match jobpack_core::protocol::parse_outbound(&body).unwrap().call {
        OutboundCall::CloseJob(close) => close,
        other => panic!("not a closeJob: {other:?}"),
    }
}

/// Every file an answer references is in the bucket, byte for byte what its name's hash says.
async fn assert_files_in_s3(moto: &MotoServer, answers: &[QuestionAnswer]) -> usize {
    let mut checked = 0;
    for answer in answers {
        for file in &answer.files {
            let key = file
                .object_path
                .strip_prefix(&format!("s3://{BUCKET}/"))
                .unwrap_or_else(|| panic!("{} is not in {BUCKET}", file.object_path));
            let object = moto
                .get_object(BUCKET, key)
                .await
                .unwrap_or_else(|| panic!("{key} is not in S3"));
            let hash: String = Sha256::digest(&object.bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert!(key.ends_with(&format!("{hash}.jpg")), "{key} holds {hash}");
            assert_eq!(file.name, format!("{hash}.jpg"));
            checked += 1;
        }
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_closes_through_the_outbox_with_its_photos_in_s3() {
    let world = World::start(1, 1).await;
    let moto = MotoServer::start(&[BUCKET]).await;
    let engine = World::open(closure_config(&world, "close.sqlite", &moto), None);
    let job = world.create_jobs("E001", "QBC", 1).remove(0);
    engine.sync_until_idle(IDLE).await.unwrap();
    engine.accept(&job).unwrap();
    engine.start_travel(&job, here(), None).unwrap();
    engine.arrive(&job, here(), None).unwrap();

    let mut seed = 0;
    let table = BTreeMap::from([
        ("1000", "yes"),
        ("1010", "Yes"),
        ("1020", "1"),
        ("1030", "Yes"),
        ("1040", "35"),
        ("1050", "Yes"),
        ("1060", "Yes"),
        ("1100", "Y"),
        ("1200", "Underground duct"),
        ("1210", "hall, by the meter cupboard"),
        ("2000", "-19.5"),
        ("2010", "2"),
        ("2100", "Power, PON, LAN"),
        ("2110", "Yes"),
        ("2120", "Yes"),
        ("2060", "35"),
        ("2070", "Yes"),
        ("2200", "912.4"),
        ("2300", "Yes"),
        ("2400", "Pat Customer"),
        ("2410", "Yes"),
    ]);
    complete(&engine, &job, Journey::Visit, None, &table, &mut seed);
    let visit = engine.send_visit_answers(&job).unwrap();
    engine
        .confirm_ont(
            &job,
            OntDevice::new("ALCL12345678", "SN0001").unwrap(),
            None,
        )
        .unwrap();
    engine.sync_until_idle(IDLE).await.unwrap();
    assert!(
        eventually(IDLE, || matches!(
            engine.job(&job).unwrap().state,
            JobState::Provisioned { .. }
        ))
        .await,
        "CityFibre provisions the ONT"
    );

    // Nothing answered at closure yet: the close is refused with what is missing.
    match engine.close(&job, "SP", None, "", None) {
        Err(Error::Incomplete { gaps }) => assert!(
            matches!(&gaps[..], [Gap::UnansweredQuestion { question_code, .. }] if question_code == "2000"),
            "{gaps:?}"
        ),
        other => panic!("expected the checklist, got {other:?}"),
    }

    // A light level out of range asks what was done, with a photo of the meter; correcting
    // the reading takes that question (and its photo) off the path again.
    engine
        .answer_question(&job, Journey::Closure, "2000", "-30", None)
        .unwrap();
    let view = engine
        .flow(&job, Journey::Closure, Some("SP"), None)
        .unwrap();
    assert_eq!(view.next.as_ref().map(|q| q.code.as_str()), Some("2010"));
    engine
        .answer_question(&job, Journey::Closure, "2010", "1", None)
        .unwrap();
    let meter = engine
        .attach_photo(&job, Journey::Closure, "2010", &camera_jpeg(200))
        .unwrap();
    engine
        .answer_question(&job, Journey::Closure, "2000", "-19.50", None)
        .unwrap();
    complete(
        &engine,
        &job,
        Journey::Closure,
        Some("SP"),
        &table,
        &mut seed,
    );
    assert!(
        engine
            .flow(&job, Journey::Closure, Some("SP"), None)
            .unwrap()
            .is_ready()
    );

    let receipt = engine.close(&job, "SP", None, "", None).unwrap();
    let close_seq = receipt.outbox_seq.unwrap();
    let close = close_call(&engine, close_seq);
    let codes: Vec<&str> = close
        .questions_answers
        .iter()
        .map(|a| a.question_code.as_str())
        .collect();
    assert_eq!(codes.first(), Some(&"2000"));
    assert!(
        !codes.contains(&"2010"),
        "off the path after the correction: {codes:?}"
    );
    assert!(
        close
            .questions_answers
            .iter()
            .all(|a| a.source == Source::CloseJob)
    );
    assert_eq!(
        close.questions_answers[0].answer, "-19.5",
        "canonical number"
    );
    let tidy = close
        .questions_answers
        .iter()
        .find(|a| a.question_code == "2300")
        .unwrap();
    assert_eq!(tidy.files.len(), 2, "the two mandatory photos");
    assert!(
        close
            .questions_answers
            .iter()
            .flat_map(|a| &a.files)
            .all(|f| f.object_path != meter.object_path),
        "the detached question's photo is not referenced"
    );

    engine.sync_until_idle(IDLE).await.unwrap();
    assert_eq!(engine.job(&job).unwrap().state, JobState::Closed);
    let delivered = world
        .sim
        .stats()
        .jobs
        .get(&job)
        .cloned()
        .unwrap_or_default();
    let methods: Vec<(&str, Option<&str>)> = delivered
        .iter()
        .map(|m| (m.method.as_str(), m.notification_type.as_deref()))
        .collect();
    assert!(methods.contains(&("notifyJob", Some("questionsAnswered"))));
    assert_eq!(methods.last(), Some(&("closeJob", None)));
    let referenced: usize = close.questions_answers.iter().map(|a| a.files.len()).sum();
    assert!(referenced >= 2);
    assert_eq!(
        assert_files_in_s3(&moto, &close.questions_answers).await,
        referenced,
        "every referenced photo is in the bucket with the bytes its hash names"
    );
    let visit_body = engine.outbox_body(visit.outbox_seq.unwrap()).unwrap();
    assert!(String::from_utf8_lossy(&visit_body).contains("\"source\":\"notifyJob\""));
    assert!(
        engine
            .outbox(Some(&job))
            .unwrap()
            .iter()
            .all(|i| i.state == ItemState::Sent),
        "every upload went, including the detached photo's"
    );
    assert!(
        engine
            .answer_question(&job, Journey::Closure, "2400", "x", None)
            .is_err(),
        "a closed job takes no more answers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_waits_for_its_photos_through_an_s3_outage_and_a_crash() {
    let world = World::start(1, 1).await;
    let mut moto = MotoServer::start(&[BUCKET]).await;
    let job = world.create_jobs("E001", "NOA", 1).remove(0);
    let db = "outage.sqlite";
    let close_seq = {
        let engine = World::open(closure_config(&world, db, &moto), None);
        engine.sync_until_idle(IDLE).await.unwrap();
        engine.accept(&job).unwrap();
        engine.start_travel(&job, here(), None).unwrap();
        moto.stop().await;
        let mut seed = 50;
        let table = BTreeMap::from([
            ("4900", "10:02"),
            ("4910", "10:15"),
            ("4920", "no"),
            ("4940", "No"),
        ]);
        complete(
            &engine,
            &job,
            Journey::Closure,
            Some("RNA"),
            &table,
            &mut seed,
        );
        let receipt = engine
            .close(&job, "RNA", None, "Nobody home", None)
            .unwrap();
        // The closeJob must not overtake its photos: it stays queued while they fail.
        assert!(
            eventually(IDLE, || engine
                .outbox(Some(&job))
                .unwrap()
                .iter()
                .any(|i| i.kind == ItemKind::Upload && i.attempts > 0))
            .await
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let stats = world.sim.stats();
        assert!(
            !stats
                .jobs
                .get(&job)
                .into_iter()
                .flatten()
                .any(|m| m.method == "closeJob"),
            "no closeJob before its photos are in S3"
        );
        receipt.outbox_seq.unwrap()
        // The engine is dropped here with the uploads unsent: the phone died.
    };
    moto.restart().await;
    let engine = World::open(closure_config(&world, db, &moto), None);
    engine.sync_until_idle(IDLE).await.unwrap();
    let stats = world.sim.stats();
    let methods: Vec<&str> = stats.jobs[&job].iter().map(|m| m.method.as_str()).collect();
    assert_eq!(methods.last(), Some(&"closeJob"));
    assert_eq!(methods.iter().filter(|m| **m == "closeJob").count(), 1);
    let close = close_call(&engine, close_seq);
    let first_call = &close.questions_answers[0];
    assert_eq!(
        (first_call.question_code.as_str(), first_call.files.len()),
        ("4900", 2),
        "time of first call with the call log and the door"
    );
    assert_eq!(assert_files_in_s3(&moto, &close.questions_answers).await, 2);
}

/// A matrix with an optional question, a requirement for MDU properties only and photo rules
/// (the contract's example), on a job flagged MDU: the engine's flow view, checklist and
/// photo refusals follow the answers as they are edited, and survive a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_photos_and_requirements_follow_the_answers() {
    let world = World::start(1, 1).await;
    let moto = MotoServer::start(&[BUCKET]).await;
    let mut config = closure_config(&world, "conditional.sqlite", &moto);
    config.closure_matrix =
        Some(include_str!("../../spec/examples/closure-matrix/valid/conditional.json").to_owned());
    let engine = World::open(config.clone(), None);
    let job = world.create_jobs("E001", "CND", 1).remove(0);
    engine.sync_until_idle(IDLE).await.unwrap();
    assert!(
        engine
            .job(&job)
            .unwrap()
            .pack
            .property_flags
            .contains(&"MDU".to_owned())
    );
    engine.accept(&job).unwrap();
    engine.start_travel(&job, here(), None).unwrap();
    engine.arrive(&job, here(), None).unwrap();
    let flow = |engine: &Engine| engine.flow(&job, Journey::Visit, None, None).unwrap();

    // "No": a photo of the obstruction, naming why.
    engine
        .answer_question(&job, Journey::Visit, "1100", "no", None)
        .unwrap();
    let view = flow(&engine);
    let sponge = &view.answered[0];
    assert_eq!((sponge.min_photos, sponge.max_photos), (1, Some(3)));
    assert_eq!(
        sponge.photos_required_by.as_deref(),
        Some(r#"the answer to 1100 is "No""#)
    );
    assert!(
        matches!(&view.gaps[0], Gap::MissingPhotos { question_code, required: 1, required_by: Some(_), .. } if question_code == "1100"),
        "{:?}",
        view.gaps
    );
    let mut ids = Vec::new();
    for seed in 1..=3 {
        ids.push(
            engine
                .attach_photo(&job, Journey::Visit, "1100", &camera_jpeg(seed))
                .unwrap()
                .id,
        );
    }
    match engine.attach_photo(&job, Journey::Visit, "1100", &camera_jpeg(4)) {
        Err(Error::TooManyPhotos {
            question_code,
            allowed: 3,
        }) => assert_eq!(question_code, "1100"),
        other => panic!("a fourth photo must be refused: {other:?}"),
    }

    // "Yes" after all: no photo is wanted, and the three taken must go.
    engine
        .answer_question(&job, Journey::Visit, "1100", "yes", None)
        .unwrap();
    let view = flow(&engine);
    assert!(
        matches!(
            &view.gaps[0],
            Gap::TooManyPhotos {
                allowed: 0,
                have: 3,
                ..
            }
        ),
        "{:?}",
        view.gaps
    );
    for id in ids {
        engine.remove_photo(&job, id).unwrap();
    }

    // MDU: two photos of the ONT position, then the riser reference is required.
    engine
        .answer_question(&job, Journey::Visit, "1210", "flat 4, hall cupboard", None)
        .unwrap();
    let view = flow(&engine);
    assert!(
        view.gaps.iter().any(|g| matches!(
            g,
            Gap::MissingPhotos { question_code, required: 2, required_by: Some(c), .. }
                if question_code == "1210" && c.to_string() == "the job is flagged MDU"
        )),
        "{:?}",
        view.gaps
    );
    assert_eq!(view.next.as_ref().map(|q| q.code.as_str()), Some("1220"));
    assert!(
        view.optional.is_empty(),
        "required for MDU, so not optional"
    );
    for seed in 10..12 {
        engine
            .attach_photo(&job, Journey::Visit, "1210", &camera_jpeg(seed))
            .unwrap();
    }
    engine
        .answer_question(&job, Journey::Visit, "1220", "R-2", None)
        .unwrap();
    assert!(flow(&engine).is_ready(), "{:?}", flow(&engine).gaps);

    // What was recorded is durable: a restarted core sees the same complete flow and sends it.
    drop(engine);
    let engine = World::open(config, None);
    let view = flow(&engine);
    assert!(view.is_ready(), "{:?}", view.gaps);
    assert_eq!(view.answered.len(), 3);
    assert_eq!(view.answered[1].photos.len(), 2);
    engine.send_visit_answers(&job).unwrap();
    engine.sync_until_idle(IDLE).await.unwrap();
}
