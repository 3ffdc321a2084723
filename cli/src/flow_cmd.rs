//! `jobpack flow`: check a closure matrix file, or walk its questions on a terminal.
//!
//! `check` is for whoever maintains the partner's copy of CityFibre's matrix: every problem
//! with its place, in one run. `walk` is for QA: it asks the questions of one closure the way
//! the app would (same matrix, same validation, same branching) and prints the
//! `questions_answers` the app would send. Answers are read line by line from standard input,
//! so a script can pipe them in; prompts go to standard error so that standard output is
//! only the JSON.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use jobpack_core::closure::{Answers, FlowContext, Gap, Journey, Matrix, Question};
use jobpack_core::codes::{Catalogue, CodeError};
use jobpack_core::protocol::Timestamp;

#[derive(clap::Args)]
pub struct FlowArgs {
    #[command(subcommand)]
    command: FlowCommand,
}

#[derive(Subcommand)]
enum FlowCommand {
    /// Check a closure matrix file: prints `ok` or each problem with its place.
    Check {
        /// The matrix file (`-` reads standard input).
        file: PathBuf,
        /// A partner catalogue file for the code rules.
        #[arg(long)]
        partner: Option<PathBuf>,
    },
    /// Ask the questions of one closure on the terminal and print its questions_answers.
    Walk(WalkArgs),
}

#[derive(clap::Args)]
struct WalkArgs {
    /// The closure code (SP, RNA, CON, ...).
    #[arg(long)]
    closure: String,
    /// The secondary closure code (CON01, ...).
    #[arg(long)]
    secondary: Option<String>,
    /// A matrix file instead of the built-in default.
    #[arg(long)]
    matrix: Option<PathBuf>,
    /// A property flag of the job (DAN, CHP, SUR, DTL, MDU, WSD); repeat for several.
    #[arg(long = "flag")]
    flags: Vec<String>,
    /// The latest ONT provisioning status (1-7).
    #[arg(long)]
    ont_status: Option<u8>,
    /// The point of the journey: questions during the visit or at closure.
    #[arg(long, value_enum, default_value_t = JourneyArg::Closure)]
    journey: JourneyArg,
    /// A partner catalogue file for the code rules.
    #[arg(long)]
    partner: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum JourneyArg {
    Visit,
    Closure,
}

pub fn run(args: &FlowArgs) -> ExitCode {
    match &args.command {
        FlowCommand::Check { file, partner } => check(file, partner.as_deref()),
        FlowCommand::Walk(walk_args) => match walk(walk_args) {
            Ok(code) => code,
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::from(2)
            }
        },
    }
}

fn read(file: &Path) -> std::io::Result<String> {
    crate::input::read_text(file, crate::input::MAX_DOCUMENT_BYTES)
}

