//! QA's path through a no-access closure with `jobpack engineer`: the flow says what is
//! missing, a bad answer is refused with what is expected, photos are attached from files,
//! the close is refused until complete, and then the closeJob and its photos go out — to the
//! simulator over mutual TLS and to the S3 stand-in.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use jobpack_sim::s3::{ACCESS_KEY_ID, S3StandIn, SECRET_ACCESS_KEY};
use jobpack_sim::{SimConfig, sample_job_pack};
use serde_json::Value;

mod common;

const BUCKET: &str = "qa-evidence";

struct Qa<'a> {
    db: &'a Path,
    certs: &'a Path,
    url: String,
    s3: String,
}

impl Qa<'_> {
    fn run(&self, args: &[&str]) -> (Output, Value) {
        let out = Command::new(env!("CARGO_BIN_EXE_jobpack"))
            .args(["engineer", "--db"])
            .arg(self.db)
            .args(["--upstream", &self.url, "--certs"])
            .arg(self.certs)
            .args(["--s3-endpoint", &self.s3, "--s3-bucket", BUCKET])
            // The S3 stand-in is plain http on loopback: the QA exception, asked for.
            .arg("--allow-plain-http-loopback")
            .env("JOBPACK_S3_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("JOBPACK_S3_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
            .args(args)
            .output()
            .expect("jobpack runs");
        let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out, json)
    }

    fn ok(&self, args: &[&str]) -> Value {
        let (out, json) = self.run(args);
        assert!(out.status.success(), "{args:?}: {json}");
        json
    }
}

fn png(path: &Path, shade: u8) {
    image::RgbImage::from_fn(120, 90, |x, y| image::Rgb([shade, x as u8, y as u8]))
        .save(path)
        .unwrap();
}

#[test]
fn qa_answers_photographs_and_closes_a_no_access_job_from_the_shell() {
    let runtime = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let (sim, certs) = common::simulator(
        &runtime,
        dir.path(),
        SimConfig {
            retry_delay: Duration::from_millis(100),
            ..SimConfig::default()
        },
    );
    let s3 = runtime
        .block_on(S3StandIn::start(&[BUCKET]))
        .unwrap_or_else(|e| panic!("{e}"));
    sim.create_job(common::ENGINEER, "QA1", sample_job_pack("QA1").unwrap())
        .unwrap();
    let db = dir.path().join("qa.sqlite");
    let qa = Qa {
        db: &db,
        certs: &certs,
        url: sim.urls()[0].clone(),
        s3: s3.endpoint(),
    };

    qa.ok(&["pull"]);
    qa.ok(&["accept", "QA1"]);
    qa.ok(&["travel", "QA1", "--lat", "53.8", "--lon", "-1.55"]);

    let flow = qa.ok(&["flow", "QA1", "--closure", "RNA"]);
    assert_eq!(flow["next"]["code"], "4900", "{flow}");
    assert_eq!(flow["ready"], false);
    let (refused, error) = qa.run(&["close", "QA1", "--code", "RNA"]);
    assert!(!refused.status.success());
    assert_eq!(error["error"]["kind"], "incomplete", "{error}");

    let (bad, error) = qa.run(&["answer", "QA1", "4900", "about ten"]);
    assert!(!bad.status.success());
    assert_eq!(error["error"]["kind"], "invalidAnswer", "{error}");
    assert_eq!(qa.ok(&["answer", "QA1", "4900", "9.05"])["answer"], "09:05");
    for (i, name) in ["call-log.png", "door.png"].iter().enumerate() {
        let file = dir.path().join(name);
        png(&file, i as u8 * 90);
        let photo = qa.ok(&["photo", "QA1", "4900", file.to_str().unwrap()]);
        assert!(
            photo["objectPath"]
                .as_str()
                .unwrap()
                .starts_with(&format!("s3://{BUCKET}/jobs/QA1/4900/")),
            "{photo}"
        );
    }
    qa.ok(&["answer", "QA1", "4910", "09:20"]);
    qa.ok(&["answer", "QA1", "4920", "yes"]);
    let flow = qa.ok(&["flow", "QA1", "--closure", "RNA"]);
    let gaps = flow["gaps"].as_array().unwrap();
    // The sample pack's property flags may ask one more question; answer what is left.
    for gap in gaps {
        assert_eq!(gap["kind"], "unansweredQuestion", "{flow}");
        qa.ok(&[
            "answer",
            "QA1",
            flow["next"]["code"].as_str().unwrap(),
            "No",
        ]);
    }
    assert_eq!(qa.ok(&["flow", "QA1", "--closure", "RNA"])["ready"], true);

    qa.ok(&[
        "close",
        "QA1",
        "--code",
        "RNA",
        "--description",
        "Nobody home",
    ]);
    let status = qa.ok(&["sync", "--until-idle", "--wait", "60"]);
    assert_eq!(status["pending"], 0, "{status}");
    let delivered = sim.stats().jobs["QA1"].clone();
    assert_eq!(
        delivered.last().map(|m| m.method.as_str()),
        Some("closeJob")
    );
    let outbox = qa.ok(&["outbox", "--job", "QA1"]);
    let uploads: Vec<&Value> = outbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "upload")
        .collect();
    assert_eq!(uploads.len(), 2);
    assert!(uploads.iter().all(|u| u["state"] == "sent"), "{outbox}");
}
