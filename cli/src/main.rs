use clap::Parser;

mod scan;

#[derive(Parser)]
#[command(name = "jobpack")]
enum Cli {
    /// Read ONT labels (QR codes) from image files or the camera.
    Scan(scan::ScanArgs),
}

fn main() -> std::process::ExitCode {
    match Cli::parse() {
        Cli::Scan(args) => scan::run(&args),
    }
}
