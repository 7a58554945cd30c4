//! `edgeopt`: make ONNX models small and fast for edge devices. One subcommand per file in `cmd/`.

mod cmd;
mod data;
mod feeds;
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
    /// Predict latency, energy and memory of a model on device profiles.
    Estimate(cmd::estimate::Args),
    /// Device profiles: list, show, calibrate this host, validate the cost model.
    Hw(cmd::hw::Args),
    /// Write a model from the built-in zoo (mlp, lenet, cnn, resnet, mobilenetv2) as ONNX.
    Zoo(cmd::zoo::Args),
    /// Quantize a model: static int8 QDQ with calibration, dynamic, fp16 or int4 weights.
    Quantize(cmd::quantize::Args),
    /// Compare two models tensor by tensor (SQNR, cosine, top-1 agreement).
    Compare(cmd::compare::Args),
    /// Train a model on a dataset (checkpoints, resume, ONNX export).
    Train(cmd::train::Args),
    /// Distill a teacher into a student.
    Distill(cmd::distill::Args),
    /// Accuracy and loss of a model on a dataset.
    Eval(cmd::eval::Args),
    /// Prune a model (magnitude, channel, neuron, block, N:M) and report what it saved.
    Prune(cmd::prune::Args),
}

fn main() {
    restore_sigpipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(a) => cmd::inspect::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Convert(a) => cmd::convert::run(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Profile(a) => cmd::profile::run(a),
        Command::Estimate(a) => cmd::estimate::run(a),
        Command::Hw(a) => cmd::hw::run(a),
        Command::Zoo(a) => cmd::zoo::run(a),
        Command::Quantize(a) => cmd::quantize::run(a),
        Command::Compare(a) => cmd::compare::run(a),
        Command::Train(a) => cmd::train::run(a),
        Command::Distill(a) => cmd::distill::run(a),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Prune(a) => cmd::prune::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// `edgeopt ... | head` should end quietly like other Unix tools, not panic in `println!`:
/// Rust ignores SIGPIPE by default, so restore the default action.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
