//! Peak activation memory by liveness: every activation is allocated when its producer runs
//! and freed after its last consumer; graph inputs live from the start, outputs to the end.
//! (The runtime's static memory plan, once available, is the authority for fp32 on the host.)

use crate::profile::Precision;
use edgeopt_ir::infer::weight_values;
use edgeopt_ir::Graph;

fn bytes_at(g: &Graph, v: usize, p: Precision) -> u64 {
    let ty = &g.values[v].ty;
    let elems = ty
        .as_tensor()
        .and_then(|t| t.concrete_shape())
        .map(|s| s.iter().fold(1u64, |a, &d| a.saturating_mul(d as u64)))
        .unwrap_or(0);
    match ty.dtype() {
        Some(d) if d.is_float() => elems.saturating_mul(p.bytes()),
        Some(d) => elems.saturating_mul(d.size_of().max(1) as u64),
        None => 0,
    }
}

/// The largest sum of live activation bytes over the node schedule of `g` (topological order).
pub fn peak_activation_bytes(g: &Graph, p: Precision) -> u64 {
    let weights = weight_values(g);
    let nv = g.values.len();
    let mut last_use = vec![None::<usize>; nv];
    for (i, n) in g.nodes.iter().enumerate() {
        for v in n.inputs.iter().flatten() {
            last_use[v.0 as usize] = Some(i);
        }
    }
    let end = g.nodes.len();
    for o in &g.outputs {
        last_use[o.0 as usize] = Some(end);
    }
    let mut live: u64 = g
        .inputs
        .iter()
        .filter(|v| !weights[v.0 as usize])
        .map(|v| bytes_at(g, v.0 as usize, p))
        .sum();
    let mut peak = live;
    for (i, n) in g.nodes.iter().enumerate() {
        for o in n.outputs.iter().flatten() {
            if !weights[o.0 as usize] {
                live += bytes_at(g, o.0 as usize, p);
            }
        }
        peak = peak.max(live);
        let mut freed = std::collections::HashSet::new();
        for v in n.inputs.iter().flatten().chain(n.outputs.iter().flatten()) {
            let k = v.0 as usize;
            if !weights[k] && last_use[k].is_none_or(|u| u <= i) && freed.insert(k) {
                live = live.saturating_sub(bytes_at(g, k, p));
            }
        }
    }
    peak
}
