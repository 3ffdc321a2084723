//! `jobpack bench-qr`: decode every image under the given folders and time the decoder.
//!
//! It prints one JSON line per image (`set`, `file`, `ok`, `decoded`, `ms`, and
//! `decode_ms`: the part of `ms` that rqrr spent decoding the located grid) for the
//! side-by-side report in `bench/qr/`. An image counts when a sibling `NAME.txt` holds
//! its expected text; `ok` means the decoded text equals it exactly. Only decoding is
//! timed (files are read and converted to luma beforehand), on one thread, with a fresh
//! frame view over a reused scanner, which is how a camera stream runs.
//!
//! `--pick-ont` reads as a scan session does: past codes that are not ONT labels, to the
//! ONT's (labels with several codes). `--clips DIR` runs aiming clips
//! (`bench/qr/gen_loft.py`): each clip's frames are fed in order, 33 ms apart, to a
//! [`ScanSession`], and one line per clip says after how many frames it confirmed and
//! whether the confirmed identity is the label's.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use jobpack_core::qr::{
    LumaImage, ScanProgress, ScanSession, Scanner, ScannerConfig, SessionConfig, parse_ont_payload,
};
use serde_json::json;

#[derive(clap::Args, Debug)]
pub struct BenchQrArgs {
    /// Folders of images, each image with a sibling NAME.txt holding its text; searched
    /// recursively. The set name is the folder's file name.
    #[arg(required_unless_present_any = ["clips", "hostile"])]
    pub dirs: Vec<PathBuf>,
    /// Go on past codes that are not ONT labels, as the scan session does.
    #[arg(long)]
    pub pick_ont: bool,
    /// A folder of aiming clips (clip-NNN/fNN.jpg + clip.json) to feed to scan sessions.
    #[arg(long)]
    pub clips: Option<PathBuf>,
    /// Per-frame budget in milliseconds for --clips (the phone's).
    #[arg(long, default_value_t = 60)]
    pub clip_budget_ms: u64,
    /// Time hostile frames (finder-pattern grids, noise, huge and tiny) at the phone's
    /// 60 ms budget: one line per frame with the time and how far past the budget it ran.
    #[arg(long)]
    pub hostile: bool,
    /// Per-image decode budget in milliseconds.
    #[arg(long, default_value_t = 250)]
    pub budget_ms: u64,
    /// Decode each image this many times and keep the fastest (reduces noise).
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
}

