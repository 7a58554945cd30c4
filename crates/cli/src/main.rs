//! `edgeopt`: make ONNX models small and fast for edge devices. One subcommand per file in `cmd/`.

mod cmd;
mod feeds;
mod npy;
mod table;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "edgeopt",
    version,
    about = "Inspect, run and convert ONNX models for edge devices"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show a model's opset, inputs/outputs, op histogram, parameters and MACs per layer.
    Inspect(cmd::inspect::Args),
    /// Run a model on NPY/NPZ inputs (or seeded random ones) and save the outputs as NPZ.
    Run(cmd::run::Args),
    /// Re-export a model (optionally at another opset, or with external weight data).
    Convert(cmd::convert::Args),
    /// Time a model on the fast runtime: load+plan time, latency percentiles, peak memory.
    Bench(cmd::bench::Args),
    /// Per-layer time, MACs, GFLOP/s and share of the FMA peak (optionally as an SVG chart).
    Profile(cmd::profile::Args),
    /// Prune a model (magnitude, channel, neuron, block, N:M) and report what it saved.
    Prune(cmd::prune::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(a) => cmd::inspect::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Convert(a) => cmd::convert::run(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Profile(a) => cmd::profile::run(a),
        Command::Prune(a) => cmd::prune::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
