//! A DSP-array FPGA design with a per-layer initiation interval (II) model: the layer is one
//! pipelined loop whose body issues `P` MACs (the DSPs' parallel MACs at the precision,
//! times the placement efficiency) per iteration; an iteration can start every II cycles,
//! where II grows when the on-chip buffers cannot deliver the iteration's operands in one
//! cycle. `cycles = iterations * II + pipeline depth`; off-chip traffic is a roofline.

use crate::layers::Layer;
use crate::profile::{Fpga, Precision, Profile};
use crate::roofline::{energy, traffic, Homes, LayerCost};

/// Iterations, II and cycles of one layer.
pub fn schedule(p: &Profile, f: &Fpga, layer: &Layer, prec: Precision) -> (u64, u64, u64) {
    let t = p.compute.of(prec);
    let lanes = (t.peak_macs_per_s * t.efficiency / p.device.clock_hz).max(1.0) as u64;
    let work = if layer.macs > 0 {
        layer.macs
    } else {
        layer.flops.max(layer.out_elems)
    };
    let iterations = work.div_ceil(lanes).max(1);
    let onchip = layer.act_in_bytes + layer.act_out_bytes + layer.weight_bytes;
    let per_iter = onchip as f64 / iterations as f64;
    let ii = (per_iter / f.onchip_bytes_per_cycle).ceil().max(1.0) as u64;
    (iterations, ii, iterations * ii + f.pipeline_depth_cycles)
}

pub fn layer_cost(
    p: &Profile,
    f: &Fpga,
    layer: &Layer,
    homes: &Homes,
    total_weight_bytes: u64,
    prec: Precision,
) -> LayerCost {
    let bytes = traffic(p, layer, homes, total_weight_bytes, prec);
    let (_, ii, cycles) = schedule(p, f, layer, prec);
    let mut roof = cycles as f64 / p.device.clock_hz;
    let mut bound = if ii > 1 { "ii" } else { "compute" }.to_string();
    for (b, m) in bytes.iter().zip(&p.memory) {
        if m.kind == "dram" || m.kind == "flash" {
            let s = *b as f64 / m.bandwidth_bytes_per_s;
            if s > roof {
                roof = s;
                bound = m.name.clone();
            }
        }
    }
    let time_s = roof + p.overhead.per_layer_s;
    LayerCost {
        energy_j: energy(p, layer, &bytes, time_s, prec),
        utilization: crate::roofline::utilization(p, layer, time_s, prec),
        time_s,
        bytes,
        bound,
    }
}
