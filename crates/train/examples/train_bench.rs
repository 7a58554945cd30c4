//! Training throughput on one fixed batch of a real model:
//! `cargo run --release -p edgeopt-train --example train_bench -- MODEL.onnx [STEPS] [THREADS] [IDX_DIR] [--profile] [--nodes]`.
//! With IDX_DIR the batch is the first 64 Fashion-MNIST training images, else seeded noise;
//! `--profile` prints the time per training-graph op type (`--nodes`: per node).

use anyhow::{Context, Result};
use edgeopt_data::Dataset;
use edgeopt_train::autodiff::TrainSpec;
use edgeopt_train::trainer::{TrainConfig, Trainer};
use std::collections::BTreeMap;
use std::time::Instant;

fn main() -> Result<()> {
    let mut args: Vec<String> = std::env::args().collect();
    let profile = args.iter().any(|a| a == "--profile");
    let nodes = args.iter().any(|a| a == "--nodes");
    args.retain(|a| a != "--profile" && a != "--nodes");
    let path = args
        .get(1)
        .context("usage: train_bench MODEL.onnx [STEPS] [THREADS] [IDX_DIR] [--profile]")?;
    let steps: usize = args.get(2).map_or(Ok(20), |s| s.parse())?;
    let threads: usize = args.get(3).map_or(Ok(1), |s| s.parse())?;
    let model = edgeopt_onnx::load_model(std::path::Path::new(path), &Default::default())?;
    let data = match args.get(4) {
        Some(dir) => {
            let (train, _) = edgeopt_data::mnist::load_mnist_dir(std::path::Path::new(dir))?;
            train.subset(&(0..64).collect::<Vec<_>>())?
        }
        None => {
            let mut rng = edgeopt_train::rng::Rng::new(1);
            let x = (0..64 * 784).map(|_| rng.next_f32()).collect();
            let y = (0..64).map(|i| i % 10).collect();
            edgeopt_data::InMemoryDataset::new("noise", vec![1, 28, 28], x, y, 10)?
        }
    };
    let config = TrainConfig {
        threads,
        ..TrainConfig::default()
    };
    let mut t = Trainer::new(&model, &TrainSpec::cross_entropy(), config, data.len())?;
    let (x, y) = data.to_tensors()?;
    for _ in 0..2 {
        t.train_step(x.clone(), y.clone())?;
    }
    t.set_profiling(profile);
    let start = Instant::now();
    let mut loss = 0.0;
    for _ in 0..steps {
        loss = t.train_step(x.clone(), y.clone())?.0;
    }
    let s = start.elapsed().as_secs_f64();
    println!(
        "{steps} steps at batch {} on {threads} thread(s): {s:.3} s, {:.2} steps/s (last loss {loss:.4})",
        y.len(),
        steps as f64 / s
    );
    if profile {
        let mut by: BTreeMap<(String, String), (f64, usize)> = BTreeMap::new();
        let mut total = 0.0;
        for p in t.profile() {
            let key = if nodes { p.node } else { p.op_type };
            let e = by.entry((key, p.kernel)).or_default();
            let ms = p.time.as_secs_f64() * 1e3 / steps as f64;
            e.0 += ms;
            e.1 += 1;
            total += ms;
        }
        let mut rows: Vec<_> = by.into_iter().collect();
        rows.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
        println!("graph: {total:.2} ms/step of {:.2}", s * 1e3 / steps as f64);
        for ((op, k), (ms, n)) in rows {
            println!("{ms:8.3} ms {:5.1}%  {n:3}x {op} [{k}]", 100.0 * ms / total);
        }
    }
    Ok(())
}
