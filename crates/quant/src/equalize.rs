//! Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization Through Weight
//! Equalization and Bias Correction"): for two convolutions with only a positively homogeneous
//! function between them (none, Relu, LeakyRelu), channel `i` of the first's output is divided
//! by `s_i > 0` (its weights and bias) and the second's weights reading that channel are
//! multiplied by `s_i`: the model computes the same function, but the ranges that a per-tensor
//! activation (and the weights) are quantized with become even across channels.
//!
//! `s_i = sqrt(r1_i / r2_i)` balances `r1_i` against the second layer's weight range `r2_i`
//! for input channel `i`. `r1_i` is the first layer's weight range (data-free, as the paper;
//! iterated since chains share layers) or, given calibration data, the measured range of output
//! channel `i` ([`channel_ranges`]): with per-channel weights it is the activation that the
//! per-tensor scale crushes.

use crate::calibrate::{float_values, probe_model, Progress};
use crate::engine::Engine;
use crate::Result;
use edgeopt_ir::{Attribute, Model, NodeId, Value, ValueId};
use edgeopt_tensor::{DType, Tensor};
use std::collections::HashMap;

/// Two convolutions to equalize: `first` writes `mid` (channels), `second` reads it (through
/// `act` when there is one).
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    pub first: NodeId,
    pub second: NodeId,
    pub mid: ValueId,
    pub channels: usize,
}

fn group_of(g: &edgeopt_ir::Graph, n: NodeId) -> i64 {
    g.node(n)
        .op
        .attributes()
        .into_iter()
        .find_map(|(k, a)| match (k.as_str(), a) {
            ("group", Attribute::Int(v)) => Some(v),
            _ => None,
        })
        .unwrap_or(1)
}

fn f32_init(g: &edgeopt_ir::Graph, n: NodeId, i: usize) -> Option<&Tensor> {
    let v = g.node(n).inputs.get(i).copied().flatten()?;
    g.initializers
        .get(&v)
        .filter(|t| t.dtype() == DType::F32 && !g.inputs.contains(&v))
}

/// Readers of each value.
fn readers(g: &edgeopt_ir::Graph) -> HashMap<ValueId, Vec<NodeId>> {
    crate::plan::consumers(g)
}

fn std_op(g: &edgeopt_ir::Graph, n: NodeId, op: &str) -> bool {
    let node = g.node(n);
    node.op_type() == op && node.op.domain().is_empty()
}

/// Equalizable pairs: `Conv -> [Relu | LeakyRelu] -> Conv (group 1 or depthwise) |
/// ConvTranspose (group 1)`, every intermediate read only by the next node, weights constant
/// and used once.
pub fn find_pairs(model: &Model) -> Vec<Pair> {
    let g = &model.graph;
    let rd = readers(g);
    let sole = |v: ValueId| -> Option<NodeId> {
        if g.outputs.contains(&v) {
            return None;
        }
        match rd.get(&v).map(Vec::as_slice) {
            Some([n]) => Some(*n),
            _ => None,
        }
    };
    let weight_used_once = |n: NodeId| {
        g.node(n).inputs[1..]
            .iter()
            .flatten()
            .all(|v| rd.get(v).is_some_and(|r| r.len() == 1))
    };
    let mut out = Vec::new();
    for (i, node) in g.nodes.iter().enumerate() {
        let first = NodeId(i as u32);
        if !std_op(g, first, "Conv") || !weight_used_once(first) {
            continue;
        }
        let Some(w1) = f32_init(g, first, 1) else {
            continue;
        };
        let m = w1.shape()[0];
        if node.inputs.get(2).copied().flatten().is_some() && f32_init(g, first, 2).is_none() {
            continue;
        }
        let Some(mid) = node.outputs.first().copied().flatten() else {
            continue;
        };
        let Some(mut next) = sole(mid) else {
            continue;
        };
        if std_op(g, next, "Relu") || std_op(g, next, "LeakyRelu") {
            let Some(o) = g.node(next).outputs.first().copied().flatten() else {
                continue;
            };
            let Some(n2) = sole(o) else {
                continue;
            };
            next = n2;
        }
        let Some(w2) = f32_init(g, next, 1) else {
            continue;
        };
        let grp = group_of(g, next);
        let reads_all = match g.node(next).op_type() {
            "Conv" if std_op(g, next, "Conv") => {
                (grp == 1 && w2.shape().get(1) == Some(&m))
                    || (grp as usize == m && w2.shape()[0] == m && w2.shape().get(1) == Some(&1))
            }
            "ConvTranspose" if std_op(g, next, "ConvTranspose") => grp == 1 && w2.shape()[0] == m,
            _ => false,
        };
        if reads_all && weight_used_once(next) && g.node(next).inputs[0].is_some() {
            out.push(Pair {
                first,
                second: next,
                mid,
                channels: m,
            });
        }
    }
    out
}

/// Index of the input channel each element of the second layer's weight reads.
fn in_channel(
    g: &edgeopt_ir::Graph,
    second: NodeId,
    w: &Tensor,
    m: usize,
) -> impl Fn(usize) -> usize {
    let s = w.shape().to_vec();
    let kk: usize = s[2..].iter().product();
    let conv_dense = std_op(g, second, "Conv") && group_of(g, second) == 1;
    let per_in = s.get(1).copied().unwrap_or(1) * kk;
    move |i| {
        if conv_dense {
            (i / kk) % m
        } else {
            // Depthwise Conv [M, 1, k...] and ConvTranspose [C_in, M, k...]: runs per channel.
            i / per_in
        }
    }
}

