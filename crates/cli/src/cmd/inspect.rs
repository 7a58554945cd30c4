//! `edgeopt inspect MODEL`: what is in a model and what it costs.

use crate::table::{human, Table};
use anyhow::Result;
use edgeopt_ir::infer::node_costs;
use edgeopt_ir::Cost;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The ONNX model.
    model: PathBuf,
    /// Print JSON for scripts instead of tables.
    #[arg(long)]
    json: bool,
    /// Show at most this many layers in the per-layer table (0 = all).
    #[arg(long, default_value_t = 0)]
    layers: usize,
    /// Fix an input's shape, NAME=1x3x224x224, so MACs of dynamic-shape models are concrete.
    #[arg(long = "shape")]
    shapes: Vec<String>,
    /// Size of a symbolic dim, NAME=SIZE. Repeatable.
    #[arg(long = "dim")]
    dims: Vec<String>,
    /// List Constant nodes in the per-layer table too.
    #[arg(long)]
    all_nodes: bool,
}

pub fn run(a: Args) -> Result<()> {
    let shapes = crate::feeds::parse_shapes(&a.shapes)?;
    let dims = crate::feeds::parse_dims(&a.dims)?;
    let model = super::load_shaped(&a.model, &shapes, &dims)?;
    let g = &model.graph;
    let costs = node_costs(g);
    let mut total = Cost::default();
    for c in &costs {
        total += *c;
    }
    let params: u64 = g.initializers.values().map(|t| t.len() as u64).sum();
    let param_bytes: u64 = g
        .initializers
        .values()
        .map(|t| t.as_bytes().len() as u64)
        .sum();
    let mut hist: BTreeMap<String, usize> = BTreeMap::new();
    for n in &g.nodes {
        *hist.entry(n.op_type().to_string()).or_default() += 1;
    }
    let io = |ids: &[edgeopt_ir::ValueId]| -> Vec<(String, String)> {
        ids.iter()
            .map(|&i| (g.value(i).name.clone(), g.value(i).ty.to_string()))
            .collect()
    };
    let inputs = io(&edgeopt_ir::exec::feed_inputs(g));
    let outputs = io(&g.outputs);
    let out_type = |n: &edgeopt_ir::Node| {
        n.outputs
            .iter()
            .flatten()
            .next()
            .map(|o| g.value(*o).ty.to_string())
            .unwrap_or_default()
    };
    let activation_bytes = planned_activation_bytes(&model);
    if a.json {
        let layers: Vec<_> = g
            .nodes
            .iter()
            .zip(&costs)
            .map(|(n, c)| {
                json!({"name": n.name, "op": n.op_type(), "output": out_type(n), "macs": c.macs, "flops": c.flops,
                       "params": c.params, "bytes_read": c.bytes_read, "bytes_written": c.bytes_written})
            })
            .collect();
        let v = json!({
            "model": a.model, "ir_version": model.ir_version, "opsets": model.opsets, "producer": model.producer_name,
            "inputs": inputs.iter().map(|(n, t)| json!({"name": n, "type": t})).collect::<Vec<_>>(),
            "outputs": outputs.iter().map(|(n, t)| json!({"name": n, "type": t})).collect::<Vec<_>>(),
            "nodes": g.nodes.len(), "op_histogram": hist, "params": params, "param_bytes": param_bytes,
            "macs": total.macs, "flops": total.flops, "layers": layers,
            "planned_activation_bytes": activation_bytes,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let opsets: Vec<String> = model
        .opsets
        .iter()
        .map(|(d, v)| format!("{}={v}", if d.is_empty() { "ai.onnx" } else { d }))
        .collect();
    println!("model     {}", a.model.display());
    println!(
        "producer  {} {}",
        model.producer_name, model.producer_version
    );
    println!(
        "ir        {}   opsets {}",
        model.ir_version,
        opsets.join(", ")
    );
    println!(
        "nodes     {}   params {} ({} bytes)   MACs {}",
        g.nodes.len(),
        human(params),
        human(param_bytes),
        human(total.macs)
    );
    match activation_bytes {
        Some(b) => println!(
            "memory    planned peak activations {} bytes (runtime arena, opt level 2)",
            human(b as u64)
        ),
        None => println!(
            "memory    planned peak activations: unknown (dynamic input shape: pass --shape)"
        ),
    }
    println!();
    let mut t = Table::new(&["input", "type"]);
    inputs
        .iter()
        .for_each(|(n, ty)| t.row(vec![n.clone(), ty.clone()]));
    print!("{}", t.render());
    println!();
    let mut t = Table::new(&["output", "type"]);
    outputs
        .iter()
        .for_each(|(n, ty)| t.row(vec![n.clone(), ty.clone()]));
    print!("{}", t.render());
    println!();
    let mut hv: Vec<_> = hist.into_iter().collect();
    hv.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut t = Table::new(&["op", ">count"]);
    hv.iter()
        .for_each(|(o, c)| t.row(vec![o.clone(), c.to_string()]));
    print!("{}", t.render());
    println!();
    let mut t = Table::new(&["#", "layer", "op", "output", ">MACs", ">params", ">MAC %"]);
    let limit = if a.layers == 0 {
        g.nodes.len()
    } else {
        a.layers
    };
    let shown: Vec<(usize, (&edgeopt_ir::Node, &Cost))> = g
        .nodes
        .iter()
        .zip(&costs)
        .enumerate()
        .filter(|(_, (n, _))| a.all_nodes || n.op_type() != "Constant")
        .collect();
    let limit = limit.min(shown.len());
    for (i, (n, c)) in shown.iter().copied().take(limit) {
        let share = if total.macs > 0 {
            format!("{:.1}", 100.0 * c.macs as f64 / total.macs as f64)
        } else {
            "-".into()
        };
        t.row(vec![
            i.to_string(),
            n.name.clone(),
            n.op_type().to_string(),
            out_type(n),
            human(c.macs),
            human(c.params),
            share,
        ]);
    }
    print!("{}", t.render());
    if limit < g.nodes.len() {
        println!(
            "... {} more layers (--layers 0 shows all)",
            g.nodes.len() - limit
        );
    }
    println!(
        "total: {} MACs, {} params",
        human(total.macs),
        human(params)
    );
    Ok(())
}

/// Peak activation memory of the runtime's static plan, when every input shape is known.
fn planned_activation_bytes(model: &edgeopt_ir::Model) -> Option<usize> {
    let g = &model.graph;
    let shapes: Option<Vec<(String, Vec<usize>)>> = edgeopt_ir::exec::feed_inputs(g)
        .into_iter()
        .map(|v| {
            let s = g.value(v).ty.as_tensor()?.concrete_shape()?;
            Some((g.value(v).name.clone(), s))
        })
        .collect();
    edgeopt_runtime::memory_plan(model, &shapes?, 2)
        .ok()
        .map(|p| p.peak_bytes)
}
