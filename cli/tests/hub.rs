//! `jobpack hub`: the back office's commands on a hub directory, and `serve` answering
//! CityFibre over mutual TLS until stopped.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use jobpack_sim::{CallerConfig, PartnerCaller, Pki, sample_job_pack};

fn jobpack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jobpack"))
        .args(args)
        .output()
        .expect("jobpack runs")
}

#[test]
fn engineers_devices_and_revocation_from_the_command_line() {
    let dir = tempfile::tempdir().expect("dir");
    let hub = dir.path().join("hub");
    let hub = hub.to_str().expect("path");
    let out = dir.path().join("phone");
    let out = out.to_str().expect("path");
    let add = jobpack(&[
        "hub",
        "--dir",
        hub,
        "engineer",
        "--id",
        "E001",
        "--name",
        "Sam Field",
        "--phone",
        "+44 7700 900123",
    ]);
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let issue = jobpack(&[
        "hub",
        "--dir",
        hub,
        "issue",
        "--device",
        "phone-1",
        "--engineer",
        "E001",
        "--out",
        out,
    ]);
    assert!(
        issue.status.success(),
        "{}",
        String::from_utf8_lossy(&issue.stderr)
    );
    for file in ["phone-1.pem", "phone-1.key", "hub-ca.pem"] {
        assert!(dir.path().join("phone").join(file).is_file(), "{file}");
    }
    let unknown = jobpack(&[
        "hub",
        "--dir",
        hub,
        "issue",
        "--device",
        "phone-2",
        "--engineer",
        "E999",
        "--out",
        out,
    ]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("E999"));
    assert!(
        jobpack(&["hub", "--dir", hub, "revoke", "--device", "phone-1"])
            .status
            .success()
    );
    assert_eq!(
        jobpack(&["hub", "--dir", hub, "revoke", "--device", "nobody"])
            .status
            .code(),
        Some(1)
    );
    let assign = jobpack(&["hub", "--dir", hub, "assign", "S404", "E001"]);
    assert_eq!(assign.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&assign.stderr).contains("S404"));
}