fn abs_max_by(w: &[f32], m: usize, chan: impl Fn(usize) -> usize) -> Vec<f64> {
    let mut r = vec![0f64; m];
    for (i, &x) in w.iter().enumerate() {
        let c = chan(i);
        r[c] = r[c].max((x as f64).abs());
    }
    r
}

/// Per-channel `max |x|` (axis 1) of `values` over the samples, run on the float model.
pub fn channel_ranges(
    model: &Model,
    values: &[ValueId],
    samples: &[Vec<Tensor>],
    engine: &dyn Engine,
    progress: Progress,
) -> Result<HashMap<ValueId, Vec<f64>>> {
    let probe = probe_model(model, values);
    let slots: Vec<usize> = values
        .iter()
        .map(|v| probe.graph.outputs.iter().position(|o| o == v).unwrap_or(0))
        .collect();
    let mut runner = engine.prepare(&probe)?;
    let mut out: HashMap<ValueId, Vec<f64>> = HashMap::new();
    for (k, s) in samples.iter().enumerate() {
        let outs = runner
            .run(s.iter().cloned().map(Value::Tensor).collect())
            .map_err(|e| crate::QuantError::Data(format!("equalization sample {k}: {e}")))?;
        for (&v, &slot) in values.iter().zip(&slots) {
            let Some(t) = outs.get(slot).and_then(|o| o.as_tensor()) else {
                continue;
            };
            let shape = t.shape().to_vec();
            let (Some(xs), true) = (outs.get(slot).and_then(float_values), shape.len() >= 2) else {
                continue;
            };
            let (c, inner) = (shape[1], shape[2..].iter().product::<usize>());
            let r = out.entry(v).or_insert_with(|| vec![0.0; c]);
            if r.len() != c {
                continue;
            }
            for (i, x) in xs.iter().enumerate() {
                let ch = (i / inner.max(1)) % c;
                if x.is_finite() {
                    r[ch] = r[ch].max((*x as f64).abs());
                }
            }
        }
        progress("equalizing (channel ranges)", k + 1, samples.len());
    }
    Ok(out)
}

/// Equalizes every pair of [`find_pairs`]; `ranges` (by the pair's `mid` value) switches a
/// pair to data-aware scales. Returns how many pairs changed.
pub fn equalize(
    model: &mut Model,
    ranges: Option<&HashMap<ValueId, Vec<f64>>>,
    iterations: usize,
) -> Result<usize> {
    let pairs = find_pairs(model);
    let mut changed = 0;
    let rounds = if ranges.is_some() {
        1
    } else {
        iterations.max(1)
    };
    for _ in 0..rounds {
        for p in &pairs {
            let g = &model.graph;
            let (Some(w1), Some(w2)) = (f32_init(g, p.first, 1), f32_init(g, p.second, 1)) else {
                continue;
            };
            let m = p.channels;
            let w1v = w1.as_slice::<f32>()?.to_vec();
            let w2v = w2.as_slice::<f32>()?.to_vec();
            let per1 = w1v.len() / m.max(1);
            let r1 = match ranges.and_then(|r| r.get(&p.mid)) {
                Some(r) if r.len() == m => r.clone(),
                _ => abs_max_by(&w1v, m, |i| i / per1),
            };
            let chan = in_channel(g, p.second, w2, m);
            let r2 = abs_max_by(&w2v, m, &chan);
            let s: Vec<f64> = (0..m)
                .map(|i| {
                    let v = (r1[i] / r2[i]).sqrt();
                    if v.is_finite() && v > 0.0 {
                        v.clamp(1e-4, 1e4)
                    } else {
                        1.0
                    }
                })
                .collect();
            if s.iter().all(|&v| (v - 1.0).abs() < 1e-3) {
                continue;
            }
            let new_w1: Vec<f32> = w1v
                .iter()
                .enumerate()
                .map(|(i, &x)| (x as f64 / s[i / per1]) as f32)
                .collect();
            let new_w2: Vec<f32> = w2v
                .iter()
                .enumerate()
                .map(|(i, &x)| (x as f64 * s[chan(i)]) as f32)
                .collect();
            let (s1, s2) = (w1.shape().to_vec(), w2.shape().to_vec());
            let b1 = f32_init(g, p.first, 2)
                .map(|b| b.as_slice::<f32>().map(|v| v.to_vec()))
                .transpose()?;
            let set = |model: &mut Model, n: NodeId, i: usize, t: Tensor| {
                if let Some(v) = model.graph.node(n).inputs.get(i).copied().flatten() {
                    model.graph.initializers.insert(v, t);
                }
            };
            set(model, p.first, 1, Tensor::from_vec(s1, new_w1)?);
            set(model, p.second, 1, Tensor::from_vec(s2, new_w2)?);
            if let Some(b) = b1 {
                let nb: Vec<f32> = b
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| (x as f64 / s[i]) as f32)
                    .collect();
                set(model, p.first, 2, Tensor::from_vec(vec![m], nb)?);
            }
            changed += 1;
        }
    }
    Ok(changed)
}
