//! Whole-model estimates: extract the layers of the optimized graph, cost each one with the
//! device's model (systolic tiles, FPGA II, GPU occupancy, the host's fitted linear models,
//! else the roofline), and total latency, energy, traffic and memory needs.

use crate::layers::{extract, KernelClass, Layer};
use crate::profile::{Kind, Precision, Profile};
use crate::roofline::{self, homes, traffic, Homes, LayerCost};
use crate::{fpga, gpu, host, memory, systolic, Result};
use edgeopt_ir::Model;
use serde::Serialize;

/// What to estimate.
#[derive(Clone, Debug)]
pub struct EstimateOptions {
    pub precision: Precision,
    /// Fraction of weights pruned away, in [0, 1).
    pub sparsity: f64,
    /// Peak activation bytes from the runtime's memory plan (at fp32; scaled to the
    /// precision); `None`: liveness analysis. [`prepare_runtime`] gives it.
    pub planned_peak_bytes: Option<u64>,
    /// Nodes the runtime folded at build time (they cost nothing per run).
    pub folded_nodes: Vec<String>,
    /// The runtime's kernel of each scheduled node (`Session::node_kernels`: node index,
    /// kernel name), for the calibrated host model; `None`: guessed from the layer.
    pub host_kernels: Option<Vec<(usize, String)>>,
}

