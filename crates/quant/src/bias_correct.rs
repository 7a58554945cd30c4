//! Empirical bias correction (Nagel et al. 2019, section 4.2, with data): quantizing a
//! convolution's input (per-tensor scale) and weights shifts the mean of its output channels
//! (small channels round towards a few levels). On the calibration data, with the float
//! model's activations `x` and their quantized-dequantized `x^ = DQ(Q(x))`, each output
//! channel `o` of a Conv moves by
//! `sum_{c,k} W^[o,c,k] E[x^_c] - W[o,c,k] E[x_c]` (per-channel means; exact for unpadded
//! convolutions, the border taps approximated otherwise), which is subtracted from its bias.
//!
//! Each layer is corrected for its own error with float inputs, so corrections do not stack
//! up along the network (correcting every layer by the end-to-end shift measured on the
//! quantized model does: it over-corrects deep networks).

use crate::calibrate::{float_values, probe_model, validate_samples, Progress};
use crate::engine::Engine;
use crate::histogram::Stats;
use crate::params::QParams;
use crate::plan::plan;
use crate::static_quant::{act_params, StaticConfig};
use crate::weights::quantize_weight;
use crate::{QuantError, Result};
use edgeopt_ir::{Attribute, Model, NodeId, Value, ValueId};
use edgeopt_tensor::{DType, Tensor};
use std::collections::HashMap;

struct Target {
    conv: NodeId,
    x: ValueId,
    q: QParams,
    axis: Option<usize>,
    group: usize,
}

#[derive(Clone, Default)]
struct Means {
    float: Vec<f64>,
    quant: Vec<f64>,
    count: f64,
}

/// Corrects the biases of the Convs that `cfg` quantizes (adding a bias where there is none)
/// in `model`, with activation parameters from `stats`. Returns how many were corrected.
pub fn correct_biases(
    model: &mut Model,
    stats: &HashMap<String, Stats>,
    cfg: &StaticConfig,
    samples: &[Vec<Tensor>],
    engine: &dyn Engine,
    progress: Progress,
) -> Result<usize> {
    validate_samples(model, samples)?;
    let g = &model.graph;
    let p = plan(g, &cfg.selection, cfg.per_channel);
    let acts = act_params(model, &p, stats, cfg);
    let mut targets = Vec::new();
    for (i, n) in g.nodes.iter().enumerate() {
        if n.op_type() != "Conv" || !n.op.domain().is_empty() {
            continue;
        }
        let (Some(x), Some(w)) = (n.inputs[0], n.inputs.get(1).copied().flatten()) else {
            continue;
        };
        let (Some(&q), Some(wp)) = (acts.get(&x), p.weights.get(&w)) else {
            continue;
        };
        let group =
            n.op.attributes()
                .into_iter()
                .find_map(|(k, a)| match (k.as_str(), a) {
                    ("group", Attribute::Int(v)) => Some(v.max(1) as usize),
                    _ => None,
                })
                .unwrap_or(1);
        targets.push(Target {
            conv: NodeId(i as u32),
            x,
            q,
            axis: wp.axis,
            group,
        });
    }
    if targets.is_empty() {
        return Ok(0);
    }
    let mut xs: Vec<ValueId> = targets.iter().map(|t| t.x).collect();
    xs.sort();
    xs.dedup();
    let probe = probe_model(model, &xs);
    let slot: HashMap<ValueId, usize> = xs
        .iter()
        .map(|v| {
            (
                *v,
                probe.graph.outputs.iter().position(|o| o == v).unwrap_or(0),
            )
        })
        .collect();
    let qp: HashMap<ValueId, QParams> = targets.iter().map(|t| (t.x, t.q)).collect();
    let mut means: HashMap<ValueId, Means> = HashMap::new();
    let mut runner = engine.prepare(&probe)?;
    for (k, s) in samples.iter().enumerate() {
        let outs = runner
            .run(s.iter().cloned().map(Value::Tensor).collect())
            .map_err(|e| QuantError::Data(format!("bias correction sample {k}: {e}")))?;
        for &v in &xs {
            let Some(out) = outs.get(slot[&v]) else {
                continue;
            };
            let (Some(t), Some(vals)) = (out.as_tensor(), float_values(out)) else {
                continue;
            };
            let shape = t.shape();
            if shape.len() < 2 {
                continue;
            }
            let (c, inner) = (shape[1], shape[2..].iter().product::<usize>().max(1));
            let m = means.entry(v).or_insert_with(|| Means {
                float: vec![0.0; c],
                quant: vec![0.0; c],
                count: 0.0,
            });
            if m.float.len() != c {
                continue;
            }
            let q = qp[&v];
            for (i, &x) in vals.iter().enumerate() {
                let ch = (i / inner) % c;
                m.float[ch] += x as f64;
                m.quant[ch] += q.dequantize(q.quantize(x, cfg.activation_type)) as f64;
            }
            m.count += (vals.len() / c) as f64;
        }
        progress("bias correction", k + 1, samples.len());
    }
    let mut done = 0;
    for t in &targets {
        let Some(m) = means.get(&t.x).filter(|m| m.count > 0.0) else {
            continue;
        };
        if correct_one(model, t, m, cfg)? {
            done += 1;
        }
    }
    Ok(done)
}

