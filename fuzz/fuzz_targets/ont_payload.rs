//! Any bytes through the ONT label parser: it must return a value, never panic, and an
//! accepted identity must be self-consistent.
#![no_main]

use jobpack_core::qr::{Fsan, parse_ont_payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(id) = parse_ont_payload(&text) {
        // The canonical FSAN re-parses to itself, and its vendor is its prefix.
        let again = Fsan::parse(id.fsan.as_str()).expect("canonical FSAN re-parses");
        assert_eq!(again, id.fsan);
        assert_eq!(id.vendor, id.fsan.vendor());
        assert_eq!(Fsan::parse(&id.fsan.to_hex_form()).ok(), Some(id.fsan.clone()));
    }
});
