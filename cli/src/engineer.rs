//! `jobpack engineer`: one engineer's core driven from a shell, for QA scripts.
//!
//! Every command opens the engineer's SQLite file, does one thing and prints JSON on standard
//! output. A refusal prints `{"error": {"kind": ..., "message": ...}}` and exits 1; a problem
//! with the command line or the certificates exits 2. The contract is documented in
//! docs/ENGINEER-CLI.md; QA scripts rely on it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use jobpack_core::closure::{Gap, Journey};
use jobpack_core::engine::{
    Config, DatabaseProblem, Engine, Error, FlowView, PhotoConfig, PhotoUpload, PhotoView,
    QuestionView,
};
use jobpack_core::photos::{PhotoKey, S3Config};
use jobpack_core::protocol::{EngineerDetails, Location, OntDevice, Timestamp};
use jobpack_core::store::{DATABASE_KEY_LEN, DatabaseKey};
use jobpack_core::sync::SyncPolicy;
use jobpack_core::transport::{Timeouts, TlsMaterial};
use serde_json::{Value, json};

use crate::scripted::ScriptedEngineer;

#[derive(clap::Args)]
pub struct EngineerArgs {
    /// The engineer's SQLite file (created if missing).
    #[arg(long)]
    db: PathBuf,
    /// Upstream endpoint (the hub or the simulator); repeat for failover.
    #[arg(long = "upstream")]
    upstream: Vec<String>,
    /// Directory with ca.pem and the client certificate and key (as `jobpack sim` writes).
    #[arg(long)]
    certs: Option<PathBuf>,
    /// Engineer id; picks client-<ID>.pem/.key from --certs when present.
    #[arg(long, default_value = "E001")]
    engineer: String,
    /// Request timeout in seconds.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// CityFibre's closure matrix file (JSON); the built-in default otherwise.
    #[arg(long)]
    matrix: Option<PathBuf>,
    /// S3-compatible endpoint for closure photos; keys from JOBPACK_S3_ACCESS_KEY_ID and
    /// JOBPACK_S3_SECRET_ACCESS_KEY. Without it photos are kept and queued, not uploaded.
    #[arg(long)]
    s3_endpoint: Option<String>,
    #[arg(long, default_value = "jobpack-photos")]
    s3_bucket: String,
    #[arg(long, default_value = "us-east-1")]
    s3_region: String,
    /// QA only: accept `http://` upstream and S3 endpoints on a loopback address (local
    /// stand-ins without TLS). Without it every endpoint must be `https://`.
    #[arg(long)]
    allow_plain_http_loopback: bool,
    /// A file holding the installation's 32-byte storage key as 64 hex digits (what a phone
    /// keeps in its keystore): the database is encrypted with a key derived from it and photo
    /// files are sealed with it. A plain database is encrypted in place on first use.
    #[arg(long)]
    storage_key_file: Option<PathBuf>,
    #[command(subcommand)]
    command: EngineerCommand,
}

