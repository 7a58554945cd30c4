//! GPUs: the roofline with the compute rate scaled by occupancy (one thread per output
//! element; fewer resident threads than the GPU needs to hide latency leave lanes idle) and
//! a kernel-launch overhead per layer (the profile's `overhead.per_layer_s`).

use crate::layers::Layer;
use crate::profile::Gpu;

/// Occupancy of a layer: resident threads over the threads needed for full occupancy.
pub fn occupancy(g: &Gpu, layer: &Layer) -> f64 {
    (layer.out_elems as f64 / g.threads_for_full_occupancy as f64).clamp(0.0, 1.0)
}