impl Default for EstimateOptions {
    fn default() -> Self {
        EstimateOptions {
            precision: Precision::Fp32,
            sparsity: 0.0,
            planned_peak_bytes: None,
            folded_nodes: Vec::new(),
            host_kernels: None,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct LayerEstimate {
    #[serde(flatten)]
    pub layer: Layer,
    #[serde(flatten)]
    pub cost: LayerCost,
}

/// A model on one device.
#[derive(Clone, Debug, Serialize)]
pub struct Estimate {
    pub device: String,
    pub precision: Precision,
    pub sparsity: f64,
    pub layers: Vec<LayerEstimate>,
    pub latency_s: f64,
    pub energy_j: f64,
    pub macs: u64,
    /// Memory level names, in the order of `bytes_per_level`.
    pub levels: Vec<String>,
    pub bytes_per_level: Vec<u64>,
    /// Bytes moved outside the registers.
    pub bytes_moved: u64,
    pub peak_activation_bytes: u64,
    pub weight_bytes: u64,
    pub homes: Homes,
    /// Capacity of the levels that weights and activations are placed in.
    pub weight_capacity_bytes: u64,
    pub activation_capacity_bytes: u64,
}

/// Optimizes a copy of `model` the way a deployment would (fused bias/activations move no
/// memory): what [`estimate`] expects.
pub fn prepare(model: &Model) -> Result<Model> {
    let mut m = model.clone();
    edgeopt_passes::optimize(&mut m, 2)?;
    Ok(m)
}

/// `model` the way the runtime runs it at these input shapes (a 1-thread `Session` at opt
/// level 2: optimized, constants folded, lowered), with [`EstimateOptions::planned_peak_bytes`]
/// from the session's memory plan (the single source of truth for peak memory), the folded
/// nodes and the kernel of every node filled in. Returns the prepared model to pass to
/// [`estimate`].
pub fn prepare_runtime(
    model: &Model,
    shapes: &[(String, Vec<usize>)],
    opts: &mut EstimateOptions,
) -> Result<Model> {
    let rt = |e: edgeopt_runtime::Error| crate::HwError::Invalid(format!("runtime: {e}"));
    let s = edgeopt_runtime::Session::new(
        model.clone(),
        edgeopt_runtime::SessionOptions {
            threads: 1,
            input_shapes: shapes.to_vec(),
            ..Default::default()
        },
    )
    .map_err(rt)?;
    let (Some(m), Some(plan)) = (s.optimized_model(), s.memory_plan()) else {
        return Err(crate::HwError::Invalid(
            "runtime: no plan without input shapes (pass --shape)".into(),
        ));
    };
    opts.planned_peak_bytes = Some(plan.peak_bytes as u64);
    let kernels = s.node_kernels();
    let mut run = vec![false; m.graph.nodes.len()];
    for (i, _) in &kernels {
        if let Some(r) = run.get_mut(*i) {
            *r = true;
        }
    }
    opts.folded_nodes = m
        .graph
        .nodes
        .iter()
        .zip(&run)
        .filter(|(_, r)| !**r)
        .map(|(n, _)| n.name.clone())
        .collect();
    opts.host_kernels = Some(kernels);
    Ok(m.clone())
}

fn layer_cost(
    p: &Profile,
    l: &Layer,
    h: &Homes,
    total_w: u64,
    prec: Precision,
    host_s: Option<f64>,
) -> LayerCost {
    if let Some(time_s) = host_s {
        let bytes = traffic(p, l, h, total_w, prec);
        return LayerCost {
            energy_j: roofline::energy(p, l, &bytes, time_s, prec),
            utilization: roofline::utilization(p, l, time_s, prec),
            time_s,
            bytes,
            bound: "model".into(),
        };
    }
    if l.class == KernelClass::Free {
        return roofline::layer_cost(p, l, h, total_w, prec, 1.0);
    }
    match p.device.kind {
        Kind::Systolic => {
            if let (Some(s), Some(d)) = (&p.systolic, l.gemm) {
                if s.precisions.contains(&prec) {
                    return systolic::layer_cost(p, s, l, d, h, prec);
                }
            }
            roofline::layer_cost(p, l, h, total_w, prec, 1.0)
        }
        Kind::Fpga => match &p.fpga {
            Some(f) => fpga::layer_cost(p, f, l, h, total_w, prec),
            None => roofline::layer_cost(p, l, h, total_w, prec, 1.0),
        },
        Kind::Gpu => {
            let occ = p.gpu.as_ref().map(|g| gpu::occupancy(g, l)).unwrap_or(1.0);
            roofline::layer_cost(p, l, h, total_w, prec, occ)
        }
        Kind::Cpu | Kind::Mcu => roofline::layer_cost(p, l, h, total_w, prec, 1.0),
    }
}

/// Per graph node: the calibrated host model's seconds (`None`: no model for the node, or the
/// profile has no host model, or the precision is not fp32). Sparsity scales the MAC and
/// weight features by the density.
fn host_times(model: &Model, p: &Profile, opts: &EstimateOptions) -> Result<Vec<Option<f64>>> {
    let n = model.graph.nodes.len();
    let Some(hm) = p.host_model.as_ref() else {
        return Ok(vec![None; n]);
    };
    if opts.precision != Precision::Fp32 || !matches!(p.device.kind, Kind::Cpu | Kind::Mcu) {
        return Ok(vec![None; n]);
    }
    let caches = crate::host_nodes::CacheSizes::of_model(hm);
    let nodes = crate::host_nodes::host_nodes(&model.graph, opts.host_kernels.as_deref(), &caches)?;
    let density = 1.0 - opts.sparsity;
    let mut out = vec![None; n];
    for mut node in nodes {
        for f in crate::host_nodes::DENSITY_FEATURES {
            node.features[f] *= density;
        }
        if let Some(slot) = out.get_mut(node.node) {
            *slot = crate::host::predict(hm, &node);
        }
    }
    Ok(out)
}

/// Estimates `model` (already optimized: see [`prepare`]) on `profile`.
pub fn estimate(model: &Model, profile: &Profile, opts: &EstimateOptions) -> Result<Estimate> {
    if !(0.0..1.0).contains(&opts.sparsity) {
        return Err(crate::HwError::Invalid(format!(
            "sparsity must be in [0, 1), got {}",
            opts.sparsity
        )));
    }
    let prec = opts.precision;
    let layers = extract(
        &model.graph,
        prec,
        1.0 - opts.sparsity,
        profile.compute.winograd,
    )?;
    let host = host_times(model, profile, opts)?;
    // Folded nodes cost nothing per run: by index when the runtime's schedule is known.
    let folded: std::collections::HashSet<&str> =
        opts.folded_nodes.iter().map(|s| s.as_str()).collect();
    let mut scheduled = vec![opts.host_kernels.is_none(); layers.len()];
    for (i, _) in opts.host_kernels.iter().flatten() {
        if let Some(s) = scheduled.get_mut(*i) {
            *s = true;
        }
    }
    let layers: Vec<(Layer, Option<f64>)> = layers
        .into_iter()
        .zip(host)
        .zip(scheduled)
        .filter(|((l, _), s)| {
            *s && (opts.host_kernels.is_some() || !folded.contains(l.name.as_str()))
        })
        .map(|(lh, _)| lh)
        .collect();
    let weight_bytes: u64 = layers.iter().map(|(l, _)| l.weight_bytes).sum();
    let peak = match opts.planned_peak_bytes {
        Some(b) if prec == Precision::Fp32 => b,
        Some(b) => b.saturating_mul(prec.bytes()) / 4,
        None => memory::peak_activation_bytes(&model.graph, prec),
    };
    let (steps, nodes_s) = (
        layers.len(),
        layers.iter().filter_map(|(_, t)| *t).sum::<f64>(),
    );
    let h = homes(profile, weight_bytes, peak);
    let mut out = Vec::with_capacity(layers.len());
    let mut bytes_per_level = vec![0u64; profile.memory.len()];
    let (mut latency_s, mut energy_j, mut macs) = (0.0, 0.0, 0u64);
    for (l, host_s) in layers {
        let cost = layer_cost(profile, &l, &h, weight_bytes, prec, host_s);
        latency_s += cost.time_s;
        energy_j += cost.energy_j;
        macs += l.macs;
        for (t, b) in bytes_per_level.iter_mut().zip(&cost.bytes) {
            *t += b;
        }
        out.push(LayerEstimate { layer: l, cost });
    }
    // The fitted host model also knows the per-run cost outside the layers.
    if let Some(hm) = profile
        .host_model
        .as_ref()
        .filter(|_| prec == Precision::Fp32)
    {
        if matches!(profile.device.kind, Kind::Cpu | Kind::Mcu) {
            latency_s += host::per_run(hm, host::io_bytes(&model.graph), steps, nodes_s);
        }
    }
    let bytes_moved = bytes_per_level
        .iter()
        .zip(&profile.memory)
        .filter(|(_, m)| m.kind != "register")
        .map(|(b, _)| b)
        .sum();
    let cap = |name: &str| {
        profile
            .level(name)
            .map(|i| profile.memory[i].size_bytes)
            .unwrap_or(0)
    };
    Ok(Estimate {
        device: profile.device.name.clone(),
        precision: prec,
        sparsity: opts.sparsity,
        layers: out,
        latency_s,
        energy_j,
        macs,
        levels: profile.memory.iter().map(|m| m.name.clone()).collect(),
        bytes_per_level,
        bytes_moved,
        peak_activation_bytes: peak,
        weight_bytes,
        homes: h,
        weight_capacity_bytes: cap(&profile.placement.weights),
        activation_capacity_bytes: cap(&profile.placement.activations),
    })
}