fn check(file: &Path, partner: Option<&Path>) -> ExitCode {
    let catalogue = match crate::codes_cmd::load(partner) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let text = match read(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    match Matrix::from_json(&text, &catalogue) {
        Ok(matrix) => {
            println!("ok");
            let uncovered = matrix.uncovered_closure_codes(&catalogue);
            if !uncovered.is_empty() {
                eprintln!(
                    "note: no closure questions for closure codes {}",
                    uncovered.join(", ")
                );
            }
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for problem in problems.iter() {
                println!("{problem}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Runs the walk; `Err` is a reason the walk cannot start (exit 2).
fn walk(args: &WalkArgs) -> Result<ExitCode, String> {
    let catalogue = crate::codes_cmd::load(args.partner.as_deref())?;
    let matrix = load_matrix(args.matrix.as_deref(), &catalogue)?;
    let context = context(args, &catalogue)?;

    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut stderr = std::io::stderr().lock();
    let mut answers = Answers::new();
    // Optional questions are offered once, in path order, before the next required one;
    // an empty line skips them.
    let mut skipped: BTreeSet<String> = BTreeSet::new();
    loop {
        let walk = matrix.walk(&context, &answers);
        let offered = walk
            .optional
            .iter()
            .copied()
            .find(|q| !skipped.contains(&q.code));
        let Some(question) = offered.or(walk.next) else {
            break;
        };
        let optional = offered.is_some();
        prompt(&mut stderr, question, &context, &answers, optional);
        loop {
            let _ = write!(stderr, "> ");
            let _ = stderr.flush();
            let line = match lines.next() {
                Some(Ok(line)) => line,
                Some(Err(e)) => return Err(format!("cannot read standard input: {e}")),
                None => {
                    let _ = writeln!(stderr);
                    eprintln!(
                        "error: input ended before question {} was answered",
                        question.code
                    );
                    return Ok(ExitCode::FAILURE);
                }
            };
            if optional && line.trim().is_empty() {
                skipped.insert(question.code.clone());
                break;
            }
            match question.validate(&line) {
                Ok(answer) => {
                    answers.record(&question.code, answer, Timestamp::now());
                    break;
                }
                Err(e) => {
                    let _ = writeln!(stderr, "  not accepted: {e}; try again");
                }
            }
        }
    }
    let _ = writeln!(stderr, "all questions answered");
    for gap in matrix.checklist(&context, &answers, &Default::default(), &catalogue) {
        if !matches!(gap, Gap::MissingPhotos { .. } | Gap::TooManyPhotos { .. }) {
            let _ = writeln!(stderr, "checklist: {gap}");
        }
    }
    let payload = matrix.questions_answers(&context, &answers, &Default::default());
    let json = serde_json::to_string_pretty(&payload)
        .map_err(|e| format!("cannot write the answers as JSON: {e}"))?;
    println!("{json}");
    Ok(ExitCode::SUCCESS)
}

fn load_matrix(file: Option<&Path>, catalogue: &Catalogue) -> Result<Matrix, String> {
    let (text, name) = match file {
        None => (
            jobpack_core::closure::DEFAULT_MATRIX_JSON.to_owned(),
            "the default matrix".to_owned(),
        ),
        Some(path) => (
            read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?,
            path.display().to_string(),
        ),
    };
    Matrix::from_json(&text, catalogue).map_err(|problems| {
        let lines: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        format!(
            "{name} is not a valid closure matrix (`jobpack flow check` lists the same):\n{}",
            lines.join("\n")
        )
    })
}

fn context(args: &WalkArgs, catalogue: &Catalogue) -> Result<FlowContext, String> {
    match catalogue.check_closure(&args.closure, args.secondary.as_deref()) {
        Ok(_) => {}
        // Walkable: the checklist at the end says the secondary code is missing.
        Err(CodeError::MissingSecondaryCode { .. }) => {}
        Err(e) => return Err(e.to_string()),
    }
    for flag in &args.flags {
        if catalogue.property_flag(flag).is_none() {
            let known: Vec<&str> = catalogue
                .property_flags()
                .map(|f| f.code.as_str())
                .collect();
            return Err(format!(
                "property flag {flag:?} is not one of {}",
                known.join(", ")
            ));
        }
    }
    if let Some(status) = args.ont_status {
        catalogue
            .provisioning_status(status)
            .map_err(|e| e.to_string())?;
    }
    Ok(FlowContext {
        journey: match args.journey {
            JourneyArg::Visit => Journey::Visit,
            JourneyArg::Closure => Journey::Closure,
        },
        closure_code: Some(args.closure.clone()),
        secondary_code: args.secondary.clone(),
        property_flags: args.flags.clone(),
        ont_status: args.ont_status,
    })
}

fn prompt(
    out: &mut impl Write,
    question: &Question,
    context: &FlowContext,
    answers: &Answers,
    optional: bool,
) {
    let _ = writeln!(out, "\n[{}] {}", question.code, question.text);
    let _ = writeln!(out, "  answer: {}", question.answer.describe());
    if optional {
        let _ = writeln!(out, "  optional: an empty line skips it");
    }
    if let Some(help) = &question.help {
        let _ = writeln!(out, "  help: {help}");
    }
    let photos = question.photo_requirement(context, answers);
    if photos.min > 0 {
        let what = photos
            .hint
            .as_deref()
            .map(|h| format!(": {h}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  photos: the app will require {} photo(s){what} (attached in the app, not here)",
            photos.min
        );
    }
    if !question.photo_rules.is_empty() {
        let _ = writeln!(
            out,
            "  photos: the count may change with the answer (the matrix has photo rules)"
        );
    }
}
