//! Fine-tuning hooks for pruning and quantization-aware training.
//!
//! - Masks: [`Trainer::set_mask`](crate::trainer::Trainer::set_mask)`(param, mask)` keeps a
//!   parameter exactly zero where its 0/1 mask is 0 (applied to the parameter, its gradient and
//!   after each optimizer step).
//! - Fake quantization: [`insert_fake_quant`] puts a [`FakeQuant`] node (straight-through
//!   gradient) on a weight or activation; train as usual, then convert the node to
//!   QuantizeLinear/DequantizeLinear for export (FakeQuant itself is an edgeopt-domain op).

use crate::ops::fake_quant::FakeQuant;
use anyhow::{anyhow, Result};
use edgeopt_ir::{Model, ValueType};
use edgeopt_tensor::Tensor;

/// `v[i] *= mask[i]` (masks hold 0 or 1).
pub fn apply_mask(v: &mut [f32], mask: &[f32]) {
    for (x, &m) in v.iter_mut().zip(mask) {
        *x *= m;
    }
}

/// Inserts `FakeQuant(value, scale, zero_point)` after `value` and makes every reader of
/// `value` read the fake-quantized one instead. `scale`/`zero_point` have one element (per
/// tensor) or one per channel along `fq.axis`. Returns the new value's name.
pub fn insert_fake_quant(
    model: &mut Model,
    value: &str,
    fq: FakeQuant,
    scale: Vec<f32>,
    zero_point: Vec<f32>,
) -> Result<String> {
    let g = &mut model.graph;
    let v = g
        .find(value)
        .ok_or_else(|| anyhow!("the model has no value '{value}'"))?;
    let n = scale.len();
    let s = g.add_initializer(
        &format!("{value}_fq_scale"),
        Tensor::from_vec(vec![n], scale)?,
    );
    let z = g.add_initializer(
        &format!("{value}_fq_zero_point"),
        Tensor::from_vec(vec![zero_point.len()], zero_point)?,
    );
    let ty = g.value(v).ty.clone();
    let out = g.add_value(&format!("{value}_fq"), ty);
    for node in g.nodes.iter_mut() {
        for i in node.inputs.iter_mut().flatten() {
            if *i == v {
                *i = out;
            }
        }
    }
    for o in g.outputs.iter_mut() {
        if *o == v {
            *o = out;
        }
    }
    g.add_node(
        &format!("{value}_fake_quant"),
        Box::new(fq),
        vec![Some(v), Some(s), Some(z)],
        vec![Some(out)],
    );
    g.topo_sort()?;
    if !model.opsets.iter().any(|(d, _)| d == crate::ops::DOMAIN) {
        model.opsets.push((crate::ops::DOMAIN.to_string(), 1));
    }
    let _ = ValueType::Unknown;
    Ok(model.graph.value(out).name.clone())
}

/// Removes every [`FakeQuant`] node (readers read its input again) and the scale / zero point
/// initializers only it used: the float model after quantization-aware training, ready for a
/// QDQ export. Returns how many nodes were removed.
pub fn strip_fake_quant(model: &mut Model) -> Result<usize> {
    let g = &mut model.graph;
    let mut removed = 0;
    while let Some(k) = g.nodes.iter().position(|n| {
        n.op.domain() == crate::ops::DOMAIN && n.op.downcast_ref::<FakeQuant>().is_some()
    }) {
        let n = g.nodes.remove(k);
        let (Some(x), Some(y)) = (n.inputs[0], n.outputs[0]) else {
            return Err(anyhow!("FakeQuant '{}' lacks its input or output", n.name));
        };
        for node in g.nodes.iter_mut() {
            for i in node.inputs.iter_mut().flatten() {
                if *i == y {
                    *i = x;
                }
            }
        }
        for o in g.outputs.iter_mut() {
            if *o == y {
                *o = x;
            }
        }
        for p in n.inputs[1..].iter().flatten() {
            let used = g.nodes.iter().any(|m| m.inputs.contains(&Some(*p)));
            if !used {
                g.initializers.remove(p);
                g.inputs.retain(|i| i != p);
            }
        }
        removed += 1;
    }
    g.topo_sort()?;
    if !g.nodes.iter().any(|n| n.op.domain() == crate::ops::DOMAIN) {
        model.opsets.retain(|(d, _)| d != crate::ops::DOMAIN);
    }
    Ok(removed)
}
