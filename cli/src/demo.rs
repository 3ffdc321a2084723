//! `jobpack demo`: a working day end to end.
//!
//! The CityFibre simulator starts on loopback with two gateways and real mutual TLS; N
//! engineer cores (through the hub, below), each with its own SQLite file, pull their job
//! packs and work them with the scripted engineer while connectivity comes and goes
//! (basements, lofts), a gateway goes down for a while and the simulator injects faults at
//! the given rate. At the end every
//! core syncs until idle and the report compares what the phones made with what CityFibre
//! received. Closure photos go to CityFibre's bucket, stood in for by moto's S3 server
//! (`jobpack_sim::s3`), and every uploaded photo is read back and checked against its hash.
//! The run fails (non-zero exit) if any message or photo was lost or a message arrived out
//! of order.
//!
//! By default the day runs through the partner hub (`jobpack-hub`), the way the product is
//! deployed (`--direct` keeps the older day with the phones talking straight to the
//! simulator): CityFibre (the simulator's calling side) creates and cancels jobs by calling
//! the hub, the demo's back office assigns each job to its engineer through the hub's dispatch,
//! the phones pull and push through the hub with device certificates from the hub's CA and
//! upload photos through URLs the hub presigns (no S3 key on a phone), and the hub forwards to
//! CityFibre through its own durable outbox. Faults and a gateway outage sit between the hub and
//! CityFibre, a fault proxy and connectivity outages between the phones and the hub. The hub
//! is a real `jobpack hub serve` child process, SIGKILLed mid-day and started again on the
//! same SQLite file and ports: a crash, not a shutdown, is what the hub's "commit before
//! answering" has to survive, so that is what the demo does. What CityFibre finally holds is
//! counted the same way as in the direct mode, because the hub keeps each phone's
//! `Idempotency-Key` end to end; the hub's own dispatch notices are counted too.
//!
//! `--walk` prints the single-job walk instead: every message of one lifecycle, checked
//! against the contract.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use jobpack_core::engine::{Config, Engine, PhotoConfig, PhotoUpload};
use jobpack_core::outbox::{ItemKind, ItemState};
use jobpack_core::photos::{
    HubPresignedUploader, PhotoHash, PhotoKey, PhotoStore, S3Config, UploadDescriptor,
};
use jobpack_core::protocol::EngineerDetails;
use jobpack_core::store::{DATABASE_KEY_LEN, DatabaseKey};
use jobpack_core::sync::{RetryPolicy, SyncPolicy};
use jobpack_core::transport::{Timeouts, TlsMaterial, Transport};
use jobpack_hub::local_pg::LocalPostgres;
use jobpack_hub::{Backend, HubStore, Role};
use jobpack_sim::s3::{self, S3StandIn};
use jobpack_sim::{
    CallerConfig, FaultConfig, PartnerCaller, Pki, ProvisioningScript, SimConfig, Simulator,
    sample_job_pack,
};

/// The bucket the demo's photos are named in.
const BUCKET: &str = "cityfibre-evidence";

use crate::fault_proxy::FaultProxy;
use crate::scripted::ScriptedEngineer;

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Engineers, each with their own core and SQLite file.
    #[arg(long, default_value_t = 5)]
    engineers: usize,
    /// Job packs per engineer.
    #[arg(long, default_value_t = 10)]
    jobs: usize,
    /// Probability that a request to the simulator meets a fault (0 to 1).
    #[arg(long, default_value_t = 0.15)]
    faults: f64,
    /// Seed for faults, outages, provisioning results and the engineers' choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Keep the engineers' databases in this directory (a temporary one otherwise).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
    /// Print the single-job walk (every message of one lifecycle) instead.
    #[arg(long)]
    walk: bool,
    /// Skew CityFibre's clock by this many seconds (its `Date` headers): the phones' clocks
    /// then look wrong by the opposite amount and the core corrects their action times.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    clock_skew_secs: i64,
    /// Phones talk straight to the simulator, with no hub (the day before the hub existed;
    /// `--clock-skew-secs` then reaches the phones). By default the day runs through the
    /// partner hub: CityFibre ⇄ hub ⇄ phones, with a hub restart.
    #[arg(long)]
    direct: bool,
    /// Two hub processes on one PostgreSQL server (a throw-away cluster the demo starts with
    /// Debian's binaries), instead of one hub on SQLite: CityFibre and the phones use both,
    /// and one of them is SIGKILLed mid-day while the other goes on.
    #[arg(long, conflicts_with = "direct")]
    postgres: bool,
}