/// The database key and photo key from `--storage-key-file`.
fn storage_keys(args: &EngineerArgs) -> Result<Option<(DatabaseKey, PhotoKey)>, String> {
    let Some(path) = &args.storage_key_file else {
        return Ok(None);
    };
    let text = crate::input::read_text(path, 1024).map_err(|e| e.to_string())?;
    let text = text.trim();
    let bytes = (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .filter(|bytes| bytes.len() == DATABASE_KEY_LEN)
        .ok_or_else(|| {
            format!(
                "{} must hold {DATABASE_KEY_LEN} bytes as {} hex digits",
                path.display(),
                2 * DATABASE_KEY_LEN
            )
        })?;
    let database = DatabaseKey::derive(&bytes).map_err(|e| e.to_string())?;
    let photos = PhotoKey::new(&bytes)?;
    Ok(Some((database, photos)))
}

#[derive(Subcommand)]
enum EngineerCommand {
    /// Fetch the inbox (one sync cycle) and print the jobs; fails when the cycle failed.
    Pull {
        /// Most seconds to wait for the cycle.
        #[arg(long, default_value_t = 60)]
        wait: u64,
    },
    /// Print every job with its state and warnings.
    Jobs,
    /// Print one job.
    Job { job: String },
    /// Accept the job (notifyJob with engineer details).
    Accept { job: String },
    /// Set off to the job (notifyJob en route).
    Travel(PlaceArgs),
    /// Arrive at the job (notifyJob on site).
    Arrive(PlaceArgs),
    /// Confirm the ONT read from its label (notifyJob ONT scanned).
    Ont {
        job: String,
        #[arg(long)]
        fsan: String,
        #[arg(long)]
        serial: String,
    },
    /// Where the question flow stands: answered questions, the next one, what is missing.
    Flow {
        job: String,
        /// visit or closure.
        #[arg(long, default_value = "closure")]
        journey: String,
        /// The closure code the engineer picked (closure journey).
        #[arg(long)]
        closure: Option<String>,
        #[arg(long)]
        secondary: Option<String>,
    },
    /// Answer a question of the flow (replaces an earlier answer; history is kept).
    Answer {
        job: String,
        question: String,
        answer: String,
        #[arg(long, default_value = "closure")]
        journey: String,
    },
    /// Attach a photo (JPEG, PNG or WebP file) to a question; its upload is queued.
    Photo {
        job: String,
        question: String,
        file: PathBuf,
        #[arg(long, default_value = "closure")]
        journey: String,
    },
    /// Send the visit answers (notifyJob) once the visit questions are complete.
    SendAnswers { job: String },
    /// Close the job (closeJob) once the closure questions and photos are complete.
    Close {
        job: String,
        #[arg(long)]
        code: String,
        #[arg(long)]
        secondary: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Print the outbox (optionally one job's).
    Outbox {
        #[arg(long)]
        job: Option<String>,
    },
    /// Queue a parked item again.
    Resend { seq: i64 },
    /// Discard a parked item; --confirm must be its idempotency key.
    Discard {
        seq: i64,
        #[arg(long)]
        confirm: String,
    },
    /// Print quarantined inbox messages.
    Quarantine,
    /// Prune delivered work older than DAYS: sent messages, applied inbox bodies, local
    /// copies of uploaded photos whose messages are sent. Unsent work is never pruned.
    Prune {
        #[arg(long, default_value_t = 30)]
        days: u64,
    },
    /// Delete this engineer's database and photos (sign-out). Refused (`unsentWork`, with the
    /// count) while anything is unsent, unless --force.
    Wipe {
        #[arg(long)]
        force: bool,
    },
    /// Run one sync cycle, retrying every waiting item at once; exits 1 when the cycle
    /// failed. With --until-idle, wait until nothing is left to deliver.
    Sync {
        #[arg(long)]
        until_idle: bool,
        /// Most seconds to wait (for the cycle, or with --until-idle for idle).
        #[arg(long, default_value_t = 60)]
        wait: u64,
    },
    /// (for the crash test) Work every job to the end, printing each acknowledged action.
    #[command(hide = true)]
    Soak {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Stop after this many seconds even if work remains.
        #[arg(long, default_value_t = 120)]
        limit: u64,
        /// Most seconds to wait for the outbox to drain at the end.
        #[arg(long, default_value_t = 30)]
        wait: u64,
    },
}

#[derive(clap::Args)]
struct PlaceArgs {
    job: String,
    #[arg(long, allow_negative_numbers = true)]
    lat: f64,
    #[arg(long, allow_negative_numbers = true)]
    lon: f64,
    #[arg(long, default_value_t = 10.0)]
    accuracy: f64,
    /// When it happened (RFC 3339); now when absent.
    #[arg(long)]
    at: Option<String>,
}

/// Reads the CA and this engineer's client identity from a certificate directory.
pub fn tls_from_dir(dir: &Path, engineer: &str) -> Result<TlsMaterial, String> {
    let read = |name: &str| {
        crate::input::read_text(&dir.join(name), crate::input::MAX_DOCUMENT_BYTES)
            .map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    let (cert, key) = if dir.join(format!("client-{engineer}.pem")).exists() {
        (
            read(&format!("client-{engineer}.pem"))?,
            read(&format!("client-{engineer}.key"))?,
        )
    } else {
        (read("client.pem")?, read("client.key")?)
    };
    Ok(TlsMaterial {
        client_cert_pem: Some(cert),
        client_key_pem: Some(key),
        trust_anchors_pem: read("ca.pem")?,
        allow_plain_http_loopback: false,
    })
}

fn error_json(e: &Error) -> Value {
    let kind = match e {
        Error::UnknownJob { .. } => "unknownJob",
        Error::Lifecycle(_) => "lifecycle",
        Error::Outbox(_) => "outbox",
        Error::Protocol(_) => "invalidInput",
        Error::Storage { .. } => "storage",
        Error::NewerDatabase { .. } => "newerDatabase",
        Error::DatabaseUnavailable { problem, .. } => match problem {
            DatabaseProblem::Busy => "databaseBusy",
            DatabaseProblem::ReadOnly => "databaseReadOnly",
            DatabaseProblem::NotARegularFile => "databaseNotAFile",
            DatabaseProblem::ForeignDatabase => "foreignDatabase",
            DatabaseProblem::NotADatabase => "notADatabase",
            DatabaseProblem::WrongKey => "wrongKey",
        },
        Error::Config { .. } => "config",
        Error::Offline => "offline",
        Error::SyncTimeout { .. } => "syncTimeout",
        Error::NoEndpoints => "noEndpoints",
        Error::SyncFailed { .. } => "syncFailed",
        Error::Matrix { .. } => "matrix",
        Error::UnknownQuestion { .. } => "unknownQuestion",
        Error::Answer { .. } => "invalidAnswer",
        Error::UnknownPhoto { .. } => "unknownPhoto",
        Error::TooManyPhotos { .. } => "tooManyPhotos",
        Error::Photo(_) => "photo",
        Error::Incomplete { .. } => "incomplete",
        Error::UnsentWork { .. } => "unsentWork",
    };
    json!({"error": {"kind": kind, "message": e.to_string()}})
}

fn journey_named(name: &str) -> Result<Journey, Error> {
    Journey::from_name(name).ok_or_else(|| Error::Config {
        reason: format!("journey {name:?} is not visit or closure"),
    })
}

fn photo_json(photo: &PhotoView) -> Value {
    json!({
        "id": photo.id,
        "questionCode": photo.question_code,
        "objectPath": photo.object_path,
        "sha256": photo.sha256,
        "uploadSeq": photo.upload_seq,
        "uploadState": photo.upload_state.map(|s| to_json(&s)),
        "attachedAt": photo.attached_at.to_string(),
    })
}

fn question_json(q: &QuestionView) -> Value {
    json!({
        "code": q.code,
        "text": q.text,
        "help": q.help,
        "expects": q.expects,
        "optional": q.optional,
        "minPhotos": q.min_photos,
        "maxPhotos": q.max_photos,
        "photoHint": q.photo_hint,
        "photosRequiredBy": q.photos_required_by,
        "answer": q.answer,
        "answeredAt": q.answered_at.map(|t| t.to_string()),
        "photos": q.photos.iter().map(photo_json).collect::<Vec<_>>(),
    })
}

/// The flow as JSON for QA scripts; each gap with its kind and its sentence.
fn flow_json(view: &FlowView) -> Value {
    let gaps: Vec<Value> = view
        .gaps
        .iter()
        .map(|gap| {
            let kind = match gap {
                Gap::NoClosureCode => "noClosureCode",
                Gap::ClosureCodeRefused { .. } => "closureCodeRefused",
                Gap::MissingSecondaryCode { .. } => "missingSecondaryCode",
                Gap::OntNotProvisioned { .. } => "ontNotProvisioned",
                Gap::UnansweredQuestion { .. } => "unansweredQuestion",
                Gap::InvalidAnswer { .. } => "invalidAnswer",
                Gap::MissingPhotos { .. } => "missingPhotos",
                Gap::TooManyPhotos { .. } => "tooManyPhotos",
            };
            json!({"kind": kind, "message": gap.to_string()})
        })
        .collect();
    json!({
        "job": view.job_ref,
        "journey": view.journey.name(),
        "closureCode": view.closure_code,
        "secondaryCode": view.secondary_code,
        "defaultMatrix": view.default_matrix,
        "answered": view.answered.iter().map(question_json).collect::<Vec<_>>(),
        "optional": view.optional.iter().map(question_json).collect::<Vec<_>>(),
        "next": view.next.as_ref().map(question_json),
        "gaps": gaps,
        "ready": view.is_ready(),
    })
}

fn print(value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v)
        .unwrap_or_else(|e| json!({"error": {"kind": "output", "message": e.to_string()}}))
}

pub fn run(args: &EngineerArgs) -> ExitCode {
    let keys = match storage_keys(args) {
        Ok(keys) => keys,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let EngineerCommand::Wipe { force } = &args.command {
        // No engine: the database must not be open while it is removed.
        let key = keys.as_ref().map(|(database, _)| database);
        return match Engine::wipe(&args.db, None, key, *force) {
            Ok(report) => {
                print(&to_json(&report));
                ExitCode::SUCCESS
            }
            Err(e @ Error::UnsentWork { .. }) => {
                print(&error_json(&e));
                ExitCode::FAILURE
            }
            Err(e) => {
                print(&error_json(&e));
                ExitCode::from(2)
            }
        };
    }
    let tls = match &args.certs {
        Some(dir) => match tls_from_dir(dir, &args.engineer) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        None => TlsMaterial::default(),
    };
    let tls = TlsMaterial {
        allow_plain_http_loopback: args.allow_plain_http_loopback,
        ..tls
    };
    let closure_matrix = match args
        .matrix
        .as_deref()
        .map(|path| crate::input::read_text(path, crate::input::MAX_DOCUMENT_BYTES))
        .transpose()
    {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: cannot read the closure matrix: {e}");
            return ExitCode::from(2);
        }
    };
    let soaking = matches!(args.command, EngineerCommand::Soak { .. });
    // One-shot actions only commit locally; the network is used by the commands that sync,
    // so a command never exits in the middle of a request it started on its own.
    let syncs = matches!(
        args.command,
        EngineerCommand::Pull { .. } | EngineerCommand::Sync { .. } | EngineerCommand::Soak { .. }
    );
    let (database_key, photo_key) = keys.unzip();
    let config = Config {
        database: args.db.clone(),
        database_key,
        endpoints: args.upstream.clone(),
        tls,
        timeouts: Timeouts {
            connect: Duration::from_secs(args.timeout.min(10)),
            request: Duration::from_secs(args.timeout),
        },
        engineer: EngineerDetails {
            engineer_id: args.engineer.clone(),
            name: format!("Engineer {}", args.engineer),
            phone: "+44 7700 900000".into(),
            company: Some("Jobpack Installs Ltd".into()),
        },
        partner_catalogue: None,
        sync: SyncPolicy {
            retry: jobpack_core::sync::RetryPolicy {
                base: Duration::from_millis(if soaking { 50 } else { 500 }),
                max: Duration::from_secs(if soaking { 1 } else { 30 }),
            },
            configuration_retry: Duration::from_secs(5),
            pull_interval: Duration::from_millis(if soaking { 200 } else { 60_000 }),
            ..SyncPolicy::default()
        },
        start_online: syncs,
        closure_matrix,
        photos: PhotoConfig {
            bucket: args.s3_bucket.clone(),
            upload: args.s3_endpoint.as_ref().map(|endpoint| {
                let key = |name| std::env::var(name).unwrap_or_default();
                let mut s3 = S3Config::new(
                    endpoint.clone(),
                    args.s3_region.clone(),
                    args.s3_bucket.clone(),
                    key("JOBPACK_S3_ACCESS_KEY_ID"),
                    key("JOBPACK_S3_SECRET_ACCESS_KEY"),
                );
                s3.allow_plain_http_loopback = args.allow_plain_http_loopback;
                PhotoUpload::DirectS3(s3)
            }),
            key: photo_key,
            ..PhotoConfig::default()
        },
    };
    let engine = match Engine::open(config) {
        Ok(e) => e,
        Err(e) => {
            print(&error_json(&e));
            return ExitCode::from(2);
        }
    };
    if let Some(recovery) = &engine.open_report().recovery {
        eprintln!(
            "warning: the database was unreadable ({}); moved to {}, {} jobs and {} unsent messages saved",
            recovery.reason,
            recovery.moved_to.display(),
            recovery.salvaged_jobs,
            recovery.salvaged_outbox_items
        );
    }
    let wait = |secs: u64| engine.sync_until_idle_blocking(Duration::from_secs(secs));
    let result: Result<Value, Error> = match &args.command {
        EngineerCommand::Pull { wait: secs } => engine
            .sync_once_blocking(Duration::from_secs(*secs))
            .and_then(|_| engine.jobs())
            .map(|j| to_json(&j)),
        EngineerCommand::Jobs => engine.jobs().map(|j| to_json(&j)),
        EngineerCommand::Job { job } => engine.job(job).map(|j| to_json(&j)),
        EngineerCommand::Accept { job } => engine.accept(job).map(|r| to_json(&r)),
        EngineerCommand::Travel(p) => place(p)
            .and_then(|(l, at)| engine.start_travel(&p.job, l, at))
            .map(|r| to_json(&r)),
        EngineerCommand::Arrive(p) => place(p)
            .and_then(|(l, at)| engine.arrive(&p.job, l, at))
            .map(|r| to_json(&r)),
        EngineerCommand::Ont { job, fsan, serial } => OntDevice::new(fsan.clone(), serial.clone())
            .map_err(Error::from)
            .and_then(|ont| engine.confirm_ont(job, ont, None))
            .map(|r| to_json(&r)),
        EngineerCommand::Flow {
            job,
            journey,
            closure,
            secondary,
        } => journey_named(journey)
            .and_then(|j| engine.flow(job, j, closure.as_deref(), secondary.as_deref()))
            .map(|view| flow_json(&view)),
        EngineerCommand::Answer {
            job,
            question,
            answer,
            journey,
        } => journey_named(journey)
            .and_then(|j| engine.answer_question(job, j, question, answer, None))
            .map(|canonical| json!({"question": question, "answer": canonical})),
        EngineerCommand::Photo {
            job,
            question,
            file,
            journey,
        } => crate::input::read_bytes(
            file,
            jobpack_core::photos::IngestConfig::default().max_input_bytes as u64,
        )
        .map_err(|e| Error::Config {
            reason: format!("cannot read {}: {e}", file.display()),
        })
        .and_then(|bytes| {
            let j = journey_named(journey)?;
            engine.attach_photo(job, j, question, &bytes)
        })
        .map(|photo| photo_json(&photo)),
        EngineerCommand::SendAnswers { job } => engine.send_visit_answers(job).map(|r| to_json(&r)),
        EngineerCommand::Close {
            job,
            code,
            secondary,
            description,
        } => engine
            .close(job, code, secondary.as_deref(), description, None)
            .map(|r| to_json(&r)),
        EngineerCommand::Outbox { job } => engine.outbox(job.as_deref()).map(|o| to_json(&o)),
        EngineerCommand::Resend { seq } => engine.resend(*seq).map(|()| json!({"resent": seq})),
        EngineerCommand::Discard { seq, confirm } => engine
            .discard(*seq, confirm)
            .map(|()| json!({"discarded": seq})),
        EngineerCommand::Quarantine => engine.quarantine().map(|q| to_json(&q)),
        EngineerCommand::Prune { days } => {
            let age = Some(Duration::from_secs(days.saturating_mul(24 * 3600)));
            let retention = jobpack_core::store::Retention {
                sent_messages: age,
                applied_inbox: age,
                uploaded_photos: age,
            };
            engine.prune(&retention).map(|r| to_json(&r))
        }
        EngineerCommand::Wipe { .. } => Err(Error::Config {
            reason: "wipe runs without an engine".into(),
        }),
        EngineerCommand::Sync {
            until_idle,
            wait: secs,
        } => {
            if *until_idle {
                wait(*secs).map(|s| to_json(&s))
            } else {
                engine
                    .sync_once_blocking(Duration::from_secs(*secs))
                    .map(|s| to_json(&s))
            }
        }
        EngineerCommand::Soak { seed, limit, wait } => soak(
            &engine,
            *seed,
            Duration::from_secs(*limit),
            Duration::from_secs(*wait),
        ),
    };
    match result {
        Ok(value) => {
            print(&value);
            ExitCode::SUCCESS
        }
        Err(e) => {
            print(&error_json(&e));
            ExitCode::FAILURE
        }
    }
}

fn place(p: &PlaceArgs) -> Result<(Location, Option<Timestamp>), Error> {
    let location = Location::new(p.lat, p.lon, p.accuracy)?;
    let at = p.at.as_deref().map(Timestamp::parse_lenient).transpose()?;
    Ok((location, at))
}

/// Works every job to its end, printing `{"ack": KEY, ...}` after each committed action, so
/// a test that kills this process knows exactly which actions the "UI" was told were saved.
fn soak(engine: &Engine, seed: u64, limit: Duration, wait: Duration) -> Result<Value, Error> {
    let mut driver = ScriptedEngineer::new(seed);
    let started = std::time::Instant::now();
    let mut acked = 0u64;
    while started.elapsed() < limit {
        let jobs = engine.jobs()?;
        let mut progressed = false;
        for job in &jobs {
            let Some(step) = driver.step(engine, job) else {
                continue;
            };
            for receipt in step.result.iter().flatten() {
                if let Some(key) = &receipt.idempotency_key {
                    print(&json!({"ack": key, "job": step.job_ref, "action": step.action}));
                    acked += 1;
                }
            }
            progressed = true;
        }
        let open = jobs.iter().any(|j| !j.state.is_final());
        if !progressed && !jobs.is_empty() && !open && engine.status().pending == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(if progressed { 5 } else { 50 }));
    }
    let status = engine.sync_until_idle_blocking(wait)?;
    Ok(json!({"done": true, "acked": acked, "status": status}))
}
