//! The CLI's contract: output shape and exit codes that QA scripts rely on.

use std::process::{Command, Output};

fn jobpack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jobpack"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("jobpack runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn validate_says_what_a_valid_message_is_and_prints_ok() {
    let out = jobpack(&[
        "validate",
        "spec/examples/valid/ProvisioningEnvelope/status-7.json",
    ]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("ONT provisioning"), "{text}");
    assert!(text.trim_end().ends_with("ok"), "{text}");
}

#[test]
fn validate_lists_every_error_with_its_path_and_exits_1() {
    let out = jobpack(&[
        "validate",
        "spec/examples/invalid/NotifyEnRouteRequest/latitude-out-of-range.json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("$.params.location.latitude"), "{text}");
    assert!(!text.contains("\nok"), "{text}");
}

#[test]
fn validate_exits_1_when_any_file_is_invalid_and_reports_each() {
    let out = jobpack(&[
        "validate",
        "spec/examples/valid/CloseJobRequest/con-with-secondary.json",
        "spec/examples/invalid/CloseJobRequest/con-without-secondary.json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert_eq!(
        text.matches("closeJob, partner -> CityFibre").count(),
        2,
        "{text}"
    );
    assert!(
        text.contains("CON01"),
        "the catalogue error lists the choices: {text}"
    );
}

#[test]
fn validate_handles_garbage_and_missing_files_without_panicking() {
    let dir = std::env::temp_dir().join(format!("jobpack-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("garbage.json");
    std::fs::write(&garbage, b"{\"id\": 1, \"sent\": ").unwrap();
    let unknown = dir.join("unknown.json");
    std::fs::write(&unknown, br#"{"hello": "world"}"#).unwrap();
    for file in [&garbage, &unknown, &dir.join("missing.json")] {
        let out = jobpack(&["validate", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
}

#[test]
fn codes_prints_the_catalogue_and_its_json_form() {
    let out = jobpack(&["codes"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for needle in [
        "SP ",
        "CON06",
        "REVUNF",
        "DAN",
        "Duplicate Device",
        "secondary code required",
    ] {
        assert!(text.contains(needle), "{needle} missing");
    }
    let out = jobpack(&["codes", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["closureCodes"].as_array().unwrap().len(), 35);
    assert_eq!(json["secondaryCodes"].as_array().unwrap().len(), 80);
}

#[test]
fn a_broken_partner_file_is_reported_not_panicked_on() {
    let path = std::env::temp_dir().join(format!("jobpack-partner-{}.json", std::process::id()));
    std::fs::write(&path, r#"{"closureCodes": [{"code": "x"}]}"#).unwrap();
    let out = jobpack(&["codes", "--partner", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("catalogue file is not valid"));
}

#[test]
fn the_demo_walks_a_job_and_every_message_is_valid() {
    let out = jobpack(&["demo", "--walk"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(text.contains("\"method\": \"closeJob\""), "{text}");
    assert!(text.contains("every one valid"), "{text}");
}

#[test]
fn the_demo_plays_a_day_and_reports_nothing_lost() {
    let out = jobpack(&[
        "demo",
        // The phones straight to the simulator (the hub mode has its own test, demo_hub.rs).
        "--direct",
        "--engineers",
        "2",
        "--jobs",
        "4",
        "--faults",
        "0.3",
        "--seed",
        "5",
        // CityFibre's clock two hours ahead: the phones' times are corrected, in order.
        "--clock-skew-secs",
        "7200",
    ]);
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "messages made",
        "duplicates absorbed",
        "lost messages            0",
        "order violations         0",
        "OK: nothing lost",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    let corrected: usize = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("action times corrected"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no corrected count:\n{text}"));
    assert!(corrected > 0, "{text}");
}

#[test]
fn the_demo_refuses_nonsense_arguments() {
    let out = jobpack(&["demo", "--faults", "2"]);
    assert_eq!(out.status.code(), Some(2));
}
