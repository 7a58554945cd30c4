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
}

impl Default for EstimateOptions {
    fn default() -> Self {
        EstimateOptions {
            precision: Precision::Fp32,
            sparsity: 0.0,
            planned_peak_bytes: None,
            folded_nodes: Vec::new(),
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

/// `model` the way the runtime runs it at these input shapes (`edgeopt_runtime::prepare` at
/// opt level 2: optimized, constants folded), with [`EstimateOptions::planned_peak_bytes`]
/// from the runtime's memory plan (the single source of truth for peak memory) and the folded
/// nodes filled in. Returns the prepared model to pass to [`estimate`].
pub fn prepare_runtime(
    model: &Model,
    shapes: &[(String, Vec<usize>)],
    opts: &mut EstimateOptions,
) -> Result<Model> {
    let p = edgeopt_runtime::prepare::prepare(model, shapes, 2)
        .map_err(|e| crate::HwError::Invalid(format!("runtime prepare: {e}")))?;
    let plan = edgeopt_runtime::plan_memory(&p);
    opts.planned_peak_bytes = Some(plan.peak_bytes as u64);
    let mut run = vec![false; p.model.graph.nodes.len()];
    for &i in &p.schedule {
        run[i] = true;
    }
    opts.folded_nodes = p
        .model
        .graph
        .nodes
        .iter()
        .zip(&run)
        .filter(|(_, r)| !**r)
        .map(|(n, _)| n.name.clone())
        .collect();
    Ok(p.model)
}

fn layer_cost(p: &Profile, l: &Layer, h: &Homes, total_w: u64, prec: Precision) -> LayerCost {
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
        Kind::Cpu | Kind::Mcu => {
            let fitted = p
                .host_model
                .as_ref()
                .filter(|_| prec == Precision::Fp32)
                .and_then(|hm| hm.classes.iter().find(|c| c.class == l.class.name()));
            match fitted {
                Some(cm) => {
                    let bytes = traffic(p, l, h, total_w, prec);
                    let time_s = host::predict(cm, l);
                    LayerCost {
                        energy_j: roofline::energy(p, l, &bytes, time_s, prec),
                        utilization: roofline::utilization(p, l, time_s, prec),
                        time_s,
                        bytes,
                        bound: "model".into(),
                    }
                }
                None => roofline::layer_cost(p, l, h, total_w, prec, 1.0),
            }
        }
    }
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
    let layers: Vec<Layer> = if opts.folded_nodes.is_empty() {
        layers
    } else {
        let folded: std::collections::HashSet<&str> =
            opts.folded_nodes.iter().map(|s| s.as_str()).collect();
        layers
            .into_iter()
            .filter(|l| !folded.contains(l.name.as_str()))
            .collect()
    };
    let weight_bytes = model_weight_bytes(&layers);
    let peak = match opts.planned_peak_bytes {
        Some(b) if prec == Precision::Fp32 => b,
        Some(b) => b.saturating_mul(prec.bytes()) / 4,
        None => memory::peak_activation_bytes(&model.graph, prec),
    };
    let h = homes(profile, weight_bytes, peak);
    let mut out = Vec::with_capacity(layers.len());
    let mut bytes_per_level = vec![0u64; profile.memory.len()];
    let (mut latency_s, mut energy_j, mut macs) = (0.0, 0.0, 0u64);
    for l in layers {
        let cost = layer_cost(profile, &l, &h, weight_bytes, prec);
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
            latency_s += hm.per_run_s;
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

/// Weight bytes of the model: each weight tensor once, as the layers read it.
fn model_weight_bytes(layers: &[Layer]) -> u64 {
    layers.iter().map(|l| l.weight_bytes).sum()
}
