//! Sensitivity analysis: how much each prunable layer's pruning changes the model's outputs,
//! and a per-layer sparsity that meets a global target at the least total error.

use std::collections::BTreeMap;

use edgeopt_ir::exec::run_model;
use edgeopt_ir::{Model, Value};
use edgeopt_tensor::Tensor;

use crate::unstructured::{layers, prune_masks, Mask};
use crate::Result;

/// One layer's curve: relative output error at each sparsity.
#[derive(Debug, Clone)]
pub struct Curve {
    /// Node name.
    pub node: String,
    /// Weights in the layer.
    pub params: usize,
    /// (sparsity, relative L2 output error) pairs, sparsity increasing.
    pub points: Vec<(f64, f64)>,
}

fn outputs(model: &Model, feeds: &[Vec<Tensor>]) -> Result<Vec<Vec<f64>>> {
    let mut all = Vec::new();
    for f in feeds {
        let outs = run_model(model, f.iter().cloned().map(Value::Tensor).collect())?;
        let mut flat = Vec::new();
        for o in outs {
            if let Some(t) = o.as_tensor() {
                flat.extend(t.to_f64_vec()?);
            }
        }
        all.push(flat);
    }
    Ok(all)
}

/// `||a - b|| / ||b||` over every sample.
fn rel_error(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    let (mut num, mut den) = (0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        for (p, q) in x.iter().zip(y) {
            num += (p - q) * (p - q);
            den += q * q;
        }
    }
    (num / den.max(1e-30)).sqrt()
}

/// Prunes one layer at a time (magnitude, per layer) at each of `levels` and measures the
/// relative output error on `feeds`.
pub fn sensitivity(model: &Model, feeds: &[Vec<Tensor>], levels: &[f64]) -> Result<Vec<Curve>> {
    let base = outputs(model, feeds)?;
    let mut curves = Vec::new();
    for l in layers(model) {
        let params = model.graph.initializers[&l.weight].len();
        let mut points = Vec::new();
        for &s in levels {
            let mut m = model.clone();
            prune_masks(
                &mut m,
                std::slice::from_ref(&l),
                Mask::Magnitude { global: false },
                s,
            )?;
            points.push((s, rel_error(&outputs(&m, feeds)?, &base)));
        }
        curves.push(Curve {
            node: l.node.clone(),
            params,
            points,
        });
    }
    Ok(curves)
}

/// Greedy allocation: starting from zero, repeatedly raises the layer whose next level costs
/// the least added error per pruned weight, until `target` of all weights are pruned (or every
/// layer is at its last level). Returns node -> sparsity.
pub fn allocate(curves: &[Curve], target: f64) -> BTreeMap<String, f64> {
    let total: usize = curves.iter().map(|c| c.params).sum();
    let mut level = vec![None::<usize>; curves.len()];
    let pruned = |level: &[Option<usize>]| -> f64 {
        level
            .iter()
            .zip(curves)
            .map(|(l, c)| l.map_or(0.0, |i| c.points[i].0 * c.params as f64))
            .sum()
    };
    while pruned(&level) < target * total as f64 {
        let mut best: Option<(f64, usize)> = None;
        for (i, c) in curves.iter().enumerate() {
            let next = level[i].map_or(0, |l| l + 1);
            let Some(&(s, e)) = c.points.get(next) else {
                continue;
            };
            let (s0, e0) = level[i].map_or((0.0, 0.0), |l| c.points[l]);
            let gain = (s - s0) * c.params as f64;
            if gain <= 0.0 {
                continue;
            }
            let cost = (e - e0).max(0.0) / gain;
            if best.is_none_or(|(b, _)| cost < b) {
                best = Some((cost, i));
            }
        }
        let Some((_, i)) = best else { break };
        level[i] = Some(level[i].map_or(0, |l| l + 1));
    }
    curves
        .iter()
        .zip(&level)
        .map(|(c, l)| (c.node.clone(), l.map_or(0.0, |i| c.points[i].0)))
        .collect()
}
