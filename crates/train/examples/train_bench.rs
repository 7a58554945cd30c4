//! Training throughput on one fixed batch of a real model:
//! `cargo run --release -p edgeopt-train --example train_bench -- MODEL.onnx [STEPS] [THREADS] [IDX_DIR]`.
//! With IDX_DIR the batch is the first 64 Fashion-MNIST training images, else seeded noise.

use anyhow::{Context, Result};
use edgeopt_train::autodiff::TrainSpec;
use edgeopt_train::trainer::{TrainConfig, Trainer};
use std::time::Instant;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .context("usage: train_bench MODEL.onnx [STEPS] [THREADS] [IDX_DIR]")?;
    let steps: usize = args.get(2).map_or(Ok(20), |s| s.parse())?;
    let threads: usize = args.get(3).map_or(Ok(1), |s| s.parse())?;
    let model = edgeopt_onnx::load_model(std::path::Path::new(path), &Default::default())?;
    let data = match args.get(4) {
        Some(dir) => {
            edgeopt_train::idx::load_mnist_like(std::path::Path::new(dir), "train")?.take(64)
        }
        None => {
            let mut rng = edgeopt_train::rng::Rng::new(1);
            let x = (0..64 * 784).map(|_| rng.next_f32()).collect();
            let y = (0..64).map(|i| i % 10).collect();
            edgeopt_train::dataset::Dataset::new(x, vec![1, 28, 28], y)?
        }
    };
    let config = TrainConfig {
        threads,
        ..TrainConfig::default()
    };
    let mut t = Trainer::new(&model, &TrainSpec::cross_entropy(), config, data.len())?;
    let idx: Vec<usize> = (0..data.len()).collect();
    let (x, y) = data.batch(&idx)?;
    for _ in 0..2 {
        t.train_step(x.clone(), y.clone())?;
    }
    let start = Instant::now();
    let mut loss = 0.0;
    for _ in 0..steps {
        loss = t.train_step(x.clone(), y.clone())?.0;
    }
    let s = start.elapsed().as_secs_f64();
    println!(
        "{steps} steps at batch {} on {threads} thread(s): {s:.3} s, {:.2} steps/s (last loss {loss:.4})",
        idx.len(),
        steps as f64 / s
    );
    Ok(())
}
