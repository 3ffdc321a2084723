//! `jobpack bench-qr`: decode every image under the given folders and time the decoder.
//!
//! It prints one JSON line per image (`set`, `file`, `ok`, `decoded`, `ms`, and
//! `decode_ms`: the part of `ms` that rqrr spent decoding the located grid) for the
//! side-by-side report in `bench/qr/`. An image counts when a sibling `NAME.txt` holds
//! its expected text; `ok` means the decoded text equals it exactly. Only decoding is
//! timed (files are read and converted to luma beforehand), on one thread, with a fresh
//! frame view over a reused scanner, which is how a camera stream runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use jobpack_core::qr::{LumaImage, Scanner, ScannerConfig};
use serde_json::json;

#[derive(clap::Args, Debug)]
pub struct BenchQrArgs {
    /// Folders of images, each image with a sibling NAME.txt holding its text; searched
    /// recursively. The set name is the folder's file name.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Per-image decode budget in milliseconds.
    #[arg(long, default_value_t = 250)]
    pub budget_ms: u64,
    /// Decode each image this many times and keep the fastest (reduces noise).
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
}

pub fn run(args: &BenchQrArgs) -> ExitCode {
    let mut scanner = Scanner::new(ScannerConfig {
        budget: Duration::from_millis(args.budget_ms),
    });
    for dir in &args.dirs {
        let set = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut files = Vec::new();
        collect(dir, &mut files);
        files.sort();
        for file in files {
            let Ok(expected) = std::fs::read(file.with_extension("txt")) else {
                continue;
            };
            let line = match LumaImage::open(&file) {
                Err(e) => json!({"set": set, "file": file.display().to_string(), "ok": false,
                                 "decoded": null, "ms": null, "error": e.to_string()}),
                Ok(img) => {
                    let mut best = f64::INFINITY;
                    let mut best_decode = f64::INFINITY;
                    let mut decoded = None;
                    for _ in 0..args.repeat.max(1) {
                        let t = Instant::now();
                        let r = img
                            .frame()
                            .map_err(Into::into)
                            .and_then(|f| scanner.scan_decoded(&f));
                        best = best.min(t.elapsed().as_secs_f64() * 1000.0);
                        if let Some(d) = scanner.last_decode_time() {
                            best_decode = best_decode.min(d.as_secs_f64() * 1000.0);
                        }
                        decoded = r.ok().and_then(|d| d.into_iter().next());
                    }
                    let ok = decoded.as_ref().is_some_and(|d| {
                        d.bytes == expected || d.text.as_bytes() == expected.as_slice()
                    });
                    json!({"set": set, "file": file.display().to_string(), "ok": ok,
                           "decoded": decoded.map(|d| d.text), "ms": best,
                           "decode_ms": best_decode.is_finite().then_some(best_decode)})
                }
            };
            println!("{line}");
        }
    }
    ExitCode::SUCCESS
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if matches!(
            path.extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("png" | "jpg" | "jpeg" | "webp")
        ) {
            out.push(path);
        }
    }
}
