use clap::Parser;

mod bench_qr;
mod scan;

#[derive(Parser)]
#[command(name = "jobpack")]
enum Cli {
    /// Read ONT labels (QR codes) from image files or the camera.
    Scan(scan::ScanArgs),
    /// Benchmark the QR decoder over folders of images with expected texts.
    BenchQr(bench_qr::BenchQrArgs),
}

fn main() -> std::process::ExitCode {
    match Cli::parse() {
        Cli::Scan(args) => scan::run(&args),
        Cli::BenchQr(args) => bench_qr::run(&args),
    }
}
