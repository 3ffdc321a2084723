//! `jobpack sim`: the CityFibre simulator as a process, for QA, the demo and the shells.
//!
//! The simulator's certificates are made fresh at every start and written to `--certs` so a
//! client in another process (the Android emulator, a Python script, curl) can connect; the one
//! JSON line printed when ready tells such a client where to connect and that it may start.
//! Everything else — the wire contract, `stats`, `admin` — is the `jobpack-sim` crate's and is
//! documented in `docs/SIMULATOR.md`.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use jobpack_sim::{
    FaultConfig, FaultKind, Pki, ProvisioningScript, SimConfig, Simulator, sample_job_pack,
};
use serde_json::json;

#[derive(clap::Args, Debug, Clone)]
pub struct SimArgs {
    /// Address of one gateway; repeat for a second gateway (port 0 picks a free port).
    #[arg(long = "listen", required = true)]
    pub listen: Vec<SocketAddr>,
    /// Directory to write ca.pem and the client certificates and keys into.
    #[arg(long)]
    pub certs: PathBuf,
    /// Engineer ids, one client certificate each.
    #[arg(long, value_delimiter = ',', default_value = "E001")]
    pub engineers: Vec<String>,
    /// createJob envelopes queued per engineer at start.
    #[arg(long, default_value_t = 0)]
    pub jobs: u32,
    /// Probability (0 to 1) that a notifyJob/closeJob request gets a fault.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    pub faults: f64,
    /// Seed for the fault draws and the ONT provisioning answers.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Fault kinds that may be drawn (default: all): drop_before_processing, drop_after_processing,
    /// delay_past_timeout, server_error, too_many_requests, garbage.
    #[arg(long, value_delimiter = ',', value_parser = parse_kind)]
    pub fault_kinds: Vec<FaultKind>,
    /// How late a delay_past_timeout answer comes, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    pub delay_ms: u64,
    /// closeJob with these closure codes is rejected for good (HTTP 422).
    #[arg(long, value_delimiter = ',')]
    pub reject_closure_codes: Vec<String>,
    /// Every message for these jobs is rejected for good (HTTP 422).
    #[arg(long, value_delimiter = ',')]
    pub reject_jobs: Vec<String>,
    /// Answer with a clock this many seconds off (in every `Date` header), so the phones'
    /// clocks look wrong by the opposite amount.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub clock_skew_secs: i64,
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!("{text:?} is not a probability between 0 and 1")),
    }
}

fn parse_kind(text: &str) -> Result<FaultKind, String> {
    FaultKind::from_name(text).ok_or_else(|| {
        let names: Vec<_> = FaultKind::ALL.iter().map(|k| k.name()).collect();
        format!("{text:?} is not one of {}", names.join(", "))
    })
}

pub fn run(args: &SimArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(serve(args, &mut std::io::stdout(), stop_signal()));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The simulator's configuration from the command line.
fn config(args: &SimArgs) -> SimConfig {
    let kinds = if args.fault_kinds.is_empty() {
        FaultKind::ALL.to_vec()
    } else {
        args.fault_kinds.clone()
    };
    SimConfig {
        listen: args.listen.clone(),
        engineers: args.engineers.clone(),
        faults: FaultConfig {
            rate: args.faults,
            seed: args.seed,
            kinds,
            delay: Duration::from_millis(args.delay_ms),
            reject_closure_codes: args.reject_closure_codes.clone(),
            reject_job_refs: args.reject_jobs.clone(),
            ..FaultConfig::default()
        },
        provisioning: ProvisioningScript {
            seed: args.seed,
            ..ProvisioningScript::default()
        },
        clock_skew_ms: args.clock_skew_secs.saturating_mul(1000),
        ..SimConfig::default()
    }
}

/// The job ref of the `n`th job (from 1) queued at start for the engineer at `index`:
/// `S1000001` is the first engineer's first job, `S1010001` the second engineer's.
fn start_job_ref(index: usize, n: u32) -> String {
    format!("S{}{n:04}", 100 + index)
}

/// Starts, says so in one line on `ready`, serves until `stop` completes, then shuts down.
async fn serve(
    args: &SimArgs,
    ready: &mut impl Write,
    stop: impl Future<Output = ()>,
) -> Result<(), String> {
    let pki = Pki::generate(&args.engineers).map_err(|e| e.to_string())?;
    pki.write_to_dir(&args.certs).map_err(|e| e.to_string())?;
    let sim = Simulator::start(config(args), pki)
        .await
        .map_err(|e| e.to_string())?;
    for (index, engineer) in args.engineers.iter().enumerate() {
        for n in 1..=args.jobs {
            let job_ref = start_job_ref(index, n);
            let pack = sample_job_pack(&job_ref).map_err(|e| e.to_string())?;
            sim.create_job(engineer, &job_ref, pack)
                .map_err(|e| e.to_string())?;
        }
    }
    let line = json!({
        "ready": true,
        "urls": sim.urls(),
        "certs": args.certs.display().to_string(),
        "engineers": args.engineers,
    });
    writeln!(ready, "{line}")
        .and_then(|()| ready.flush())
        .map_err(|e| format!("could not write the ready line: {e}"))?;
    stop.await;
    sim.shutdown().await;
    Ok(())
}

/// SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub(crate) async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: SimArgs,
    }

    fn parse(line: &[&str]) -> Result<SimArgs, clap::Error> {
        Wrapper::try_parse_from(std::iter::once("sim").chain(line.iter().copied())).map(|w| w.args)
    }

    #[test]
    fn arguments_are_read_and_checked() {
        let args = parse(&[
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "127.0.0.1:0",
            "--certs",
            "/tmp/x",
            "--engineers",
            "E001,E002",
            "--faults",
            "0.2",
            "--fault-kinds",
            "server_error,garbage",
        ])
        .expect("valid arguments");
        assert_eq!(args.listen.len(), 2);
        assert_eq!(args.engineers, ["E001", "E002"]);
        let config = config(&args);
        assert_eq!(
            config.faults.kinds,
            [FaultKind::ServerError, FaultKind::Garbage]
        );
        assert!(parse(&["--listen", "127.0.0.1:0", "--certs", "d", "--faults", "2"]).is_err());
        assert!(parse(&["--certs", "d"]).is_err());
        assert!(
            parse(&[
                "--listen",
                "127.0.0.1:0",
                "--certs",
                "d",
                "--fault-kinds",
                "boom"
            ])
            .is_err()
        );
        assert_eq!(start_job_ref(1, 2), "S1010002");
    }

    #[test]
    fn prints_one_ready_line_and_writes_the_certificates() {
        let dir = std::env::temp_dir().join(format!("jobpack-sim-cmd-{}", std::process::id()));
        let args = parse(&[
            "--listen",
            "127.0.0.1:0",
            "--certs",
            dir.to_str().unwrap_or("."),
            "--engineers",
            "E001,E002",
            "--jobs",
            "2",
        ])
        .expect("valid arguments");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut out = Vec::new();
        runtime
            .block_on(serve(&args, &mut out, async {}))
            .expect("serves");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(text.lines().count(), 1);
        let line: serde_json::Value = serde_json::from_str(text.trim()).expect("json");
        assert_eq!(line["ready"], true);
        assert!(
            line["urls"][0]
                .as_str()
                .is_some_and(|u| u.starts_with("https://127.0.0.1:"))
        );
        assert_eq!(line["engineers"], json!(["E001", "E002"]));
        for name in ["ca.pem", "client.pem", "client.key", "client-E002.key"] {
            assert!(dir.join(name).is_file(), "{name} missing");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
