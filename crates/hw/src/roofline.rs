//! The roofline per memory level: a layer takes
//! `max(compute / (peak * efficiency), max over levels(bytes_at_level / bandwidth)) + overhead`.
//!
//! Where bytes come from: weights and activations each have a home level ([`Homes`]); a
//! layer's activations are served from the smallest cache level holding its inputs and
//! outputs (the previous layer just wrote them), its weights from the smallest cache holding
//! all the model's weights (steady state over repeated inferences), else from their home.
//! Data homed at level h passes through every `cache` level inside h; registers carry the
//! operands of every operation.

use crate::layers::{KernelClass, Layer};
use crate::profile::{Precision, Profile};
use serde::Serialize;

/// Depthwise kernels reach about half the efficiency of GEMM-based ones on CPUs and GPUs:
/// one filter per channel leaves no reuse across output channels.
pub const DEPTHWISE_EFFICIENCY: f64 = 0.5;

/// Outermost home of weights and activations (after spilling past a level that is too small).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Homes {
    pub weights: usize,
    pub activations: usize,
    /// All weights fit their placement level (flash on an MCU, SRAM on an accelerator).
    pub weights_fit: bool,
    /// The peak of live activations fits their placement level.
    pub activations_fit: bool,
}

/// The next level outside `i` that can hold data written at run time (not flash).
fn spill(p: &Profile, i: usize, writable: bool) -> Option<usize> {
    (i + 1..p.memory.len()).find(|&j| !writable || p.memory[j].kind != "flash")
}

/// Homes for a model with `weight_bytes` of weights and `peak_activation_bytes` live at once.
pub fn homes(p: &Profile, weight_bytes: u64, peak_activation_bytes: u64) -> Homes {
    // Validated profiles name existing levels.
    let w = p.level(&p.placement.weights).unwrap_or(p.memory.len() - 1);
    let a = p
        .level(&p.placement.activations)
        .unwrap_or(p.memory.len() - 1);
    let weights_fit = weight_bytes <= p.memory[w].size_bytes;
    let activations_fit = peak_activation_bytes <= p.memory[a].size_bytes;
    Homes {
        weights: if weights_fit {
            w
        } else {
            spill(p, w, false).unwrap_or(w)
        },
        activations: if activations_fit {
            a
        } else {
            spill(p, a, true).unwrap_or(a)
        },
        weights_fit,
        activations_fit,
    }
}

/// The smallest `cache` level inside (or at) `home` that holds `bytes`, else `home`.
fn served_from(p: &Profile, bytes: u64, home: usize) -> usize {
    (0..home)
        .find(|&i| p.memory[i].kind == "cache" && p.memory[i].size_bytes >= bytes)
        .unwrap_or(home)
}

/// Bytes moved at each memory level by `layer`.
pub fn traffic(
    p: &Profile,
    layer: &Layer,
    homes: &Homes,
    total_weight_bytes: u64,
    prec: Precision,
) -> Vec<u64> {
    let mut bytes = vec![0u64; p.memory.len()];
    if layer.class == KernelClass::Free {
        return bytes;
    }
    let act = layer.act_in_bytes + layer.act_out_bytes;
    let a_lvl = served_from(p, act, homes.activations);
    let w_lvl = served_from(p, total_weight_bytes, homes.weights);
    for (i, m) in p.memory.iter().enumerate() {
        if m.kind == "register" {
            bytes[i] = (2 * layer.macs + layer.flops).saturating_mul(prec.bytes());
            continue;
        }
        let through = |home: usize| home == i || (m.kind == "cache" && home > i);
        if through(a_lvl) {
            bytes[i] += act;
        }
        if through(w_lvl) {
            bytes[i] += layer.weight_bytes;
        }
    }
    bytes
}

/// What one layer costs on a device.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerCost {
    pub time_s: f64,
    pub energy_j: f64,
    /// Bytes moved per memory level (profile order).
    pub bytes: Vec<u64>,
    /// The binding roof: `compute`, a memory level's name, `overhead`, `model` (a fitted
    /// linear model) or a model-specific word (`array`, `ii`).
    pub bound: String,
    /// Fraction of the peak MAC rate used over the layer's time (0 when it has no MACs).
    pub utilization: f64,
}

/// Energy of `layer` moving `bytes` for `time_s`: operations, every level's bytes, static power.
pub fn energy(p: &Profile, layer: &Layer, bytes: &[u64], time_s: f64, prec: Precision) -> f64 {
    let e = p.energy.of(prec);
    let ops_pj = layer.macs as f64 * e.mac_pj + layer.flops as f64 * e.op_pj;
    let mem_pj: f64 = bytes
        .iter()
        .zip(&p.memory)
        .map(|(&b, m)| b as f64 * m.energy_pj_per_byte)
        .sum();
    (ops_pj + mem_pj) * 1e-12 + p.energy.static_w * time_s
}

/// The roofline with a compute rate scaled by `occupancy` (1 for CPUs; GPUs pass theirs).
pub fn layer_cost(
    p: &Profile,
    layer: &Layer,
    homes: &Homes,
    total_weight_bytes: u64,
    prec: Precision,
    occupancy: f64,
) -> LayerCost {
    let bytes = traffic(p, layer, homes, total_weight_bytes, prec);
    if layer.class == KernelClass::Free {
        return LayerCost {
            time_s: 0.0,
            energy_j: 0.0,
            bytes,
            bound: "free".into(),
            utilization: 0.0,
        };
    }
    let t = p.compute.of(prec);
    let class_eff = if layer.class == KernelClass::Depthwise {
        DEPTHWISE_EFFICIENCY
    } else {
        1.0
    };
    let rate = t.peak_macs_per_s * t.efficiency * class_eff * occupancy.clamp(1e-6, 1.0);
    let compute_s = (layer.macs + layer.flops) as f64 / rate;
    let mut bound = "compute".to_string();
    let mut roof = compute_s;
    for (b, m) in bytes.iter().zip(&p.memory) {
        let s = *b as f64 / m.bandwidth_bytes_per_s;
        if s > roof {
            roof = s;
            bound = m.name.clone();
        }
    }
    let overhead = p.overhead.per_layer_s;
    if overhead > roof {
        bound = "overhead".into();
    }
    let time_s = roof + overhead;
    LayerCost {
        energy_j: energy(p, layer, &bytes, time_s, prec),
        utilization: utilization(p, layer, time_s, prec),
        time_s,
        bytes,
        bound,
    }
}

/// Fraction of the peak MAC rate a layer with `layer.macs` uses over `time_s`.
pub fn utilization(p: &Profile, layer: &Layer, time_s: f64, prec: Precision) -> f64 {
    if time_s <= 0.0 || layer.macs == 0 {
        return 0.0;
    }
    (layer.macs as f64 / time_s / p.compute.of(prec).peak_macs_per_s).min(1.0)
}
