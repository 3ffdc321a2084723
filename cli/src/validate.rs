//! `jobpack validate FILE...`: which message is this, and does it satisfy the contract?
//!
//! A payload is judged twice: by the OpenAPI document's JSON Schema (every violation, with
//! its JSON path) and by the core's model and catalogue rules (what the simulator and the
//! phone apply). Both must accept it for `ok`.

use std::path::PathBuf;
use std::process::ExitCode;

use jobpack_core::protocol::{Message, MessageKind, parse_message};
use jobpack_spec::Spec;
use serde_json::Value;

#[derive(clap::Args)]
pub struct ValidateArgs {
    /// JSON files to check; `-` reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// A partner catalogue file for the code rules.
    #[arg(long)]
    partner: Option<PathBuf>,
}

pub fn run(args: &ValidateArgs) -> ExitCode {
    let spec = match Spec::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let catalogue = match crate::codes_cmd::load(args.partner.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut all_ok = true;
    for file in &args.files {
        let report = check_file(file, &spec, &catalogue);
        print!("{report}");
        all_ok &= report.ends_with("ok\n");
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A payload is a few kilobytes (photos travel as S3 references); far more is refused.
const MAX_PAYLOAD_BYTES: u64 = 4 * 1024 * 1024;

/// Longest error line printed: schema errors quote the offending value, which may be huge.
const MAX_LINE: usize = 300;

fn read(file: &std::path::Path) -> std::io::Result<String> {
    crate::input::read_text(file, MAX_PAYLOAD_BYTES)
}

/// The report for one file; it ends with `ok` exactly when the file is valid.
fn check_file(
    file: &std::path::Path,
    spec: &Spec,
    catalogue: &jobpack_core::codes::Catalogue,
) -> String {
    let name = file.display();
    let text = match read(file) {
        Ok(t) => t,
        Err(e) => return format!("{name}: cannot read: {e}\n"),
    };
    let value: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return format!("{name}: not JSON: {e}\n"),
    };
    let Some(kind) = MessageKind::classify(&value) else {
        return format!(
            "{name}: not a message of the Partner Installation API\n  error $: unrecognised shape\n"
        );
    };
    let mut out = format!("{name}: {} [{}]\n", kind.describe(), kind.schema_name());
    let mut errors = Vec::new();
    match spec.validate(kind.schema_name(), &value) {
        Ok(violations) => {
            errors.extend(violations.iter().map(|v| format!("error {v}")));
        }
        Err(e) => errors.push(format!("error: {e}")),
    }
    match parse_message(kind, &value) {
        Ok(Message::Outbound(request)) => {
            if let Err(e) = catalogue.check_request(&request) {
                errors.push(format!("error $.params: {e} (code catalogue)"));
            }
        }
        Ok(_) => {}
        Err(e) => errors.push(format!("error $: {e} (model)")),
    }
    if errors.is_empty() {
        out.push_str("ok\n");
    } else {
        for e in errors {
            out.push_str("  ");
            out.push_str(&jobpack_core::text::prefix(&e, MAX_LINE));
            out.push('\n');
        }
    }
    out
}