#[test]
fn serve_answers_cityfibre_and_assign_works_on_the_running_hub() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = Pki::generate(&["E001".to_owned()]).expect("pki");
    let certs = dir.path().join("cityfibre");
    pki.write_to_dir(&certs).expect("certs");
    let hub = dir.path().join("hub");
    let hub_dir = hub.to_str().expect("path");
    let ca = certs.join("ca.pem");
    let mut child = Command::new(env!("CARGO_BIN_EXE_jobpack"))
        .args([
            "hub",
            "--dir",
            hub_dir,
            "serve",
            "--cityfibre-ca",
            ca.to_str().expect("path"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("hub starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    let ready: serde_json::Value = serde_json::from_str(&line).expect("JSON ready line");
    let url = ready["cityfibre"].as_str().expect("url").to_owned();
    // The board: its URL and where its token is; `board-token` prints that token.
    let board = ready["board"].as_str().expect("board url");
    assert!(board.starts_with("https://127.0.0.1:") && board.ends_with("/login"));
    let token_file = ready["boardToken"].as_str().expect("token file");
    let stored = std::fs::read_to_string(token_file).expect("board.token");
    assert!(
        !line.contains(stored.trim()),
        "the ready line does not print the token"
    );
    let printed = jobpack(&["hub", "--dir", hub_dir, "board-token"]);
    assert!(printed.status.success());
    assert_eq!(
        String::from_utf8_lossy(&printed.stdout).trim(),
        stored.trim()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(token_file)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let caller = PartnerCaller::new(CallerConfig {
        urls: vec![url],
        hub_anchors_pem: std::fs::read_to_string(hub.join("ca.pem")).expect("hub CA"),
        identity: pki.cityfibre.clone(),
        attempts: 3,
        backoff: std::time::Duration::from_millis(50),
        timeout: std::time::Duration::from_secs(5),
    })
    .expect("caller");
    let answer = runtime
        .block_on(caller.create_job("S1", sample_job_pack("S1").expect("pack")))
        .expect("createJob");
    assert_eq!(answer["providerJobId"], "JP-000001");
    assert!(
        jobpack(&[
            "hub",
            "--dir",
            hub_dir,
            "engineer",
            "--id",
            "E001",
            "--name",
            "Sam",
            "--phone",
            "+44 7700 900123"
        ])
        .status
        .success()
    );
    let assign = jobpack(&["hub", "--dir", hub_dir, "assign", "S1", "E001"]);
    assert!(
        assign.status.success(),
        "{}",
        String::from_utf8_lossy(&assign.stderr)
    );
    let assignment: serde_json::Value =
        serde_json::from_slice(&assign.stdout).expect("assignment JSON");
    assert_eq!(assignment["engineerId"], "E001");
    assert_eq!(assignment["changed"], true);
    // No CityFibre configured: the engineer details wait in the hub's outbox, queued.
    let outbox = jobpack(&["hub", "--dir", hub_dir, "outbox", "--job", "S1"]);
    assert!(outbox.status.success());
    let item: serde_json::Value = serde_json::from_slice(&outbox.stdout).expect("one item");
    assert_eq!(
        (item["state"].as_str(), item["method"].as_str()),
        (Some("queued"), Some("notifyJob"))
    );
    let seq = item["seq"].to_string();
    let resend = jobpack(&["hub", "--dir", hub_dir, "resend", "--seq", &seq]);
    assert_eq!(
        resend.status.code(),
        Some(1),
        "only parked items are resent"
    );
    assert!(String::from_utf8_lossy(&resend.stderr).contains("only parked items"));
    let _ = child.kill();
    let _ = child.wait();
}

/// Starts `jobpack hub serve` on `hub_dir`; returns the child and its CityFibre URL.
fn serve(hub_dir: &str, cityfibre_ca: &str) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jobpack"))
        .args([
            "hub",
            "--dir",
            hub_dir,
            "serve",
            "--cityfibre-ca",
            cityfibre_ca,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("hub starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    let ready: serde_json::Value = serde_json::from_str(&line).expect("JSON ready line");
    let url = ready["cityfibre"].as_str().expect("url").to_owned();
    (child, url)
}

#[test]
fn an_answered_create_job_survives_sigkill_and_its_redelivery_gets_the_same_answer() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = Pki::generate(&["E001".to_owned()]).expect("pki");
    let certs = dir.path().join("cityfibre");
    pki.write_to_dir(&certs).expect("certs");
    let hub = dir.path().join("hub");
    let hub_dir = hub.to_str().expect("path");
    let ca = certs.join("ca.pem");
    let ca = ca.to_str().expect("path");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let caller = |url: String| {
        PartnerCaller::new(CallerConfig {
            urls: vec![url],
            hub_anchors_pem: std::fs::read_to_string(hub.join("ca.pem")).expect("hub CA"),
            identity: pki.cityfibre.clone(),
            attempts: 3,
            backoff: std::time::Duration::from_millis(50),
            timeout: std::time::Duration::from_secs(5),
        })
        .expect("caller")
    };
    let envelope = jobpack_core::protocol::InboundEnvelope {
        id: jobpack_core::protocol::RpcId::new(41).expect("id"),
        sent: jobpack_core::protocol::Timestamp::now(),
        job_ref: jobpack_core::protocol::JobRef::new("S41").expect("ref"),
        message: jobpack_core::protocol::InboundMessage::CreateJob(Box::new(
            sample_job_pack("S41").expect("pack"),
        )),
        response: serde_json::json!({}),
        extra: serde_json::Map::new(),
    };
    let (mut first, url) = serve(hub_dir, ca);
    let answer = runtime
        .block_on(caller(url).send(&envelope))
        .expect("createJob");
    // SIGKILL right after the answer: what was answered must have been committed.
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let (mut second, url) = serve(hub_dir, ca);
    let again = runtime
        .block_on(caller(url).send(&envelope))
        .expect("redelivery after the restart");
    assert_eq!(again, answer);
    assert_eq!(answer["providerJobId"], "JP-000001");
    let _ = second.kill();
    let _ = second.wait();
}