pub fn run(args: &DemoArgs) -> ExitCode {
    if args.walk {
        return crate::walk::run();
    }
    if !(0.0..=1.0).contains(&args.faults) || args.engineers == 0 || args.engineers > 50 {
        eprintln!("error: --faults must be 0..=1 and --engineers 1..=50");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(day(args)) {
        Ok(report) => {
            print!("{}", report.render());
            if report.lost == 0 && report.reordered == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What the day produced.
struct Report {
    engineers: usize,
    jobs: usize,
    made: usize,
    delivered: usize,
    retries: u64,
    duplicates: u64,
    order_violations: usize,
    reordered: usize,
    lost: usize,
    parked: usize,
    faults: BTreeMap<String, u64>,
    provisioning: BTreeMap<u8, u64>,
    closures: BTreeMap<String, usize>,
    photos_uploaded: usize,
    /// Uploaded photos read back from S3 with the bytes their hash names.
    photos_verified: usize,
    cancelled: usize,
    outages: usize,
    /// Messages whose action time was corrected for the phone's clock (or clamped).
    times_corrected: usize,
    /// Messages whose action time rests on a clock that was never checked.
    times_unchecked: usize,
    /// Engineers' database files that are encrypted and hold no customer data in the clear.
    databases_sealed: usize,
    /// Set when the day ran through the hub.
    hub: Option<HubFigures>,
    wall: Duration,
}

/// What the hub adds to the report.
#[derive(Default)]
struct HubFigures {
    /// Times the hub was stopped and started again on the same database and ports.
    restarts: usize,
    /// Hub processes serving at once (two with `--postgres`).
    processes: usize,
    /// The hub's own messages (the engineer details at dispatch) CityFibre holds / queued.
    dispatch_delivered: usize,
    dispatch_made: usize,
    /// Messages still in the hub's outbox, not sent, at the end of the day.
    pending: usize,
    /// The hub's messages CityFibre refused, parked for the back office.
    parked: usize,
    /// Extra attempts the hub made to CityFibre (faults, the gateway outage, the restart).
    retries: u64,
    /// Faults the proxy between the phones and the hub injected, by kind.
    phone_faults: BTreeMap<String, u64>,
}

impl Report {
    fn render(&self) -> String {
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        line(String::new());
        line(format!(
            "Jobpack demo{}: {} engineers, {} jobs, wall time {:.1} s",
            if self.hub.is_some() {
                " via the partner hub"
            } else {
                ""
            },
            self.engineers,
            self.jobs,
            self.wall.as_secs_f64()
        ));
        line(format!("  messages made            {}", self.made));
        line(format!("  delivered                {}", self.delivered));
        line(format!("  retries                  {}", self.retries));
        line(format!("  duplicates absorbed      {}", self.duplicates));
        line(format!(
            "  order violations         {}",
            self.order_violations + self.reordered
        ));
        line(format!("  lost messages            {}", self.lost));
        line(format!("  parked for the engineer  {}", self.parked));
        line(format!(
            "  action times corrected   {} (clock never checked: {})",
            self.times_corrected, self.times_unchecked
        ));
        line(format!(
            "  photos uploaded to S3    {} ({} read back and verified)",
            self.photos_uploaded, self.photos_verified
        ));
        line(format!(
            "  databases encrypted      {} of {} (SQLCipher; no customer name or phone in their bytes)",
            self.databases_sealed, self.engineers
        ));
        line(format!("  connectivity outages     {}", self.outages));
        if let Some(hub) = &self.hub {
            line(format!(
                "  hub restarts             {} (SIGKILL of `jobpack hub serve`, same database and ports)",
                hub.restarts
            ));
            if hub.processes > 1 {
                line(format!(
                    "  hub processes            {} on one PostgreSQL (shared outbox, leased claims)",
                    hub.processes
                ));
            }
            line(format!("  hub retries to CityFibre {}", hub.retries));
            let faults: Vec<String> = hub
                .phone_faults
                .iter()
                .map(|(f, n)| format!("{f}×{n}"))
                .collect();
            line(format!("  faults phones ⇄ hub      {}", faults.join(" ")));
            line(format!(
                "  hub dispatch notices     {} of {} delivered (parked {}, pending {})",
                hub.dispatch_delivered, hub.dispatch_made, hub.parked, hub.pending
            ));
        }
        line(format!("  jobs cancelled           {}", self.cancelled));
        let closures: Vec<String> = self
            .closures
            .iter()
            .map(|(c, n)| format!("{c}×{n}"))
            .collect();
        line(format!("  closures                 {}", closures.join(" ")));
        let statuses: Vec<String> = self
            .provisioning
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect();
        line(format!("  ONT statuses fed         {}", statuses.join(" ")));
        let faults: Vec<String> = self
            .faults
            .iter()
            .map(|(f, n)| format!("{f}×{n}"))
            .collect();
        line(format!(
            "  faults injected          {}{}",
            faults.join(" "),
            if self.hub.is_some() {
                " (hub ⇄ CityFibre)"
            } else {
                ""
            }
        ));
        line(
            if self.lost == 0
                && self.reordered + self.order_violations == 0
                && self.hub.as_ref().is_none_or(|h| h.pending == 0)
                && self.photos_verified == self.photos_uploaded
                && self.databases_sealed == self.engineers
            {
                "  result                   OK: nothing lost, nothing reordered".into()
            } else {
                "  result                   FAILED".into()
            },
        );
        out
    }
}

struct Phone {
    id: String,
    engine: Engine,
    driver: ScriptedEngineer,
    offline_until: Option<Instant>,
    bar: ProgressBar,
}

fn config(
    dir: &std::path::Path,
    engineer: &str,
    urls: Vec<String>,
    pki: &Pki,
    s3: S3Config,
) -> Result<(Config, Vec<u8>), String> {
    let identity = pki
        .clients
        .get(engineer)
        .ok_or_else(|| format!("no certificate for {engineer}"))?;
    // What a phone's keystore would hold: one random storage key per installation.
    let storage_key: Vec<u8> = (0..DATABASE_KEY_LEN).map(|_| fastrand::u8(..)).collect();
    let config = Config {
        database: dir.join(format!("{engineer}.sqlite")),
        database_key: Some(DatabaseKey::derive(&storage_key).map_err(|e| e.to_string())?),
        endpoints: urls,
        tls: TlsMaterial {
            client_cert_pem: Some(identity.cert_pem.clone()),
            client_key_pem: Some(identity.key_pem.clone()),
            trust_anchors_pem: pki.ca_cert_pem.clone(),
            allow_plain_http_loopback: false,
        },
        timeouts: Timeouts {
            connect: Duration::from_millis(800),
            request: Duration::from_millis(800),
        },
        engineer: details(engineer),
        partner_catalogue: None,
        sync: SyncPolicy {
            retry: RetryPolicy {
                base: Duration::from_millis(100),
                max: Duration::from_secs(2),
            },
            configuration_retry: Duration::from_secs(1),
            max_in_flight: 4,
            pull_interval: Duration::from_millis(400),
            pull_limit: 100,
            ..SyncPolicy::default()
        },
        start_online: true,
        closure_matrix: None,
        photos: PhotoConfig {
            bucket: BUCKET.into(),
            upload: Some(PhotoUpload::DirectS3(s3)),
            key: Some(PhotoKey::new(&storage_key)?),
            ..PhotoConfig::default()
        },
    };
    Ok((config, storage_key))
}

/// Whether an engineer's database (with its WAL) is encrypted: no plain SQLite header and
/// none of the sample customer's details anywhere in its bytes.
fn database_sealed(database: &std::path::Path) -> bool {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal"] {
        if let Ok(part) = std::fs::read(format!("{}{suffix}", database.display())) {
            bytes.extend(part);
        }
    }
    let holds = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    !bytes.is_empty()
        && !bytes.starts_with(b"SQLite format 3")
        && !holds(b"Alex Example")
        && !holds(b"07700 900456")
}

/// The hub in the middle of the day, and what it takes to start it again.
struct HubSide {
    /// `jobpack hub serve`, a child process of the demo, so that the restart is a real crash.
    process: HubProcess,
    /// The same directory opened by the demo, as the back office's CLI commands open it while
    /// the hub runs: engineers, device certificates, dispatch, the outbox for the report.
    store: HubStore,
    /// CityFibre's calling side (createJob, cancelJob), with the simulator's certificate.
    cityfibre: PartnerCaller,
    /// Between the phones and the hub's device side: the faults of a mobile network.
    proxy: FaultProxy,
    restarts: usize,
    /// With `--postgres`: a second `jobpack hub serve` on the same database (never killed),
    /// its own fault proxy, and a CityFibre caller that tries it first.
    second: Option<(HubProcess, FaultProxy, PartnerCaller)>,
    /// The PostgreSQL server both processes use; dropped (stopped) after them.
    _postgres: Option<LocalPostgres>,
}

impl HubSide {
    /// CityFibre's caller for the `n`th call: with two hub processes, half of the calls go
    /// to each first.
    fn caller(&self, n: usize) -> &PartnerCaller {
        match &self.second {
            Some((_, _, caller)) if n % 2 == 1 => caller,
            _ => &self.cityfibre,
        }
    }

    /// The faults both proxies injected.
    fn phone_faults(&self) -> BTreeMap<String, u64> {
        let mut faults = self.proxy.faults();
        if let Some((_, proxy, _)) = &self.second {
            for (kind, n) in proxy.faults() {
                *faults.entry(kind).or_default() += n;
            }
        }
        faults
    }

    /// SIGKILLs the hub (no shutdown: connections cut, the forwarder stopped mid-flight,
    /// whatever was not committed gone) and starts it again on the same SQLite file, CA and
    /// ports: whatever it had acknowledged must still get through.
    async fn restart(&mut self) -> Result<(), String> {
        self.process = tokio::task::block_in_place(|| self.process.kill_and_restart())?;
        self.restarts += 1;
        Ok(())
    }
}

/// A `jobpack hub serve` child process.
struct HubProcess {
    child: std::process::Child,
    /// Kept open so the hub never writes into a closed pipe.
    _stdout: std::io::BufReader<std::process::ChildStdout>,
    /// The arguments it was started with, the listening ports pinned after the first start.
    args: Vec<String>,
    cityfibre_url: String,
    device_url: String,
}

impl HubProcess {
    /// Starts `jobpack hub serve` (this same executable) and waits for its ready line.
    fn spawn(args: Vec<String>) -> Result<HubProcess, String> {
        use std::io::BufRead;
        let exe = std::env::current_exe().map_err(|e| format!("no path to jobpack: {e}"))?;
        let mut child = std::process::Command::new(exe)
            .args(&args)
            // The S3 keys live with the hub, from its environment (never on its command line).
            .env("JOBPACK_S3_ACCESS_KEY_ID", s3::ACCESS_KEY_ID)
            .env("JOBPACK_S3_SECRET_ACCESS_KEY", s3::SECRET_ACCESS_KEY)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start jobpack hub serve: {e}"))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err("jobpack hub serve has no stdout".into());
        };
        let mut stdout = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let ready = stdout
            .read_line(&mut line)
            .map_err(|e| e.to_string())
            .and_then(|_| {
                serde_json::from_str::<serde_json::Value>(&line).map_err(|e| e.to_string())
            });
        let urls = ready.as_ref().ok().and_then(|ready| {
            Some((
                ready.get("cityfibre")?.as_str()?.to_owned(),
                ready.get("devices")?.as_str()?.to_owned(),
            ))
        });
        let Some((cityfibre_url, device_url)) = urls else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "jobpack hub serve did not say it was ready: {line:?} {:?}",
                ready.err()
            ));
        };
        Ok(HubProcess {
            child,
            _stdout: stdout,
            args,
            cityfibre_url,
            device_url,
        })
    }

    /// The first start, on free ports, which every restart then reuses.
    fn start(mut args: Vec<String>) -> Result<HubProcess, String> {
        args.extend(["--cityfibre-listen".into(), "127.0.0.1:0".into()]);
        args.extend(["--device-listen".into(), "127.0.0.1:0".into()]);
        let mut process = Self::spawn(args)?;
        let n = process.args.len();
        process.args[n - 3] = format!("127.0.0.1:{}", port_of(&process.cityfibre_url)?);
        process.args[n - 1] = format!("127.0.0.1:{}", port_of(&process.device_url)?);
        Ok(process)
    }

    fn kill_and_restart(&mut self) -> Result<HubProcess, String> {
        // `Child::kill` is SIGKILL on Unix.
        self.child
            .kill()
            .map_err(|e| format!("could not kill the hub: {e}"))?;
        let _ = self.child.wait();
        let mut last = String::new();
        for _ in 0..20 {
            match Self::spawn(self.args.clone()) {
                Ok(process) => return Ok(process),
                // The killed hub's ports can take a moment to be free again.
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("the hub did not restart: {last}"))
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port of an `https://host:port` URL the hub reports.
fn port_of(url: &str) -> Result<u16, String> {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .ok_or_else(|| format!("no port in {url}"))
}

/// Starts `jobpack hub serve` between the simulator (its upstream, over the partner
/// certificate) and the phones, with the S3 stand-in for presigning and every engineer known
/// to dispatch.
async fn start_hub(
    dir: &std::path::Path,
    sim: &Simulator,
    s3: &S3StandIn,
    engineers: &[String],
    args: &DemoArgs,
) -> Result<HubSide, String> {
    let pki = sim.pki();
    let certs = dir.join("cityfibre-certs");
    pki.write_to_dir(&certs).map_err(|e| e.to_string())?;
    let hub_dir = dir.join("hub");
    let path = |p: std::path::PathBuf| p.display().to_string();
    let postgres = if args.postgres {
        Some(tokio::task::block_in_place(LocalPostgres::start)?)
    } else {
        None
    };
    let backend = match &postgres {
        Some(server) => Backend::Postgres(server.url()),
        None => Backend::Sqlite,
    };
    let mut serve: Vec<String> = vec!["hub".into()];
    if let Backend::Postgres(url) = &backend {
        serve.extend(["--postgres".into(), url.clone()]);
    }
    serve.extend([
        "--dir".into(),
        path(hub_dir.clone()),
        "serve".into(),
        "--cityfibre-ca".into(),
        path(certs.join("ca.pem")),
        "--partner-cert".into(),
        path(certs.join("partner.pem")),
        "--partner-key".into(),
        path(certs.join("partner.key")),
        "--upstream-ca".into(),
        path(certs.join("ca.pem")),
        "--s3-endpoint".into(),
        s3.endpoint(),
        "--s3-bucket".into(),
        BUCKET.into(),
        "--s3-region".into(),
        s3::REGION.into(),
        "--request-timeout-ms".into(),
        "800".into(),
        "--retry-base-ms".into(),
        "100".into(),
        "--retry-max-ms".into(),
        "2000".into(),
        "--configuration-retry-ms".into(),
        "1000".into(),
        "--connect-timeout-ms".into(),
        "800".into(),
    ]);
    for url in sim.urls() {
        serve.extend(["--upstream".into(), url]);
    }
    let process = tokio::task::block_in_place(|| HubProcess::start(serve.clone()))?;
    // The second process starts once the first has made the CA (they share its files).
    let second = match &postgres {
        Some(_) => Some(tokio::task::block_in_place(|| HubProcess::start(serve))?),
        None => None,
    };
    let store = HubStore::open_on(&hub_dir, &[], &backend).map_err(|e| e.to_string())?;
    for engineer in engineers {
        store
            .add_engineer(&details(engineer))
            .map_err(|e| e.to_string())?;
    }
    let mut urls = vec![process.cityfibre_url.clone()];
    if let Some(second) = &second {
        urls.push(second.cityfibre_url.clone());
    }
    let caller = |attempts, urls: Vec<String>| {
        PartnerCaller::new(CallerConfig {
            urls,
            hub_anchors_pem: store.pki.ca_cert_pem.clone(),
            identity: pki.cityfibre.clone(),
            attempts,
            backoff: Duration::from_millis(200),
            timeout: Duration::from_secs(3),
        })
        .map_err(|e| e.to_string())
    };
    // CityFibre answers ONT scans by calling the hub; it retries through a hub restart.
    sim.call_partner(caller(12, urls.clone())?);
    let cityfibre = caller(12, urls.clone())?;
    let device_addr = SocketAddr::from(([127, 0, 0, 1], port_of(&process.device_url)?));
    let proxy = FaultProxy::start(device_addr, args.faults, args.seed ^ 0x5eed)
        .await
        .map_err(|e| format!("the phones' fault proxy: {e}"))?;
    let second = match second {
        Some(second) => {
            let addr = SocketAddr::from(([127, 0, 0, 1], port_of(&second.device_url)?));
            let proxy = FaultProxy::start(addr, args.faults, args.seed ^ 0x5eee)
                .await
                .map_err(|e| format!("the phones' fault proxy: {e}"))?;
            let caller = caller(12, urls.into_iter().rev().collect())?;
            Some((second, proxy, caller))
        }
        None => None,
    };
    Ok(HubSide {
        process,
        store,
        cityfibre,
        proxy,
        restarts: 0,
        second,
        _postgres: postgres,
    })
}

/// A phone's upstream in hub mode: the hub's device side with a certificate from its CA, and
/// an uploader that asks the hub for presigned URLs.
fn hub_phone(
    side: &HubSide,
    engineer: &str,
    config: &mut Config,
    storage_key: &[u8],
) -> Result<HubPresignedUploader, String> {
    let identity = side
        .store
        .issue_device(&format!("phone-{engineer}"), Some(engineer), Role::Device)
        .map_err(|e| e.to_string())?;
    // The hub's device side, behind the fault proxy; with two hub processes, both (half the
    // phones try the second first; the core fails over between its endpoints).
    config.endpoints = vec![side.proxy.url()];
    if let Some((_, proxy, _)) = &side.second {
        config.endpoints.push(proxy.url());
        if engineer.bytes().last().is_some_and(|b| b % 2 == 1) {
            config.endpoints.reverse();
        }
    }
    config.tls = TlsMaterial {
        client_cert_pem: Some(identity.cert_pem),
        client_key_pem: Some(identity.key_pem),
        trust_anchors_pem: side.store.pki.ca_cert_pem.clone(),
        allow_plain_http_loopback: false,
    };
    // No S3 key on the phone.
    config.photos.upload = None;
    let store = PhotoStore::open(PhotoStore::dir_beside_database(&config.database))
        .map_err(|e| e.to_string())?
        .with_key(PhotoKey::new(storage_key)?);
    HubPresignedUploader::new(
        Transport::new(config.endpoints.clone(), &config.tls, config.timeouts)
            .map_err(|e| e.to_string())?,
        None,
        true, // the S3 stand-in is plain http on loopback
        Timeouts {
            connect: Duration::from_millis(800),
            request: Duration::from_secs(5),
        },
        store,
    )
    .map_err(|e| e.to_string())
}

fn details(engineer: &str) -> EngineerDetails {
    EngineerDetails {
        engineer_id: engineer.to_owned(),
        name: format!("Engineer {engineer}"),
        phone: "+44 7700 900000".into(),
        company: Some("Jobpack Installs Ltd".into()),
    }
}

async fn day(args: &DemoArgs) -> Result<Report, String> {
    let started = Instant::now();
    let engineers: Vec<String> = (1..=args.engineers).map(|i| format!("E{i:03}")).collect();
    let pki = Pki::generate(&engineers).map_err(|e| e.to_string())?;
    let sim = Simulator::start(
        SimConfig {
            listen: vec![
                SocketAddr::from(([127, 0, 0, 1], 0)),
                SocketAddr::from(([127, 0, 0, 1], 0)),
            ],
            engineers: engineers.clone(),
            faults: FaultConfig {
                rate: args.faults,
                seed: args.seed,
                delay: Duration::from_millis(1200),
                retry_after_secs: 1,
                ..FaultConfig::default()
            },
            provisioning: ProvisioningScript {
                seed: args.seed,
                ..ProvisioningScript::default()
            },
            retry_delay: Duration::from_millis(300),
            clock_skew_ms: args.clock_skew_secs.saturating_mul(1000),
        },
        pki,
    )
    .await
    .map_err(|e| e.to_string())?;
    let s3 = S3StandIn::start(&[BUCKET])
        .await
        .map_err(|e| format!("photos need CityFibre's bucket: {e}"))?;

    let temp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
            d.clone()
        }
        None => {
            temp = tempfile::tempdir().map_err(|e| e.to_string())?;
            temp.path().to_owned()
        }
    };

    let mut hub = if !args.direct {
        Some(start_hub(&dir, &sim, &s3, &engineers, args).await?)
    } else {
        None
    };

    let mut all_jobs = Vec::new();
    for engineer in &engineers {
        for j in 1..=args.jobs {
            let job_ref = format!("S{}{:03}", &engineer[1..], j);
            let pack = sample_job_pack(&job_ref).map_err(|e| e.to_string())?;
            match &hub {
                // CityFibre calls the hub; the back office assigns the job to its engineer.
                Some(side) => {
                    side.caller(j)
                        .create_job(&job_ref, pack)
                        .await
                        .map_err(|e| format!("createJob {job_ref}: {e}"))?;
                    side.store
                        .assign(&job_ref, engineer)
                        .map_err(|e| format!("assign {job_ref}: {e}"))?;
                }
                None => sim
                    .create_job(engineer, &job_ref, pack)
                    .map_err(|e| e.to_string())?,
            }
            all_jobs.push(job_ref);
        }
    }

    let bars = MultiProgress::new();
    let fancy = std::io::stderr().is_terminal();
    if !fancy {
        bars.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let style = ProgressStyle::with_template("{prefix:>5} [{bar:30}] {pos}/{len} jobs done  {msg}")
        .map_err(|e| e.to_string())?
        .progress_chars("=> ");
    let handle = tokio::runtime::Handle::current();
    let mut phones = Vec::new();
    for (i, engineer) in engineers.iter().enumerate() {
        let (mut config, storage_key) =
            config(&dir, engineer, sim.urls(), sim.pki(), s3.config(BUCKET))?;
        let uploader = match &hub {
            Some(side) => {
                Some(
                    std::sync::Arc::new(hub_phone(side, engineer, &mut config, &storage_key)?)
                        as std::sync::Arc<dyn jobpack_core::sync::Uploader>,
                )
            }
            None => None,
        };
        let engine = Engine::open_on(config, &handle, uploader).map_err(|e| e.to_string())?;
        let bar = bars.add(ProgressBar::new(args.jobs as u64));
        bar.set_style(style.clone());
        bar.set_prefix(engineer.clone());
        phones.push(Phone {
            id: engineer.clone(),
            engine,
            driver: ScriptedEngineer::new(args.seed.wrapping_mul(31).wrapping_add(i as u64)),
            offline_until: None,
            bar,
        });
    }

    let mut rng = fastrand::Rng::with_seed(args.seed);
    let mut outages = 0usize;
    let mut cancelled_sent = false;
    let mut gateway_down_until: Option<Instant> = None;
    let mut gateway_outage_done = false;
    let mut last_line = Instant::now();
    let mut done_total = 0usize;
    let deadline = Duration::from_secs(45);
    loop {
        let elapsed = started.elapsed();
        // CityFibre cancels one job per engineer early in the day.
        if !cancelled_sent && elapsed > Duration::from_millis(1500) {
            for phone in &phones {
                let candidate = format!("S{}{:03}", &phone.id[1..], args.jobs);
                match &hub {
                    Some(side) => {
                        // Through the hub to the phone's inbox; a refusal (the job already
                        // closed) is CityFibre's business, not the demo's.
                        let _ = side
                            .caller(phone.id.len() + candidate.len())
                            .cancel_job(&candidate, "Customer cancelled order")
                            .await;
                    }
                    None => {
                        let _ = sim.cancel_job(&candidate, "Customer cancelled order");
                    }
                }
            }
            cancelled_sent = true;
        }
        // The hub process is killed (SIGKILL) mid-day and comes back on the same database and
        // ports.
        if let Some(side) = hub.as_mut() {
            // Mid-day: once half the jobs are finished (or after a few seconds, whichever
            // comes first), so there is work in flight on both sides of it.
            if side.restarts == 0
                && (done_total * 2 >= all_jobs.len() || elapsed > Duration::from_secs(4))
            {
                side.restart().await?;
                let line = format!(
                    "  {:>4.1} s: hub SIGKILLed and started again on the same database",
                    started.elapsed().as_secs_f64()
                );
                if fancy {
                    let _ = bars.println(line);
                } else {
                    eprintln!("{line}");
                }
            }
        }
        // One gateway goes down for a few seconds.
        if !gateway_outage_done && elapsed > Duration::from_secs(2) {
            sim.set_gateway_down(0, true);
            gateway_down_until = Some(Instant::now() + Duration::from_secs(4));
            gateway_outage_done = true;
        }
        if gateway_down_until.is_some_and(|t| Instant::now() > t) {
            sim.set_gateway_down(0, false);
            gateway_down_until = None;
        }
        // The day is not over before the hub has been restarted.
        let mut all_done = hub.as_ref().is_none_or(|side| side.restarts > 0);
        done_total = 0;
        for phone in &mut phones {
            // Connectivity comes and goes.
            match phone.offline_until {
                Some(t) if Instant::now() >= t => {
                    phone.engine.set_online(true);
                    phone.offline_until = None;
                }
                None if elapsed < Duration::from_secs(30) && rng.f64() < 0.02 => {
                    phone.engine.set_online(false);
                    phone.offline_until =
                        Some(Instant::now() + Duration::from_millis(rng.u64(500..2500)));
                    outages += 1;
                }
                _ => {}
            }
            let jobs = phone.engine.jobs().map_err(|e| e.to_string())?;
            for job in &jobs {
                if let Some(step) = phone.driver.step(&phone.engine, job) {
                    if let Err(e) = step.result {
                        // A refusal is the engine doing its job (a cancelled job, say); the
                        // day goes on.
                        phone.bar.println(format!(
                            "{}: {} {}: {e}",
                            phone.id, step.job_ref, step.action
                        ));
                    }
                }
            }
            let done = jobs.iter().filter(|j| j.state.is_final()).count();
            done_total += done;
            let status = phone.engine.status();
            phone.bar.set_position(done as u64);
            phone.bar.set_message(format!(
                "{}  outbox pending {}",
                if phone.offline_until.is_some() {
                    "offline"
                } else {
                    "online "
                },
                status.pending
            ));
            if jobs.len() < args.jobs || done < jobs.len() || status.pending > 0 {
                all_done = false;
            }
        }
        if !fancy && last_line.elapsed() > Duration::from_secs(5) {
            let delivered: usize = sim.stats().jobs.values().map(Vec::len).sum();
            eprintln!(
                "  {:>4.1} s: {delivered} messages delivered",
                started.elapsed().as_secs_f64()
            );
            last_line = Instant::now();
        }
        if all_done || elapsed > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
    }

    sim.set_gateway_down(0, false);
    for phone in &phones {
        phone.engine.set_online(true);
    }
    for phone in &phones {
        // Whatever is still pending is reported below as lost; a timeout here is not fatal.
        let _ = phone.engine.sync_until_idle(Duration::from_secs(10)).await;
        phone.bar.finish();
    }
    // What the hub acknowledged has still to reach CityFibre: wait for its outbox to drain
    // (a refusal comes back to the phone as a parked item, so sync the phones once more).
    let mut hub_figures = None;
    if let Some(side) = &hub {
        let drain_started = Instant::now();
        let pending = || -> Result<usize, String> {
            Ok(side
                .store
                .outbox(None)
                .map_err(|e| e.to_string())?
                .iter()
                .filter(|i| {
                    matches!(
                        i.state,
                        ItemState::Queued | ItemState::Sending | ItemState::Retrying
                    )
                })
                .count())
        };
        while pending()? > 0 && drain_started.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for phone in &phones {
            let _ = phone.engine.sync_until_idle(Duration::from_secs(5)).await;
        }
        hub_figures = Some(HubFigures {
            restarts: side.restarts,
            processes: 1 + usize::from(side.second.is_some()),
            pending: pending()?,
            phone_faults: side.phone_faults(),
            ..HubFigures::default()
        });
    }

    let stats = sim.stats();
    let mut delivered_keys: HashMap<String, Vec<String>> = HashMap::new();
    for (job, messages) in &stats.jobs {
        delivered_keys.insert(
            job.clone(),
            messages
                .iter()
                .filter_map(|m| m.idempotency_key.clone())
                .collect(),
        );
    }
    let all_delivered: HashSet<&String> = delivered_keys.values().flatten().collect();
    let mut report = Report {
        engineers: args.engineers,
        jobs: all_jobs.len(),
        made: 0,
        delivered: 0,
        retries: 0,
        duplicates: stats.duplicates,
        order_violations: stats.order_violations.len(),
        reordered: 0,
        lost: 0,
        parked: 0,
        faults: stats.faults_injected.clone(),
        provisioning: stats.provisioning_sent.clone(),
        closures: BTreeMap::new(),
        photos_uploaded: 0,
        photos_verified: 0,
        cancelled: 0,
        outages,
        times_corrected: 0,
        times_unchecked: 0,
        databases_sealed: 0,
        hub: None,
        wall: Duration::ZERO,
    };
    if let (Some(side), Some(mut figures)) = (&hub, hub_figures) {
        // The hub's own messages: the engineer details it queued at each assignment. The
        // phones' messages it relayed keep the phone's key and are counted with the phones.
        let relayed: HashSet<String> = phones
            .iter()
            .map(|p| p.engine.outbox(None))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?
            .into_iter()
            .flatten()
            .map(|i| i.idempotency_key)
            .collect();
        for item in side.store.outbox(None).map_err(|e| e.to_string())? {
            figures.retries += u64::from(item.attempts.saturating_sub(1));
            if relayed.contains(&item.idempotency_key) {
                continue;
            }
            figures.dispatch_made += 1;
            if all_delivered.contains(&item.idempotency_key) {
                figures.dispatch_delivered += 1;
            } else if item.state == ItemState::Parked {
                figures.parked += 1;
            } else {
                report.lost += 1;
            }
        }
        report.hub = Some(figures);
    }
    for phone in &phones {
        if database_sealed(&dir.join(format!("{}.sqlite", phone.id))) {
            report.databases_sealed += 1;
        }
        let items = phone.engine.outbox(None).map_err(|e| e.to_string())?;
        let mut per_job: HashMap<&str, Vec<&str>> = HashMap::new();
        for item in items.iter().filter(|i| i.kind == ItemKind::Upload) {
            if item.state != ItemState::Sent {
                continue;
            }
            report.photos_uploaded += 1;
            let body = phone
                .engine
                .outbox_body(item.seq)
                .map_err(|e| e.to_string())?;
            let upload = UploadDescriptor::from_json(&body)?;
            let stored = s3
                .get_object(&upload.bucket, &upload.key)
                .await
                .map_err(|e| e.to_string())?;
            if stored.is_some_and(|o| PhotoHash::of(&o.bytes) == upload.sha256) {
                report.photos_verified += 1;
            }
        }
        for item in items.iter().filter(|i| i.kind == ItemKind::Rpc) {
            report.made += 1;
            match item.time_source.as_deref() {
                Some("corrected" | "clamped") => report.times_corrected += 1,
                Some("unchecked") => report.times_unchecked += 1,
                _ => {}
            }
            report.retries += u64::from(item.attempts.saturating_sub(1));
            if all_delivered.contains(&item.idempotency_key) {
                report.delivered += 1;
                per_job
                    .entry(&item.job_ref)
                    .or_default()
                    .push(&item.idempotency_key);
            } else if item.state == ItemState::Parked {
                report.parked += 1;
            } else {
                report.lost += 1;
            }
        }
        // The order CityFibre saw must be the order the phone made them in.
        for (job, made) in per_job {
            let seen: Vec<&str> = delivered_keys
                .get(job)
                .map(|keys| {
                    keys.iter()
                        .map(String::as_str)
                        .filter(|k| made.contains(k))
                        .collect()
                })
                .unwrap_or_default();
            if seen != made {
                report.reordered += 1;
            }
        }
        for job in phone.engine.jobs().map_err(|e| e.to_string())? {
            match (&job.closure, job.state) {
                (Some(rule), _) => *report.closures.entry(rule.code.clone()).or_default() += 1,
                (None, jobpack_core::lifecycle::JobState::Cancelled) => report.cancelled += 1,
                _ => {}
            }
        }
    }
    for phone in phones {
        phone.engine.shutdown();
    }
    // The hub process is stopped when its handle is dropped.
    drop(hub);
    sim.shutdown().await;
    report.wall = started.elapsed();
    Ok(report)
}
