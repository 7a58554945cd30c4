//! `edgeopt estimate MODEL --device D [--device D2 ...]`: predicted latency, energy, traffic
//! and memory needs of a model on device profiles, per layer and in total.

use crate::table::{human, Table};
use anyhow::{Context, Result};
use edgeopt_hw::estimate::{estimate, prepare_runtime, Estimate, EstimateOptions};
use edgeopt_hw::{Precision, Profile};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The ONNX model.
    model: PathBuf,
    /// A built-in profile name (see `edgeopt hw list`) or a profile TOML file (e.g. the
    /// `profiles/host-xeon-icelake-avx512.toml` that `edgeopt hw calibrate` just wrote). Repeatable.
    #[arg(long = "device", required = true)]
    devices: Vec<String>,
    /// Precision(s) to run in: fp32, fp16, int8. Repeatable (e.g. fp32 and int8 side by side).
    #[arg(long = "dtype", default_value = "fp32")]
    dtypes: Vec<String>,
    /// Fraction of weights pruned (structured), in [0, 1).
    #[arg(long, default_value_t = 0.0)]
    sparsity: f64,
    /// Fix an input's shape, NAME=1x3x224x224.
    #[arg(long = "shape")]
    shapes: Vec<String>,
    /// Size of a symbolic dim, NAME=SIZE (unset symbolic dims are 1).
    #[arg(long = "dim")]
    dims: Vec<String>,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Also print the per-layer table of each estimate.
    #[arg(long)]
    layers: bool,
    /// Write a latency bar chart (SVG) here.
    #[arg(long)]
    svg: Option<PathBuf>,
}

fn ms(s: f64) -> String {
    format!("{:.3}", s * 1e3)
}

fn fits(need: u64, cap: u64) -> String {
    if need <= cap {
        format!("yes ({}/{})", human(need), human(cap))
    } else {
        format!("NO ({}/{})", human(need), human(cap))
    }
}

fn per_layer(e: &Estimate) -> String {
    let mut t = Table::new(&[
        "layer", "op", "class", ">MACs", ">bytes", ">ms", ">uJ", "bound", ">util",
    ]);
    for l in e.layers.iter().filter(|l| l.cost.time_s > 0.0) {
        let bytes: u64 = l
            .cost
            .bytes
            .iter()
            .zip(&e.levels)
            .skip_while(|(_, n)| n.as_str() == "registers" || n.as_str() == "array")
            .map(|(b, _)| *b)
            .sum();
        t.row(vec![
            l.layer.name.clone(),
            l.layer.op_type.clone(),
            l.layer.class.name().to_string(),
            human(l.layer.macs),
            human(bytes),
            ms(l.cost.time_s),
            format!("{:.2}", l.cost.energy_j * 1e6),
            l.cost.bound.clone(),
            format!("{:.0}%", l.cost.utilization * 100.0),
        ]);
    }
    t.render()
}

/// Loads the model with fixed shapes (symbolic dims default to 1) and prepares it the way the
/// runtime does; `opts` gets the runtime's planned peak memory and folded nodes.
pub fn load_prepared(
    model: &std::path::Path,
    shapes: &[String],
    dims: &[String],
    opts: &mut EstimateOptions,
) -> Result<edgeopt_ir::Model> {
    let shapes = crate::feeds::parse_shapes(shapes)?;
    let mut dims = crate::feeds::parse_dims(dims)?;
    let raw = super::load_shaped(model, &shapes, &dims)?;
    for id in edgeopt_ir::exec::feed_inputs(&raw.graph) {
        for d in raw.graph.value(id).ty.shape().into_iter().flatten() {
            if let edgeopt_tensor::Dim::Sym(s) = d {
                dims.entry(s.clone()).or_insert(1);
            }
        }
    }
    let m = super::load_shaped(model, &shapes, &dims)?;
    prepare_runtime(&m, &[], opts).with_context(|| format!("preparing {}", model.display()))
}

pub fn run(a: Args) -> Result<()> {
    let mut base = EstimateOptions {
        sparsity: a.sparsity,
        ..EstimateOptions::default()
    };
    let model = load_prepared(&a.model, &a.shapes, &a.dims, &mut base)?;
    let profiles: Vec<Profile> = a
        .devices
        .iter()
        .map(|d| Profile::load(d))
        .collect::<edgeopt_hw::Result<_>>()?;
    let precisions: Vec<Precision> = a
        .dtypes
        .iter()
        .map(|d| Precision::parse(d))
        .collect::<edgeopt_hw::Result<_>>()?;
    let mut estimates = Vec::new();
    for p in &profiles {
        for &precision in &precisions {
            let opts = EstimateOptions {
                precision,
                ..base.clone()
            };
            estimates.push(
                estimate(&model, p, &opts)
                    .with_context(|| format!("estimating on {}", p.device.name))?,
            );
        }
    }
    if let Some(path) = &a.svg {
        let title = format!("{} latency", a.model.display());
        let svg = edgeopt_hw::svg::latency_chart(&title, &estimates);
        crate::cmd::hw::write_atomic(path, svg.as_bytes())?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&estimates)?);
        return Ok(());
    }
    let mut t = Table::new(&[
        "device",
        "dtype",
        ">latency ms",
        ">energy mJ",
        ">MACs",
        ">bytes moved",
        ">peak act",
        ">weights",
        "act fits",
        "weights fit",
    ]);
    for e in &estimates {
        t.row(vec![
            e.device.clone(),
            e.precision.name().to_string(),
            ms(e.latency_s),
            format!("{:.3}", e.energy_j * 1e3),
            human(e.macs),
            human(e.bytes_moved),
            human(e.peak_activation_bytes),
            human(e.weight_bytes),
            fits(e.peak_activation_bytes, e.activation_capacity_bytes),
            fits(e.weight_bytes, e.weight_capacity_bytes),
        ]);
    }
    if a.layers {
        for e in &estimates {
            println!("{} ({}):\n{}", e.device, e.precision.name(), per_layer(e));
        }
    }
    print!("{}", t.render());
    Ok(())
}
