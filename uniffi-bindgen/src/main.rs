//! `uniffi-bindgen`, built from the same uniffi version as the library it reads, so the
//! metadata format always matches. Run by `scripts/bindings.sh`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