fn correct_one(model: &mut Model, t: &Target, m: &Means, cfg: &StaticConfig) -> Result<bool> {
    let g = &model.graph;
    let n = g.node(t.conv);
    let Some(w_id) = n.inputs.get(1).copied().flatten() else {
        return Ok(false);
    };
    let Some(w) = g
        .initializers
        .get(&w_id)
        .filter(|w| w.dtype() == DType::F32)
    else {
        return Ok(false);
    };
    let shape = w.shape().to_vec();
    let (o_n, cg) = (shape[0], shape.get(1).copied().unwrap_or(1));
    let kk: usize = shape[2..].iter().product::<usize>().max(1);
    let c_in = m.float.len();
    if cg * t.group != c_in || o_n % t.group != 0 {
        return Ok(false);
    }
    let qw = quantize_weight(
        w,
        t.axis,
        cfg.weight_type,
        cfg.symmetric_weights,
        cfg.reduce_range,
    )?;
    let wf = w.as_slice::<f32>()?;
    let codes = qw.data.to_f64_vec()?;
    let per_out = cg * kk;
    let mf: Vec<f64> = m.float.iter().map(|s| s / m.count).collect();
    let mq: Vec<f64> = m.quant.iter().map(|s| s / m.count).collect();
    let mut delta = vec![0f64; o_n];
    for (o, d) in delta.iter_mut().enumerate() {
        let qp = qw.params[if qw.params.len() == 1 { 0 } else { o }];
        let base = (o / (o_n / t.group)) * cg;
        for c in 0..cg {
            for k in 0..kk {
                let i = o * per_out + c * kk + k;
                let wq = qp.dequantize(codes[i] as i32) as f64;
                *d += wq * mq[base + c] - wf[i] as f64 * mf[base + c];
            }
        }
    }
    let b_id = n.inputs.get(2).copied().flatten();
    let old = match b_id.and_then(|b| g.initializers.get(&b)) {
        Some(b) if b.dtype() == DType::F32 && b.len() == o_n => b.as_slice::<f32>()?.to_vec(),
        Some(_) => return Ok(false),
        None if b_id.is_some() => return Ok(false),
        None => vec![0.0; o_n],
    };
    let new: Vec<f32> = old
        .iter()
        .zip(&delta)
        .map(|(&b, &d)| (b as f64 - d) as f32)
        .collect();
    let bias = Tensor::from_vec(vec![o_n], new)?;
    match b_id {
        Some(b) => {
            model.graph.initializers.insert(b, bias);
        }
        None => {
            let name = format!("{}_bias_corrected", n.name);
            let v = model.graph.add_initializer(&name, bias);
            let node = &mut model.graph.nodes[t.conv.0 as usize];
            node.inputs.resize(3, None);
            node.inputs[2] = Some(v);
        }
    }
    Ok(true)
}
