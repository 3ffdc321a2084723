//! `cargo fuzz run photo_ingest`: see `targets.rs` for what is fuzzed and checked.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::photo_ingest(data));