pub fn run(args: &BenchQrArgs) -> ExitCode {
    if let Some(clips) = &args.clips {
        run_clips(clips, args.clip_budget_ms);
    }
    if args.hostile {
        run_hostile();
    }
    let is_ont: &dyn Fn(&str) -> bool = &|t| parse_ont_payload(t).is_ok();
    let any: &dyn Fn(&str) -> bool = &|_| true;
    let accept = if args.pick_ont { is_ont } else { any };
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
                        // Unrelated images: nothing carries over from the previous one.
                        scanner.forget();
                        let t = Instant::now();
                        let r = img
                            .frame()
                            .map_err(Into::into)
                            .and_then(|f| scanner.scan_where(&f, accept));
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

/// Feeds each clip's frames in order to a fresh scan session, as the phone would.
fn run_clips(root: &Path, budget_ms: u64) {
    let mut clips: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    clips.sort();
    for clip in clips {
        let meta = std::fs::read_to_string(clip.join("clip.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
        let Some(payload) = meta
            .as_ref()
            .and_then(|m| m["payload"].as_str())
            .map(str::to_owned)
        else {
            continue;
        };
        let expected = parse_ont_payload(&payload).ok();
        let mut frames = Vec::new();
        collect(&clip, &mut frames);
        frames.sort();
        let mut session = ScanSession::new(
            SessionConfig {
                scanner: ScannerConfig {
                    budget: Duration::from_millis(budget_ms),
                },
                ..SessionConfig::default()
            },
            Box::new(|_| None),
        );
        let t0 = Instant::now();
        let (mut confirmed_after, mut identity, mut outcome) = (None, None, "none");
        let mut ms = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let Ok(img) = LumaImage::open(f) else {
                continue;
            };
            let Ok(frame) = img.frame() else {
                continue;
            };
            let at = t0 + Duration::from_millis(33 * i as u64);
            let started = Instant::now();
            let progress = session.feed_at(&frame, at);
            ms.push(started.elapsed().as_secs_f64() * 1000.0);
            let done = match progress {
                ScanProgress::Confirmed(id) => Some(("confirmed", id)),
                ScanProgress::ChooseSerial(id) => Some(("choose_serial", id)),
                ScanProgress::Duplicate { identity, .. } => Some(("duplicate", identity)),
                _ => None,
            };
            if let Some((kind, id)) = done {
                confirmed_after = Some(i + 1);
                outcome = kind;
                identity = Some(id);
                break;
            }
        }
        let correct = match (&identity, &expected) {
            (Some(a), Some(b)) => {
                a.fsan == b.fsan
                    && a.serial == b.serial
                    && a.mac == b.mac
                    && a.serial_candidates == b.serial_candidates
            }
            _ => false,
        };
        let line = json!({
            "set": "clips", "clip": clip.display().to_string(), "frames": confirmed_after,
            "of": frames.len(), "outcome": outcome, "correct": correct,
            "wrong": identity.is_some() && !correct, "ms": ms,
        });
        println!("{line}");
    }
}

/// A frame tiled with finder-pattern squares: every square a perfect finder.
fn finder_grid(w: usize, h: usize, module: usize) -> Vec<u8> {
    let period = 8 * module;
    let mut img = vec![255u8; w * h];
    for (i, px) in img.iter_mut().enumerate() {
        let (x, y) = (i % w, i / w);
        let (u, v) = ((x % period) / module, (y % period) / module);
        if u < 7 && v < 7 && u.min(v).min(6 - u).min(6 - v) != 1 {
            *px = 0;
        }
    }
    img
}

fn noise(w: usize, h: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..w * h)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 56) as u8
        })
        .collect()
}

/// Each hostile frame scanned with the phone's budget; the worst time is what the scan
/// session's lock can be held for.
fn run_hostile() {
    let budget = Duration::from_millis(60);
    let mut cases: Vec<(String, usize, usize, Vec<u8>)> = Vec::new();
    for (w, h, m) in [
        (640, 480, 4),
        (640, 480, 2),
        (1000, 1000, 5),
        (1280, 720, 3),
        (1920, 1080, 4),
        (3000, 3000, 6),
    ] {
        cases.push((
            format!("finder grid {w}x{h} m{m}"),
            w,
            h,
            finder_grid(w, h, m),
        ));
    }
    for (w, h) in [(640, 480), (1280, 720), (1920, 1080), (4000, 3000)] {
        cases.push((format!("noise {w}x{h}"), w, h, noise(w, h, (w * h) as u64)));
    }
    for (w, h) in [(8000, 6000), (1, 1), (21, 21), (1, 4000)] {
        cases.push((format!("flat {w}x{h}"), w, h, vec![128u8; w * h]));
    }
    let mut scanner = Scanner::new(ScannerConfig { budget });
    for (name, w, h, pixels) in cases {
        let Ok(frame) =
            jobpack_core::qr::Frame::luma(&pixels, w, h, w, jobpack_core::qr::Rotation::R0)
        else {
            continue;
        };
        let mut worst = 0f64;
        for _ in 0..3 {
            scanner.forget();
            let t = Instant::now();
            let _ = scanner.scan_decoded(&frame);
            worst = worst.max(t.elapsed().as_secs_f64() * 1000.0);
        }
        let work = scanner.last_work();
        let over = (worst - budget.as_secs_f64() * 1000.0).max(0.0);
        println!(
            "{}",
            json!({"set": "hostile", "hostile": name, "ms": worst, "over_budget_ms": over,
                   "rqrr_detector_runs": work.rqrr_detector_runs, "steps": work.steps,
                   "decoder_calls": work.decoder_calls})
        );
    }
}
