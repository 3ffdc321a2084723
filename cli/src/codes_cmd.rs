//! `jobpack codes`: the catalogue as a person or a script reads it.

use std::path::PathBuf;
use std::process::ExitCode;

use jobpack_core::codes::Catalogue;

#[derive(clap::Args)]
pub struct CodesArgs {
    /// A partner catalogue file applied on top of the embedded tables.
    #[arg(long)]
    partner: Option<PathBuf>,
    /// Print the catalogue as JSON (the partner file format) instead of tables.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &CodesArgs) -> ExitCode {
    let catalogue = match load(args.partner.as_deref()) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        println!("{}", catalogue.to_json());
    } else {
        print!("{}", render(&catalogue));
    }
    ExitCode::SUCCESS
}

/// The embedded catalogue, or the embedded one with a partner file on top.
pub fn load(partner: Option<&std::path::Path>) -> Result<Catalogue, String> {
    match partner {
        None => Ok(Catalogue::embedded()),
        Some(path) => {
            let text = crate::input::read_text(path, crate::input::MAX_DOCUMENT_BYTES)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Catalogue::with_partner_file(&text).map_err(|e| format!("{}: {e}", path.display()))
        }
    }
}

fn render(c: &Catalogue) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line("Closure codes".into());
    for code in c.closure_codes() {
        let mut notes = vec![code.attendance.to_string()];
        if code.secondary_required {
            notes.push("secondary code required".into());
        }
        if code.requires_provisioned_ont {
            notes.push("needs a provisioned ONT".into());
        }
        line(format!(
            "  {:<8} {}  [{}]",
            code.code,
            code.description,
            notes.join(", ")
        ));
        for s in c.secondary_codes_of(&code.code) {
            line(format!("      {:<10} {}", s.code, s.description));
        }
    }
    let other = c.other_reason();
    line(format!(
        "  (other codes: {})",
        if other.enabled {
            format!(
                "accepted as \"Other reason\", treated as {}",
                other.attendance
            )
        } else {
            "refused".into()
        }
    ));
    line(String::new());
    line("Property flags".into());
    for f in c.property_flags() {
        let when = match f.when {
            jobpack_core::codes::FlagMoment::BeforeTravel => "before travelling",
            jobpack_core::codes::FlagMoment::OnJob => "on the job",
        };
        line(format!("  {:<8} {}  [{when}]", f.code, f.description));
    }
    line(String::new());
    line("ONT provisioning statuses".into());
    for s in c.provisioning_statuses() {
        let mut notes = vec![if s.success { "success" } else { "failure" }.to_owned()];
        if s.rescan_allowed {
            notes.push("re-scan allowed".into());
        }
        if let Some(m) = s.retry_after_minutes {
            notes.push(format!("retried after {m} min"));
        }
        line(format!("  {}  {}  [{}]", s.id, s.details, notes.join(", ")));
        line(format!("     {}", s.description));
    }
    out
}
