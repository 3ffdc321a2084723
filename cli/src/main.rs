//! `jobpack`: the project's command-line tool.
//!
//! One binary for everyone who is not a phone: QA and developers read the code catalogue,
//! check payloads against the contract and run the end-to-end demo. Each subcommand lives in
//! its own module and is a thin layer over `jobpack-core`; anything worth testing is in the
//! core, not here.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench_qr;
mod codes_cmd;
mod demo;
mod engineer;
mod fault_proxy;
mod flow_cmd;
mod hub_cmd;
mod input;
mod scan;
mod scripted;
mod sim_cmd;
mod validate;
mod walk;

#[derive(Parser)]
#[command(
    name = "jobpack",
    version,
    about = "Jobpack field-app core: tools, simulator and demo"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the code catalogue (closure, secondary, property flags, ONT provisioning).
    Codes(codes_cmd::CodesArgs),
    /// Say which message a JSON file is and whether it satisfies the contract.
    Validate(validate::ValidateArgs),
    /// The end-to-end demo: a working day against the simulator (`--walk`: one job's messages).
    Demo(demo::DemoArgs),
    /// Drive one engineer's core from a shell (QA scripting).
    Engineer(engineer::EngineerArgs),
    /// Run the CityFibre simulator (mutual TLS, device inbox, fault injection) until stopped.
    Sim(sim_cmd::SimArgs),
    /// The partner hub: serve CityFibre and the phones, or manage engineers, dispatch and devices.
    Hub(hub_cmd::HubArgs),
    /// Read ONT labels (QR codes) from image files or the camera.
    Scan(scan::ScanArgs),
    /// Closure matrix: check a matrix file, or walk its questions on a terminal (QA).
    Flow(flow_cmd::FlowArgs),
    /// Benchmark the QR decoder over folders of images with expected texts.
    BenchQr(bench_qr::BenchQrArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Codes(args) => codes_cmd::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Engineer(args) => engineer::run(&args),
        Command::Sim(args) => sim_cmd::run(&args),
        Command::Hub(args) => hub_cmd::run(&args),
        Command::Scan(args) => scan::run(&args),
        Command::Flow(args) => flow_cmd::run(&args),
        Command::BenchQr(args) => bench_qr::run(&args),
    }
}
