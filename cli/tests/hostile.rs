//! Hostile and unlucky inputs through the real binary: typed refusals, files left untouched,
//! bounded output. Each case is one that a tester found going wrong (issue #12).

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn jobpack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jobpack"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("jobpack runs")
}

fn engineer(db: &Path, args: &[&str]) -> Output {
    let db = db.to_str().unwrap();
    let mut all = vec!["engineer", "--db", db];
    all.extend_from_slice(args);
    jobpack(&all)
}

fn error_kind(out: &Output) -> String {
    let value: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| serde_json::json!({}));
    value["error"]["kind"].as_str().unwrap_or("").to_owned()
}

#[test]
fn processes_creating_one_database_at_once_all_succeed() {
    for round in 0..8 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("r.sqlite");
        let children: Vec<_> = (0..6)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_jobpack"))
                    .args(["engineer", "--db", db.to_str().unwrap(), "jobs"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {} {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
            assert!(out.stderr.is_empty(), "no recovery warning");
        }
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.contains("corrupt")),
            "round {round}: {names:?}"
        );
    }
}

#[test]
fn a_device_node_or_another_apps_database_is_refused_untouched() {
    let out = engineer(Path::new("/dev/null"), &["jobs"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(error_kind(&out), "databaseNotAFile");
    assert!(Path::new("/dev/null").exists());

    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.sqlite");
    let status = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table jobs (id)'); c.commit()",
            other.to_str().unwrap(),
        ])
        .status();
    if !status.is_ok_and(|s| s.success()) {
        // Without python3's sqlite3 the core's own test covers this case.
        return;
    }
    let before = std::fs::read(&other).unwrap();
    let out = engineer(&other, &["jobs"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(error_kind(&out), "foreignDatabase");
    assert_eq!(std::fs::read(&other).unwrap(), before);
    assert!(!dir.path().join("other.sqlite.photos").exists());
}

#[test]
fn plain_http_upstream_is_refused_without_the_qa_flag() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.sqlite");
    let out = engineer(&db, &["--upstream", "http://hub.example", "pull"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(error_kind(&out), "config");
    let out = engineer(
        &db,
        &[
            "--upstream",
            "http://hub.example",
            "--allow-plain-http-loopback",
            "pull",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "never plain http off the machine"
    );
}

#[test]
fn sync_and_pull_against_a_dead_endpoint_fail_fast_and_non_zero() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let upstream = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.sqlite");
    for command in [&["sync"][..], &["pull"][..], &["sync", "--wait", "600"][..]] {
        let mut args = vec![
            "--upstream",
            upstream.as_str(),
            "--allow-plain-http-loopback",
        ];
        args.extend_from_slice(command);
        let out = engineer(&db, &args);
        assert_eq!(out.status.code(), Some(1), "{command:?}");
        assert_eq!(error_kind(&out), "syncFailed", "{command:?}");
    }
}

#[test]
fn validate_of_a_huge_value_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // A valid-looking closeJob whose description is 3 MB: read, refused, quoted by a prefix.
    let file = dir.path().join("big.json");
    let body = serde_json::json!({
        "id": 1, "jsonrpc": "2.0", "method": "closeJob",
        "params": {"jobRef": "S1", "closureCode": "X".repeat(3_000_000)}
    });
    std::fs::write(&file, body.to_string()).unwrap();
    let out = jobpack(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.len() < 20_000,
        "{} bytes printed",
        out.stdout.len()
    );
    // Larger than any payload: refused before parsing.
    let huge = dir.path().join("huge.json");
    std::fs::write(&huge, vec![b' '; 5 * 1024 * 1024]).unwrap();
    let out = jobpack(&["validate", huge.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("larger than"), "{text}");
}

#[test]
fn flow_check_of_thousands_of_identical_flows_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let mut matrix: serde_json::Value =
        serde_json::from_str(jobpack_core::closure::DEFAULT_MATRIX_JSON).unwrap();
    let flow = matrix["flows"][0].clone();
    let flows = matrix["flows"].as_array_mut().unwrap();
    for i in 0..3_000 {
        let mut copy = flow.clone();
        copy["id"] = serde_json::json!(format!("copy-{i}"));
        flows.push(copy);
    }
    let file = dir.path().join("matrix.json");
    std::fs::write(&file, matrix.to_string()).unwrap();
    let out = jobpack(&["flow", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines = text.lines().count();
    assert!(lines <= 201, "{lines} lines");
    assert!(text.contains("more problem(s) not listed"), "{text}");
}
