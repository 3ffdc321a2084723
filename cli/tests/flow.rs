//! `jobpack flow check` and `jobpack flow walk`: the contract QA scripts rely on (output,
//! exit codes, answers piped on standard input).

use std::io::Write;
use std::process::{Command, Output, Stdio};

use jobpack_spec::Spec;
use serde_json::Value;

fn jobpack(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jobpack"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("jobpack runs");
    // The walk may stop reading early (an error); a closed pipe is not a test failure.
    let _ = child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes());
    child.wait_with_output().expect("jobpack finishes")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The walk's output: a JSON array of answers, each valid against the contract.
fn answers(o: &Output) -> Vec<Value> {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    let value: Value = serde_json::from_str(&stdout(o)).expect("stdout is only JSON");
    let spec = Spec::load().unwrap();
    let list = value.as_array().expect("an array").clone();
    for qa in &list {
        let violations = spec.validate("QuestionAnswer", qa).unwrap();
        assert!(violations.is_empty(), "{qa}: {violations:?}");
    }
    list
}

#[test]
fn check_prints_ok_for_the_default_matrix() {
    let out = jobpack(
        &["flow", "check", "core/src/closure/default-matrix.json"],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ok\n");
}

#[test]
fn check_prints_each_problem_with_its_place_and_exits_1() {
    let out = jobpack(
        &[
            "flow",
            "check",
            "spec/examples/closure-matrix/loader-invalid/cycle.json",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("/flows/0/steps/1/next/0/goto: the steps form a cycle: 1100 -> 1110 -> 1100"),
        "{text}"
    );
    let out = jobpack(
        &[
            "flow",
            "check",
            "spec/examples/closure-matrix/invalid/missing-texts.json",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("/questions/0: missing field \"text\""),
        "{text}"
    );
    assert!(
        text.contains("/questions/1/text: must not be empty"),
        "{text}"
    );
}

#[test]
fn check_reads_standard_input_and_exits_2_when_it_cannot_read() {
    let out = jobpack(&["flow", "check", "-"], "{ not json");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("/: not valid JSON"),
        "{}",
        stdout(&out)
    );
    let out = jobpack(&["flow", "check", "no/such/matrix.json"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
}

#[test]
fn walk_asks_each_question_and_prints_the_answers() {
    let out = jobpack(&["flow", "walk", "--closure", "RNA"], "7:56\n0806\ny\n");
    let list = answers(&out);
    let codes: Vec<&str> = list
        .iter()
        .map(|qa| qa["question_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["4900", "4910", "4920"]);
    assert_eq!(list[0]["answer"], "07:56");
    assert_eq!(list[1]["answer"], "08:06");
    assert_eq!(list[2]["answer"], "Yes");
    assert!(list.iter().all(|qa| qa["source"] == "closeJob"));
    assert!(list.iter().all(|qa| qa.get("files").is_none()));
    let prompts = stderr(&out);
    assert!(prompts.contains("[4900] Time of first call"), "{prompts}");
    assert!(prompts.contains("answer: time of day, HH:MM"), "{prompts}");
    assert!(
        prompts.contains("the app will require 2 photo(s)"),
        "{prompts}"
    );
}

#[test]
fn walk_asks_again_after_a_bad_answer() {
    let out = jobpack(
        &["flow", "walk", "--closure", "RNA"],
        "noon\n25:00\n07:56\n08:06\nperhaps\nno\n",
    );
    let list = answers(&out);
    assert_eq!(list.len(), 3);
    assert_eq!(list[2]["answer"], "No");
    let prompts = stderr(&out);
    assert_eq!(prompts.matches("not accepted").count(), 3, "{prompts}");
    assert!(
        prompts.contains("\"noon\" is not a time of day"),
        "{prompts}"
    );
}

#[test]
fn walk_fails_when_input_ends_early() {
    let out = jobpack(&["flow", "walk", "--closure", "RNA"], "07:56\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("input ended before question 4910 was answered"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn walk_branches_on_flags_ont_status_and_journey() {
    let out = jobpack(
        &[
            "flow",
            "walk",
            "--journey",
            "visit",
            "--closure",
            "SP",
            "--flag",
            "DAN",
            "--ont-status",
            "4",
        ],
        "yes\nyes\nyes\n1\nHall, by the stairs\n9:30\n",
    );
    let list = answers(&out);
    let codes: Vec<&str> = list
        .iter()
        .map(|qa| qa["question_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["1000", "1010", "1100", "1200", "1210", "1310"]);
    assert_eq!(list[2]["question"], "Did Sponge Pass?");
    assert_eq!(list[5]["answer"], "09:30");
    assert!(list.iter().all(|qa| qa["source"] == "notifyJob"));
}

#[test]
fn walk_uses_a_matrix_file_and_reports_the_checklist() {
    let out = jobpack(
        &[
            "flow",
            "walk",
            "--closure",
            "SP",
            "--matrix",
            "spec/examples/closure-matrix/valid/minimal.json",
        ],
        "-19.50 dBm\n",
    );
    let list = answers(&out);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["answer"], "-19.5");
    assert!(
        stderr(&out).contains("checklist: closure code SP needs a provisioned ONT"),
        "{}",
        stderr(&out)
    );

    let out = jobpack(
        &["flow", "walk", "--closure", "CON"],
        "Joint chamber outside no. 12\nyes\n",
    );
    answers(&out);
    assert!(
        stderr(&out).contains("closure code CON needs a secondary code: one of CON01"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn walk_refuses_what_it_cannot_walk_with_exit_2() {
    for args in [
        &["flow", "walk", "--closure", "NOPE"][..],
        &["flow", "walk", "--closure", "CON", "--secondary", "POP01"],
        &["flow", "walk", "--closure", "SP", "--flag", "XYZ"],
        &["flow", "walk", "--closure", "SP", "--ont-status", "9"],
        &[
            "flow",
            "walk",
            "--closure",
            "SP",
            "--matrix",
            "spec/examples/closure-matrix/loader-invalid/cycle.json",
        ],
    ] {
        let out = jobpack(args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
    }
}

#[test]
fn walk_offers_optional_questions_and_an_empty_line_skips_them() {
    // No truck roll: 5400 (a choice) must be answered; 5410 (notes) is optional.
    let skipped = jobpack(&["flow", "walk", "--closure", "NTR"], "1\n\n");
    let sent = answers(&skipped);
    let codes: Vec<&str> = sent
        .iter()
        .map(|qa| qa["question_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["5400"], "{}", stderr(&skipped));
    assert!(stderr(&skipped).contains("optional: an empty line skips it"));

    let noted = jobpack(&["flow", "walk", "--closure", "NTR"], "1\nGate code 1234\n");
    let sent = answers(&noted);
    assert_eq!(sent.len(), 2, "{}", stderr(&noted));
    assert_eq!(sent[1]["question_code"], "5410");
    assert_eq!(sent[1]["answer"], "Gate code 1234");
}
