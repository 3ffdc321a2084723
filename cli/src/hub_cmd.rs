//! `jobpack hub`: the partner hub as a process, and the back office's commands on its
//! directory (engineers, dispatch, device certificates).
//!
//! The commands other than `serve` open the hub's database directly (SQLite file, or the
//! PostgreSQL database `--postgres` names); they are safe while the hub runs (SQLite
//! serialises the writers, PostgreSQL's transactions and locks do the same across any number
//! of hub processes, and a running hub's forwarder looks at its outbox at least twice a
//! second, so an assignment made here is forwarded promptly).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use jobpack_core::protocol::EngineerDetails;
use jobpack_core::sync::RetryPolicy;
use jobpack_core::transport::{Timeouts, TlsMaterial};
use jobpack_hub::{Backend, Hub, HubConfig, HubStore, PhotoBucket, Role};
use serde_json::json;

#[derive(clap::Args, Debug, Clone)]
pub struct HubArgs {
    /// The hub's directory: database, CA and server certificate.
    #[arg(long, global = true, default_value = "hub")]
    pub dir: PathBuf,
    /// Keep the hub's state in this PostgreSQL database instead of `DIR/hub.sqlite`
    /// (`host=/run/postgresql user=hub dbname=hub`, or `postgresql://hub@localhost/hub`);
    /// several hub processes may serve from one database. The CA files stay in `--dir`.
    #[arg(long, global = true, value_name = "URL")]
    pub postgres: Option<String>,
    #[command(subcommand)]
    pub command: HubCommand,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum HubCommand {
    /// Serve CityFibre's side and the phones' side until stopped (prints one JSON line when ready).
    Serve(Box<ServeArgs>),
    /// Add an engineer (or update their details).
    Engineer {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        phone: String,
        #[arg(long)]
        company: Option<String>,
    },
    /// Assign (or reassign) a job to an engineer.
    Assign { job_ref: String, engineer: String },
    /// Issue a device certificate (an engineer's phone, or `--office` for the back office).
    Issue {
        #[arg(long)]
        device: String,
        #[arg(long, required_unless_present = "office")]
        engineer: Option<String>,
        #[arg(long, conflicts_with = "engineer")]
        office: bool,
        /// Where to write `<device>.pem`, `<device>.key` and `hub-ca.pem`.
        #[arg(long)]
        out: PathBuf,
    },
    /// Revoke a device certificate; its next request is refused.
    Revoke {
        #[arg(long)]
        device: String,
    },
    /// The hub's outbox to CityFibre, one JSON object per item (states, attempts, parked reasons).
    Outbox {
        #[arg(long)]
        job: Option<String>,
    },
    /// Queue a parked outbox item again (CityFibre's side was fixed).
    Resend {
        #[arg(long)]
        seq: i64,
    },
    /// Print the back-office board's login token (made in the hub's directory if missing).
    BoardToken,
    /// Discard a parked outbox item; `--key` must be its idempotency key (as `outbox` shows).
    Discard {
        #[arg(long)]
        seq: i64,
        #[arg(long)]
        key: String,
    },
}

#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Where CityFibre calls (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub cityfibre_listen: SocketAddr,
    /// Where the phones call.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub device_listen: SocketAddr,
    /// Where the back-office board listens (HTTPS, token login); keep it on loopback or
    /// behind the office's VPN.
    #[arg(long, default_value = "127.0.0.1:0", conflicts_with = "no_board")]
    pub board_listen: SocketAddr,
    /// Serve no back-office board.
    #[arg(long)]
    pub no_board: bool,
    /// CA certificate(s), PEM, that sign CityFibre's client certificates.
    #[arg(long)]
    pub cityfibre_ca: PathBuf,
    /// CityFibre endpoint (repeat for the second gateway); none = nothing is forwarded.
    #[arg(long)]
    pub upstream: Vec<String>,
    /// The partner's client certificate and key for CityFibre, PEM.
    #[arg(long, requires = "partner_key")]
    pub partner_cert: Option<PathBuf>,
    #[arg(long, requires = "partner_cert")]
    pub partner_key: Option<PathBuf>,
    /// CA certificate(s), PEM, that sign CityFibre's server certificates.
    #[arg(long)]
    pub upstream_ca: Option<PathBuf>,
    /// Extra names for the hub's server certificate (made on first start).
    #[arg(long)]
    pub server_name: Vec<String>,
    /// The partner's photo bucket endpoint, for presigned upload URLs (`/photoUrl`). The keys
    /// come from JOBPACK_S3_ACCESS_KEY_ID and JOBPACK_S3_SECRET_ACCESS_KEY, never from the
    /// command line (where `ps` shows them).
    #[arg(long, requires = "s3_bucket")]
    pub s3_endpoint: Option<String>,
    #[arg(long, requires = "s3_endpoint")]
    pub s3_bucket: Option<String>,
    #[arg(long, default_value = "us-east-1")]
    pub s3_region: String,
    /// Virtual-hosted URLs (`bucket.host/key`, AWS) instead of path style (`host/bucket/key`).
    #[arg(long)]
    pub s3_virtual_host: bool,
    /// How long a presigned URL is valid, in seconds.
    #[arg(long, default_value_t = 300)]
    pub s3_url_secs: u64,
    /// How long a call to CityFibre may take before it counts as failed, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    /// How long connecting to CityFibre may take, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub connect_timeout_ms: u64,
    /// The first pause before a retry to CityFibre, in milliseconds (doubled each time, with
    /// jitter, up to --retry-max-ms).
    #[arg(long, default_value_t = 1_000)]
    pub retry_base_ms: u64,
    #[arg(long, default_value_t = 300_000)]
    pub retry_max_ms: u64,
    /// The pause after a TLS or certificate failure towards CityFibre, in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    pub configuration_retry_ms: u64,
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn run(args: &HubArgs) -> ExitCode {
    let outcome = match &args.command {
        HubCommand::Serve(serve_args) => serve(&args.dir, &backend(args), serve_args),
        other => manage(&args.dir, &backend(args), other),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn backend(args: &HubArgs) -> Backend {
    match &args.postgres {
        Some(url) => Backend::Postgres(url.clone()),
        None => Backend::Sqlite,
    }
}

fn manage(dir: &Path, backend: &Backend, command: &HubCommand) -> Result<(), String> {
    if let HubCommand::BoardToken = command {
        let token = jobpack_hub::board::load_or_create_token(dir).map_err(|e| e.to_string())?;
        println!("{token}");
        return Ok(());
    }
    let store = HubStore::open_on(dir, &[], backend).map_err(|e| e.to_string())?;
    let line = match command {
        HubCommand::BoardToken => return Err("board-token is handled above".into()),
        HubCommand::Serve(_) => return Err("serve is not a management command".into()),
        HubCommand::Engineer {
            id,
            name,
            phone,
            company,
        } => {
            store
                .add_engineer(&EngineerDetails {
                    engineer_id: id.clone(),
                    name: name.clone(),
                    phone: phone.clone(),
                    company: company.clone(),
                })
                .map_err(|e| e.to_string())?;
            json!({"engineer": id})
        }
        HubCommand::Assign { job_ref, engineer } => {
            let assignment = store.assign(job_ref, engineer).map_err(|e| e.to_string())?;
            serde_json::to_value(assignment).map_err(|e| e.to_string())?
        }
        HubCommand::Issue {
            device,
            engineer,
            office,
            out,
        } => {
            let role = if *office { Role::Office } else { Role::Device };
            let identity = store
                .issue_device(device, engineer.as_deref(), role)
                .map_err(|e| e.to_string())?;
            std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
            let write = |name: String, text: &str| {
                let path = out.join(name);
                std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
            };
            write(format!("{device}.pem"), &identity.cert_pem)?;
            write(format!("{device}.key"), &identity.key_pem)?;
            write("hub-ca.pem".into(), &store.pki.ca_cert_pem)?;
            json!({"device": device, "engineer": engineer, "out": out.display().to_string()})
        }
        HubCommand::Revoke { device } => {
            store.revoke_device(device).map_err(|e| e.to_string())?;
            json!({"revoked": device})
        }
        HubCommand::Outbox { job } => {
            for item in store.outbox(job.as_deref()).map_err(|e| e.to_string())? {
                println!(
                    "{}",
                    serde_json::to_string(&item).map_err(|e| e.to_string())?
                );
            }
            return Ok(());
        }
        HubCommand::Resend { seq } => {
            store.resend(*seq).map_err(|e| e.to_string())?;
            json!({"resent": seq})
        }
        HubCommand::Discard { seq, key } => {
            store.discard(*seq, key).map_err(|e| e.to_string())?;
            json!({"discarded": seq})
        }
    };
    println!("{line}");
    Ok(())
}

fn serve(dir: &Path, backend: &Backend, args: &ServeArgs) -> Result<(), String> {
    let mut config = HubConfig::local(dir.to_path_buf(), read(&args.cityfibre_ca)?);
    config.backend = backend.clone();
    config.cityfibre_listen = args.cityfibre_listen;
    config.device_listen = args.device_listen;
    config.board_listen = (!args.no_board).then_some(args.board_listen);
    config.upstream = args.upstream.clone();
    config.server_names = args.server_name.clone();
    config.upstream_tls = TlsMaterial {
        client_cert_pem: args.partner_cert.as_deref().map(read).transpose()?,
        client_key_pem: args.partner_key.as_deref().map(read).transpose()?,
        trust_anchors_pem: args
            .upstream_ca
            .as_deref()
            .map(read)
            .transpose()?
            .unwrap_or_default(),
        allow_plain_http_loopback: false,
    };
    if let (Some(endpoint), Some(bucket)) = (&args.s3_endpoint, &args.s3_bucket) {
        let key = |name: &str| {
            std::env::var(name).map_err(|_| format!("{name} must be set for --s3-endpoint"))
        };
        config.photos = Some(PhotoBucket {
            endpoint: endpoint.clone(),
            region: args.s3_region.clone(),
            bucket: bucket.clone(),
            access_key_id: key("JOBPACK_S3_ACCESS_KEY_ID")?,
            secret_access_key: key("JOBPACK_S3_SECRET_ACCESS_KEY")?,
            path_style: !args.s3_virtual_host,
            validity: Duration::from_secs(args.s3_url_secs),
        });
    }
    config.timeouts = Timeouts {
        connect: Duration::from_millis(args.connect_timeout_ms),
        request: Duration::from_millis(args.request_timeout_ms),
    };
    config.retry = RetryPolicy {
        base: Duration::from_millis(args.retry_base_ms),
        max: Duration::from_millis(args.retry_max_ms.max(args.retry_base_ms)),
    };
    config.configuration_retry = Duration::from_millis(args.configuration_retry_ms);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("could not start the runtime: {e}"))?;
    runtime.block_on(async {
        let hub = Hub::start(config).await.map_err(|e| e.to_string())?;
        let line = json!({
            "ready": true,
            "cityfibre": hub.cityfibre_url(),
            "devices": hub.device_url(),
            // The board's URL and where its login token is (the token itself is not printed
            // into logs; `jobpack hub board-token` prints it).
            "board": hub.board_url().map(|url| format!("{url}/login")),
            "boardToken": hub.board_url().map(|_| dir.join(jobpack_hub::board::TOKEN_FILE).display().to_string()),
            "ca": dir.join("ca.pem").display().to_string(),
        });
        let mut out = std::io::stdout();
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .map_err(|e| format!("could not write the ready line: {e}"))?;
        crate::sim_cmd::stop_signal().await;
        hub.shutdown().await;
        Ok(())
    })
}
