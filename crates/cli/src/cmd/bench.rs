//! `edgeopt bench MODEL`: load + plan time, latency percentiles, throughput and peak memory
//! of the fast runtime on seeded random inputs.

use crate::feeds::{build_feeds, parse_dims, parse_shapes};
use anyhow::{Context, Result};
use edgeopt_ir::Value;
use edgeopt_runtime::{Session, SessionOptions};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// The ONNX model.
    model: PathBuf,
    /// Timed runs.
    #[arg(long, default_value_t = 50)]
    runs: usize,
    /// Untimed runs first.
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Intra-op threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Graph optimization level.
    #[arg(long, default_value_t = 2)]
    opt_level: u8,
    /// Input shape NAME=1x3x224x224 (for dynamic dims). Repeatable.
    #[arg(long = "shape")]
    shapes: Vec<String>,
    /// Size for a symbolic dim, NAME=SIZE (default 1). Repeatable.
    #[arg(long = "dim")]
    dims: Vec<String>,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
}

/// A session over random feeds: what bench and profile share.
pub struct Prepared {
    pub session: Session,
    pub feeds: Vec<Value>,
    pub load_ms: f64,
    pub plan_ms: f64,
}

/// Loads `model`, makes seeded random feeds and builds the session for their shapes.
pub fn prepare(
    model: &Path,
    shapes: &[String],
    dims: &[String],
    threads: Option<usize>,
    opt_level: u8,
) -> Result<Prepared> {
    let t0 = Instant::now();
    let m = super::load(model)?;
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let (dims, shapes) = (parse_dims(dims)?, parse_shapes(shapes)?);
    let feeds = build_feeds(&m.graph, &[], true, 0, &dims, &shapes)?;
    let input_shapes = feeds
        .iter()
        .filter_map(|(n, v)| v.as_tensor().map(|t| (n.clone(), t.shape().to_vec())))
        .collect();
    let mut opts = SessionOptions {
        opt_level,
        input_shapes,
        ..SessionOptions::default()
    };
    if let Some(t) = threads {
        opts.threads = t.max(1);
    }
    let t1 = Instant::now();
    let session = Session::new(m, opts).context("building the runtime session")?;
    let plan_ms = t1.elapsed().as_secs_f64() * 1e3;
    Ok(Prepared {
        session,
        feeds: feeds.into_iter().map(|(_, v)| v).collect(),
        load_ms,
        plan_ms,
    })
}

/// Peak resident memory of this process (VmHWM), in bytes, where /proc has it.
pub fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn run(a: Args) -> Result<()> {
    let mut p = prepare(&a.model, &a.shapes, &a.dims, a.threads, a.opt_level)?;
    for _ in 0..a.warmup {
        p.session.run_in_place(&p.feeds)?;
    }
    let mut times = Vec::with_capacity(a.runs);
    let total = Instant::now();
    for _ in 0..a.runs.max(1) {
        let t = Instant::now();
        p.session.run_in_place(&p.feeds)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let wall = total.elapsed().as_secs_f64();
    times.sort_by(|x, y| x.total_cmp(y));
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let plan = p.session.memory_plan().cloned().unwrap_or_default();
    let fallbacks = p.session.fallback_nodes();
    let rss = peak_rss_bytes();
    let report = json!({
        "model": a.model.display().to_string(),
        "threads": p.session.threads(),
        "kernels": edgeopt_kernels::kernels().name(),
        "int8_kernels": edgeopt_kernels::int8::int8_kernels().name(),
        "load_ms": p.load_ms,
        "plan_ms": p.plan_ms,
        "runs": times.len(),
        "p50_ms": percentile(&times, 0.5),
        "p90_ms": percentile(&times, 0.9),
        "p99_ms": percentile(&times, 0.99),
        "mean_ms": mean,
        "min_ms": times.first(),
        "throughput_per_s": times.len() as f64 / wall,
        "arena_bytes": plan.peak_bytes,
        "scratch_bytes": p.session.scratch_bytes(),
        "peak_rss_bytes": rss,
        "fallback_nodes": fallbacks.len(),
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("model        {}", a.model.display());
    println!(
        "threads      {} (kernels: {})",
        p.session.threads(),
        edgeopt_kernels::kernels().name()
    );
    println!("load         {:.1} ms", p.load_ms);
    println!(
        "plan         {:.1} ms (optimize, memory plan, lowering)",
        p.plan_ms
    );
    println!(
        "latency      p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  mean {:.3} ms  ({} runs)",
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        percentile(&times, 0.99),
        mean,
        times.len()
    );
    println!("throughput   {:.1} runs/s", times.len() as f64 / wall);
    println!(
        "memory       arena {:.2} MiB (no reuse: {:.2} MiB), scratch {:.2} MiB, peak RSS {}",
        plan.peak_bytes as f64 / 1048576.0,
        plan.naive_bytes as f64 / 1048576.0,
        p.session.scratch_bytes() as f64 / 1048576.0,
        rss.map_or("n/a".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0))
    );
    if !fallbacks.is_empty() {
        let mut ops: Vec<&str> = fallbacks.iter().map(|(_, o)| o.as_str()).collect();
        ops.sort();
        ops.dedup();
        println!(
            "fallback     {} nodes on the reference eval ({})",
            fallbacks.len(),
            ops.join(", ")
        );
    }
    Ok(())
}
