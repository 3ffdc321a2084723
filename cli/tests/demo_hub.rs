//! `jobpack demo` (its default: through the partner hub), run small. The report must say
//! nothing was lost or reordered, that CityFibre holds every message the phones made and every
//! dispatch notice the hub made, that the hub process was SIGKILLed and started again mid-day,
//! and that the photos went up through hub-presigned URLs and were read back.

use std::process::{Command, Output};

fn jobpack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jobpack"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("jobpack runs")
}

/// The first number after `label` on the report line that starts with it.
fn count(text: &str, label: &str) -> usize {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {label} count:\n{text}"))
}

#[test]
fn the_demo_through_the_hub_reports_nothing_lost_and_a_hub_restart() {
    let text = small_day(&[]);
    assert!(!text.contains("hub processes"), "{text}");
}

/// `--postgres`: two `jobpack hub serve` processes on one PostgreSQL server (started by the
/// demo with Debian's binaries), one of them SIGKILLed mid-day: the same report, nothing lost.
#[test]
fn the_demo_through_two_hubs_on_postgres_reports_nothing_lost() {
    let text = small_day(&["--postgres"]);
    assert!(
        text.contains("hub processes            2 on one PostgreSQL"),
        "{text}"
    );
}

/// Runs the day small and checks what every hub day must report; the report.
fn small_day(extra: &[&str]) -> String {
    let mut args = vec![
        "demo",
        "--engineers",
        "2",
        "--jobs",
        "3",
        "--faults",
        "0.3",
        "--seed",
        "5",
    ];
    args.extend_from_slice(extra);
    let out = jobpack(&args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Jobpack demo via the partner hub: 2 engineers, 6 jobs"),
        "{text}"
    );
    assert!(
        text.contains("result                   OK: nothing lost, nothing reordered"),
        "{text}"
    );
    assert_eq!(count(&text, "lost messages"), 0, "{text}");
    assert_eq!(count(&text, "order violations"), 0, "{text}");
    let made = count(&text, "messages made");
    assert!(made > 0, "{text}");
    assert_eq!(count(&text, "delivered"), made, "{text}");
    assert_eq!(count(&text, "hub restarts"), 1, "{text}");
    assert!(text.contains("(SIGKILL of `jobpack hub serve`"), "{text}");
    // "6 of 6 delivered": every assignment's engineer details reached CityFibre.
    let dispatch = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("hub dispatch notices"))
        .unwrap_or_else(|| panic!("no dispatch line:\n{text}"));
    assert!(
        dispatch.trim_start().starts_with("6 of 6 delivered"),
        "{text}"
    );
    assert!(dispatch.contains("pending 0"), "{text}");
    let photos = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("photos uploaded to S3"))
        .unwrap_or_else(|| panic!("no photo line:\n{text}"));
    let uploaded: usize = photos
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("photo count:\n{text}"));
    assert!(uploaded > 0, "{text}");
    assert!(
        photos.contains(&format!("({uploaded} read back and verified)")),
        "{text}"
    );
    assert!(text.contains("faults phones ⇄ hub"), "{text}");
    assert!(text.contains("(hub ⇄ CityFibre)"), "{text}");
    text
}
