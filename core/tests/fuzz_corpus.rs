//! Replays the fuzzers' checked-in corpus on stable Rust: every file of `fuzz/seeds/NAME/`
//! goes through fuzz target NAME's function (`fuzz/targets.rs`), which must not panic. Seeds
//! are real payloads and edge cases; a crash that `cargo fuzz` finds is added here as a file,
//! so it stays a test forever.

#[path = "../../fuzz/targets.rs"]
mod targets;

use std::path::Path;

#[test]
fn every_fuzz_target_runs_its_whole_corpus_without_panicking() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let mut total = 0;
    for (name, target) in targets::TARGETS {
        let dir = root.join(name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("corpus of {name} at {}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "target {name} has no seeds");
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&bytes));
            assert!(outcome.is_ok(), "{name} panicked on {}", file.display());
            total += 1;
        }
    }
    assert!(total >= targets::TARGETS.len());
}
