//! `edgeopt run MODEL -i name=x.npy ... -o out.npz`: run a model with the fast runtime
//! (`--reference`: with the IR's reference executor).

use crate::feeds::{build_feeds, parse_dims, parse_shapes};
use crate::npy::write_npz;
use crate::table::Table;
use anyhow::{bail, Result};
use edgeopt_ir::Value;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// The ONNX model.
    model: PathBuf,
    /// Inputs: NAME=FILE.npy, or FILE.npz holding arrays named like the inputs. Repeatable.
    #[arg(short, long = "input")]
    inputs: Vec<String>,
    /// Write the outputs to this .npz file.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Fill inputs not given with seeded random data (for smoke runs).
    #[arg(long)]
    random: bool,
    /// Seed for --random.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Size for a symbolic dim, NAME=SIZE (default 1). Repeatable.
    #[arg(long = "dim")]
    dims: Vec<String>,
    /// Full shape of a random input, NAME=1x3x224x224. Repeatable.
    #[arg(long = "shape")]
    shapes: Vec<String>,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
    /// Run with the slow reference executor instead of the runtime.
    #[arg(long)]
    reference: bool,
    /// Intra-op threads for the runtime (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

fn stats(t: &edgeopt_tensor::Tensor) -> (f64, f64, f64) {
    match t.to_f64_vec() {
        Ok(v) if !v.is_empty() => {
            let (mut lo, mut hi, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
            for x in &v {
                lo = lo.min(*x);
                hi = hi.max(*x);
                sum += x;
            }
            (lo, hi, sum / v.len() as f64)
        }
        _ => (f64::NAN, f64::NAN, f64::NAN),
    }
}

pub fn run(a: Args) -> Result<()> {
    let model = super::load(&a.model)?;
    let dims = parse_dims(&a.dims)?;
    let shapes = parse_shapes(&a.shapes)?;
    let feeds = build_feeds(&model.graph, &a.inputs, a.random, a.seed, &dims, &shapes)?;
    let feeds: Vec<Value> = feeds.into_iter().map(|(_, v)| v).collect();
    let start = Instant::now();
    let outs = if a.reference {
        edgeopt_ir::exec::run_model(&model, feeds)?
    } else {
        let mut opts = edgeopt_runtime::SessionOptions::default();
        if let Some(t) = a.threads {
            opts.threads = t.max(1);
        }
        let mut s = edgeopt_runtime::Session::new(model.clone(), opts)?;
        s.run_values(&feeds)?
    };
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let engine = if a.reference {
        "reference executor"
    } else {
        "runtime, including load and plan"
    };
    let names: Vec<String> = model
        .graph
        .outputs
        .iter()
        .map(|o| model.graph.value(*o).name.clone())
        .collect();
    let mut arrays = Vec::new();
    let mut rows = Vec::new();
    for (name, v) in names.iter().zip(&outs) {
        match v {
            Value::Tensor(t) => {
                let (lo, hi, mean) = stats(t);
                rows.push(json!({"name": name, "dtype": t.dtype().name(), "shape": t.shape(), "min": lo, "max": hi, "mean": mean}));
                arrays.push((name.clone(), t.clone()));
            }
            other => {
                rows.push(json!({"name": name, "kind": other.kind()}));
                if a.output.is_some() {
                    bail!(
                        "output '{name}' is a {}; only tensors can be saved to .npz",
                        other.kind()
                    );
                }
            }
        }
    }
    if let Some(p) = &a.output {
        write_npz(p, &arrays)?;
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"outputs": rows, "time_ms": ms}))?
        );
        return Ok(());
    }
    let mut t = Table::new(&["output", "dtype", "shape", ">min", ">max", ">mean"]);
    for r in &rows {
        let f = |k: &str| {
            r[k].as_f64()
                .map(|x| format!("{x:.6}"))
                .unwrap_or("-".into())
        };
        t.row(vec![
            r["name"].as_str().unwrap_or("").to_string(),
            r["dtype"]
                .as_str()
                .or(r["kind"].as_str())
                .unwrap_or("")
                .to_string(),
            format!("{}", r["shape"]),
            f("min"),
            f("max"),
            f("mean"),
        ]);
    }
    print!("{}", t.render());
    println!("ran in {ms:.1} ms ({engine})");
    if let Some(p) = &a.output {
        println!("wrote {}", p.display());
    }
    Ok(())
}
