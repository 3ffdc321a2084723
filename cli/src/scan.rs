//! `jobpack scan`: read ONT labels from image files (or the desktop camera).
//!
//! The output is a contract other tools parse: one JSON object per line per file,
//! always with the same keys (`file`, `raw`, `fsan`, `serial`, `mac`, `vendor`,
//! `error`, `serial_candidates`), `null` where absent (`serial_candidates` is `[]` unless
//! the label holds several possible serials and does not say which), and exit status 0 even when some files fail, so a
//! batch of photos is never cut short by one bad file. `raw` is the decoded text exactly
//! as the symbol holds it; `error` explains what stopped the file (unreadable image, no
//! code, or a payload that is not an ONT label), and a label that decodes but does not
//! parse still reports its `raw` text.

use std::path::PathBuf;
use std::process::ExitCode;

use jobpack_core::qr::{self, LumaImage, Scanner, ScannerConfig};
use serde_json::{Value, json};

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// Image files (PNG, JPEG, WebP) holding an ONT label's QR code.
    #[arg(required_unless_present = "camera")]
    pub files: Vec<PathBuf>,
    /// Read frames from the desktop camera until a label is confirmed (feature `camera`).
    #[arg(long, conflicts_with = "files")]
    pub camera: bool,
    /// Camera index for --camera.
    #[arg(long, default_value_t = 0)]
    pub camera_index: u32,
    /// Give up on --camera after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
    /// Per-image decode budget in milliseconds.
    #[arg(long, default_value_t = 250)]
    pub budget_ms: u64,
}

pub fn run(args: &ScanArgs) -> ExitCode {
    if args.camera {
        return run_camera(args);
    }
    let mut scanner = Scanner::new(ScannerConfig {
        budget: std::time::Duration::from_millis(args.budget_ms),
    });
    for file in &args.files {
        println!("{}", contract_line(&scan_file(&mut scanner, file)));
    }
    ExitCode::SUCCESS
}

fn scan_file(scanner: &mut Scanner, file: &std::path::Path) -> Value {
    // Files are unrelated: where the last file's code was says nothing about this one.
    scanner.forget();
    let mut out = json!({
        "file": file.display().to_string(),
        "raw": null, "fsan": null, "serial": null, "mac": null, "vendor": null, "error": null,
        "serial_candidates": [],
    });
    let decoded = LumaImage::open(file)
        .map_err(qr::QrError::from)
        .and_then(|img| scanner.scan_decoded(&img.frame()?));
    match decoded {
        Err(e) => out["error"] = json!(e.to_string()),
        Ok(found) => {
            let Some(first) = found.into_iter().next() else {
                out["error"] = json!(qr::QrError::NotFound.to_string());
                return out;
            };
            out["raw"] = json!(first.text);
            fill_identity(&mut out, &first.text);
        }
    }
    out
}

/// The contract's keys, in the documented order.
const KEYS: [&str; 8] = [
    "file",
    "raw",
    "fsan",
    "serial",
    "mac",
    "vendor",
    "error",
    "serial_candidates",
];

/// Renders one output line with the keys in contract order (serde_json's map sorts keys).
fn contract_line(v: &Value) -> String {
    let fields: Vec<String> = KEYS
        .iter()
        .map(|k| format!("{}:{}", json!(k), v.get(*k).unwrap_or(&Value::Null)))
        .collect();
    format!("{{{}}}", fields.join(","))
}

fn fill_identity(out: &mut Value, text: &str) {
    match qr::parse_ont_payload(text) {
        Ok(id) => {
            out["fsan"] = json!(id.fsan.as_str());
            out["serial"] = json!(id.serial);
            out["mac"] = json!(id.mac);
            out["vendor"] = json!(id.vendor.name());
            out["serial_candidates"] = json!(id.serial_candidates);
        }
        Err(e) => out["error"] = json!(e.to_string()),
    }
}

fn run_camera(args: &ScanArgs) -> ExitCode {
    use jobpack_core::qr::{ScanProgress, ScanSession, SessionConfig};
    let mut session = ScanSession::new(SessionConfig::default(), Box::new(|_| None));
    let mut camera = match qr::camera::DesktopCamera::open(args.camera_index) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("jobpack scan --camera: {e}");
            return ExitCode::FAILURE;
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(args.timeout_secs);
    while std::time::Instant::now() < deadline {
        let progress = match camera.with_frame(|frame| session.feed(frame)) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("jobpack scan --camera: {e}");
                return ExitCode::FAILURE;
            }
        };
        match progress {
            // No one to ask on a desktop: the candidates are printed for the caller.
            ScanProgress::Confirmed(id) | ScanProgress::ChooseSerial(id) => {
                let mut out = json!({
                    "file": null, "raw": null, "fsan": null, "serial": null, "mac": null,
                    "vendor": null, "error": null, "serial_candidates": [],
                });
                out["serial_candidates"] = json!(id.serial_candidates);
                out["raw"] = json!(session.last_raw());
                out["fsan"] = json!(id.fsan.as_str());
                out["serial"] = json!(id.serial);
                out["mac"] = json!(id.mac);
                out["vendor"] = json!(id.vendor.name());
                println!("{}", contract_line(&out));
                return ExitCode::SUCCESS;
            }
            other => eprintln!("{other}"),
        }
    }
    eprintln!(
        "jobpack scan --camera: no label confirmed within {}s",
        args.timeout_secs
    );
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> PathBuf {
        // QR_SAMPLES for a worktree that does not sit beside `shared/`.
        std::env::var_os("QR_SAMPLES")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/qr-samples")
            })
    }

    fn line_for(path: &std::path::Path) -> Value {
        let mut scanner = Scanner::new(ScannerConfig::default());
        let line = contract_line(&scan_file(&mut scanner, path));
        let keys: Vec<&str> = KEYS.to_vec();
        // Keys appear once each, in contract order.
        let mut at = 0;
        for k in &keys {
            let pos = line[at..].find(&format!("\"{k}\":")).map(|p| p + at);
            assert!(pos.is_some(), "{k} missing or out of order in {line}");
            at = pos.unwrap_or(at);
        }
        serde_json::from_str(&line).expect("each line is one JSON object")
    }

    #[test]
    fn decoded_non_ont_code_keeps_raw_and_explains() {
        let v = line_for(&samples().join("qrcode-6/6.png"));
        assert_eq!(v["raw"], "1234567890");
        assert_eq!(v["fsan"], Value::Null);
        assert_eq!(v["error"], "no FSAN found in the label payload");
    }

    #[test]
    fn unreadable_file_is_a_line_not_a_failure() {
        let v = line_for(std::path::Path::new("/nonexistent/label.png"));
        assert_eq!(v["raw"], Value::Null);
        assert!(
            v["error"]
                .as_str()
                .unwrap_or("")
                .contains("cannot read image file")
        );
    }

    #[test]
    fn ont_payload_fills_identity() {
        let mut v = json!({"file": "x"});
        fill_identity(
            &mut v,
            "S/N: 21ABC\nGPON SN: 414C434CB443689D\nMAC: 001122aabbcc",
        );
        assert_eq!(v["fsan"], "ALCLB443689D");
        assert_eq!(v["serial"], "21ABC");
        assert_eq!(v["mac"], "00:11:22:AA:BB:CC");
        assert_eq!(v["vendor"], "Nokia");
    }
}
